"""Speed of each decoding strategy at batch 1 on CPU, measured side by side in one run.

    python bench/bench_strategies.py                      # bundled model, 40 new tokens, 5 repeats
    python bench/bench_strategies.py --model hub --max_new_tokens 64

Prints tokens/s per strategy and each strategy's cost relative to greedy (time per generated token).
eos is suppressed so every strategy generates exactly the same number of tokens. The strategies are
interleaved round by round, so background load affects them alike; the median round is reported.
"""

from __future__ import annotations

import statistics
import time

import torch

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.grading.script_runner import run_main
from kogpt2_course.lm.decoding import generate_ids
from kogpt2_course.lm.loading import load_model_and_tokenizer
from kogpt2_course.lm.presets import sampling_values
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name

STRATEGIES = {
    "greedy": dict(do_sample=False),
    "beam search (3)": dict(do_sample=False, num_beams=3),
    "beam search (5)": dict(do_sample=False, num_beams=5),
    "top-k (50)": dict(do_sample=True, top_k=50),
    "top-p (0.92)": dict(do_sample=True, top_p=0.92, top_k=0),
    "preset: review (lm/presets.py)": sampling_values("review"),
    "preset: factual (beam 3 + nr3)": sampling_values("factual"),
    "greedy + no_repeat 3": dict(do_sample=False, no_repeat_ngram_size=3),
}


def main(argv=None) -> None:
    parser = KoreanArgumentParser(description="디코딩 전략별 생성 속도 (배치 1, CPU)")
    add_model_argument(parser)
    parser.add_argument("--prompt", default="이 영화", help="프롬프트")
    parser.add_argument("--max_new_tokens", type=int, default=40, help="전략마다 만들 토큰 수")
    parser.add_argument("--repeats", type=int, default=5, help="측정 반복 횟수 (중앙값 보고)")
    args = parser.parse_args(argv)

    model, tokenizer = load_model_and_tokenizer(resolve_model_name(args.model))
    model.generation_config.suppress_tokens = [tokenizer.eos_token_id]  # always the full length
    n = args.max_new_tokens
    times = {name: [] for name in STRATEGIES}
    for name, kwargs in STRATEGIES.items():  # warm-up
        generate_ids(model, tokenizer, args.prompt, 4, **kwargs)
    for round_ in range(args.repeats):
        torch.manual_seed(round_)
        for name, kwargs in STRATEGIES.items():
            start = time.perf_counter()
            output = generate_ids(model, tokenizer, args.prompt, n, **kwargs)
            times[name].append(time.perf_counter() - start)
            assert output.shape[1] == len(tokenizer.encode(args.prompt)) + n

    greedy = statistics.median(times["greedy"])
    print(f"\n모델 {model.num_parameters() / 1e6:.1f}M 파라미터, 배치 1, 새 토큰 {n}개, "
          f"torch 스레드 {torch.get_num_threads()}, 반복 {args.repeats}번 중앙값")
    print(f"{'strategy':<36}{'s/run':>8}{'tokens/s':>10}{'× greedy':>10}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<36}{median:>8.3f}{n / median:>10.1f}{median / greedy:>10.2f}")


if __name__ == "__main__":
    run_main(main)
