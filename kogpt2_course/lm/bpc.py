"""Held-out bits per character (bpc) of a causal language model on a set of documents.

Definition (the same for the bundled model and the real KoGPT2): for every document, the model's
negative log-likelihood of its tokens followed by ``</s>``, given a leading ``</s>``, in bits;
summed over all documents and divided by the sum of (characters + 1). The ``+ 1`` is the
end-of-document ``</s>``, whose prediction is part of the score.

Documents longer than the model's context are scored in overlapping windows (each token is
predicted once, with up to ``context - stride`` tokens of left context), so nothing crashes.

    python -m kogpt2_course bpc --model bundled                 # ../shared/data/nsmc/ratings_test.txt
    python -m kogpt2_course bpc --model hub --limit 2000         # the real KoGPT2, when available
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from tqdm.auto import tqdm


@dataclass
class BpcResult:
    bits: float
    characters: int
    tokens: int
    documents: int

    @property
    def bpc(self) -> float:
        return self.bits / self.characters

    @property
    def nats_per_token(self) -> float:
        return self.bits * math.log(2) / self.tokens


def _segments(ids: list[int], context: int, stride: int) -> list[tuple[list[int], int]]:
    """Split one token sequence into windows; each is (window ids, index of its first scored target)."""
    if len(ids) <= context:
        return [(ids, 1)]
    stride = max(1, min(stride, context - 1))  # keep at least one token of left context per window
    segments, scored_up_to, start = [], 1, 0
    while scored_up_to < len(ids):
        end = min(start + context, len(ids))
        segments.append((ids[start:end], scored_up_to - start))
        scored_up_to = end
        start = end - (context - stride) if end < len(ids) else end
    return segments


@torch.no_grad()
def evaluate_bpc(model, tokenizer, documents: Iterable[str], batch_size: int = 32,
                 context: int | None = None, stride: int | None = None, progress: bool = False) -> BpcResult:
    """Score ``documents`` (strings) with ``model``; see the module docstring for the definition."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("토크나이저에 eos 토큰(</s>)이 없습니다")
    context = context or model.config.n_positions
    stride = stride or context // 2
    docs = [d for d in documents if d]
    characters = sum(len(d) + 1 for d in docs)
    segments: list[tuple[list[int], int]] = []
    for ids in tokenizer(docs, add_special_tokens=False)["input_ids"] if docs else []:
        segments.extend(_segments([eos] + list(ids) + [eos], context, stride))
    segments.sort(key=lambda s: len(s[0]))
    model.eval()
    device = next(model.parameters()).device
    bits, tokens = 0.0, 0
    batches = range(0, len(segments), batch_size)
    for start in tqdm(batches, desc="bpc", disable=not progress):
        batch = segments[start:start + batch_size]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), eos, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        scored = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, (ids, first) in enumerate(batch):
            input_ids[row, :len(ids)] = torch.tensor(ids)
            attention[row, :len(ids)] = 1
            scored[row, first:len(ids)] = True
        logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits.float()
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
        target_lp = log_probs.gather(-1, input_ids[:, 1:].unsqueeze(-1).to(device)).squeeze(-1)
        mask = scored[:, 1:].to(device)
        bits += float(-(target_lp * mask).sum()) / math.log(2)
        tokens += int(mask.sum())
    return BpcResult(bits=bits, characters=characters, tokens=tokens, documents=len(docs))


def read_documents(path: str | Path, limit: int = 0) -> list[str]:
    """Documents of an NSMC-format file (id, document, label; header) or of a one-per-line text file."""
    docs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    nsmc = bool(lines) and lines[0].split("\t")[:2] == ["id", "document"]
    for line in lines[1:] if nsmc else lines:
        text = line.split("\t")[1] if nsmc and line.count("\t") >= 2 else ("" if nsmc else line)
        if text.strip():
            docs.append(text.strip())
        if limit and len(docs) >= limit:
            break
    return docs


def main(args) -> int:
    from kogpt2_course.cli.arguments import UserError
    from kogpt2_course.lm.loading import load_model_and_tokenizer
    from kogpt2_course.lm.resolution import resolve_model_name
    from kogpt2_course.lm.tokens import round_trip_mismatches

    if not Path(args.data).is_file():
        raise UserError(f"데이터 파일이 없습니다: {args.data}. 기본값은 NSMC 평가 문서(e9t/nsmc의 ratings_test.txt)를 "
                        f"../shared/data/nsmc/에 둔 경우입니다. --data로 NSMC 형식 파일이나 한 줄에 문서 하나인 "
                        f"텍스트 파일을 지정하세요 (예: --data ratings_test.txt).")
    name = resolve_model_name(args.model)
    model, tokenizer = load_model_and_tokenizer(name)
    docs = read_documents(args.data, args.limit)
    started = time.time()
    result = evaluate_bpc(model, tokenizer, docs, batch_size=args.batch_size, progress=True)
    print(f"모델: {name}\n데이터: {args.data} (문서 {result.documents:,}개, 문자+1 {result.characters:,}개, "
          f"토큰 {result.tokens:,}개)\n"
          f"bits per character: {result.bpc:.4f}   (토큰당 {result.nats_per_token:.3f} nats, "
          f"문자/토큰 {result.characters / result.tokens:.2f}, {time.time() - started:.0f}초)")
    mismatches = round_trip_mismatches(tokenizer, docs)
    print(f"decode(encode(문서)) != 문서인 문서: {len(mismatches):,}개"
          + (f" (예: {mismatches[0][:40]!r})" if mismatches else ""))
    return 0
