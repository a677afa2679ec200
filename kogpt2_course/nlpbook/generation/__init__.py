"""Sentence generation in the ratsnlp style (``ratsnlp.nlpbook.generation``): arguments, NSMC corpus, dataset, task, inference.

As in the book: ``from kogpt2_course.nlpbook.generation import GenerationTrainArguments, NsmcCorpus,
GenerationDataset, GenerationTask, GenerationDeployArguments``. The names are loaded on first use
(only ``GenerationTask`` needs Lightning).
"""

from kogpt2_course.nlpbook.lazy import lazy_exports

_EXPORTS = {
    "GenerationTrainArguments": "arguments", "GenerationDeployArguments": "arguments",
    "NsmcCorpus": "corpus", "prepare_corpus": "corpus",
    "GenerationDataset": "dataset", "GenerationCollator": "dataset",
    "GenerationTask": "task",
    "generate_reviews": "inference",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
