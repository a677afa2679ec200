"""생성한 글을 숫자로 재는 도구: 모델이 매긴 로그 확률(품질 쪽)과 distinct-n(다양성 쪽). Steps 2–3과 bench/가 씁니다.

- ``continuation_log_probs``: 프롬프트 뒤 새 토큰마다 ``log p(토큰 | 앞 토큰들)`` — Step 1의 TODO 1-10
  (``sequence_log_prob``)에서 한 줄짜리로 직접 만든 계산을, 여러 줄(샘플)과 eos 뒤 패딩까지 다루게 한 것입니다.
- ``mean_log_prob``: 토큰당 평균 로그 확률. ``exp(-평균)``이 모델 기준 퍼플렉서티(Step 2의 TODO 2-9)입니다.
- ``distinct_n``: 여러 샘플에 나온 n-gram 가운데 서로 다른 것의 비율(Step 2의 TODO 2-7과 같은 정의).

**한계**: 로그 확률은 "이 모델이 보기에 얼마나 그럴듯한가"일 뿐 사람이 느끼는 품질이 아닙니다. 같은 구절을
되풀이하는 글(그리디·빔 서치)이 가장 높은 점수를 받기 쉽고, 글을 만든 모델이 스스로 채점하며, 작은 모델은
어색한 문장에도 높은 점수를 줍니다. 그래서 언제나 다양성(distinct-n)과 함께, 그리고 직접 읽어 보며 판단합니다.
"""

from __future__ import annotations

from typing import Sequence

import torch


def continuation_log_probs(model, output_ids: torch.Tensor, prompt_length: int,
                           eos_token_id: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log_probs, mask)``: 줄마다 프롬프트 뒤 토큰의 로그 확률, 모양 (줄 수, 새 토큰 수).

    ``output_ids``는 ``generate``가 돌려준 (줄 수, 길이) 텐서이고 앞 ``prompt_length``개가 프롬프트입니다
    (프롬프트는 토큰이 하나 이상이어야 합니다). ``mask``는 셀 토큰이 True입니다: ``eos_token_id``를 주면 첫 eos까지
    (eos 포함 — "여기서 끝낸다"도 모델의 선택입니다), 그 뒤에 ``generate``가 채운 패딩은 False.
    """
    if prompt_length < 1:
        raise ValueError("프롬프트가 토큰 하나 이상이어야 첫 새 토큰의 확률을 잴 수 있습니다")
    with torch.no_grad():
        logits = model(output_ids, attention_mask=torch.ones_like(output_ids)).logits[:, prompt_length - 1:-1].float()
    targets = output_ids[:, prompt_length:]
    log_probs = logits.log_softmax(dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    mask = torch.ones_like(targets, dtype=torch.bool)
    if eos_token_id is not None:
        is_eos = (targets == eos_token_id).long()
        mask = (is_eos.cumsum(dim=-1) - is_eos) == 0  # 앞에 eos가 없던 위치만
    return log_probs, mask


def mean_log_prob(log_probs: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """셀 토큰 전체의 토큰당 평균 로그 확률(나트). 줄마다 평균을 내지 않고 토큰을 모두 모아 나눕니다."""
    if mask is None:
        mask = torch.ones_like(log_probs, dtype=torch.bool)
    count = int(mask.sum())
    if count == 0:
        raise ValueError("셀 토큰이 없습니다")
    return float(log_probs[mask].sum()) / count


def continuations(output_ids: torch.Tensor, prompt_length: int, eos_token_id: int | None = None) -> list[list[int]]:
    """줄마다 프롬프트 뒤의 새 토큰 id 목록 (첫 eos와 그 뒤 패딩은 뺌)."""
    rows = []
    for row in output_ids[:, prompt_length:].tolist():
        if eos_token_id is not None and eos_token_id in row:
            row = row[:row.index(eos_token_id)]
        rows.append(row)
    return rows


def distinct_n(sequences: Sequence[Sequence[int]], n: int) -> float:
    """여러 토큰 id 열 전체에서 (서로 다른 n-gram 수) / (전체 n-gram 수). n-gram은 열마다 따로 셉니다. 없으면 0.0."""
    grams = set()
    total = 0
    for seq in sequences:
        seq = [int(t) for t in seq]
        windows = list(zip(*(seq[i:] for i in range(n))))
        grams.update(windows)
        total += len(windows)
    return len(grams) / total if total else 0.0
