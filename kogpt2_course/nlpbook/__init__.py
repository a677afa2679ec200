"""The ratsnlp-compatible fine-tuning API (laid out like ``ratsnlp.nlpbook``): seed, logger, collator, trainer, checkpoints.

As in the book::

    from kogpt2_course import nlpbook
    nlpbook.set_seed(args); nlpbook.set_logger(args)
    DataLoader(..., collate_fn=nlpbook.data_collator); trainer = nlpbook.get_trainer(args)

The names are loaded on first use, so importing a submodule (e.g. ``nlpbook.checkpoints`` in the
web demo) does not import Lightning.
"""

from kogpt2_course.nlpbook.lazy import lazy_exports

_EXPORTS = {
    "set_seed": "utils", "set_logger": "utils",
    "data_collator": "data_utils",
    "get_trainer": "trainer", "get_evaluator": "trainer", "resume_checkpoint_path": "trainer",
    "remove_checkpoints": "trainer",
    "load_finetuned_model": "checkpoints", "ResumeError": "checkpoints",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
