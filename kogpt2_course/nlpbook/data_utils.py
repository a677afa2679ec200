"""``data_collator``: the book's ``collate_fn=nlpbook.data_collator`` for :class:`GenerationDataset` items.

ratsnlp padded every example to ``max_seq_length`` in the dataset, with ``pad = eos = </s>`` and
``labels = input_ids``, so its collator only stacked the rows and the model also learned to predict
runs of ``</s>`` after each review. Here the dataset keeps each example at its own length and this
collator pads each batch to its longest example with KoGPT2's ``<pad>`` (the id the dataset found,
see :class:`~kogpt2_course.nlpbook.generation.dataset.GenerationDataset`), masks the padding in
``attention_mask`` and sets its ``labels`` to -100, so padding never counts in the loss.
"""

from __future__ import annotations

import torch

from kogpt2_course.nlpbook.generation.dataset import GenerationCollator


def data_collator(features: list[dict]) -> dict[str, torch.Tensor]:
    """Batch ``GenerationDataset`` items: ``{"input_ids", "attention_mask", "labels"}`` (dynamic padding)."""
    if not features:
        raise ValueError("data_collator: 빈 배치입니다")
    pad_token_id = features[0].get("pad_token_id")
    if pad_token_id is None:
        raise ValueError("data_collator: 항목에 pad_token_id가 없습니다. GenerationDataset의 항목을 넘기거나, "
                         "패딩 id를 직접 주는 collate_fn=GenerationCollator(tokenizer.pad_token_id)를 쓰세요.")
    return GenerationCollator(int(pad_token_id))(features)
