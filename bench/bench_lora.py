"""Step 8 benchmark: LoRA vs full fine-tuning, measured side by side in one run, plus LoRA ranks 2 / 8 / 32.

    nice -n 10 python bench/bench_lora.py                  # ../shared/data, bundled model, ~10 min on 2 cores
    python bench/bench_lora.py --train_examples 200 --epochs 1 --ranks 2 8

Same model, same data, same number of optimizer steps (batch 1) for every variant; each variant runs in
its own process so its memory high-water mark is its own. Data (never downloaded): ``xpersona_ko/valid.json``
(multi-turn, no emotion; the last ``--val_dialogues`` dialogues are held out) mixed with
``chatbot/ChatbotData.csv`` pairs (label 1 -> control word 슬픔, 2 -> 기쁨; a held-out slice of those
two labels measures the control word). Prompt format, labels, LoRA config and weight-decay groups are
the Step 8 solution's; training is ``fit_dialogue_model`` (Step 4's Lightning task).

Per variant:
1. trainable parameters (and their share of all parameters);
2. checkpoint size on disk: the adapter folder (``save_pretrained`` of the peft model) vs the whole model;
3. peak memory during training above the memory held after loading (``VmHWM - VmRSS`` from /proc, the
   high-water mark reset before training; ``resource.getrusage`` where /proc is missing; CUDA peak on a GPU),
   and the theoretical gradients + AdamW state (3 × 4 bytes per trainable parameter);
4. seconds per epoch of training (validation excluded), wall clock and the process's CPU time (with one torch
   thread the CPU time is what an idle machine would take, even when other jobs share the cores);
5. validation loss per response token on held-out dialogues, before -> after;
6. control word: loss of held-out chatbot replies with the swapped emotion word minus with the right one
   (> 0: the model uses the word);
7. three greedy replies to held-out dialogues.
Skips with a message when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SWAP = {"슬픔": "기쁨", "기쁨": "슬픔"}


def parse_args(argv=None) -> argparse.Namespace:
    from kogpt2_course.cli.arguments import KoreanArgumentParser
    from kogpt2_course.lm.resolution import add_model_argument

    parser = KoreanArgumentParser(description="Step 8 벤치마크: LoRA vs 전체 미세 조정, LoRA 랭크별")
    add_model_argument(parser, default="bundled")
    parser.add_argument("--data_dir", default=str(DATA), help="xpersona_ko/, chatbot/ 이 있는 폴더")
    parser.add_argument("--train_examples", type=int, default=240, help="XPersona 학습 예제 수 (앞의 대화들에서)")
    parser.add_argument("--chatbot_examples", type=int, default=120, help="섞을 Chatbot_data 예제 수 (슬픔/기쁨/없음)")
    parser.add_argument("--val_dialogues", type=int, default=30, help="검증용으로 뺄 XPersona 마지막 대화 수")
    parser.add_argument("--val_examples", type=int, default=120, help="그 대화들에서 쓸 검증 예제 수")
    parser.add_argument("--control_examples", type=int, default=60, help="제어 코드 효과를 잴 Chatbot 검증 예제 수")
    parser.add_argument("--epochs", type=int, default=2, help="에폭 수 (모든 방법이 같은 스텝 수)")
    parser.add_argument("--ranks", type=int, nargs="*", default=[2, 8, 32], help="비교할 LoRA 랭크들")
    parser.add_argument("--lora_lr", type=float, default=3e-3, help="LoRA 학습률 (Step 8의 번들 모델 기본값)")
    parser.add_argument("--full_lrs", type=float, nargs="*", default=[3e-4],
                        help="전체 미세 조정 학습률들 (여럿이면 각각 한 줄). 이 데이터의 검증 손실: 3e-4 4.161, "
                             "Step 4의 1e-3 4.752, 3e-3 5.661(학습 전 5.105보다 나쁨)")
    parser.add_argument("--threads", type=int, default=1, help="변형마다 쓸 torch 스레드 수")
    parser.add_argument("--seed", type=int, default=7, help="난수 시드 (데이터 섞기와 학습)")
    return parser.parse_args(argv)


def build_data(cli, tokenizer, step):
    """(train features, val features, control pairs, three sample examples) — the same for every variant."""
    from kogpt2_course.lora.data import dialogue_examples
    from kogpt2_course.lora.readers import read_chatbot, read_xpersona

    persona, _ = read_xpersona(Path(cli.data_dir) / "xpersona_ko" / "valid.json")
    chatbot, _ = read_chatbot(Path(cli.data_dir) / "chatbot" / "ChatbotData.csv")
    rng = random.Random(cli.seed)
    rng.shuffle(chatbot)
    held_out = persona[-cli.val_dialogues:]
    train = dialogue_examples(persona[:-cli.val_dialogues])
    rng.shuffle(train)
    val = dialogue_examples(held_out)[:cli.val_examples]
    emotional = [d for d in chatbot if d.emotion]
    control = dialogue_examples(emotional[:cli.control_examples])
    mixed = dialogue_examples(chatbot[cli.control_examples:cli.control_examples + cli.chatbot_examples])
    train = train[:cli.train_examples] + [e for e in mixed if e.dialogue_id not in {c.dialogue_id for c in control}]
    rng.shuffle(train)
    swapped = [replace(e, emotion=SWAP[e.emotion]) for e in control]
    encode = lambda examples: step.encode_examples(examples, tokenizer, 256)  # noqa: E731
    samples = [dialogue_examples([d])[-1] for d in held_out[:3]]
    return encode(train), encode(val), (encode(control), encode(swapped)), samples


def rss_bytes(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS
        return True
    except OSError:
        return False


def run_variant(name: str, rank: int | None, learning_rate: float, cli) -> dict:
    """One variant in this (child) process: train, measure, return the table row."""
    import logging

    import lightning as L
    import torch

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no "GPU available" lines per variant
    from kogpt2_course.lora.training import LoraTrainArguments, fit_dialogue_model, load_causal_lm, validation_loss
    from solutions import step8_solution as step

    torch.set_num_threads(cli.threads)
    L.seed_everything(cli.seed, verbose=False)
    model_name = cli.model_name
    model, tokenizer = load_causal_lm(model_name)
    train, val, (control, swapped), samples = build_data(cli, tokenizer, step)
    step_cli = step.parse_args(["--max_new_tokens", "30"])
    args = LoraTrainArguments(pretrained_model_name=model_name, downstream_model_dir=tempfile.mkdtemp(),
                              learning_rate=learning_rate, epochs=cli.epochs,
                              lora_rank=rank or 0, seed=cli.seed)
    total = sum(p.numel() for p in model.parameters())
    if rank is not None:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            model = step.build_lora_model(model, rank, 2.0 * rank, args.lora_dropout)
    before = validation_loss(model, tokenizer, val, args)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    class EpochTimer(L.Callback):
        def __init__(self):
            self.seconds, self.cpu_seconds = [], []

        def on_train_epoch_start(self, trainer, pl_module):
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

        def on_validation_epoch_start(self, trainer, pl_module):  # validation closes each training epoch
            self.seconds.append(time.perf_counter() - self.start)
            self.cpu_seconds.append(time.process_time() - self.cpu_start)

    timer = EpochTimer()
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    baseline, exact = rss_bytes("VmRSS"), reset_peak()
    fit_dialogue_model(model, tokenizer, train, val, args, step.optimizer_groups, callbacks=[timer],
                       enable_progress_bar=False)
    if cuda:
        peak = torch.cuda.max_memory_allocated()
    elif exact and baseline is not None:
        peak = rss_bytes("VmHWM") - baseline
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - (baseline or 0)
    model.to("cpu")
    after = validation_loss(model, tokenizer, val, args)
    control_gap = validation_loss(model, tokenizer, swapped, args) - validation_loss(model, tokenizer, control, args)
    folder = Path(tempfile.mkdtemp())
    model.save_pretrained(folder)
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    replies = [step.reply(model, tokenizer, e.history, e.emotion, step_cli) for e in samples]
    return dict(name=name, trainable=trainable, share=trainable / total, size=size, peak=peak,
                optimizer=3 * 4 * trainable, seconds=timer.seconds, cpu_seconds=timer.cpu_seconds, before=before, after=after,
                control=control_gap, replies=replies, steps=len(train) * cli.epochs,
                samples=[e.history[-1].text for e in samples], memory="CUDA" if cuda else "RSS")


def child(name, rank, learning_rate, cli, queue):
    try:
        queue.put(run_variant(name, rank, learning_rate, cli))
    except BaseException as exc:  # report it in the table instead of hanging the parent
        queue.put(dict(name=name, error=f"{type(exc).__name__}: {exc}"))


def megabytes(n: float) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n / 1024:,.0f} KB"


def main(argv=None) -> int:
    from kogpt2_course.lm.resolution import resolve_model_name

    cli = parse_args(argv)
    cli.model_name = resolve_model_name(cli.model)  # a wrong --model fails here, in seconds, not in every child
    if not (Path(cli.data_dir) / "xpersona_ko" / "valid.json").exists():
        print(f"[건너뜀] {cli.data_dir}/xpersona_ko/valid.json 이 없습니다 (../shared/data가 있는 곳에서 실행하세요)")
        return 0
    variants = ([(f"전체 미세 조정 (학습률 {lr:g})", None, lr) for lr in cli.full_lrs]
                + [(f"LoRA r={r} (학습률 {cli.lora_lr:g})", r, cli.lora_lr) for r in cli.ranks])
    context = multiprocessing.get_context("spawn")
    rows = []
    for name, rank, learning_rate in variants:
        queue = context.Queue()
        process = context.Process(target=child, args=(name, rank, learning_rate, cli, queue))
        started = time.perf_counter()
        process.start()
        row = queue.get()
        process.join()
        print(f"[{name}] {time.perf_counter() - started:.0f}초", flush=True)
        rows.append(row)
    ok = [r for r in rows if "error" not in r]
    if ok:
        first = ok[0]
        print(f"\n모델 {cli.model}, 학습 예제 {first['steps'] // cli.epochs}개 × {cli.epochs} 에폭 = {first['steps']} 스텝 "
              f"(배치 1), torch 스레드 {cli.threads}, 메모리: {first['memory']}")
    print("\n| 방법 | 학습 파라미터 | 비율 | 체크포인트 | 학습 중 최대 메모리 증가 | 그래디언트+AdamW(이론) "
          "| 초/에폭 (CPU 시간) | 검증 손실 전→후 | 제어 코드 효과 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['name']} | 실패: {r['error'][:80]} |||||||")
            continue
        seconds = sum(r["seconds"]) / max(1, len(r["seconds"]))
        cpu_seconds = sum(r["cpu_seconds"]) / max(1, len(r["cpu_seconds"]))
        print(f"| {r['name']} | {r['trainable']:,} | {100 * r['share']:.2f}% | {megabytes(r['size'])} | "
              f"{megabytes(r['peak'])} | {megabytes(r['optimizer'])} | {seconds:.1f} ({cpu_seconds:.1f}) | "
              f"{r['before']:.3f} → {r['after']:.3f} | {r['control']:+.3f} |")
    if ok:
        print("\n검증 대화의 마지막 사람 발화와 각 방법의 답 (그리디):")
        for i, text in enumerate(ok[0]["samples"]):
            print(f"\n사람: {text}")
            for r in ok:
                print(f"  {r['name']} → {r['replies'][i]}")
    return 0 if len(ok) == len(rows) else 1


if __name__ == "__main__":
    from kogpt2_course.grading.script_runner import run_main

    run_main(main)
