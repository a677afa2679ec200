# %% [markdown]
# # Step 3. 파라미터 조정 — 온도, 반복 억제, 처리 순서, 프리셋
#
# Step 2에서 전략을 골랐다면, 이제 손잡이를 돌려 봅니다. 이 단계에서 배우는 것
# 1. **n-gram 반복 금지**(`no_repeat_ngram_size=3`): 이미 나온 3-gram을 다시 만들지 못하게 합니다 — 그리고 그 대가.
# 2. **온도(temperature)**: 로짓을 T로 나눈 뒤 softmax. T<1이면 분포가 뾰족해지고, T>1이면 평평해집니다.
#    직접 계산하고 **엔트로피**로 분포가 얼마나 퍼졌는지 잽니다.
# 3. **반복 벌점**(`repetition_penalty`): 이미 나온 토큰의 로짓을 깎습니다. 실제 로짓 위에서 직접 구현하고, 효과가 로짓의
#    크기와 부호에 따라 얼마나 다른지 봅니다.
# 4. `generate`가 로짓을 고치는 **순서**(반복 벌점 → 온도 → top-k → top-p)와 단계마다의 분포.
# 5. top-k·top-p를 바꿔 가며 재는 **다양성–품질 곡선**.
# 6. 손잡이를 묶은 **프리셋**: 여러분의 추천 프리셋과, 강의 전체(Step 3–5)가 쓰는 용도별 프리셋.
#
# 실행: `python step3_parameter_tuning.py` (옵션은 `--help`). 그림은 `outputs/` 폴더에 저장됩니다.

# %%
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from transformers import TopKLogitsWarper, TopPLogitsWarper

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.plots.distributions import plot_metric_bars, plot_token_distributions, plot_tradeoff
from kogpt2_course.lm.bpc import evaluate_bpc, read_documents
from kogpt2_course.lm.decoding import continuation_text, generate_ids, new_token_ids, next_token_logits, token_labels
from kogpt2_course.lm.loading import load_model_and_tokenizer
from kogpt2_course.lm.presets import PRESETS, sampling_values
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name
from kogpt2_course.lm.scoring import continuation_log_probs, continuations, distinct_n, mean_log_prob
from kogpt2_course.plots.figure import OUTPUT_DIR
from kogpt2_course.grading.script_runner import run_main

DEFAULT_PROMPT = "이 영화"
SWEEP_PROMPTS = ["이 영화", "배우들 연기가"]
STAGE_TEXT = "이 영화는 정말 최고다. 이 영화는 정말"  # 되풀이 직전: 반복 벌점이 '_최고다'를 깎는 것이 보임
TEMPERATURES = (0.3, 0.7, 1.0, 1.5)
PENALTIES = (1.0, 1.2, 1.5, 2.0)

# %% [markdown]
# ## 1. n-gram 반복 금지: `no_repeat_ngram_size`
# Step 1에서 본 것처럼 그리디 디코딩은 같은 구절을 되풀이하기 쉽습니다. `no_repeat_ngram_size=n`을 주면
# `generate`가 매 단계 "이 토큰을 붙이면 이미 나온 n-gram이 다시 생기는가?"를 보고 그런 토큰을 막습니다
# (프롬프트도 포함해서 셉니다). 모델·토크나이저 불러오기는 `load_model_and_tokenizer`, 인코딩과
# `model.generate` 호출은 도우미 `generate_ids(model, tokenizer, prompt, max_new_tokens, **옵션)`가 합니다.
#
# 이 절의 생성 함수들은 `**generate_kwargs`로 받은 추가 옵션(예: 길이를 정하는 `min_new_tokens`)을 `generate_ids`에
# 그대로 넘깁니다. 옵션은 **호출마다** 넘기세요. `model.generation_config`를 바꾸면 그 뒤의 모든 호출이 조용히 바뀝니다.
#
# **대가**: 막는 단위는 토큰입니다. 사람이 쓴 글도 낱말 묶음을 자연스럽게 되풀이합니다. 예를 들어 번들 토크나이저에서
# "영화가 너무 좋았다. 음악도 너무 좋았다."는 `▁영화가`·`▁너무`·`▁좋았다.`·`▁음악도`·`▁너무`·`▁좋았다.`로 쪼개져
# 2-gram (`▁너무`, `▁좋았다.`)이 두 번 나옵니다. `no_repeat_ngram_size=2`이면 두 번째 문장은 `너무` 뒤에 `좋았다.`를
# 쓸 수 없어 다른 말을 억지로 고릅니다. 사람이 쓴 NSMC 리뷰(40토큰 이상)의 약 36%에 반복 2-gram이,
# 약 14%에 반복 3-gram이, 약 6%에 반복 4-gram이 있습니다(번들 토크나이저, `--human_reviews`로 재현). 즉 n이 작을수록
# 사람도 쓰는 글을 더 많이 금지합니다.

# %%
def generate_no_repeat(model, tokenizer, prompt: str, max_new_tokens: int = 40,
                       no_repeat_ngram_size: int = 3, **generate_kwargs) -> torch.Tensor:
    """n-gram 반복을 막은 그리디 생성의 (1, 길이) 토큰 id (프롬프트 포함). generate_kwargs는 그대로 넘깁니다."""
    # BEGIN TODO 3-1: 그리디 생성에 'n-gram 반복 금지'를 켜세요: 이미 나온 n개 토큰 묶음을 다시 만들 토큰을 매 단계 막는 generate의 옵션입니다. 함수가 받은 그 밖의 옵션(generate_kwargs)도 그대로 넘깁니다 (위 1절, transformers 문서의 GenerationConfig)
    # HINT 2: generate_ids(model, tokenizer, prompt, max_new_tokens, ...)에 do_sample=False와 no_repeat_ngram_size, 그리고 **generate_kwargs를 주세요
    # HINT 3: output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=False,
    # HINT 3:                           no_repeat_ngram_size=no_repeat_ngram_size, **generate_kwargs)
    output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=False,
                              no_repeat_ngram_size=no_repeat_ngram_size, **generate_kwargs)
    # END TODO
    return output_ids


# %% [markdown]
# 반복을 숫자로 재 봅니다: 한 글(토큰 id 열)의 n-gram 가운데 **앞에서 이미 나온 n-gram의 비율**.
# 0이면 반복이 전혀 없고, 같은 구절을 계속 되풀이하면 1에 가까워집니다.
# `no_repeat_ngram_size=3`으로 만든 글은 3-gram 반복 비율이 정확히 0이어야 합니다.

# %%
def repeated_ngram_share(token_ids: Sequence[int], n: int = 3) -> float:
    """앞에서 이미 나온 n-gram의 비율 (n-gram이 없으면 0.0)."""
    ids = [int(t) for t in token_ids]
    # BEGIN TODO 3-2: 앞에서부터 n-gram을 하나씩 보면서, 앞에서 이미 본 n-gram이면 반복으로 세세요. 반복 수를 전체 n-gram 수로 나눈 비율을 돌려주고, n-gram이 없으면 0.0입니다. Step 1의 find_repetition과 같은 '이미 본 집합' 방법입니다 (위 1절)
    # HINT 2: 집합 seen과 반복 수, 전체 수를 두고 i를 0부터 len(ids) - n까지 돌며 tuple(ids[i:i + n])이 seen에 있으면 반복 수를 1 늘리세요. 마지막에 반복 수 / 전체 수
    # HINT 3: seen, repeats, total = set(), 0, 0
    # HINT 3: for i in range(len(ids) - n + 1):
    # HINT 3:     gram = tuple(ids[i:i + n])
    # HINT 3:     repeats += gram in seen
    # HINT 3:     total += 1
    # HINT 3:     seen.add(gram)
    # HINT 3: return repeats / total if total else 0.0
    seen, repeats, total = set(), 0, 0
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i:i + n])
        repeats += gram in seen
        total += 1
        seen.add(gram)
    return repeats / total if total else 0.0
    # END TODO


def human_repeat_rates(tokenizer, texts: Sequence[str], sizes: Sequence[int] = (2, 3, 4),
                       min_tokens: int = 40) -> dict[int, float]:
    """토큰 min_tokens개 이상인 사람 글 가운데 반복 n-gram이 하나라도 있는 글의 비율 — no_repeat_ngram_size=n이 금지했을 글."""
    encoded = [ids for ids in tokenizer(list(texts), verbose=False)["input_ids"] if len(ids) >= min_tokens]
    if not encoded:
        raise ValueError(f"토큰 {min_tokens}개 이상인 글이 없습니다")
    return {n: sum(repeated_ngram_share(ids, n) > 0 for ids in encoded) / len(encoded) for n in sizes}


# %% [markdown]
# ## 2. 온도를 직접 적용하기
# 온도 T의 분포는 `softmax(로짓 / T)`입니다. 엔트로피 `H = -Σ p·log p`(단위: 나트)는 분포가 퍼진 정도입니다:
# 한 토큰에 몰리면 0, 어휘 V개가 고르면 log V. T가 0에 가까우면 분포는 가장 큰 로짓 하나에 몰려
# **그리디와 같아지고**, T가 커질수록 엔트로피가 커집니다.

# %%
def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """온도 temperature를 적용한 확률 분포 (마지막 차원의 합이 1)."""
    # BEGIN TODO 3-3: 온도 T의 분포를 만드세요: 로짓을 온도로 나눈 뒤 확률로 바꿉니다(마지막 차원의 합이 1). 입력 로짓은 바꾸지 않습니다 (위 2절, PyTorch 문서의 softmax)
    # HINT 2: logits / temperature에 softmax(dim=-1)를 적용하세요
    # HINT 3: return (logits / temperature).softmax(dim=-1)
    return (logits / temperature).softmax(dim=-1)
    # END TODO


def entropy(probs: torch.Tensor) -> float:
    """확률 분포의 엔트로피(나트). 확률이 0인 항은 0으로 셉니다."""
    # BEGIN TODO 3-4: 엔트로피(분포가 퍼진 정도, 자연로그 단위)를 계산해 파이썬 float로 돌려주세요. 확률이 0인 항은 0으로 칩니다 — 그대로 계산하면 0·log 0이 nan이 됩니다 (위 2절의 식, PyTorch 문서의 log와 불리언 마스크)
    # HINT 2: probs > 0 마스크로 0이 아닌 확률 p만 골라 -(p * p.log()).sum()을 float로 바꾸세요
    # HINT 3: nonzero = probs[probs > 0]
    # HINT 3: return float(-(nonzero * nonzero.log()).sum())
    nonzero = probs[probs > 0]
    return float(-(nonzero * nonzero.log()).sum())
    # END TODO


def draw_temperature_distributions(model, tokenizer, prompt: str, temperatures: Sequence[float] = TEMPERATURES,
                                   output_dir: str | Path = OUTPUT_DIR, top_n: int = 20) -> Path:
    """온도마다 다음-토큰 분포(T=1 기준 상위 top_n개 토큰)를 그린 그림을 저장합니다."""
    logits = next_token_logits(model, tokenizer, prompt)
    top_ids = logits.topk(top_n).indices
    distributions, notes = {}, {}
    for t in temperatures:
        probs = apply_temperature(logits, t)
        distributions[f"T = {t}"] = probs[top_ids].tolist()
        notes[f"T = {t}"] = f"엔트로피 {entropy(probs):.2f} 나트, 상위 {top_n}개 확률 합 {float(probs[top_ids].sum()):.2f}"
    return plot_token_distributions(token_labels(tokenizer, top_ids), distributions, "step3_temperature.png",
                                    output_dir, title=f"프롬프트 {prompt!r} 다음 토큰 분포와 온도", notes=notes)


# %% [markdown]
# ## 3. 온도 바꿔 가며 생성하기 (temperature sweep)
# 온도만의 효과를 보려고 top-k를 끄고(`top_k=0`, 기본값 50을 끔) 순수 샘플링을 합니다.
# 공정한 비교를 위해 **온도마다 같은 시드**로 시작합니다.

# %%
def temperature_sweep(model, tokenizer, prompt: str, temperatures: Sequence[float] = TEMPERATURES,
                      max_new_tokens: int = 30, seed: int = 0, **generate_kwargs) -> dict[float, torch.Tensor]:
    """{온도: 그 온도로 샘플링한 (1, 길이) 토큰 id}. 온도마다 torch.manual_seed(seed)로 다시 시작합니다."""
    results = {}
    for t in temperatures:
        # BEGIN TODO 3-5: 온도만의 효과를 보려고, 온도마다 같은 시드에서 다시 시작해 top-k 없이 순수 샘플링한 결과를 results[t]에 넣으세요. 함수가 받은 그 밖의 옵션(generate_kwargs)도 그대로 넘깁니다 (위 3절, transformers 문서의 GenerationConfig: temperature)
        # HINT 2: torch.manual_seed(seed) 다음 generate_ids(model, tokenizer, prompt, max_new_tokens, ...)에 do_sample, temperature, top-k를 끄는 top_k=0, 그리고 **generate_kwargs를 주세요
        # HINT 3: torch.manual_seed(seed)
        # HINT 3: results[t] = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, temperature=t, top_k=0,
        # HINT 3:                           **generate_kwargs)
        torch.manual_seed(seed)
        results[t] = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, temperature=t, top_k=0,
                                  **generate_kwargs)
        # END TODO
    return results


# %% [markdown]
# ## 4. 반복 벌점 (repetition penalty)
# transformers의 `RepetitionPenaltyLogitsProcessor`가 하는 일(CTRL 논문, Keskar 외 2019)은 정확히 이것입니다:
# 지금까지의 토큰 id(**프롬프트 포함**) 가운데 나온 적이 있는 **토큰 종류마다 한 번**, 그 토큰의 로짓 z를
# z > 0이면 `z / r`, z < 0이면 `z * r`로 바꿉니다. 열 번 나온 토큰도 한 번 나온 토큰과 똑같이 한 번만 깎습니다.
# 1.0이면 효과 없음, **r < 1이면 거꾸로 이미 나온 토큰을 밀어 줍니다**(반복을 부추김).
#
# 효과는 "확률을 r배 낮춤"이 아닙니다. 확률은 로짓의 **차이**로 정해지므로, 바뀐 양 Δ = z − z/r (또는 z·r − z)만큼
# 다른 토큰에 견준 그 토큰의 확률 비(오즈)가 `exp(Δ)`배 줄어듭니다. r = 1.2일 때 로짓 10 → 8.33은 오즈를 약 5.3배 줄이지만, 로짓 0.5 → 0.42는
# 약 1.09배로 거의 그대로입니다. 음수 로짓 −4 → −4.8은 약 2.2배 줄입니다. 게다가 softmax는 모든 로짓에 같은 수를 더해도
# 그대로인데, 반복 벌점의 효과는 그 기준점에 따라 달라집니다(아래 실행에서 로짓을 모두 10 내려 보면 효과가 바뀝니다).
# 어미·조사·마침표처럼 한국어에서 자연스럽게 되풀이되는 토큰도 똑같이 깎인다는 것도 기억하세요.

# %%
def apply_repetition_penalty(logits: torch.Tensor, previous_ids, penalty: float) -> torch.Tensor:
    """previous_ids(프롬프트 포함 지금까지의 토큰 id, 리스트 또는 1차원 텐서)에 나온 토큰 종류마다 한 번 반복 벌점을 준
    새 로짓 텐서(마지막 차원 = 어휘)."""
    # BEGIN TODO 3-8: 나온 적 있는 토큰 종류(중복 제거)의 로짓만 골라, 양수는 penalty로 나누고 음수는 penalty를 곱한 새 텐서를 돌려주세요 (입력은 그대로, 다른 토큰의 로짓도 그대로)
    # HINT 2: torch.unique(torch.as_tensor(previous_ids))로 토큰 종류를 구하고, logits.clone()의 [..., 그 id들] 위치에 torch.where(값 < 0, 값 * penalty, 값 / penalty)를 넣으세요
    # HINT 3: seen = torch.unique(torch.as_tensor(previous_ids)); scores = logits.clone(); picked = scores[..., seen]; scores[..., seen] = torch.where(picked < 0, picked * penalty, picked / penalty)
    seen = torch.unique(torch.as_tensor(previous_ids))
    scores = logits.clone()
    picked = scores[..., seen]
    scores[..., seen] = torch.where(picked < 0, picked * penalty, picked / penalty)
    return scores
    # END TODO


def penalty_effect(model, tokenizer, text: str, penalty: float, shift: float = 0.0) -> list[dict]:
    """text 다음 토큰의 실제 로짓에 반복 벌점을 줄 때, text에 나온 토큰마다 로짓과 확률이 어떻게 바뀌는지.

    shift: 모든 로짓에 더할 수(softmax는 그대로). 벌점의 효과가 로짓의 기준점에 따라 달라지는 것을 보려고 씁니다.
    """
    logits = next_token_logits(model, tokenizer, text) + shift
    previous = tokenizer.encode(text)
    penalized = apply_repetition_penalty(logits, previous, penalty)
    before, after = logits.softmax(-1), penalized.softmax(-1)
    rows = []
    for token_id in dict.fromkeys(previous):
        rows.append({"토큰": token_labels(tokenizer, [token_id])[0], "나온 횟수": previous.count(token_id),
                     "로짓": float(logits[token_id]), "벌점 뒤 로짓": float(penalized[token_id]),
                     "확률": float(before[token_id]), "벌점 뒤 확률": float(after[token_id])})
    return rows


def repetition_penalty_sweep(model, tokenizer, prompt: str, penalties: Sequence[float] = PENALTIES,
                             max_new_tokens: int = 30, **generate_kwargs) -> dict[float, torch.Tensor]:
    """{벌점: 그 repetition_penalty로 그리디 생성한 (1, 길이) 토큰 id}. 효과만 보려고 그리디(do_sample=False)로 만듭니다."""
    results = {}
    for penalty in penalties:
        # BEGIN TODO 3-6: 반복 벌점만의 효과를 보려고 그리디로 생성하되, 이미 나온 토큰의 점수를 penalty만큼 불리하게 만드는 generate의 옵션을 켜고 결과를 results[penalty]에 넣으세요. 함수가 받은 그 밖의 옵션(generate_kwargs)도 그대로 넘깁니다 (위 4절, transformers 문서의 GenerationConfig)
        # HINT 2: generate_ids(model, tokenizer, prompt, max_new_tokens, ...)에 do_sample=False와 repetition_penalty, 그리고 **generate_kwargs를 주세요
        # HINT 3: results[penalty] = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=False,
        # HINT 3:                                 repetition_penalty=penalty, **generate_kwargs)
        results[penalty] = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=False,
                                        repetition_penalty=penalty, **generate_kwargs)
        # END TODO
    return results


# %% [markdown]
# ## 5. 로짓을 고치는 순서: 반복 벌점 → 온도 → top-k → top-p
# `generate(do_sample=True)`는 매 단계 다음 토큰의 로짓을 정해진 순서로 고친 뒤 softmax로 확률을 만들어 뽑습니다
# (transformers 5.23 `generation/utils.py`의 `_get_logits_processor`): 먼저 반복 벌점·n-gram 금지·`min_new_tokens` 같은
# **처리기**, 그다음 샘플링일 때만 쓰는 **온도 → top-k → top-p**. 순서가 결과를 바꿉니다: top-p는 온도로 바뀐 분포에서
# 누적 확률을 세고, top-k 뒤에 오면 남은 k개 안에서 다시 셉니다. (반복 벌점과 온도는 둘 다 곱셈이라 순서를 바꿔도 같습니다.)
# top-k·top-p 필터는 Step 2에서 직접 만들었으니 여기서는 transformers의 `TopKLogitsWarper`, `TopPLogitsWarper`를 씁니다.
# 웹 데모의 "다음 토큰 후보"는 이 가운데 **첫 단계(원래 분포)** 입니다. 실제로 뽑는 분포는 마지막 단계입니다.

# %%
STAGES = ("원래 분포", "반복 벌점 뒤", "온도 뒤", "top-k 뒤", "top-p 뒤")


def staged_distributions(logits: torch.Tensor, previous_ids, repetition_penalty: float = 1.0,
                         temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> dict[str, torch.Tensor]:
    """generate(do_sample=True)의 순서대로 로짓을 고치며 단계마다의 확률 분포를 돌려줍니다 (키: STAGES, 마지막이 실제로 뽑는 분포).

    logits는 다음 토큰의 로짓(1차원, 어휘 크기). top_k=0과 top_p=1.0은 그 단계를 건너뜀(끔)입니다.
    """
    stages = {"원래 분포": logits}
    # BEGIN TODO 3-9: 반복 벌점(TODO 3-8) → 온도 → top-k → top-p 순서로, 앞 단계의 결과에 다음 처리를 적용해 stages의 나머지 네 키에 로짓을 넣으세요. top_k가 0이면 top-k를, top_p가 1.0이면 top-p를 건너뜁니다
    # HINT 2: 온도는 로짓 / temperature. top-k·top-p는 TopKLogitsWarper(top_k), TopPLogitsWarper(top_p) — 이 처리기들은 (배치, 어휘) 모양을 받으므로 scores[None]을 넣고 [0]을 꺼냅니다 (첫 인자 input_ids는 None)
    # HINT 3: scores = apply_repetition_penalty(logits, previous_ids, repetition_penalty); stages["반복 벌점 뒤"] = scores; scores = scores / temperature; stages["온도 뒤"] = scores; if top_k > 0: scores = TopKLogitsWarper(top_k)(None, scores[None])[0] ... (top-p도 같은 모양)
    scores = apply_repetition_penalty(logits, previous_ids, repetition_penalty)
    stages["반복 벌점 뒤"] = scores
    scores = scores / temperature
    stages["온도 뒤"] = scores
    if top_k > 0:
        scores = TopKLogitsWarper(top_k)(None, scores[None])[0]
    stages["top-k 뒤"] = scores
    if top_p < 1.0:
        scores = TopPLogitsWarper(top_p)(None, scores[None])[0]
    stages["top-p 뒤"] = scores
    # END TODO
    return {name: stages[name].softmax(dim=-1) for name in STAGES}


def draw_stages(model, tokenizer, prompt: str, output_dir: str | Path = OUTPUT_DIR, top_n: int = 20,
                **settings) -> Path:
    """프롬프트 다음 토큰의 분포를 단계마다(원래 분포의 상위 top_n개 토큰 위에) 그린 그림을 저장합니다."""
    logits = next_token_logits(model, tokenizer, prompt)
    stages = staged_distributions(logits, tokenizer.encode(prompt), **settings)
    top_ids = logits.topk(top_n).indices
    notes = {name: f"0이 아닌 토큰 {int((probs > 0).sum())}개, 엔트로피 {entropy(probs) + 0.0:.2f} 나트, "
                   f"이 {top_n}개의 확률 합 {float(probs[top_ids].sum()):.2f}" for name, probs in stages.items()}
    shown = ", ".join(f"{k}={v}" for k, v in settings.items())
    return plot_token_distributions(token_labels(tokenizer, top_ids), {n: p[top_ids].tolist() for n, p in stages.items()},
                                    "step3_stages.png", output_dir, title=f"{prompt!r} 다음 토큰: 단계별 분포 ({shown})",
                                    notes=notes)


# %% [markdown]
# ## 6. top-k·top-p 스윕: 다양성–품질 곡선
# 값 하나를 바꿔 가며 여러 샘플을 뽑아, 가로축에 **다양성**(샘플들의 distinct-2), 세로축에 **모델이 본 품질**(토큰당 평균
# 로그 확률, Step 2의 퍼플렉서티와 같은 재료)을 찍습니다. 후보를 줄일수록(k·p가 작을수록) 안전하지만 비슷한 글이,
# 늘릴수록 다양하지만 엉뚱한 글이 나옵니다. `top_k=0`은 끔(후보 제한 없음)이고 top-p 스윕에서는 top-k를 끕니다.
# 점선은 사람이 쓴 리뷰를 같은 모델로 잰 값입니다(`--human_reviews`를 줄 때). 품질 축의 한계는 Step 2 6절과 같습니다:
# 되풀이할수록 점수가 오르고, 글을 만든 모델이 스스로 채점합니다. 샘플은 끝 토큰을 막아 모두 같은 길이로 만듭니다.

# %%
TOP_KS = (1, 5, 20, 50, 200, 0)
TOP_PS = (0.3, 0.6, 0.8, 0.9, 0.95, 1.0)


def sampling_sweep(model, tokenizer, prompts: Sequence[str], name: str, values: Sequence, num_samples: int = 8,
                   max_new_tokens: int = 24, seed: int = 0, **fixed) -> list[dict]:
    """name(예: "top_k")을 values로 바꿔 가며 프롬프트마다 num_samples개를 뽑아 [{값, distinct-2, 로그 확률}]을 돌려줍니다."""
    points = []
    for value in values:
        log_probs, samples = [], []
        for i, prompt in enumerate(prompts):
            torch.manual_seed(seed + i)
            output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True,
                                      num_return_sequences=num_samples, min_new_tokens=max_new_tokens,
                                      **{**fixed, name: value})
            prompt_length = len(tokenizer.encode(prompt))
            row_log_probs, mask = continuation_log_probs(model, output_ids, prompt_length, tokenizer.eos_token_id)
            log_probs.append(row_log_probs[mask])
            samples += continuations(output_ids, prompt_length, tokenizer.eos_token_id)
        points.append({"값": value, "distinct-2": distinct_n(samples, 2),
                       "로그 확률": mean_log_prob(torch.cat(log_probs)[None])})
    return points


def human_log_prob(model, tokenizer, texts: Sequence[str]) -> float:
    """사람이 쓴 글들을 같은 모델로 잰 토큰당 평균 로그 확률 (문서 앞에 </s>, 끝의 </s>까지)."""
    return -evaluate_bpc(model, tokenizer, texts).nats_per_token


def draw_tradeoff(sweeps: dict[str, list[dict]], output_dir: str | Path = OUTPUT_DIR,
                  human: float | None = None) -> Path:
    """스윕마다 (distinct-2, 로그 확률) 점을 이은 다양성–품질 곡선을 저장합니다."""
    def label(name, value):  # top_k=0, top_p=1.0은 "끔"
        off = value == 0 if name.startswith("top-k") else value >= 1.0
        return "끔" if off else f"{value:g}"

    curves = {name: [(p["distinct-2"], p["로그 확률"], label(name, p["값"])) for p in points]
              for name, points in sweeps.items()}
    references = {"사람이 쓴 리뷰": human} if human is not None else None
    return plot_tradeoff(curves, "step3_tradeoff.png", output_dir, title="top-k·top-p 스윕: 다양성–품질",
                         xlabel="다양성: distinct-2 (샘플 전체, 높을수록 다양)",
                         ylabel="모델이 본 품질: 토큰당 평균 로그 확률 (높을수록 그럴듯)", references=references)


# %% [markdown]
# ## 7. 프리셋: 여러분의 추천 프리셋과 용도별 프리셋
# 실전에서는 손잡이를 함께 씁니다. 흔히 쓰는 범위: top_k 40–50, top_p 0.85–0.95, 온도 0.5–1.0,
# 여기에 약한 반복 억제(repetition_penalty 1.1–1.3 또는 no_repeat_ngram_size=3)를 더합니다.
#
# 강의의 **용도별 프리셋**은 `kogpt2_course/lm/presets.py`에 한 번만 정의되어 있고, Step 3(아래 표), Step 4의 리뷰 생성,
# Step 5 웹 데모의 처음 값과 버튼이 모두 그것을 씁니다. 값마다 이유가 적혀 있습니다 — 위 절들의 측정이 그 근거입니다.
#
# | 프리셋 | 쓰임 | 핵심 값과 이유 |
# |---|---|---|
# | 리뷰 생성 (기본값) | 짧고 자연스러운 글 | T 0.8 · top-k 50 · top-p 0.92 · 반복 벌점 1.2 · 3-gram 금지: 다양하되 꼬리를 잘라 깨진 낱말을 막음 |
# | 대화 응답 | 질문에 맞는 짧은 답 | T 0.7 · top-p 0.9: 주제를 지키는 흔한 표현 쪽으로 |
# | 사실에 가까운 설명 | 지어내면 안 되는 글 | 샘플링 끔 · 빔 3 · 3-gram 금지 · 반복 벌점 끔(용어를 되풀이해야 하므로) |
# | 창의적 | 누를 때마다 다른 글 | T 1.0 · top-k 끔 · top-p 0.95 · n-gram 금지 끔(2이면 어미·조사까지 금지) |
# | 그리디 | 비교의 기준 | 무작위 없음 |
#
# 반복 벌점은 되풀이될 **확률**을 낮출 뿐이고, 같은 3-gram을 확실히 막는 것은 `no_repeat_ngram_size=3`입니다.
# 여러분의 추천 프리셋(TODO 3-7)은 숫자 범위가 아니라 **효과**로 채점합니다: 같은 프롬프트에서 여러 번 샘플링한 글이
# 서로 다양한가(distinct-2), 한 글 안에서 3-gram을 되풀이하지 않는가, 모델이 보기에 그럴듯한가(새 토큰당 평균 로그 확률).

# %%
def recommended_preset() -> dict:
    """model.generate에 그대로 넘길 추천 프리셋(키워드 인자 dict)."""
    # BEGIN TODO 3-7: 여러분이 추천하는 샘플링 설정을 generate의 키워드 인자 dict로 돌려주세요. 채점은 숫자 범위가 아니라 효과를 봅니다: 같은 프롬프트에서 여러 번 샘플링했을 때 (1) 글끼리 다양하고(distinct-2), (2) 한 글 안에서 같은 3-gram이 되풀이되지 않으며, (3) 모델이 보기에 너무 엉뚱하지 않아야(토큰당 평균 로그 확률) 합니다. 위 7절의 흔한 범위와 1·3·4절의 손잡이를 참고하세요
    # HINT 2: dict(do_sample=True, top_k=..., top_p=..., temperature=...)에 반복을 막는 손잡이(no_repeat_ngram_size 또는 repetition_penalty)를 더하세요. 온도가 너무 높으면 (3)에서, 샘플링을 끄면 (1)에서 떨어집니다
    # HINT 3: return dict(do_sample=True, top_k=50, top_p=0.92, temperature=0.8, repetition_penalty=1.2, no_repeat_ngram_size=3)
    return dict(do_sample=True, top_k=50, top_p=0.92, temperature=0.8, repetition_penalty=1.2, no_repeat_ngram_size=3)
    # END TODO


def draw_repetition(outputs: dict[str, list[int]], output_dir: str | Path = OUTPUT_DIR) -> Path:
    """설정별 생성 결과(새 토큰 id)의 반복 비율 막대그래프를 저장합니다."""
    values = {name: {"반복 3-gram 비율": repeated_ngram_share(ids, 3), "반복 토큰 비율": repeated_ngram_share(ids, 1)}
              for name, ids in outputs.items()}
    return plot_metric_bars(values, "step3_repetition.png", output_dir,
                            title="설정별 반복 정도 (낮을수록 덜 되풀이)", ylabel="비율")


def preset_samples(model, tokenizer, prompt: str, max_new_tokens: int = 30, seed: int = 0,
                   **generate_kwargs) -> dict[str, torch.Tensor]:
    """{프리셋 이름: 그 프리셋으로 만든 (1, 길이) 토큰 id}. 강의의 용도별 프리셋(PRESETS)마다 같은 시드로 만듭니다."""
    results = {}
    for key, preset in PRESETS.items():
        torch.manual_seed(seed)
        results[preset.label] = generate_ids(model, tokenizer, prompt, max_new_tokens, **sampling_values(key),
                                             **generate_kwargs)
    return results


# BEGIN SOLUTION ONLY
# %% [markdown]
# ## (확장) 금지어 필터: `bad_words_ids`
# 내용 걸러내기의 첫걸음: 금지어의 **토큰 id 열**을 `bad_words_ids`로 주면 `generate`가 그 열을 만들지 않습니다.
# 주의: 막는 것은 정확히 그 id 열입니다. 같은 글자가 다른 토큰 조합(예: 띄어쓰기가 붙은 토큰)으로 나올 수 있으므로
# 단어마다 앞에 공백이 있는 형태와 없는 형태를 함께 막습니다. 그래도 글자 단위로 완벽히 막지는 못합니다.

# %%
def bad_words_to_ids(tokenizer, words: Sequence[str]) -> list[list[int]]:
    """금지어마다 (공백 없음 / 앞 공백) 두 형태의 토큰 id 열을 중복 없이 돌려줍니다."""
    sequences = []
    for word in words:
        for form in (word, " " + word):
            ids = tokenizer.encode(form)
            if ids and ids not in sequences:
                sequences.append(ids)
    return sequences


def generate_without_bad_words(model, tokenizer, prompt: str, bad_words: Sequence[str],
                               max_new_tokens: int = 30, **generate_kwargs) -> torch.Tensor:
    """bad_words의 토큰 id 열이 나오지 않게 생성한 (1, 길이) 토큰 id."""
    return generate_ids(model, tokenizer, prompt, max_new_tokens,
                        bad_words_ids=bad_words_to_ids(tokenizer, bad_words), **generate_kwargs)


# END SOLUTION ONLY
# %% [markdown]
# ## 8. 실행해 보기
# 관찰할 것: 온도가 낮으면 같은 말을 되풀이하고, 높으면 엉뚱한 토큰이 섞입니다(그림의 엔트로피 값을 보세요).
# `no_repeat_ngram_size`와 `repetition_penalty`를 쓰면 반복 3-gram 비율이 내려갑니다.
# 반복을 보려면 글이 길어야 하는데, 영화 리뷰로 학습한 모델은 한두 문장 뒤 `</s>`로 끝내곤 합니다. 그래서 비교용 생성에는
# `min_new_tokens`(기본: max_new_tokens와 같음)를 **호출마다** 넘겨 끝을 막습니다. 끝을 막으면 모델이 원래는 끝냈을 자리에서
# 억지로 이어 쓰므로 반복이 자연스러운 길이의 글보다 많아집니다 — 측정값은 그 조건에서의 비교입니다(`--min_new_tokens 0`이면 막지 않음).

# %%
def main(argv: Sequence[str] | None = None) -> None:
    parser = KoreanArgumentParser(description="Step 3: 온도, 반복 억제, 처리 순서, 스윕, 프리셋")
    add_model_argument(parser)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="생성을 시작할 프롬프트")
    parser.add_argument("--max_new_tokens", type=int, default=30, help="새로 만들 토큰 수 (최대)")
    parser.add_argument("--min_new_tokens", type=int, default=None,
                        help="비교용 생성에서 이만큼 만들기 전에는 끝(</s>)을 막습니다 (기본: max_new_tokens와 같음 — 짧은 리뷰로 "
                             "끝나지 않고 반복이 드러나도록). 0이면 모델이 원할 때 끝냅니다. 호출마다 넘기며 모델 설정은 바꾸지 않습니다")
    parser.add_argument("--no_repeat_ngram_size", type=int, default=3, help="다시 나오지 못하게 막을 n-gram 크기")
    parser.add_argument("--temperatures", type=float, nargs="+", default=list(TEMPERATURES), help="비교할 온도들")
    parser.add_argument("--penalties", type=float, nargs="+", default=list(PENALTIES), help="비교할 repetition_penalty 값들")
    parser.add_argument("--stage_text", default=STAGE_TEXT, help="처리 순서를 단계마다 보여 줄 문맥")
    parser.add_argument("--top_ks", type=int, nargs="+", default=list(TOP_KS), help="스윕할 top_k 값들 (0 = 끔)")
    parser.add_argument("--top_ps", type=float, nargs="+", default=list(TOP_PS), help="스윕할 top_p 값들 (1.0 = 끔)")
    parser.add_argument("--sweep_prompts", nargs="+", default=SWEEP_PROMPTS, help="스윕에서 쓸 프롬프트들")
    parser.add_argument("--sweep_samples", type=int, default=8, help="스윕에서 프롬프트·값마다 뽑을 샘플 수")
    parser.add_argument("--sweep_tokens", type=int, default=24, help="스윕 샘플의 길이 (끝 토큰을 막음)")
    parser.add_argument("--human_reviews", default=None,
                        help="사람이 쓴 리뷰 파일(NSMC 형식 또는 한 줄에 하나, 예: ../shared/data/nsmc/ratings_test.txt). "
                             "주면 n-gram 반복 비율과, 곡선 위의 '사람' 기준선을 잽니다")
    parser.add_argument("--seed", type=int, default=42, help="난수 시드 (같은 시드 → 같은 결과)")
    parser.add_argument("--output_dir", default=str(OUTPUT_DIR), help="그림(PNG)을 저장할 폴더")
    args = parser.parse_args(argv)

    model, tokenizer = load_model_and_tokenizer(resolve_model_name(args.model))
    prompt, n = args.prompt, args.max_new_tokens
    # 영화 리뷰로 학습한 모델은 한두 문장 뒤 </s>로 끝내곤 합니다. 반복을 보려면 끝을 막습니다 — 호출마다 넘기는 옵션으로.
    length = dict(min_new_tokens=n if args.min_new_tokens is None else args.min_new_tokens)
    outputs = {}  # 설정 이름 → 새로 만든 토큰 id

    def show(name, ids):
        outputs[name] = new_token_ids(tokenizer, prompt, ids)
        text = continuation_text(tokenizer, prompt, outputs[name])
        share = repeated_ngram_share(outputs[name], 3)
        print(f"{name:>16} | 반복 3-gram {share:4.0%} | {prompt}{text}")

    print(f"\n### n-gram 반복 금지 (그리디, 프롬프트 {prompt!r}, 끝 토큰을 {length['min_new_tokens']}토큰까지 막음)")
    show("그리디", generate_ids(model, tokenizer, prompt, n, do_sample=False, **length))
    blocked = generate_no_repeat(model, tokenizer, prompt, n, args.no_repeat_ngram_size, **length)
    show(f"no_repeat={args.no_repeat_ngram_size}", blocked)
    left = repeated_ngram_share(blocked[0].tolist(), args.no_repeat_ngram_size)
    print(f"→ 프롬프트를 포함한 결과에서 반복된 {args.no_repeat_ngram_size}-gram 비율: {left:.0%} (0%여야 합니다)")
    example = "영화가 너무 좋았다. 음악도 너무 좋았다."
    print(f"  예: {example!r}의 토큰 {token_labels(tokenizer, tokenizer.encode(example))} — "
          f"반복 2-gram 비율 {repeated_ngram_share(tokenizer.encode(example), 2):.0%}: no_repeat_ngram_size=2라면 두 번째 '너무' 뒤에 '좋았다.'를 쓸 수 없습니다")
    if args.human_reviews:
        reviews = read_documents(args.human_reviews, limit=20000)
        rates = human_repeat_rates(tokenizer, reviews)
        print(f"  사람이 쓴 리뷰({args.human_reviews}, 토큰 40개 이상) 가운데 반복 n-gram이 있는 글: "
              + ", ".join(f"n={k} {v:.0%}" for k, v in rates.items()))

    print("\n### 온도 (top_k=0, 온도마다 같은 시드)")
    logits = next_token_logits(model, tokenizer, prompt)
    for t, ids in temperature_sweep(model, tokenizer, prompt, args.temperatures, n, args.seed, **length).items():
        print(f"  T={t}: 다음 토큰 분포의 엔트로피 {entropy(apply_temperature(logits, t)):.2f} 나트")
        show(f"T={t}", ids)

    print("\n### 반복 벌점이 실제 로짓에 하는 일")
    text = prompt + continuation_text(tokenizer, prompt, outputs["그리디"][:6])
    for penalty, shift in ((1.2, 0.0), (1.2, -10.0), (0.5, 0.0)):
        note = " — 모든 로짓을 10 내림(softmax는 그대로)" if shift else (" — 1보다 작음: 반복을 부추김" if penalty < 1 else "")
        print(f"  r={penalty}, 문맥 {text!r}{note}")
        for row in penalty_effect(model, tokenizer, text, penalty, shift):
            print(f"    {row['토큰']:>8} ({row['나온 횟수']}번) 로짓 {row['로짓']:6.2f} → {row['벌점 뒤 로짓']:6.2f}, "
                  f"확률 {row['확률']:.4f} → {row['벌점 뒤 확률']:.4f} (×{row['벌점 뒤 확률'] / row['확률']:.2f})")

    print("\n### 반복 벌점 (그리디)")
    for penalty, ids in repetition_penalty_sweep(model, tokenizer, prompt, args.penalties, n, **length).items():
        show(f"penalty={penalty}", ids)

    stage_settings = dict(repetition_penalty=1.2, temperature=0.8, top_k=50, top_p=0.92)
    stage_text = args.stage_text
    stages = staged_distributions(next_token_logits(model, tokenizer, stage_text), tokenizer.encode(stage_text),
                                  **stage_settings)
    print(f"\n### 로짓을 고치는 순서 ({stage_settings}), 문맥 {stage_text!r}")
    for name, probs in stages.items():
        top = probs.topk(3)
        print(f"  {name:>8}: 0이 아닌 토큰 {int((probs > 0).sum()):5d}개, 엔트로피 {entropy(probs) + 0.0:.2f} 나트, 상위 "
              + ", ".join(f"{token_labels(tokenizer, [i])[0]} {p:.3f}" for i, p in zip(top.indices.tolist(), top.values.tolist())))

    preset = recommended_preset()
    print(f"\n### 추천 프리셋 {preset}")
    torch.manual_seed(args.seed)
    show("추천 프리셋", generate_ids(model, tokenizer, prompt, n, **preset, **length))

    print("\n### 강의의 용도별 프리셋 (kogpt2_course/lm/presets.py)")
    for key, preset_ids in zip(PRESETS, preset_samples(model, tokenizer, prompt, n, args.seed, **length).values()):
        print(f"  [{PRESETS[key].label}] {PRESETS[key].use}")
        show(PRESETS[key].label, preset_ids)

    # BEGIN SOLUTION ONLY
    banned = [tokenizer.decode([t], skip_special_tokens=True).strip() for t in outputs["추천 프리셋"][:2]]
    banned = [w for w in banned if w]
    if banned:
        torch.manual_seed(args.seed)
        filtered = generate_without_bad_words(model, tokenizer, prompt, banned, n, **preset, **length)
        print(f"\n### (확장) 금지어 {banned} 막기")
        show("금지어 필터", filtered)
        new_ids = new_token_ids(tokenizer, prompt, filtered)
        found = [seq for seq in bad_words_to_ids(tokenizer, banned)
                 if any(new_ids[i:i + len(seq)] == seq for i in range(len(new_ids)))]
        print("→ 금지어 토큰 열이 " + ("나오지 않았습니다 ✓" if not found else f"나왔습니다 ✗ {found}"))
    # END SOLUTION ONLY

    print(f"\n### top-k·top-p 스윕 (프롬프트 {len(args.sweep_prompts)}개 × 샘플 {args.sweep_samples}개, {args.sweep_tokens}토큰)")
    sweeps = {
        "top-k (top-p 끔)": sampling_sweep(model, tokenizer, args.sweep_prompts, "top_k", args.top_ks,
                                          args.sweep_samples, args.sweep_tokens, args.seed),
        "top-p (top-k 끔)": sampling_sweep(model, tokenizer, args.sweep_prompts, "top_p", args.top_ps,
                                          args.sweep_samples, args.sweep_tokens, args.seed, top_k=0),
    }
    for name, points in sweeps.items():
        print(f"  {name}: " + " | ".join(f"{p['값']:g}: d2 {p['distinct-2']:.2f}, log p {p['로그 확률']:.2f}" for p in points))
    human = None
    if args.human_reviews:
        human = human_log_prob(model, tokenizer, read_documents(args.human_reviews, limit=500))
        print(f"  사람이 쓴 리뷰 500개: 토큰당 log p {human:.2f}")

    print("\n그림 저장:")
    print(" ", draw_temperature_distributions(model, tokenizer, prompt, args.temperatures, args.output_dir))
    print(" ", draw_repetition(outputs, args.output_dir))
    print(" ", draw_stages(model, tokenizer, stage_text, args.output_dir, **stage_settings))
    print(" ", draw_tradeoff(sweeps, args.output_dir, human))


if __name__ == "__main__":
    run_main(main)
