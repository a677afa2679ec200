"""Sentence generation in the ratsnlp style (``ratsnlp.nlpbook.generation``): arguments, NSMC corpus, dataset, task, inference."""
