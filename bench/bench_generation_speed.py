"""Greedy generation speed at batch 1: KV cache vs recomputing the whole prefix every step.

Measured side by side in one run on the same model and prompt, each generating exactly
--new_tokens tokens (eos ignored):
  * HF ``model.generate(do_sample=False)`` (uses the KV cache),
  * the Step 1 solution's hand-written loop (KV cache),
  * a loop that feeds the full prefix every step (no cache) — the quadratic baseline.

    python bench/bench_generation_speed.py                  # bundled model
    python bench/bench_generation_speed.py --model hub      # the real KoGPT2, when available
    python bench/bench_generation_speed.py --baseline_model /tmp/oldmodel   # two models, alternated in one run
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for solutions/
from kogpt2_course.cli.arguments import KoreanArgumentParser  # noqa: E402
from kogpt2_course.grading.script_runner import run_main  # noqa: E402
from kogpt2_course.lm.loading import load_model_and_tokenizer  # noqa: E402
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name  # noqa: E402
from solutions.step1_solution import greedy_decode_loop  # noqa: E402


@torch.no_grad()
def recompute_loop(model, input_ids: torch.Tensor, new_tokens: int) -> torch.Tensor:
    ids = input_ids
    for _ in range(new_tokens):
        next_token = model(input_ids=ids, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
        ids = torch.cat([ids, next_token], dim=-1)
    return ids


def timed(fn, repeats: int) -> tuple[float, torch.Tensor]:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def measure(model, tokenizer, prompt: str, new_tokens: int, repeats: int):
    """``(n, rows)``: rows of (label, best seconds, output ids) for the three ways, side by side."""
    ids = tokenizer.encode(prompt, return_tensors="pt")
    n = min(new_tokens, model.config.n_positions - ids.shape[1])

    def hf_generate():
        with torch.no_grad():
            return model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                  max_new_tokens=n, min_new_tokens=n, pad_token_id=tokenizer.pad_token_id)

    rows = [("generate (KV 캐시)", *timed(hf_generate, repeats)),
            ("Step 1 루프 (KV 캐시)", *timed(lambda: greedy_decode_loop(model, ids, n, None), repeats)),
            ("전체 재계산 루프 (캐시 없음)", *timed(lambda: recompute_loop(model, ids, n), repeats))]
    same = rows[1][2][0, :ids.shape[1] + n].tolist() == rows[2][2][0].tolist()
    return ids.shape[1], n, rows, same


def main(argv=None) -> None:
    parser = KoreanArgumentParser(description=__doc__)
    add_model_argument(parser)
    parser.add_argument("--prompt", default="이 영화", help="프롬프트")
    parser.add_argument("--new_tokens", type=int, default=200, help="생성할 토큰 수")
    parser.add_argument("--repeats", type=int, default=3, help="반복 측정 횟수 (최솟값 사용)")
    parser.add_argument("--baseline_model", default=None,
                        help="비교할 두 번째 모델 폴더(예: 이전 가중치). 주면 두 모델을 번갈아 재어 같은 실행에서 나란히 보여 줍니다")
    parser.add_argument("--rounds", type=int, default=2, help="--baseline_model과 번갈아 잴 때 모델마다 잴 횟수 (가장 빠른 값 사용)")
    args = parser.parse_args(argv)

    name = resolve_model_name(args.model)
    models = {name: load_model_and_tokenizer(name)}
    if args.baseline_model:
        models[args.baseline_model] = load_model_and_tokenizer(resolve_model_name(args.baseline_model, verbose=False))
    best: dict = {}
    for _ in range(args.rounds if args.baseline_model else 1):
        for key, (model, tokenizer) in models.items():  # alternate, so both see the same machine
            prompt_tokens, n, rows, same = measure(model, tokenizer, args.prompt, args.new_tokens, args.repeats)
            if key in best:
                rows = [(label, min(sec, old[1]), out) for (label, sec, out), old in zip(rows, best[key][2])]
            best[key] = (prompt_tokens, n, rows, same)
    print(f"\n배치 1, 그리디, 프롬프트 {args.prompt!r}, torch 스레드 {torch.get_num_threads()}개, 잰 값 중 최솟값")
    print(f"{'모델':<28}{'방식':<24}{'초':>8}{'토큰/초':>10}{'재계산 대비':>12}")
    for key, (prompt_tokens, n, rows, same) in best.items():
        baseline = rows[-1][1]
        for label, seconds, _ in rows:
            print(f"{Path(key).name:<28}{label:<24}{seconds:>8.3f}{n / seconds:>10.1f}{baseline / seconds:>11.2f}x")
        print(f"{Path(key).name:<28}프롬프트 {prompt_tokens}토큰 + 새 토큰 {n}개; Step 1 루프와 재계산 루프의 토큰이 같은가: {same}")
    if len(best) == 2:
        (a, (_, na, ra, _)), (b, (_, nb, rb, _)) = best.items()
        print("토큰/초 비 (" + Path(a).name + " / " + Path(b).name + "): "
              + ", ".join(f"{la} {(na / sa) / (nb / sb):.2f}" for (la, sa, _), (_, sb, _) in zip(ra, rb)))


if __name__ == "__main__":
    run_main(main)
