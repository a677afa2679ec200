# 이 파일은 solutions/step2_solution.py 에서 자동으로 만들어졌습니다 (python -m kogpt2_course make-exercises).
# TODO 부분을 채우고 실행해 보세요. 채점: python -m kogpt2_course grade --step 2
# %% [markdown]
# # Step 2. 생성 전략 비교 — 빔 서치, top-k, top-p 샘플링
#
# Step 1의 그리디 디코딩은 매번 가장 확률이 높은 토큰 하나만 고릅니다. 이 단계에서 배우는 것
# 1. **빔 서치**(`num_beams=3`): 후보 문장 여러 개를 동시에 키워 가며 전체 확률이 높은 문장을 찾습니다.
# 2. **top-k 샘플링**(`top_k=50`)과 **top-p(뉴클리어스) 샘플링**(`top_p=0.92`): 확률에 따라 무작위로 고릅니다.
# 3. top-k / top-p 필터를 로짓 벡터 위에서 **직접 구현**하고, transformers의 구현과 같은지 확인합니다.
# 4. 시드(seed)와 재현성, 같은 설정을 여러 번 돌렸을 때의 **다양성**(distinct-1 / distinct-2).
# 5. 같은 프롬프트에서 전략들을 나란히 비교합니다.
#
# 실행: `python step2_generation_strategies.py` (옵션은 `--help`). 그림은 `outputs/` 폴더에 저장됩니다.

# %%
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import torch

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.plots.distributions import plot_kept_sets, plot_metric_bars
from kogpt2_course.lm.decoding import generate_ids, new_token_ids, next_token_logits, token_labels
from kogpt2_course.lm.loading import load_model_and_tokenizer
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name
from kogpt2_course.plots.figure import OUTPUT_DIR
from kogpt2_course.grading.script_runner import run_main

DEFAULT_PROMPTS = ["이 영화", "배우들 연기가"]

# %% [markdown]
# ## 1. 빔 서치
# 모델·토크나이저 불러오기와 인코딩은 Step 1에서 했으니, 여기서는 `generate_ids(model, tokenizer, prompt,
# max_new_tokens, **옵션)`(프롬프트를 인코딩해 `model.generate`에 옵션을 그대로 넘기는 도우미)를 씁니다.
# 빔 서치는 매 단계 점수가 높은 후보 `num_beams`개를 유지합니다. 무작위성이 없으므로 몇 번을 돌려도 같습니다.

# %%
def beam_search(model, tokenizer, prompt: str, max_new_tokens: int = 30, num_beams: int = 3) -> torch.Tensor:
    """빔 서치로 생성한 (1, 길이) 토큰 id (프롬프트 포함)를 돌려줍니다."""
    # TODO 2-1: generate_ids(model, tokenizer, prompt, max_new_tokens, num_beams=num_beams, do_sample=False)로 빔 서치를 하세요
    raise NotImplementedError('TODO 2-1 미완성: generate_ids(model, tokenizer, prompt, max_new_tokens, num_beams=num_beams, do_sample=False)로 빔 서치를 하세요')
    return output_ids


# %% [markdown]
# ## 2. 샘플링: top-k와 top-p
# `do_sample=True`이면 다음 토큰을 확률에 따라 뽑습니다. 아주 드문 토큰까지 뽑히지 않도록 후보를 줄입니다.
# - **top-k**: 확률이 가장 높은 k개만 남깁니다.
# - **top-p**: 확률이 높은 것부터 더해 누적 확률이 p에 이를 때까지의 토큰만 남깁니다 (후보 수가 문맥마다 달라짐).
#
# 주의: transformers는 `top_k`를 지정하지 않으면 **기본값 50**을 씁니다. top-p만 보려면 `top_k=0`으로 끄세요.
# 난수 시드는 부르는 쪽에서 정합니다 (4절).

# %%
def top_k_sampling(model, tokenizer, prompt: str, max_new_tokens: int = 30, top_k: int = 50) -> torch.Tensor:
    """top-k 샘플링으로 생성한 (1, 길이) 토큰 id를 돌려줍니다."""
    # TODO 2-2: generate_ids(..., do_sample=True, top_k=top_k)로 top-k 샘플링을 하세요
    raise NotImplementedError('TODO 2-2 미완성: generate_ids(..., do_sample=True, top_k=top_k)로 top-k 샘플링을 하세요')
    return output_ids


def top_p_sampling(model, tokenizer, prompt: str, max_new_tokens: int = 30, top_p: float = 0.92) -> torch.Tensor:
    """top-p(뉴클리어스) 샘플링으로 생성한 (1, 길이) 토큰 id를 돌려줍니다."""
    # TODO 2-3: generate_ids(..., do_sample=True, top_p=top_p, top_k=0)로 top-p 샘플링을 하세요 (top_k=0: 기본 top-k 50을 끔)
    raise NotImplementedError('TODO 2-3 미완성: generate_ids(..., do_sample=True, top_p=top_p, top_k=0)로 top-p 샘플링을 하세요 (top_k=0: 기본 top-k 50을 끔)')
    return output_ids


# %% [markdown]
# ## 3. top-k / top-p 필터 직접 만들기
# `generate`는 매 단계 로짓에 필터를 적용합니다. 버릴 토큰의 로짓을 `-inf`로 바꾸면 softmax 뒤 확률이 0이 됩니다.
# 두 필터 모두 **새 텐서**를 돌려주고(입력은 그대로), 남긴 로짓 값은 바꾸지 않습니다.
# - top-k: k번째로 큰 로짓보다 **작은** 것만 버립니다. 그래서 k번째와 값이 같은(동점) 토큰은 모두 남습니다.
# - top-p: 확률 순으로 정렬했을 때, **자기 앞 토큰들의 누적 확률이 이미 top_p 이상**이면 버립니다.
# - `min_tokens_to_keep`: 어떤 경우에도 최소 이만큼(확률 상위)은 남깁니다.

# %%
def top_k_filter(logits: torch.Tensor, top_k: int, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """상위 k개(동점 포함)를 뺀 나머지 로짓을 -inf로 바꾼 새 텐서를 돌려줍니다 (마지막 차원 기준)."""
    # TODO 2-4: k = min(max(top_k, min_tokens_to_keep), 어휘 크기); torch.topk(logits, k).values[..., -1:]보다 작은 로짓을 logits.masked_fill(..., float('-inf'))로 바꾸세요
    raise NotImplementedError("TODO 2-4 미완성: k = min(max(top_k, min_tokens_to_keep), 어휘 크기); torch.topk(logits, k).values[..., -1:]보다 작은 로짓을 logits.masked_fill(..., float('-inf'))로 바꾸세요")
    return filtered


def top_p_filter(logits: torch.Tensor, top_p: float, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """누적 확률 top_p 안에 드는 토큰만 남기고 나머지 로짓을 -inf로 바꾼 새 텐서를 돌려줍니다."""
    # TODO 2-5: torch.sort(logits, descending=True)로 정렬 → softmax → cumsum; (누적 확률 - 자기 확률) >= top_p 이면 버림, 앞의 min_tokens_to_keep개는 남김; scatter로 원래 순서로 되돌려 -inf를 채우세요
    raise NotImplementedError('TODO 2-5 미완성: torch.sort(logits, descending=True)로 정렬 → softmax → cumsum; (누적 확률 - 자기 확률) >= top_p 이면 버림, 앞의 min_tokens_to_keep개는 남김; scatter로 원래 순서로 되돌려 -inf를 채우세요')
    return filtered


# %% [markdown]
# 그림으로 보기: 같은 다음-토큰 분포에서 top-k와 top-p가 각각 어떤 토큰을 남기는지 색으로 표시합니다.
# 확률이 고르게 퍼진 문맥에서는 top-p가 훨씬 많은 토큰을 남기고, 한 토큰에 몰린 문맥에서는 아주 적게 남깁니다.

# %%
def draw_kept_sets(model, tokenizer, prompt: str, top_k: int = 50, top_p: float = 0.92,
                   output_dir: str | Path = OUTPUT_DIR, shown: int | None = None) -> Path:
    """상위 `shown`개(기본: k+20개) 토큰의 확률 막대에 top-k / top-p가 남긴 토큰을 표시한 그림을 저장합니다."""
    shown = shown or min(top_k + 20, 80)
    logits = next_token_logits(model, tokenizer, prompt)
    probs = logits.softmax(-1)
    order = probs.argsort(descending=True)[:shown]
    kept, notes = {}, {}
    for name, filtered in ((f"top-k (k={top_k})", top_k_filter(logits, top_k)),
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
    # TODO 2-6: torch.manual_seed(seed)를 한 번 부르고, generate_once()를 n_runs번 호출한 결과를 리스트로 모으세요
    raise NotImplementedError('TODO 2-6 미완성: torch.manual_seed(seed)를 한 번 부르고, generate_once()를 n_runs번 호출한 결과를 리스트로 모으세요')
    return results


# %% [markdown]
# ## 5. 다양성 재기: distinct-n
# distinct-n = (모든 샘플에 나온 **서로 다른** n-gram 수) / (전체 n-gram 수). 1에 가까울수록 다양하고,
# 같은 문장을 세 번 되풀이하면 1/3 이하로 떨어집니다. 여기서는 토큰 id로 셉니다.

# %%
def distinct_n(sequences: Sequence[Sequence[int]], n: int) -> float:
    """여러 토큰 id 열 전체의 distinct-n. n-gram이 하나도 없으면 0.0."""
    # TODO 2-7: 각 열에서 tuple(seq[i:i+n])을 모두 모아, 서로 다른 n-gram 수(set)를 전체 n-gram 수로 나누세요 (전체가 0이면 0.0)
    raise NotImplementedError('TODO 2-7 미완성: 각 열에서 tuple(seq[i:i+n])을 모두 모아, 서로 다른 n-gram 수(set)를 전체 n-gram 수로 나누세요 (전체가 0이면 0.0)')


def draw_diversity(samples: dict[str, list[list[int]]], output_dir: str | Path = OUTPUT_DIR) -> Path:
    """전략별 반복 샘플의 distinct-1 / distinct-2 막대그래프를 저장합니다."""
    values = {name: {"distinct-1": distinct_n(runs, 1), "distinct-2": distinct_n(runs, 2)}
              for name, runs in samples.items()}
    return plot_metric_bars(values, "step2_diversity.png", output_dir,
                            title="전략별 다양성 (같은 프롬프트, 반복 실행)", ylabel="distinct-n (높을수록 다양)")


# %% [markdown]
# ## 6. 나란히 비교하기
# 공정하게 비교하려면 모든 전략에 **같은 프롬프트**와 **같은 시드**를 줍니다.
# `strategies`는 {이름: 프롬프트를 받아 토큰 id를 돌려주는 함수}입니다.

# %%
def compare_strategies(strategies: dict[str, Callable[[str], torch.Tensor]], prompts: Sequence[str],
                       seed: int = 0) -> dict[str, list[torch.Tensor]]:
    """{전략 이름: [프롬프트마다 생성한 토큰 id]}를 돌려줍니다. 각 호출 직전에 같은 시드를 고정합니다."""
    results = {name: [] for name in strategies}
    for prompt in prompts:
        for name, strategy in strategies.items():
            # TODO 2-8: torch.manual_seed(seed)로 시드를 고정한 뒤 strategy(prompt)를 불러 results[name]에 붙이세요
            raise NotImplementedError('TODO 2-8 미완성: torch.manual_seed(seed)로 시드를 고정한 뒤 strategy(prompt)를 불러 results[name]에 붙이세요')
    return results


# %% [markdown]
# ## 7. 실행해 보기
# 관찰할 것: 그리디·빔 서치는 반복 실행해도 같은 문장(distinct가 낮음), 샘플링은 매번 다른 문장(distinct가 높음).
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

    def text(prompt, ids):
        return tokenizer.decode(new_token_ids(tokenizer, prompt, ids), skip_special_tokens=True)

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
        print(f"\n[{name}] distinct-1 {distinct_n(samples[name], 1):.2f}, distinct-2 {distinct_n(samples[name], 2):.2f}")
        for ids in runs:
            print(f"  - {prompt}{text(prompt, ids)}")

    same = torch.equal(repeated_samples(lambda: strategies[f"top-k({args.top_k})"](prompt), 1, args.seed)[0],
                       repeated_samples(lambda: strategies[f"top-k({args.top_k})"](prompt), 1, args.seed)[0])
    print(f"\n같은 시드로 두 번 샘플링하면 결과가 " + ("같습니다 ✓" if same else "다릅니다 ✗ (시드 고정을 확인하세요)"))

    print("\n그림 저장:")
    print(" ", draw_kept_sets(model, tokenizer, prompt, args.top_k, args.top_p, args.output_dir))
    print(" ", draw_diversity(samples, args.output_dir))


if __name__ == "__main__":
    run_main(main)
