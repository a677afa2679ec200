"""The ratsnlp-compatible fine-tuning API (laid out like ``ratsnlp.nlpbook``): seed, logger, collator, trainer, checkpoints."""
