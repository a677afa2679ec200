# %% [markdown]
# # Step 3. 파라미터 조정 — 온도, 반복 억제, 추천 설정
#
# Step 2에서 전략을 골랐다면, 이제 손잡이를 돌려 봅니다. 이 단계에서 배우는 것
# 1. **n-gram 반복 막기**(`no_repeat_ngram_size=3`): 이미 나온 3-gram을 다시 만들지 못하게 합니다.
# 2. **온도(temperature)**: 로짓을 T로 나눈 뒤 softmax. T<1이면 분포가 뾰족해지고, T>1이면 평평해집니다.
#    직접 계산하고 **엔트로피**로 분포가 얼마나 퍼졌는지 잽니다.
# 3. **반복 벌점**(`repetition_penalty`): 이미 나온 토큰의 점수를 깎습니다.
# 4. 지금까지의 손잡이를 묶은 **추천 설정**, 그리고 설정마다 반복이 얼마나 되는지 숫자와 그림으로 비교합니다.
#
# 실행: `python step3_parameter_tuning.py` (옵션은 `--help`). 그림은 `outputs/` 폴더에 저장됩니다.

# %%
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.plots.distributions import plot_metric_bars, plot_token_distributions
from kogpt2_course.lm.decoding import generate_ids, new_token_ids, next_token_logits, token_labels
from kogpt2_course.lm.loading import load_model_and_tokenizer
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name
from kogpt2_course.plots.figure import OUTPUT_DIR
from kogpt2_course.grading.script_runner import run_main

DEFAULT_PROMPT = "이 영화"
TEMPERATURES = (0.3, 0.7, 1.0, 1.5)
PENALTIES = (1.0, 1.2, 1.5, 2.0)

# %% [markdown]
# ## 1. 같은 구절 되풀이 막기: `no_repeat_ngram_size`
# Step 1에서 본 것처럼 그리디 디코딩은 같은 구절을 되풀이하기 쉽습니다. `no_repeat_ngram_size=n`을 주면
# `generate`가 매 단계 "이 토큰을 붙이면 이미 나온 n-gram이 다시 생기는가?"를 보고 그런 토큰을 막습니다
# (프롬프트도 포함해서 셉니다). 모델·토크나이저 불러오기는 `load_model_and_tokenizer`, 인코딩과
# `model.generate` 호출은 도우미 `generate_ids(model, tokenizer, prompt, max_new_tokens, **옵션)`가 합니다.

# %%
def generate_no_repeat(model, tokenizer, prompt: str, max_new_tokens: int = 40,
                       no_repeat_ngram_size: int = 3) -> torch.Tensor:
    """n-gram 반복을 막은 그리디 생성의 (1, 길이) 토큰 id (프롬프트 포함)."""
    # BEGIN TODO 3-1: generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=False, no_repeat_ngram_size=no_repeat_ngram_size)를 부르세요
    output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=False,
                              no_repeat_ngram_size=no_repeat_ngram_size)
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
    # BEGIN TODO 3-2: 위치 i마다 tuple(ids[i:i+n])이 앞에서 본 n-gram 집합에 있으면 반복으로 세고, 반복 수 / 전체 n-gram 수를 돌려주세요 (전체가 0이면 0.0)
    seen, repeats, total = set(), 0, 0
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i:i + n])
        repeats += gram in seen
        total += 1
        seen.add(gram)
    return repeats / total if total else 0.0
    # END TODO


# %% [markdown]
# ## 2. 온도를 직접 적용하기
# 온도 T의 분포는 `softmax(로짓 / T)`입니다. 엔트로피 `H = -Σ p·log p`(단위: 나트)는 분포가 퍼진 정도입니다:
# 한 토큰에 몰리면 0, 어휘 V개가 고르면 log V. T가 0에 가까우면 분포는 가장 큰 로짓 하나에 몰려
# **그리디와 같아지고**, T가 커질수록 엔트로피가 커집니다.

# %%
def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """온도 temperature를 적용한 확률 분포 (마지막 차원의 합이 1)."""
    # BEGIN TODO 3-3: (logits / temperature).softmax(dim=-1)을 돌려주세요
    return (logits / temperature).softmax(dim=-1)
    # END TODO


def entropy(probs: torch.Tensor) -> float:
    """확률 분포의 엔트로피(나트). 확률이 0인 항은 0으로 셉니다."""
    # BEGIN TODO 3-4: -Σ p·log p를 계산하세요. p=0인 곳은 0·log 0 = 0으로 (torch.where나 p>0 마스크 사용)
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
                      max_new_tokens: int = 30, seed: int = 0) -> dict[float, torch.Tensor]:
    """{온도: 그 온도로 샘플링한 (1, 길이) 토큰 id}. 온도마다 torch.manual_seed(seed)로 다시 시작합니다."""
    results = {}
    for t in temperatures:
        # BEGIN TODO 3-5: torch.manual_seed(seed) 후 generate_ids(..., do_sample=True, temperature=t, top_k=0)의 결과를 results[t]에 넣으세요
        torch.manual_seed(seed)
        results[t] = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, temperature=t, top_k=0)
        # END TODO
    return results


# %% [markdown]
# ## 4. 반복 벌점 (repetition penalty)
# `repetition_penalty=r`이면 이미 나온 토큰의 로짓을 r배만큼 불리하게 만듭니다(양수면 ÷r, 음수면 ×r). 1.0이면 효과 없음.
# 효과만 보려고 그리디(`do_sample=False`)로 생성합니다.

# %%
def repetition_penalty_sweep(model, tokenizer, prompt: str, penalties: Sequence[float] = PENALTIES,
                             max_new_tokens: int = 30) -> dict[float, torch.Tensor]:
    """{벌점: 그 repetition_penalty로 그리디 생성한 (1, 길이) 토큰 id}."""
    results = {}
    for penalty in penalties:
        # BEGIN TODO 3-6: generate_ids(..., do_sample=False, repetition_penalty=penalty)의 결과를 results[penalty]에 넣으세요
        results[penalty] = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=False,
                                        repetition_penalty=penalty)
        # END TODO
    return results


# %% [markdown]
# ## 5. 추천 설정 (preset)
# 실전에서는 손잡이를 함께 씁니다. 흔히 쓰는 범위: top_k 40–50, top_p 0.85–0.95, 온도 0.5–1.0,
# 여기에 약한 반복 억제(repetition_penalty 1.1–1.3 또는 no_repeat_ngram_size=3)를 더합니다.

# %%
def recommended_preset() -> dict:
    """model.generate에 그대로 넘길 추천 설정(키워드 인자 dict)."""
    # BEGIN TODO 3-7: do_sample=True, top_k(40~50), top_p(0.85~0.95), temperature(0.5~1.0)를 담은 dict를 돌려주세요 (repetition_penalty, no_repeat_ngram_size도 넣어 보세요)
    return dict(do_sample=True, top_k=50, top_p=0.92, temperature=0.8, repetition_penalty=1.2, no_repeat_ngram_size=3)
    # END TODO


def draw_repetition(outputs: dict[str, list[int]], output_dir: str | Path = OUTPUT_DIR) -> Path:
    """설정별 생성 결과(새 토큰 id)의 반복 비율 막대그래프를 저장합니다."""
    values = {name: {"반복 3-gram 비율": repeated_ngram_share(ids, 3), "반복 토큰 비율": repeated_ngram_share(ids, 1)}
              for name, ids in outputs.items()}
    return plot_metric_bars(values, "step3_repetition.png", output_dir,
                            title="설정별 반복 정도 (낮을수록 덜 되풀이)", ylabel="비율")


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
# ## 6. 실행해 보기
# 관찰할 것: 온도가 낮으면 같은 말을 되풀이하고, 높으면 엉뚱한 토큰이 섞입니다(그림의 엔트로피 값을 보세요).
# `no_repeat_ngram_size`와 `repetition_penalty`를 쓰면 반복 3-gram 비율이 내려갑니다.

# %%
def main(argv: Sequence[str] | None = None) -> None:
    parser = KoreanArgumentParser(description="Step 3: 온도, 반복 억제, 추천 설정")
    add_model_argument(parser)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="생성을 시작할 프롬프트")
    parser.add_argument("--max_new_tokens", type=int, default=30, help="새로 만들 토큰 수 (최대)")
    parser.add_argument("--min_new_tokens", type=int, default=None,
                        help="이만큼 만들기 전에는 끝(</s>)을 막습니다 (기본: max_new_tokens와 같음 — 짧은 리뷰로 끝나지 않고 "
                             "반복이 드러나도록). 0이면 모델이 원할 때 끝냅니다")
    parser.add_argument("--no_repeat_ngram_size", type=int, default=3, help="다시 나오지 못하게 막을 n-gram 크기")
    parser.add_argument("--temperatures", type=float, nargs="+", default=list(TEMPERATURES), help="비교할 온도들")
    parser.add_argument("--penalties", type=float, nargs="+", default=list(PENALTIES), help="비교할 repetition_penalty 값들")
    parser.add_argument("--seed", type=int, default=42, help="난수 시드 (같은 시드 → 같은 결과)")
    parser.add_argument("--output_dir", default=str(OUTPUT_DIR), help="그림(PNG)을 저장할 폴더")
    args = parser.parse_args(argv)

    model, tokenizer = load_model_and_tokenizer(resolve_model_name(args.model))
    prompt, n = args.prompt, args.max_new_tokens
    # 영화 리뷰로 학습한 모델은 한두 문장 뒤 </s>로 끝내곤 합니다. 반복을 보려면 끝까지 생성하게 합니다.
    model.generation_config.min_new_tokens = n if args.min_new_tokens is None else args.min_new_tokens
    outputs = {}  # 설정 이름 → 새로 만든 토큰 id

    def show(name, ids):
        outputs[name] = new_token_ids(tokenizer, prompt, ids)
        text = tokenizer.decode(outputs[name], skip_special_tokens=True)
        share = repeated_ngram_share(outputs[name], 3)
        print(f"{name:>16} | 반복 3-gram {share:4.0%} | {prompt}{text}")

    print(f"\n### 반복 막기 (그리디, 프롬프트 {prompt!r})")
    show("그리디", generate_ids(model, tokenizer, prompt, n, do_sample=False))
    blocked = generate_no_repeat(model, tokenizer, prompt, n, args.no_repeat_ngram_size)
    show(f"no_repeat={args.no_repeat_ngram_size}", blocked)
    left = repeated_ngram_share(blocked[0].tolist(), args.no_repeat_ngram_size)
    print(f"→ 프롬프트를 포함한 결과에서 반복된 {args.no_repeat_ngram_size}-gram 비율: {left:.0%} (0%여야 합니다)")

    print("\n### 온도 (top_k=0, 온도마다 같은 시드)")
    logits = next_token_logits(model, tokenizer, prompt)
    for t, ids in temperature_sweep(model, tokenizer, prompt, args.temperatures, n, args.seed).items():
        print(f"  T={t}: 다음 토큰 분포의 엔트로피 {entropy(apply_temperature(logits, t)):.2f} 나트")
        show(f"T={t}", ids)

    print("\n### 반복 벌점 (그리디)")
    for penalty, ids in repetition_penalty_sweep(model, tokenizer, prompt, args.penalties, n).items():
        show(f"penalty={penalty}", ids)

    preset = recommended_preset()
    print(f"\n### 추천 설정 {preset}")
    torch.manual_seed(args.seed)
    show("추천 설정", generate_ids(model, tokenizer, prompt, n, **preset))

    # BEGIN SOLUTION ONLY
    banned = [tokenizer.decode([t], skip_special_tokens=True).strip() for t in outputs["추천 설정"][:2]]
    banned = [w for w in banned if w]
    if banned:
        torch.manual_seed(args.seed)
        filtered = generate_without_bad_words(model, tokenizer, prompt, banned, n, **preset)
        print(f"\n### (확장) 금지어 {banned} 막기")
        show("금지어 필터", filtered)
        new_ids = new_token_ids(tokenizer, prompt, filtered)
        found = [seq for seq in bad_words_to_ids(tokenizer, banned)
                 if any(new_ids[i:i + len(seq)] == seq for i in range(len(new_ids)))]
        print("→ 금지어 토큰 열이 " + ("나오지 않았습니다 ✓" if not found else f"나왔습니다 ✗ {found}"))
    # END SOLUTION ONLY

    print("\n그림 저장:")
    print(" ", draw_temperature_distributions(model, tokenizer, prompt, args.temperatures, args.output_dir))
    print(" ", draw_repetition(outputs, args.output_dir))


if __name__ == "__main__":
    run_main(main)
