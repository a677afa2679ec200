"""Step 6 benchmark: was the style learned, how fast is the hand-written loop, how fast is the generator.

    python bench/bench_style.py                       # bundled model; ChatbotData when ../shared/data has it
    python bench/bench_style.py --chatbot_rows 0      # only the offline sample

Measured side by side in one run (bundled model unless --model):
1. Style marker before vs after fine-tuning with the Step 6 solution's own training loop
   (``run_train``): the share of ``--generations`` samples (from ``</s>``, temperature 0.7, top-k 40,
   top-p 0.9, 30 new tokens) whose first sentence ends in the corpus's ending — ``니다`` for the
   course's 합쇼체 sample (3 epochs, the demo's default), ``요`` for ChatbotData's answers (column
   ``A``, MIT licence; the first ``--chatbot_rows`` rows, ``--chatbot_epochs`` epochs), next to the
   share in the training texts themselves and the share of samples that only copy a training
   sentence (memorising is not learning a style).
2. Training throughput (real, non-padding tokens per second of optimizer steps, the first step of
   each measurement excluded) on the same data, model and batches: the hand-written loop
   (``compute_loss`` + ``optimizer_step`` of the solution, batches from ``epoch_batches``) vs
   Step 4's Lightning path (``GenerationTask`` in ``lightning.Trainer``, gradient clipping 1.0 like
   the loop), each in float32 and in bf16 autocast (``precision="bf16-mixed"`` for Lightning). The
   four variants alternate in rounds so background load hits them alike; each ratio is taken within
   a round, and the median over rounds is reported. ``--clock cpu`` times with the process's CPU time
   instead of the wall clock (steadier on a shared machine; with one torch thread, tokens per CPU
   second equal tokens per second on an idle core).
3. Generator tokens/s at batch 1: ``model.generate`` with the KV cache vs the sibling project's way
   (the whole prefix through the model again for every new token; its re-tokenizing of the text
   at every step is left out, so its real cost is higher), both sampling with the same settings,
   exactly ``--new_tokens`` tokens (end of text suppressed), best of ``--repeats``.
Never downloads anything.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # solutions/, and bench_finetune when imported as a module

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402
from transformers.generation.logits_process import (LogitsProcessorList, TemperatureLogitsWarper,  # noqa: E402
                                                    TopKLogitsWarper, TopPLogitsWarper)

from bench_finetune import TokenTimer, quiet_trainer  # noqa: E402
from kogpt2_course.cli.arguments import KoreanArgumentParser  # noqa: E402
from kogpt2_course.lm.loading import load_model_and_tokenizer  # noqa: E402
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name  # noqa: E402
from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments  # noqa: E402
from kogpt2_course.nlpbook.generation.task import GenerationTask  # noqa: E402
from kogpt2_course.style.checkpoint import data_order_generator  # noqa: E402
from kogpt2_course.style.corpus import SAMPLE_PATH, encode_rows, read_style_csv  # noqa: E402
from kogpt2_course.lm.decoding import drop_broken_tail  # noqa: E402
from kogpt2_course.style.marker import copied_share, ending_share  # noqa: E402
from solutions import step6_solution as step6  # noqa: E402

CHATBOT_CSV = ROOT.parent / "shared" / "data" / "chatbot" / "ChatbotData.csv"
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
UNITS = {"wall": "초", "cpu": "CPU초"}


# 1. style marker -----------------------------------------------------------------------------------

def marker_before_after(name: str, data_path: Path, text_column: str, endings: list[str], rows: int | None,
                        epochs: int, model_name: str, before_texts: list[str], cli, workdir: Path) -> dict:
    texts = [row.text for row in read_style_csv(data_path, text_column).rows][:rows or None]
    path = workdir / f"{name}.csv"  # the rows used, as a one-column CSV for the Step 6 command line
    path.write_text("sent\n" + "".join('"' + text.replace('"', '""') + '"\n' for text in texts), encoding="utf-8")
    args = ["train", "--model", model_name, "--data_file_path", str(path), "--epoch", str(epochs),
            "--batch_size", str(cli.batch_size), "--save_path", str(workdir / name), "--save_every", "0",
            "--keep_checkpoints", "1", "--log_every", "0", "--bf16", "off", "--no_plot"]
    train_cli = step6.parse_args(args)
    train_cli.generations = cli.generations
    start = time.perf_counter()
    run = step6.run_train(train_cli)
    seconds = time.perf_counter() - start
    after_texts = step6.style_samples(run.model, run.tokenizer, train_cli)
    return {"name": name, "endings": endings, "rows": len(texts), "steps": run.state.step, "seconds": seconds,
            "data": ending_share(texts, endings), "before": ending_share(before_texts, endings),
            "after": ending_share(after_texts, endings), "copied": copied_share(after_texts, texts),
            "examples": [drop_broken_tail(t) for t in after_texts[:3]]}


# 2. training throughput -----------------------------------------------------------------------------

def hand_loop_tokens_per_s(model_name, dataset, pad_id, batch_size, steps, bf16, learning_rate, clock) -> float:
    model = GPT2LMHeadModel.from_pretrained(model_name).train()
    optimizer, scheduler = step6.build_optimizer(model, learning_rate, 0.01, 0, steps + 1)
    batches = iter(step6.epoch_batches(dataset, batch_size, 0, 0, pad_id))
    tokens, start = 0, None
    for _ in range(steps + 1):
        batch = next(batches)
        step6.optimizer_step(step6.compute_loss(model, batch, bf16), model, optimizer, scheduler, 1.0)
        if start is None:
            start = clock()  # the first step is the warm-up
        else:
            tokens += int(batch["attention_mask"].sum())
    return tokens / (clock() - start)


def lightning_tokens_per_s(model_name, dataset, pad_id, batch_size, steps, bf16, learning_rate, clock) -> float:
    args = GenerationTrainArguments(pretrained_model_name=model_name, batch_size=batch_size,
                                    learning_rate=learning_rate, epochs=1)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=data_order_generator(0, 0),
                        collate_fn=partial(step6.collate_batch, pad_token_id=pad_id))
    task = GenerationTask(GPT2LMHeadModel.from_pretrained(model_name), args)
    timer = TokenTimer(clock)
    quiet_trainer(max_steps=steps + 1, limit_val_batches=0, callbacks=[timer], gradient_clip_val=1.0,
                  precision="bf16-mixed" if bf16 else "32-true").fit(task, train_dataloaders=loader)
    return timer.rate()


# 3. generator -----------------------------------------------------------------------------------------

@torch.no_grad()
def recompute_sampling(model, input_ids, new_tokens: int, eos_id: int, temperature: float, top_k: int, top_p: float):
    """The sibling project's loop: every new token runs the whole prefix through the model again."""
    warpers = LogitsProcessorList([TemperatureLogitsWarper(temperature), TopKLogitsWarper(top_k),
                                   TopPLogitsWarper(top_p)])
    ids = input_ids
    for _ in range(new_tokens):
        logits = model(input_ids=ids, use_cache=False).logits[:, -1, :]
        logits[:, eos_id] = -float("inf")  # like min_new_tokens in generate: always the full length
        scores = warpers(ids, logits)
        ids = torch.cat([ids, torch.multinomial(scores.softmax(-1), 1)], dim=-1)
    return ids


def best_time(fn, repeats: int, clock) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def measure_style(cli, model, tokenizer, model_name) -> None:
    sampling = step6.parse_args(["demo", "--generations", str(cli.generations), "--batch_size", str(cli.batch_size)])
    before_texts = step6.style_samples(model, tokenizer, sampling)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(marker_before_after("formal_sample", SAMPLE_PATH, "sent", ["니다"], None, 3, model_name,
                                           before_texts, sampling, Path(tmp)))
        if cli.chatbot_rows and Path(cli.chatbot_csv).exists():
            results.append(marker_before_after("chatbot_A", Path(cli.chatbot_csv), "A", ["요"], cli.chatbot_rows,
                                               cli.chatbot_epochs, model_name, before_texts, sampling, Path(tmp)))
        elif cli.chatbot_rows:
            print(f"[건너뜀] ChatbotData가 없습니다: {cli.chatbot_csv}")
    print(f"\n[1] 문체 표지: 첫 문장이 표지로 끝나는 비율 (</s>에서 {cli.generations}개씩 생성, 온도 0.7, top-k 40, top-p 0.9)")
    for r in results:
        print(f"  {r['name']:14s} 표지 '{'/'.join(r['endings'])}': 학습 전 {r['before']:.1%} → 학습 후 {r['after']:.1%} "
              f"(학습 데이터 {r['data']:.1%}; 학습 문장을 그대로 옮긴 글 {r['copied']:.1%}; {r['rows']}행, "
              f"{r['steps']}스텝, {r['seconds']:.0f}초)")
        print(f"  {'':14s} 예: {r['examples']}")


def measure_training(cli, tokenizer, model_name) -> None:
    data = read_style_csv(SAMPLE_PATH)
    dataset = encode_rows(data, tokenizer, 64)
    pad_id = tokenizer.pad_token_id
    lr = step6.default_learning_rate(model_name)
    variants = {("손으로 쓴 루프", False): hand_loop_tokens_per_s, ("손으로 쓴 루프", True): hand_loop_tokens_per_s,
                ("Lightning (Step 4)", False): lightning_tokens_per_s, ("Lightning (Step 4)", True): lightning_tokens_per_s}
    speed = {key: [] for key in variants}
    for _ in range(cli.rounds):
        for (label, bf16), fn in variants.items():
            speed[(label, bf16)].append(fn(model_name, dataset, pad_id, cli.batch_size, cli.steps, bf16, lr,
                                           CLOCKS[cli.clock]))
    base = speed[("손으로 쓴 루프", False)]
    print(f"\n[2] 학습 처리량 (합쇼체 예제, 배치 {cli.batch_size}, 실제 토큰/{UNITS[cli.clock]}, 라운드 {cli.rounds}번 × "
          f"{cli.steps}스텝, 첫 스텝 제외; 비율은 같은 라운드의 '손으로 쓴 루프 float32' 대비, 라운드별 비율의 중앙값)")
    for (label, bf16), values in speed.items():
        ratio = statistics.median(v / b for v, b in zip(values, base))
        print(f"  {label:20s} {'bf16 autocast' if bf16 else 'float32':14s}: 중앙값 {statistics.median(values):7.0f} "
              f"토큰/{UNITS[cli.clock]}, "
              f"{ratio:.2f}배 (라운드별 {', '.join(f'{v:.0f}' for v in values)})")


def measure_generation(cli, model, tokenizer) -> None:
    ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer.encode("오늘은")]])
    n = min(cli.new_tokens, model.config.n_positions - ids.shape[1])
    options = dict(temperature=0.7, top_k=40, top_p=0.9)

    def with_cache():
        with torch.no_grad():
            return model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, max_new_tokens=n,
                                  min_new_tokens=n, pad_token_id=tokenizer.pad_token_id, **options)

    clock = CLOCKS[cli.clock]
    cached = best_time(with_cache, cli.repeats, clock)
    recompute = best_time(lambda: recompute_sampling(model, ids, n, tokenizer.eos_token_id, **options), cli.repeats,
                          clock)
    unit = UNITS[cli.clock]
    print(f"\n[3] 생성 속도 (배치 1, 프롬프트 {ids.shape[1]}토큰 + 새 토큰 {n}개, 샘플링, {cli.repeats}회 중 가장 빠른 값)")
    print(f"  generate (KV 캐시)          : {n / cached:7.1f} 토큰/{unit}")
    print(f"  매 토큰 전체 재계산 (형제 방식): {n / recompute:7.1f} 토큰/{unit}  → KV 캐시가 {recompute / cached:.1f}배 빠름")


def main(argv=None) -> int:
    parser = KoreanArgumentParser(description="Step 6 벤치마크 (문체 표지, 학습 처리량, 생성 속도)")
    add_model_argument(parser, default="bundled")  # the figures are quoted for the bundled model
    parser.add_argument("--generations", type=int, default=200, help="학습 전후 각각 생성할 글 수 (100 이상)")
    parser.add_argument("--batch_size", type=int, default=16, help="배치 크기")
    parser.add_argument("--chatbot_csv", default=str(CHATBOT_CSV), help="ChatbotData.csv (Q,A,label)")
    parser.add_argument("--chatbot_rows", type=int, default=3000, help="ChatbotData에서 쓸 앞쪽 행 수 (0 = 건너뜀)")
    parser.add_argument("--chatbot_epochs", type=int, default=2, help="ChatbotData 학습 에폭 수")
    parser.add_argument("--steps", type=int, default=12, help="처리량: 측정마다 학습 스텝 수 (첫 스텝 제외)")
    parser.add_argument("--rounds", type=int, default=5, help="처리량: 변형을 번갈아 재는 라운드 수")
    parser.add_argument("--new_tokens", type=int, default=200, help="생성 속도: 새 토큰 수")
    parser.add_argument("--repeats", type=int, default=3, help="생성 속도: 반복 횟수 (가장 빠른 값)")
    parser.add_argument("--parts", default="1,2,3", help="잴 부분 (1 문체 표지, 2 학습 처리량, 3 생성 속도)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="속도를 잴 시계: wall(경과 시간) 또는 cpu(이 프로세스의 CPU 시간 — 다른 작업과 CPU를 나눠 쓸 때 "
                             "덜 흔들림, 스레드 1개로 잴 때 뜻이 분명)")
    cli = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    began = time.perf_counter()
    model_name = resolve_model_name(cli.model)
    model, tokenizer = load_model_and_tokenizer(model_name)
    print(f"torch {torch.__version__}, 스레드 {torch.get_num_threads()}개, "
          f"장치 {'cuda' if torch.cuda.is_available() else 'cpu'}")

    parts = {int(p) for p in cli.parts.split(",") if p.strip()}
    if 1 in parts:
        measure_style(cli, model, tokenizer, model_name)
    if 2 in parts:
        measure_training(cli, tokenizer, model_name)
    if 3 in parts:
        measure_generation(cli, model, tokenizer)
    print(f"\n전체 {time.perf_counter() - began:.0f}초")
    return 0


if __name__ == "__main__":
    sys.exit(main())
