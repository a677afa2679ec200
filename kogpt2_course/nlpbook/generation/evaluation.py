"""What a perplexity drop is made of: the loss per token of each part of a training text.

A text is ``</s> 긍정 <review> </s>``. Its predicted tokens fall into three parts:

- ``code``: the control code's tokens (``긍정``/``부정``), predicted from ``</s>`` alone: the pretrained
  model has never seen a review start with them, so fine-tuning makes these nearly free;
- ``review``: the review's own tokens;
- ``end``: the final ``</s>`` (absent when the review was cut at ``max_seq_length``).

Comparing the parts before and after fine-tuning shows whether the perplexity fell because the model
learned the format (code, end) or because it predicts reviews better.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kogpt2_course.lm.special_tokens import document_boundary_id
from kogpt2_course.nlpbook.generation.dataset import IGNORE_INDEX, SENTIMENT_PREFIXES, GenerationCollator

PARTS = {"code": "제어 코드(긍정/부정)", "review": "리뷰 본문", "end": "끝의 </s>"}


@dataclass(frozen=True)
class PartLoss:
    nll: float   # mean negative log-likelihood per token of this part
    tokens: int  # how many predicted tokens belong to it


def part_of_each_token(sequence: list[int], code_lengths: list[int], boundary: int) -> list[str]:
    """The part ('code', 'review', 'end') of each predicted token ``sequence[1:]``."""
    code = next((n for n in code_lengths if n < len(sequence)), 0)
    parts = []
    for position in range(1, len(sequence)):
        if position <= code:
            parts.append("code")
        elif position == len(sequence) - 1 and sequence[position] == boundary:
            parts.append("end")
        else:
            parts.append("review")
    return parts


def loss_by_part(model, tokenizer, dataset, batch_size: int = 32) -> dict[str, PartLoss]:
    """Mean NLL per token of each part over ``dataset`` (a :class:`GenerationDataset`), model in eval mode."""
    boundary = document_boundary_id(tokenizer)
    prefixes = [tokenizer.encode(word) for word in SENTIMENT_PREFIXES.values()]
    collate = GenerationCollator(dataset.pad_token_id)
    totals = {part: [0.0, 0] for part in PARTS}
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
            batch = {k: v.to(device) for k, v in collate(items).items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
            labels = batch["labels"][:, 1:]
            nll = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX, reduction="none")
            for row, item in enumerate(items):
                sequence = item["input_ids"].tolist()
                lengths = [len(p) for p in prefixes if sequence[1:1 + len(p)] == p]
                for position, part in enumerate(part_of_each_token(sequence, lengths, boundary)):
                    totals[part][0] += float(nll[row, position])
                    totals[part][1] += 1
    model.train(was_training)
    return {part: PartLoss(total / count if count else float("nan"), count) for part, (total, count) in totals.items()}


def format_part_losses(before: dict[str, PartLoss], after: dict[str, PartLoss],
                       title: str = "[무엇이 줄었나] 검증 세트의 부분별 토큰당 손실 (학습 전 → 학습 후):") -> str:
    """Korean lines: each part's loss per token before → after, and its share of the whole drop."""
    def total(losses):
        return sum(p.nll * p.tokens for p in losses.values() if p.tokens)

    drop = total(before) - total(after)
    lines = [title]
    for part, label in PARTS.items():
        b, a = before[part], after[part]
        if not b.tokens:
            continue
        share = (b.nll - a.nll) * b.tokens / drop if drop else float("nan")
        lines.append(f"  - {label}: {b.nll:.3f} → {a.nll:.3f} (토큰 {b.tokens:,}개, 전체 하락의 {share:.0%})")
    return "\n".join(lines)


def describe_drop(before: dict[str, PartLoss], after: dict[str, PartLoss]) -> str:
    """One Korean sentence: how much of the drop is the format (code, end) and what the review body did."""
    def nll_sum(losses, parts):
        return sum(losses[p].nll * losses[p].tokens for p in parts if losses[p].tokens)

    drop = nll_sum(before, PARTS) - nll_sum(after, PARTS)
    review_before, review_after = before["review"].nll, after["review"].nll
    if drop <= 0:
        return f"이번 실행에서는 검증 손실이 줄지 않았습니다 (리뷰 본문 {review_before:.3f} → {review_after:.3f})."
    form_share = (nll_sum(before, ("code", "end")) - nll_sum(after, ("code", "end"))) / drop
    change = review_after - review_before
    if change > 0.01:
        body = f"오히려 늘었습니다 ({review_before:.3f} → {review_after:.3f}): 리뷰 자체의 예측은 나빠졌습니다"
    elif change > -0.05:
        body = f"거의 그대로입니다 ({review_before:.3f} → {review_after:.3f})"
    else:
        body = f"줄었습니다 ({review_before:.3f} → {review_after:.3f})"
    return (f"이번 실행에서 검증 손실 하락의 {form_share:.0%}는 형식(제어 코드와 끝의 </s>)을 익힌 몫이고, "
            f"리뷰 본문의 토큰당 손실은 {body}.")
