"""Step 6 (style fine-tuning): the style CSV reader and bundled sample, checkpoints for exact resume, the style marker, bf16 timing, the interactive generator."""
