# %% [markdown]
# # Step 2. 생성 전략 비교 — 빔 서치, top-k, top-p 샘플링
#
# Step 1의 그리디 디코딩은 매번 가장 확률이 높은 토큰 하나만 고릅니다. 이 단계에서 배우는 것
# 1. **빔 서치**(`num_beams=3`): 후보 문장 여러 개를 동시에 키워, 그리디보다 로그 확률이 높은 문장을 **근사적으로** 찾습니다.
# 2. **샘플링**(`do_sample=True`)과 그 후보 줄이기: **top-k 샘플링**(`top_k=50`), **top-p(뉴클리어스) 샘플링**(`top_p=0.92`).
# 3. top-k / top-p 필터를 로짓 벡터 위에서 **직접 구현**하고, transformers의 구현과 같은지 확인합니다.
# 4. 시드(seed)와 재현성, 같은 설정을 여러 번 돌렸을 때의 **다양성**(distinct-1 / distinct-2).
# 5. 다양성 옆에 **품질**도 잽니다: 모델이 매긴 퍼플렉서티 — 그리고 그 숫자의 한계.
# 6. 같은 프롬프트에서 전략들을 나란히 비교하고, 빔 서치가 왜 밋밋한 글을 만드는지 숫자로 봅니다.
#
# **언제 무엇을 쓰나** (이유는 아래 각 절과 마지막 실행 결과에서 확인합니다)
#
# | 전략 | 이럴 때 | 이유 |
# |---|---|---|
# | 그리디 | 디버깅, 재현이 필요한 비교의 기준, 아주 짧은 답 | 무작위가 없어 늘 같음. 길어지면 같은 구절로 되돌아가 반복(Step 1) |
# | 빔 서치 | 정답이 거의 하나인 짧은 출력(번역·요약·짧은 설명) | 그리디보다 전체 확률이 높은 문장을 찾음. 열린 글쓰기에서는 흔하고 밋밋한 문장·반복으로 쏠림(8절) |
# | top-k 샘플링 | 리뷰·이야기처럼 매번 다른 글이 필요할 때, 간단한 기본값 | 드문 토큰의 꼬리를 잘라 깨진 낱말을 막음. 다만 k가 문맥과 상관없이 고정 |
# | top-p 샘플링 | 위와 같되 문맥마다 후보 수를 맞추고 싶을 때 | 확실한 문맥에서는 몇 개, 열린 문맥에서는 수천 개를 남김(3절 그림) |
# | top-k + top-p + 온도(Step 3) | 실제 서비스의 기본값 | 각각의 약점을 서로 막음. 강의의 프리셋이 이 조합입니다 |
#
# 실행: `python step2_generation_strategies.py` (옵션은 `--help`). 그림은 `outputs/` 폴더에 저장됩니다.

# %%
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import torch

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.plots.distributions import plot_kept_sets, plot_metric_bars
from kogpt2_course.lm.decoding import continuation_text, generate_ids, new_token_ids, next_token_logits, token_labels
from kogpt2_course.lm.loading import load_model_and_tokenizer
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name
from kogpt2_course.lm.scoring import continuation_log_probs
from kogpt2_course.plots.figure import OUTPUT_DIR
from kogpt2_course.grading.script_runner import run_main

DEFAULT_PROMPTS = ["이 영화", "배우들 연기가"]
BLAND_PROMPTS = ["이 영화", "배우들 연기가", "감독이", "음악이"]

# %% [markdown]
# ## 1. 빔 서치
# 모델·토크나이저 불러오기와 인코딩은 Step 1에서 했으니, 여기서는 `generate_ids(model, tokenizer, prompt,
# max_new_tokens, **옵션)`(프롬프트를 인코딩해 `model.generate`에 옵션을 그대로 넘기는 도우미)를 씁니다.
# 빔 서치는 매 단계 "지금까지의 로그 확률 합"이 높은 미완성 후보(빔) `num_beams`개만 남기고 나머지를 버립니다.
# 무작위성이 없으므로 몇 번을 돌려도 같습니다. 주의할 점 두 가지:
# - **근사**입니다. 버린 후보가 나중에 더 좋았을 수 있어, 가장 확률이 높은 문장을 찾는다는 보장이 없습니다
#   (Step 1의 비교에서 빔 3개가 그리디보다 낮은 문장을 낸 프롬프트도 있었습니다).
# - 끝난 후보(`</s>`나 최대 길이에 닿은 빔)끼리는 `로그 확률 합 / (새 토큰 수 ** length_penalty)`로 순위를 매깁니다.
#   기본값 `length_penalty=1.0`이면 **토큰당 평균 로그 확률**이라, 짧게 끝난 문장이 합이 크다는 이유만으로 이기지 않습니다.

# %%
def beam_search(model, tokenizer, prompt: str, max_new_tokens: int = 30, num_beams: int = 3) -> torch.Tensor:
    """빔 서치로 생성한 (1, 길이) 토큰 id (프롬프트 포함)를 돌려줍니다."""
    # BEGIN TODO 2-1: 빔 서치로 생성하세요: 무작위성 없이 후보 문장 num_beams개를 함께 키웁니다. 인코딩과 generate 호출은 도우미 generate_ids가 맡고, 그 뒤에 주는 키워드 인자는 그대로 model.generate에 넘어갑니다 (위 1절, transformers 문서의 생성 전략 중 beam search)
    # HINT 2: generate_ids(model, tokenizer, prompt, max_new_tokens, ...)에 num_beams와 do_sample을 키워드 인자로 주세요
    # HINT 3: output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, num_beams=num_beams, do_sample=False)
    output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, num_beams=num_beams, do_sample=False)
    # END TODO
    return output_ids


# %% [markdown]
# ## 2. 샘플링: top-k와 top-p
# `do_sample`이 스위치입니다. `False`(기본)이면 `generate`는 그리디(빔 1개) 또는 빔 서치이고, **온도·top-k·top-p는 쓰지 않습니다**
# — 값을 줘도 결과가 똑같고 transformers는 "not valid and may be ignored" 경고만 남깁니다(9절 실행에서 확인).
# `do_sample=True`이면 다음 토큰을 확률에 따라 뽑고, 그때서야 온도·top-k·top-p가 분포를 바꿉니다. 아주 드문 토큰까지
# 뽑히지 않도록 후보를 줄입니다.
# - **top-k**: 확률이 가장 높은 k개만 남깁니다.
# - **top-p**: 확률이 높은 것부터 더해 누적 확률이 p에 이를 때까지의 토큰만 남깁니다 (후보 수가 문맥마다 달라짐).
#
# 주의: transformers는 `top_k`를 지정하지 않으면 **기본값 50**을 씁니다. top-p만 보려면 `top_k=0`으로 끄세요.
# 강의 전체에서 `top_k=0`은 "끔"(제한 없음)이고, `top_p=1.0`도 "끔"입니다.
# 난수 시드는 부르는 쪽에서 정합니다 (4절).

# %%
def top_k_sampling(model, tokenizer, prompt: str, max_new_tokens: int = 30, top_k: int = 50) -> torch.Tensor:
    """top-k 샘플링으로 생성한 (1, 길이) 토큰 id를 돌려줍니다."""
    # BEGIN TODO 2-2: top-k 샘플링을 하세요: 매 단계 확률 상위 k개 안에서 확률에 따라 무작위로 고릅니다. 시드는 부르는 쪽이 정하니 여기서 고정하지 마세요 (위 2절, transformers 문서의 GenerationConfig: do_sample, top_k)
    # HINT 2: generate_ids(model, tokenizer, prompt, max_new_tokens, ...)에 do_sample과 top_k를 주세요
    # HINT 3: output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, top_k=top_k)
    output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, top_k=top_k)
    # END TODO
    return output_ids


def top_p_sampling(model, tokenizer, prompt: str, max_new_tokens: int = 30, top_p: float = 0.92) -> torch.Tensor:
    """top-p(뉴클리어스) 샘플링으로 생성한 (1, 길이) 토큰 id를 돌려줍니다."""
    # BEGIN TODO 2-3: top-p(뉴클리어스) 샘플링을 하세요: 확률을 높은 순으로 더해 top_p에 이를 때까지의 토큰 안에서만 뽑습니다. transformers는 top-k를 따로 정하지 않으면 기본값으로 켜 두므로, top-p만의 효과를 보려면 top-k를 꺼야 합니다 (위 2절의 주의)
    # HINT 2: generate_ids(model, tokenizer, prompt, max_new_tokens, ...)에 do_sample, top_p, 그리고 top-k를 끄는 값 top_k=0을 주세요
    # HINT 3: output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, top_p=top_p, top_k=0)
    output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, top_p=top_p, top_k=0)
    # END TODO
    return output_ids


# %% [markdown]
# ## 3. top-k / top-p 필터 직접 만들기
# `generate`는 매 단계 로짓에 필터를 적용합니다. 버릴 토큰의 로짓을 `-inf`로 바꾸면 softmax 뒤 확률이 0이 됩니다.
# 두 필터 모두 **새 텐서**를 돌려주고(입력은 그대로), 남긴 로짓 값은 바꾸지 않습니다.
# - top-k: k번째로 큰 로짓보다 **작은** 것만 버립니다. 그래서 k번째와 값이 같은(동점) 토큰은 모두 남습니다.
# - top-p: 확률 순으로 정렬했을 때, **자기 앞 토큰들의 누적 확률이 이미 top_p 이상**이면 버립니다.
# - `min_tokens_to_keep`: 어떤 경우에도 최소 이만큼(확률 상위)은 남깁니다.
# - `top_k=0`(또는 음수)은 `generate`에서처럼 **끔**입니다: 아무것도 버리지 않습니다. (`TopKLogitsWarper`를 k=0으로 직접
#   만들면 `min_tokens_to_keep`개만 남기지만, `generate`는 `top_k=0`이면 그 처리기를 아예 넣지 않습니다.)

# %%
def top_k_filter(logits: torch.Tensor, top_k: int, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """상위 k개(동점 포함)를 뺀 나머지 로짓을 -inf로 바꾼 새 텐서를 돌려줍니다 (마지막 차원 기준)."""
    # BEGIN TODO 2-4: k번째로 큰 로짓을 기준값으로 삼아, 그보다 작은 로짓만 -inf로 바꾼 새 텐서를 만드세요(기준값과 같은 동점은 남김). generate처럼 top_k가 0 이하이면 거르지 않습니다(입력의 복사본). k는 min_tokens_to_keep보다 작을 수 없고 어휘 크기보다 클 수 없습니다. 마지막 차원 기준으로 계산하면 배치(2차원) 입력에도 맞습니다 (위 3절, PyTorch 문서의 topk와 masked_fill)
    # HINT 2: top_k <= 0이면 logits.clone()을 돌려주고, 아니면 k = min(max(top_k, min_tokens_to_keep), logits.size(-1)); 기준값은 torch.topk(logits, k, dim=-1).values의 마지막 열(모양을 유지하려면 [..., -1:]); 바꾸기는 logits.masked_fill(조건, float('-inf'))
    # HINT 3: if top_k <= 0:
    # HINT 3:     return logits.clone()
    # HINT 3: k = min(max(top_k, min_tokens_to_keep), logits.size(-1))
    # HINT 3: kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    # HINT 3: filtered = logits.masked_fill(logits < kth_largest, float('-inf'))
    if top_k <= 0:  # generate와 같은 뜻: top_k=0은 끔
        return logits.clone()
    k = min(max(top_k, min_tokens_to_keep), logits.size(-1))
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    filtered = logits.masked_fill(logits < kth_largest, float("-inf"))
    # END TODO
    return filtered


def top_p_filter(logits: torch.Tensor, top_p: float, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """누적 확률 top_p 안에 드는 토큰만 남기고 나머지 로짓을 -inf로 바꾼 새 텐서를 돌려줍니다."""
    # BEGIN TODO 2-5: 로짓을 큰 순서로 정렬해 확률과 누적 확률을 구하고, '자기 앞 토큰들의 누적 확률이 이미 top_p 이상'인 토큰을 버리세요(상위 min_tokens_to_keep개는 늘 남김). 버릴 자리 표시를 원래 순서로 되돌려 그 로짓을 -inf로 바꾼 새 텐서를 돌려줍니다 (위 3절, PyTorch 문서의 sort, cumsum, scatter)
    # HINT 2: torch.sort(logits, descending=True, dim=-1) → softmax(dim=-1) → cumsum(dim=-1); 자기 앞까지의 누적은 cumsum에서 자기 확률을 뺀 값; 버릴 표시의 [..., :min_tokens_to_keep]는 False; 표시.scatter(-1, sorted_indices, 표시)로 원래 순서; 마지막은 logits.masked_fill
    # HINT 3: sorted_logits, sorted_indices = torch.sort(logits, descending=True, dim=-1)
    # HINT 3: sorted_probs = sorted_logits.softmax(dim=-1)
    # HINT 3: mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    # HINT 3: remove_sorted = mass_before >= top_p
    # HINT 3: remove_sorted[..., :min_tokens_to_keep] = False
    # HINT 3: remove = remove_sorted.scatter(-1, sorted_indices, remove_sorted)
    # HINT 3: filtered = logits.masked_fill(remove, float('-inf'))
    sorted_logits, sorted_indices = torch.sort(logits, descending=True, dim=-1)
    sorted_probs = sorted_logits.softmax(dim=-1)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    remove_sorted = mass_before >= top_p
    remove_sorted[..., :min_tokens_to_keep] = False
    remove = remove_sorted.scatter(-1, sorted_indices, remove_sorted)
    filtered = logits.masked_fill(remove, float("-inf"))
    # END TODO
    return filtered


# %% [markdown]
# 그림으로 보기: 같은 다음-토큰 분포에서 top-k와 top-p가 각각 어떤 토큰을 남기는지 색으로 표시합니다.
# 확률이 고르게 퍼진 문맥에서는 top-p가 훨씬 많은 토큰을 남기고, 한 토큰에 몰린 문맥에서는 아주 적게 남깁니다.
# `top_k=0`(끔)이면 top-k 막대는 모두 "남긴 토큰"으로 칠해집니다.

# %%
def draw_kept_sets(model, tokenizer, prompt: str, top_k: int = 50, top_p: float = 0.92,
                   output_dir: str | Path = OUTPUT_DIR, shown: int | None = None) -> Path:
    """상위 `shown`개(기본: k+20개) 토큰의 확률 막대에 top-k / top-p가 남긴 토큰을 표시한 그림을 저장합니다."""
    shown = shown or min((top_k if top_k > 0 else 60) + 20, 80)
    logits = next_token_logits(model, tokenizer, prompt)
    probs = logits.softmax(-1)
    order = probs.argsort(descending=True)[:shown]
    kept, notes = {}, {}
    for name, filtered in ((f"top-k (k={top_k}{', 끔' if top_k <= 0 else ''})", top_k_filter(logits, top_k)),
                           (f"top-p (p={top_p})", top_p_filter(logits, top_p))):
        keep = torch.isfinite(filtered)
        kept[name] = keep[order].tolist()
        notes[name] = f"남긴 토큰 {int(keep.sum())}개 / {logits.numel()}개, 확률 합 {float(probs[keep].sum()):.2f}"
    return plot_kept_sets(token_labels(tokenizer, order), probs[order].tolist(), kept, "step2_kept_sets.png",
                          output_dir, title=f"프롬프트 {prompt!r} 다음 토큰 상위 {shown}개", notes=notes)


# %% [markdown]
# ## 4. 시드와 재현성, 반복 실행
# 샘플링은 torch의 난수 생성기를 씁니다. `torch.manual_seed(seed)`로 시드를 고정하면 **같은 시드는 같은 결과**를,
# 다른 시드는 다른 결과를 냅니다. 같은 설정을 여러 번 돌려 얼마나 다양한 문장이 나오는지 봅니다.
# 시드는 **처음에 한 번만** 고정하세요. 매번 다시 고정하면 세 번 모두 같은 문장이 나옵니다.

# %%
def repeated_samples(generate_once: Callable[[], object], n_runs: int = 3, seed: int = 0) -> list:
    """시드를 한 번 고정한 뒤 generate_once()를 n_runs번 불러 결과 목록을 돌려줍니다."""
    # BEGIN TODO 2-6: 재현성: 난수 시드를 반복 전에 딱 한 번 고정하고, 그다음 generate_once를 n_runs번 불러 결과를 순서대로 리스트에 모으세요. 매번 다시 고정하면 모든 결과가 같아집니다 (위 4절, PyTorch 문서의 Reproducibility)
    # HINT 2: torch.manual_seed(seed)를 한 번 부른 뒤, 리스트 컴프리헨션으로 generate_once()를 n_runs번 부르세요
    # HINT 3: torch.manual_seed(seed)
    # HINT 3: results = [generate_once() for _ in range(n_runs)]
    torch.manual_seed(seed)
    results = [generate_once() for _ in range(n_runs)]
    # END TODO
    return results


# %% [markdown]
# ## 5. 다양성 재기: distinct-n
# distinct-n = (모든 샘플에 나온 **서로 다른** n-gram 수) / (전체 n-gram 수). 1에 가까울수록 다양하고,
# 같은 문장을 세 번 되풀이하면 1/3 이하로 떨어집니다. 여기서는 토큰 id로 셉니다.

# %%
def distinct_n(sequences: Sequence[Sequence[int]], n: int) -> float:
    """여러 토큰 id 열 전체의 distinct-n. n-gram이 하나도 없으면 0.0."""
    # BEGIN TODO 2-7: 모든 열에서 n-gram(연속한 토큰 n개)을 모으세요. n-gram은 열마다 따로 만들고 열 경계를 넘지 않습니다. 서로 다른 n-gram의 수를 전체 n-gram의 수로 나눈 값이 distinct-n이고, n-gram이 하나도 없으면 0.0입니다 (위 5절)
    # HINT 2: seq마다 i를 0부터 len(seq) - n까지 돌며 tuple(seq[i:i + n])을 모은 리스트를 만들고, len(set(리스트)) / len(리스트)를 돌려주세요 (텐서 원소는 int로 바꾸면 안전)
    # HINT 3: ngrams = [tuple(int(t) for t in seq[i:i + n]) for seq in sequences for i in range(len(seq) - n + 1)]
    # HINT 3: return len(set(ngrams)) / len(ngrams) if ngrams else 0.0
    ngrams = [tuple(int(t) for t in seq[i:i + n]) for seq in sequences for i in range(len(seq) - n + 1)]
    return len(set(ngrams)) / len(ngrams) if ngrams else 0.0
    # END TODO


def draw_diversity(samples: dict[str, list[list[int]]], output_dir: str | Path = OUTPUT_DIR) -> Path:
    """전략별 반복 샘플의 distinct-1 / distinct-2 막대그래프를 저장합니다."""
    values = {name: {"distinct-1": distinct_n(runs, 1), "distinct-2": distinct_n(runs, 2)}
              for name, runs in samples.items()}
    return plot_metric_bars(values, "step2_diversity.png", output_dir,
                            title="전략별 다양성 (같은 프롬프트, 반복 실행)", ylabel="distinct-n (높을수록 다양)")


# %% [markdown]
# ## 6. 품질도 재기: 모델이 매긴 퍼플렉서티
# 다양하기만 하면 아무 토큰이나 뽑아도 됩니다. 그래서 다양성 옆에 "글이 얼마나 그럴듯한가"를 함께 봅니다. 가장 손쉬운
# 자동 지표는 **모델 자신이 매긴 로그 확률**입니다(Step 1의 `sequence_log_prob`). 패키지의 `continuation_log_probs`가
# 여러 샘플의 새 토큰마다 `log p`와, 셀 토큰 표시(`mask`: 첫 `</s>`까지 True, 그 뒤 패딩은 False)를 돌려줍니다.
# **퍼플렉서티** = `exp(-토큰당 평균 로그 확률)`: 모델이 매 토큰 평균 몇 개 중에서 고민한 셈인지. 낮을수록 모델이 보기에 그럴듯합니다.
# 평균은 **셀 토큰 전체**로 냅니다(샘플마다 평균을 낸 뒤 다시 평균하면 짧은 샘플이 과하게 반영됩니다).
#
# **한계** — 이 숫자를 품질 그 자체로 읽으면 안 됩니다.
# - 같은 구절을 되풀이하는 글이 가장 낮은(좋은) 퍼플렉서티를 받습니다. 반복될수록 모델이 다음 토큰을 잘 맞히기 때문입니다.
#   그리디·빔 서치의 퍼플렉서티는 사람이 쓴 리뷰보다 훨씬 낮습니다(번들 모델로 사람 리뷰는 토큰당 약 -4.8 나트, 퍼플렉서티 약 126:
#   `python -m kogpt2_course bpc --model bundled`, 모델 카드). 좋은 디코딩은 퍼플렉서티가 **사람 글과 비슷한** 쪽입니다(Holtzman 외, 2020).
# - 글을 만든 모델이 스스로 채점합니다. 작은 모델은 어색한 문장에도 높은 확률을 줍니다.
# - 사실인지, 프롬프트에 맞는지, 읽기 좋은지는 재지 못합니다 — 직접 읽고 판단하는 사람 평가가 마지막 기준입니다.

# %%
def perplexity(log_probs: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """토큰별 로그 확률(줄 수, 길이)에서 mask가 True인 토큰 전체의 퍼플렉서티 exp(-평균 log p). mask가 None이면 모두 셉니다."""
    # BEGIN TODO 2-9: 셀 토큰(mask가 True인 곳)만 모아 토큰당 평균 로그 확률을 구하고(샘플마다가 아니라 토큰 전체로), 퍼플렉서티의 정의대로 바꿔 돌려주세요
    # HINT 2: mask가 None이면 torch.ones_like(log_probs, dtype=torch.bool); log_probs[mask]로 셀 값만 고르고 .mean(); 퍼플렉서티는 exp(-평균)
    # HINT 3: return math.exp(-float(log_probs[mask].mean()))
    if mask is None:
        mask = torch.ones_like(log_probs, dtype=torch.bool)
    return math.exp(-float(log_probs[mask].mean()))
    # END TODO


def strategy_quality(model, tokenizer, prompt: str, runs: Sequence[torch.Tensor]) -> float:
    """한 전략의 반복 실행 결과(토큰 id 텐서들)를 모두 모아 잰 퍼플렉서티 (모델 기준)."""
    prompt_length = len(tokenizer.encode(prompt))
    pieces = [continuation_log_probs(model, ids, prompt_length, tokenizer.eos_token_id) for ids in runs]
    log_probs = torch.cat([lp[mask] for lp, mask in pieces])[None]
    return perplexity(log_probs)


# %% [markdown]
# ## 7. 나란히 비교하기
# 공정하게 비교하려면 모든 전략에 **같은 프롬프트**와 **같은 시드**를 줍니다.
# `strategies`는 {이름: 프롬프트를 받아 토큰 id를 돌려주는 함수}입니다.

# %%
def compare_strategies(strategies: dict[str, Callable[[str], torch.Tensor]], prompts: Sequence[str],
                       seed: int = 0) -> dict[str, list[torch.Tensor]]:
    """{전략 이름: [프롬프트마다 생성한 토큰 id]}를 돌려줍니다. 각 호출 직전에 같은 시드를 고정합니다."""
    results = {name: [] for name in strategies}
    for prompt in prompts:
        for name, strategy in strategies.items():
            # BEGIN TODO 2-8: 공정한 비교: 전략을 부르기 직전마다 같은 시드로 난수를 되돌린 뒤, 그 전략에 프롬프트를 주어 나온 결과를 그 전략의 목록(results[name])에 프롬프트 순서대로 붙이세요 (위 7절)
            # HINT 2: torch.manual_seed(seed)로 시드를 고정하고, strategy(prompt)의 결과를 results[name] 리스트에 append하세요
            # HINT 3: torch.manual_seed(seed)
            # HINT 3: results[name].append(strategy(prompt))
            torch.manual_seed(seed)
            results[name].append(strategy(prompt))
            # END TODO
    return results


# %% [markdown]
# ## 8. 빔 서치는 왜 밋밋한가 — 보여 주기
# 빔이 많을수록 로그 확률이 더 높은 문장을 찾습니다. 그런데 열린 글쓰기에서 "가장 그럴듯한 문장"은 어디서나 통하는 흔한 문장이고,
# 그 문장을 되풀이할수록 확률이 더 올라갑니다. 그래서 빔을 늘리면 퍼플렉서티는 사람 글보다 훨씬 낮아지고, 프롬프트가 달라도
# 같은 문장이 나오며, 한 글 안에서도 되풀이합니다(Holtzman 외, 2020, "The Curious Case of Neural Text Degeneration").
# 길이를 같게 하려고 `min_new_tokens`로 끝을 막습니다(이 호출에만 주는 옵션). 막지 않으면 번들 모델은 몇 토큰 만에 끝냅니다.

# %%
def beam_blandness(model, tokenizer, prompts: Sequence[str], beam_sizes: Sequence[int] = (1, 3, 6),
                   max_new_tokens: int = 24, seed: int = 0) -> dict[str, dict]:
    """{설정: {"퍼플렉서티", "글 안 distinct-2", "프롬프트 사이 distinct-2", "예"}}: 빔 크기별 결과와 비교용 top-p 샘플링."""
    settings = {("그리디" if b == 1 else f"빔 서치({b})"): dict(do_sample=False, num_beams=b) for b in beam_sizes}
    settings["top-p(0.92) 샘플링"] = dict(do_sample=True, top_p=0.92, top_k=0)
    table = {}
    for name, options in settings.items():
        torch.manual_seed(seed)
        outputs = {p: generate_ids(model, tokenizer, p, max_new_tokens, min_new_tokens=max_new_tokens, **options)
                   for p in prompts}
        news = [new_token_ids(tokenizer, p, ids) for p, ids in outputs.items()]
        log_probs = torch.cat([continuation_log_probs(model, ids, len(tokenizer.encode(p)))[0][0]
                               for p, ids in outputs.items()])
        table[name] = {
            "퍼플렉서티": perplexity(log_probs[None]),
            "글 안 distinct-2": sum(distinct_n([seq], 2) for seq in news) / len(news),
            "프롬프트 사이 distinct-2": distinct_n(news, 2),
            "예": tokenizer.decode(news[0], skip_special_tokens=True),
        }
    return table


# BEGIN SOLUTION ONLY
# %% [markdown]
# ## (확장) 대조 탐색(contrastive search)
# 후보 k개 중에서 `(1-α)·확률 - α·(앞 토큰들과의 최대 코사인 유사도)`가 가장 큰 것을 고릅니다. 확률은 높되
# 앞 내용과 겹치지 않는 토큰을 골라 반복을 줄입니다. α=0이면 그리디와 같습니다. transformers 5에서는 이 방법이
# 허브 저장소(`transformers-community/contrastive-search`, `trust_remote_code=True` 필요)로 옮겨져
# 인터넷 없이 쓸 수 없으므로, 원리대로 짧게 직접 구현합니다. KV 캐시를 씁니다: 매 단계 캐시를 후보 k개만큼 복제해
# 후보들을 한 번에 계산하고(`batch_repeat_interleave`), 고른 후보의 캐시만 남깁니다(`batch_select_indices`). 빔 서치처럼
# 여러 문장을 들고 다니지 않고 한 문장만 키우므로 그리디에 가까운 비용입니다.

# %%
def contrastive_search(model, input_ids: torch.Tensor, max_new_tokens: int = 30, penalty_alpha: float = 0.6,
                       top_k: int = 4, eos_token_id: int | None = None) -> torch.Tensor:
    """대조 탐색으로 만든 (1, 길이) 토큰 id (프롬프트 포함). 후보 k개는 KV 캐시를 복제해 한 번에 계산합니다."""
    generated = input_ids
    with torch.no_grad():
        outputs = model(generated, use_cache=True, output_hidden_states=True)
        cache, logits = outputs.past_key_values, outputs.logits[0, -1]
        context = outputs.hidden_states[-1][0]                                  # (길이, 차원)
        for _ in range(max_new_tokens):
            top_probs, top_ids = logits.softmax(-1).topk(top_k)
            cache.batch_repeat_interleave(top_k)                                # 후보마다 같은 캐시
            outputs = model(top_ids[:, None], past_key_values=cache, use_cache=True, output_hidden_states=True)
            candidate_hidden = outputs.hidden_states[-1][:, -1]                 # (k, 차원)
            similarity = torch.nn.functional.cosine_similarity(
                candidate_hidden[:, None, :], context[None, :, :], dim=-1).max(dim=1).values
            best = int(((1 - penalty_alpha) * top_probs - penalty_alpha * similarity).argmax())
            cache = outputs.past_key_values
            cache.batch_select_indices(torch.tensor([best]))                    # 고른 후보의 캐시만 남김
            logits = outputs.logits[best, -1]
            context = torch.cat([context, candidate_hidden[best:best + 1]])
            generated = torch.cat([generated, top_ids[best].view(1, 1)], dim=1)
            if eos_token_id is not None and int(top_ids[best]) == eos_token_id:
                break
    return generated


# END SOLUTION ONLY
# %% [markdown]
# ## 9. 실행해 보기
# 관찰할 것: 그리디·빔 서치는 반복 실행해도 같은 문장(distinct가 낮음), 샘플링은 매번 다른 문장(distinct가 높음).
# 퍼플렉서티는 그 반대로 움직입니다 — 다양성과 (모델이 본) 그럴듯함은 맞바꾸는 관계입니다. Step 3에서 이 곡선을 그립니다.
# top-p 그림에서 남긴 토큰 수가 문맥에 따라 얼마나 달라지는지도 보세요.

# %%
def main(argv: Sequence[str] | None = None) -> None:
    parser = KoreanArgumentParser(description="Step 2: 빔 서치, top-k, top-p 샘플링 비교")
    add_model_argument(parser)
    parser.add_argument("--prompts", nargs="+", default=DEFAULT_PROMPTS, help="생성을 시작할 프롬프트들")
    parser.add_argument("--max_new_tokens", type=int, default=30, help="새로 만들 토큰 수 (최대)")
    parser.add_argument("--num_beams", type=int, default=3, help="빔 서치의 빔 개수")
    parser.add_argument("--top_k", type=int, default=50, help="top-k 샘플링의 k")
    parser.add_argument("--top_p", type=float, default=0.92, help="top-p 샘플링의 p (누적 확률)")
    parser.add_argument("--runs", type=int, default=3, help="다양성을 볼 반복 실행 횟수")
    parser.add_argument("--seed", type=int, default=42, help="난수 시드 (같은 시드 → 같은 결과)")
    parser.add_argument("--output_dir", default=str(OUTPUT_DIR), help="그림(PNG)을 저장할 폴더")
    parser.add_argument("--bland_prompts", nargs="+", default=BLAND_PROMPTS, help="빔 서치의 밋밋함을 볼 프롬프트들")
    parser.add_argument("--bland_tokens", type=int, default=24, help="밋밋함 비교에서 만들 토큰 수 (끝 토큰을 막음)")
    args = parser.parse_args(argv)

    model, tokenizer = load_model_and_tokenizer(resolve_model_name(args.model))
    n = args.max_new_tokens
    strategies = {
        "그리디": lambda p: generate_ids(model, tokenizer, p, n, do_sample=False),
        f"빔 서치({args.num_beams})": lambda p: beam_search(model, tokenizer, p, n, args.num_beams),
        f"top-k({args.top_k})": lambda p: top_k_sampling(model, tokenizer, p, n, args.top_k),
        f"top-p({args.top_p})": lambda p: top_p_sampling(model, tokenizer, p, n, args.top_p),
    }
    compared = dict(strategies)
    # BEGIN SOLUTION ONLY
    compared["대조 탐색(α=0.6)"] = lambda p: contrastive_search(
        model, tokenizer.encode(p, return_tensors="pt"), n, 0.6, 4, tokenizer.eos_token_id)
    # END SOLUTION ONLY

    def text(prompt, ids):
        return continuation_text(tokenizer, prompt, new_token_ids(tokenizer, prompt, ids))

    print("\n### 같은 프롬프트, 같은 시드로 전략 비교")
    table = compare_strategies(compared, args.prompts, seed=args.seed)
    for i, prompt in enumerate(args.prompts):
        print(f"\n=== 프롬프트: {prompt!r} ===")
        for name, outputs in table.items():
            print(f"{name:>14} | {prompt}{text(prompt, outputs[i])}")

    prompt = args.prompts[0]
    print(f"\n### 반복 실행 {args.runs}번 (시드 {args.seed}), 프롬프트 {prompt!r}")
    samples = {}
    for name, strategy in strategies.items():
        runs = repeated_samples(lambda: strategy(prompt), args.runs, args.seed)
        samples[name] = [new_token_ids(tokenizer, prompt, ids) for ids in runs]
        print(f"\n[{name}] distinct-1 {distinct_n(samples[name], 1):.2f}, distinct-2 {distinct_n(samples[name], 2):.2f}, "
              f"퍼플렉서티(모델 기준) {strategy_quality(model, tokenizer, prompt, runs):.1f}")
        for ids in runs:
            print(f"  - {prompt}{text(prompt, ids)}")

    same = torch.equal(repeated_samples(lambda: strategies[f"top-k({args.top_k})"](prompt), 1, args.seed)[0],
                       repeated_samples(lambda: strategies[f"top-k({args.top_k})"](prompt), 1, args.seed)[0])
    print(f"\n같은 시드로 두 번 샘플링하면 결과가 " + ("같습니다 ✓" if same else "다릅니다 ✗ (시드 고정을 확인하세요)"))

    knobs = generate_ids(model, tokenizer, prompt, n, do_sample=False, temperature=0.3, top_k=5, top_p=0.5)
    plain = generate_ids(model, tokenizer, prompt, n, do_sample=False)
    print("do_sample=False에 temperature=0.3, top_k=5, top_p=0.5를 줘도 그리디와 " +
          ("같은 결과입니다 ✓ (샘플링 손잡이는 do_sample=True일 때만 쓰입니다)" if torch.equal(knobs, plain) else "다릅니다 ✗"))

    print(f"\n### 빔 서치의 밋밋함 (새 토큰 {args.bland_tokens}개, 끝 토큰 막음, 프롬프트 {len(args.bland_prompts)}개)")
    print("  사람이 쓴 리뷰의 퍼플렉서티: 번들 모델 기준 약 126 (모델 카드, python -m kogpt2_course bpc --model bundled)")
    for name, row in beam_blandness(model, tokenizer, args.bland_prompts, max_new_tokens=args.bland_tokens,
                                    seed=args.seed).items():
        print(f"  {name:>16} | 퍼플렉서티 {row['퍼플렉서티']:7.1f} | 글 안 distinct-2 {row['글 안 distinct-2']:.2f} | "
              f"프롬프트 사이 distinct-2 {row['프롬프트 사이 distinct-2']:.2f} | {args.bland_prompts[0]}{row['예']}")

    print("\n그림 저장:")
    print(" ", draw_kept_sets(model, tokenizer, prompt, args.top_k, args.top_p, args.output_dir))
    print(" ", draw_diversity(samples, args.output_dir))


if __name__ == "__main__":
    run_main(main)
