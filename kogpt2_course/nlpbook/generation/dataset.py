"""Training texts for sentiment-steered generation, the dataset and the collate function (Step 4).

Text format (the same as ratsnlp's NSMC generation task, plus KoGPT2's document boundary):

    </s>긍정 <review></s>        (label 1)        </s>부정 <review></s>        (label 0)

The ``긍정``/``부정`` word works as a control code in the sense of CTRL (Keskar et al., 2019): a token
naming an attribute of the text, put in front of every training text, so that choosing it at
generation time chooses the attribute.

The leading ``</s>`` is the document boundary the model saw during pre-training, so a prompt
``</s>긍정`` (:func:`kogpt2_course.nlpbook.generation.inference.sentiment_prompt_ids`) starts generation in exactly the context the
training texts start in; the trailing ``</s>`` teaches the model where a review ends, so
``generate`` stops by itself. A review longer than ``max_seq_length`` is cut and keeps no final
``</s>`` (it did not end there).

The dataset keeps each example at its own length; :class:`GenerationCollator` pads a batch only
to its longest example ("dynamic padding") and sets the labels of padding positions to -100, so
padding never counts in the loss. (ratsnlp set ``pad = eos = </s>``, padded every example to
``max_seq_length`` with ``</s>`` and used ``labels = input_ids``: its model also learned to predict runs of
``</s>`` after each review, easy predictions that made its loss look lower.)
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from kogpt2_course.lm.special_tokens import document_boundary_id, pad_token_id_of

IGNORE_INDEX = -100  # label value that PyTorch's cross-entropy (and transformers' LM loss) skips
SENTIMENT_PREFIXES = {1: "긍정", 0: "부정"}  # NSMC label -> prefix word of the training text


@dataclass(frozen=True)
class GenerationExample:
    """One training text, e.g. ``"긍정 배우들 연기가 정말 좋았다"`` (without special tokens)."""

    text: str


def training_text(label: int, document: str) -> str:
    """``1, "재밌다"`` -> ``"긍정 재밌다"``."""
    return f"{SENTIMENT_PREFIXES[int(label)]} {document.strip()}"


def encode_training_text(tokenizer, text: str, max_seq_length: int) -> list[int]:
    """``[</s>] + tokens(text) + [</s>]``, cut to ``max_seq_length`` tokens."""
    boundary = document_boundary_id(tokenizer)
    ids = [boundary, *tokenizer.encode(text), boundary]
    return ids[:max_seq_length]


def in_validation_split(sequence: list[int], val_ratio: float) -> bool:
    """Whether an example belongs to the validation part of the training file.

    Decided by a hash of its token ids, so the split needs no seed, does not depend on the row order,
    and identical reviews always fall on the same side (no review is in both parts).
    """
    digest = hashlib.sha256(",".join(map(str, sequence)).encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < val_ratio


class GenerationDataset(Dataset):
    """Token ids of every training text of one split (``mode``: ``"train"`` or ``"test"``).

    ``GenerationDataset(args, corpus, tokenizer, mode)`` as in ratsnlp: ``args`` is a
    :class:`~kogpt2_course.nlpbook.generation.arguments.GenerationTrainArguments`; the corpus (e.g.
    :class:`~kogpt2_course.nlpbook.generation.corpus.NsmcCorpus`) reads
    ``<downstream_corpus_root_dir>/<downstream_corpus_name>/``. At most ``args.max_train_samples``
    (train) or ``args.max_eval_samples`` (test) examples are kept, the first ones of the file.
    The tokenized examples are cached next to the data (plain tensors, so ``torch.load`` with
    ``weights_only=True`` reads them on current torch); ``args.overwrite_cache`` rebuilds it.
    Each item is ``{"input_ids": LongTensor(length), "pad_token_id": int}``: the padding id travels
    with the items so that :func:`kogpt2_course.nlpbook.data_collator` (the book's
    ``collate_fn=nlpbook.data_collator``) can pad without a tokenizer. It comes from the tokenizer, else
    from the model config, else from the vocabulary's ``<pad>``
    (:func:`~kogpt2_course.lm.special_tokens.pad_token_id_of`): the book loads the tokenizer with only
    ``eos_token``, which leaves ``pad_token`` unset for KoGPT2.

    :meth:`split_validation` holds out part of the training file for checkpoint selection, so the
    test file is used only for the final figure.
    """

    def __init__(self, args, corpus, tokenizer, mode: str = "train"):
        if mode not in ("train", "test"):
            raise ValueError(f"mode는 'train' 또는 'test'여야 합니다: {mode!r}")
        self.mode = mode
        data_dir = Path(args.downstream_corpus_root_dir) / args.downstream_corpus_name
        limit = args.max_train_samples if mode == "train" else args.max_eval_samples
        source = corpus.file_path(data_dir, mode)
        key = _cache_key(source, tokenizer, args.max_seq_length, limit)
        cache = data_dir / f"cached_{mode}_generation.pt"
        sequences = None if args.overwrite_cache else _read_cache(cache, key)
        if sequences is None:
            examples = corpus.get_examples(data_dir, mode)
            if limit is not None:
                examples = examples[:limit]
            sequences = [encode_training_text(tokenizer, ex.text, args.max_seq_length) for ex in examples]
            _write_cache(cache, key, sequences)
        if not sequences:
            raise ValueError(f"{source}: 학습에 쓸 예제가 하나도 없습니다")
        self.sequences = [torch.tensor(seq, dtype=torch.long) for seq in sequences]
        self.pad_token_id = _pad_token_id(tokenizer, args.pretrained_model_name)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> dict:
        return {"input_ids": self.sequences[index], "pad_token_id": self.pad_token_id}

    def split_validation(self, val_ratio: float) -> tuple["GenerationDataset", "GenerationDataset"]:
        """``(train_part, validation_part)`` of this (training-file) dataset; see :func:`in_validation_split`.

        The validation part is about ``val_ratio`` of the examples (exactly so only on average: the
        hash decides each example). ``val_ratio=0`` returns ``(self, None)``.
        """
        if not 0 <= val_ratio < 1:
            raise ValueError(f"val_ratio는 0 이상 1 미만이어야 합니다: {val_ratio}")
        if val_ratio == 0:
            return self, None
        held_out = [in_validation_split(seq.tolist(), val_ratio) for seq in self.sequences]
        parts = []
        for mode, keep in (("train", False), ("val", True)):
            part = copy.copy(self)
            part.mode = mode
            part.sequences = [seq for seq, out in zip(self.sequences, held_out) if out == keep]
            if not part.sequences:
                raise ValueError(f"학습 예제 {len(self)}개를 val_ratio={val_ratio}로 나누면 "
                                 f"{'검증' if keep else '학습'} 예제가 하나도 남지 않습니다. val_ratio를 조정하세요.")
            parts.append(part)
        return parts[0], parts[1]

    def num_tokens(self) -> int:
        return sum(len(seq) for seq in self.sequences)

    def lengths(self) -> list[int]:
        """Token count of every example, in order (what ``LengthGroupedSampler(lengths=...)`` needs)."""
        return [len(seq) for seq in self.sequences]


class GenerationCollator:
    """Batch ``{"input_ids"}`` items: pad, build ``attention_mask`` and ``labels`` (-100 at padding).

    ``pad_to_length=None`` pads to the longest example of the batch (dynamic padding);
    ``pad_to_length=args.max_seq_length`` pads every batch to the same length (the ratsnlp way,
    kept for the benchmark). The model shifts the labels itself (next-token prediction).
    """

    def __init__(self, pad_token_id: int, pad_to_length: int | None = None):
        self.pad_token_id = pad_token_id
        self.pad_to_length = pad_to_length

    def __call__(self, items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        seqs = [item["input_ids"] for item in items]
        input_ids = pad_sequence(seqs, batch_first=True, padding_value=self.pad_token_id)
        attention_mask = pad_sequence([torch.ones_like(s) for s in seqs], batch_first=True, padding_value=0)
        if self.pad_to_length is not None and input_ids.shape[1] < self.pad_to_length:
            extra = self.pad_to_length - input_ids.shape[1]
            input_ids = torch.nn.functional.pad(input_ids, (0, extra), value=self.pad_token_id)
            attention_mask = torch.nn.functional.pad(attention_mask, (0, extra), value=0)
        labels = input_ids.masked_fill(attention_mask == 0, IGNORE_INDEX)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def _pad_token_id(tokenizer, pretrained_model_name: str) -> int:
    """:func:`pad_token_id_of`, reading the model config only when the tokenizer has no pad token."""
    config = None
    if tokenizer.pad_token_id is None:
        from transformers import AutoConfig

        try:
            config = AutoConfig.from_pretrained(pretrained_model_name)
        except OSError:
            config = None  # no config to read: the vocabulary's <pad> (or the Korean error) decides
    return pad_token_id_of(tokenizer, config)


# --- cache of tokenized examples ------------------------------------------------------------------

def _cache_key(source: Path, tokenizer, max_seq_length: int, limit: int | None) -> str:
    stat = os.stat(source)
    parts = [str(Path(source).resolve()), str(stat.st_size), str(stat.st_mtime_ns),
             str(getattr(tokenizer, "name_or_path", "")), str(len(tokenizer)),
             str(tokenizer.bos_token_id), str(tokenizer.eos_token_id), str(max_seq_length), str(limit)]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def _read_cache(path: Path, key: str) -> list[list[int]] | None:
    if not path.exists():
        return None
    try:
        # weights_only=True: only tensors/str/dict — loads on torch >= 2.6 without unpickling code.
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    flat, lengths = data["input_ids"], data["lengths"].tolist()
    return [chunk.tolist() for chunk in torch.split(flat, lengths)] if lengths else []


def _write_cache(path: Path, key: str, sequences: list[list[int]]) -> None:
    flat = torch.tensor([t for seq in sequences for t in seq], dtype=torch.long)
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.long)
    try:
        tmp = path.with_suffix(".tmp")
        torch.save({"key": key, "input_ids": flat, "lengths": lengths}, tmp)
        os.replace(tmp, path)
    except OSError:  # read-only data folder (e.g. a shared copy of NSMC): just don't cache
        pass
