"""Step 7 benchmark: what the labels teach, and what the HF Trainer costs against Step 4's Lightning path.

    python bench/bench_dialogue.py                          # both parts, bundled model (~15-25 min on 2 cores)
    python bench/bench_dialogue.py --part table             # only the (a)/(b)/(c) tables
    python bench/bench_dialogue.py --part speed --steps 30  # only the throughput

1. The (a)/(b)/(c) table of ``python solutions/step7_solution.py`` (answer-only loss / full-sequence loss /
   the notebook's bug with the padding in the loss), measured on held-out questions, side by side in
   one run with the same data and steps: on the bundled offline sample, then on ChatbotData
   (``../shared/data/chatbot/ChatbotData.csv``; skipped with a message when absent) — a random
   held-out split of ``--chatbot_heldout`` pairs and ``--chatbot_train_pairs`` training pairs.
2. Training throughput (real, non-padding tokens per second over steps 2..K, the same model, data and
   batch size, full-sequence labels so both do the same work): Step 4's Lightning path
   (``GenerationTask`` + ``GenerationCollator``) vs the HF ``Trainer`` (``DataCollatorForSeq2Seq``),
   each in fp32 and bf16 autocast; plus the Trainer with every batch padded to ``max_length``
   (the notebook's padding). The variants alternate in rounds so background load hits them alike.
Never downloads anything.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # Step 4's benchmark helpers, also when this file is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from transformers import GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments  # noqa: E402

from bench_finetune import TokenTimer, quiet_trainer  # noqa: E402
from kogpt2_course.cli.arguments import KoreanArgumentParser, display_width  # noqa: E402
from kogpt2_course.dialogue.sample import sample_split  # noqa: E402
from kogpt2_course.dialogue.training import cpu_supports_bf16  # noqa: E402
from kogpt2_course.lm.loading import load_model_and_tokenizer  # noqa: E402
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name  # noqa: E402
from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments  # noqa: E402
from kogpt2_course.nlpbook.generation.dataset import GenerationCollator  # noqa: E402
from kogpt2_course.nlpbook.generation.task import GenerationTask  # noqa: E402

CHATBOT_CSV = ROOT.parent / "shared" / "data" / "chatbot" / "ChatbotData.csv"
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def load_solution():
    path = ROOT / "solutions" / "step7_solution.py"
    spec = importlib.util.spec_from_file_location("step7_solution", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lesson_table(step, title: str, extra: list[str], tmp: Path) -> None:
    print(f"\n{'=' * 20} [1] (a)/(b)/(c) — {title} {'=' * 20}")
    began = time.perf_counter()
    step.run_lesson(step.parse_args(["--output_dir", str(tmp / title), "--plots_dir", str(tmp / "plots"),
                                     *extra]))
    print(f"({title}: {time.perf_counter() - began:.0f}초)")


class TrainerTokenTimer(TrainerCallback):
    """Real tokens per second over optimizer steps 2..K of the HF Trainer (step 1 = warm-up); ``clock`` as
    in Step 4's ``TokenTimer``."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.start, self.tokens_at_start, self.end, self.tokens = None, 0, None, 0

    def on_step_end(self, args, state, control, **kwargs):
        now = self.clock()
        if self.start is None:
            self.start, self.tokens_at_start = now, state.num_input_tokens_seen
        else:
            self.end, self.tokens = now, state.num_input_tokens_seen - self.tokens_at_start

    def rate(self) -> float:
        return self.tokens / (self.end - self.start)


def hf_tokens_per_s(step, model_name, dataset, tokenizer, cli, bf16: bool, max_length_padding: bool) -> float:
    collator = step.build_collator(tokenizer, pad_to_max_length=max_length_padding, max_length=cli.max_length)
    timer = TrainerTokenTimer(CLOCKS[cli.clock])
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_train_batch_size=cli.batch_size, max_steps=cli.steps,
                                 learning_rate=cli.learning_rate, report_to="none", save_strategy="no",
                                 logging_strategy="no", disable_tqdm=True, use_cpu=not torch.cuda.is_available(),
                                 bf16=bf16, include_num_input_tokens_seen="non_padding", seed=7)
        model = GPT2LMHeadModel.from_pretrained(model_name)
        Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[timer]).train()
    return timer.rate()


def lightning_tokens_per_s(model_name, dataset, tokenizer, cli, bf16: bool) -> float:
    sequences = [{"input_ids": torch.tensor(ids)} for ids in dataset["input_ids"]]
    loader = DataLoader(sequences, batch_size=cli.batch_size, shuffle=True,
                        collate_fn=GenerationCollator(tokenizer.pad_token_id), generator=torch.Generator().manual_seed(7))
    args = GenerationTrainArguments(pretrained_model_name=model_name, learning_rate=cli.learning_rate, batch_size=cli.batch_size)
    task = GenerationTask(GPT2LMHeadModel.from_pretrained(model_name), args)
    timer = TokenTimer(CLOCKS[cli.clock])
    quiet_trainer(max_steps=cli.steps, limit_val_batches=0, callbacks=[timer],
                  precision="bf16-mixed" if bf16 else "32-true").fit(task, train_dataloaders=loader)
    return timer.rate()


def throughput(step, cli) -> None:
    model_name = resolve_model_name(cli.model)
    _, tokenizer = load_model_and_tokenizer(model_name)
    train_pairs, _ = sample_split()
    pairs = train_pairs * 4  # enough batches for the steps
    dataset = step.build_dataset(pairs, tokenizer, cli.max_length, answer_only=False)
    lengths = [len(ids) for ids in dataset["input_ids"]]
    print(f"\n{'=' * 20} [2] 학습 처리량: HF Trainer vs Step 4의 Lightning {'=' * 20}")
    print(f"데이터: 내장 예제 질문/답 {len(dataset)}개 (평균 {np.mean(lengths):.1f} 토큰, 최대 {max(lengths)}), 배치 "
          f"{cli.batch_size}, 전체 문장 레이블, 스텝 {cli.steps}개 중 첫 스텝 제외, 라운드 {cli.rounds}번 번갈아, "
          f"torch 스레드 {torch.get_num_threads()}개, bf16 명령어 {'있음' if cpu_supports_bf16() else '없음'}, "
          f"시계 {'CPU 시간' if cli.clock == 'cpu' else '경과 시간'}")
    variants = {
        "lightning-fp32": ("Step 4 Lightning (GenerationTask), fp32", lambda: lightning_tokens_per_s(
            model_name, dataset, tokenizer, cli, bf16=False)),
        "lightning-bf16": ("Step 4 Lightning (GenerationTask), bf16-mixed", lambda: lightning_tokens_per_s(
            model_name, dataset, tokenizer, cli, bf16=True)),
        "trainer-fp32": ("HF Trainer, 동적 패딩, fp32", lambda: hf_tokens_per_s(
            step, model_name, dataset, tokenizer, cli, bf16=False, max_length_padding=False)),
        "trainer-bf16": ("HF Trainer, 동적 패딩, bf16", lambda: hf_tokens_per_s(
            step, model_name, dataset, tokenizer, cli, bf16=True, max_length_padding=False)),
        "trainer-maxlen": (f"HF Trainer, max_length={cli.max_length} 패딩(노트북), fp32", lambda: hf_tokens_per_s(
            step, model_name, dataset, tokenizer, cli, bf16=False, max_length_padding=True)),
    }
    rates = {name: [] for name in variants}
    for _ in range(cli.rounds):
        for name, (_, run) in variants.items():
            rates[name].append(run())
    base = np.mean(rates["lightning-fp32"])
    for name, (label, _) in variants.items():
        value = np.mean(rates[name])
        print(f"  {label + ' ' * max(0, 50 - display_width(label))}: {value:7.0f} 토큰/초  (Lightning fp32 대비 {value / base:.2f}배; "
              f"라운드별 {', '.join(f'{r:.0f}' for r in rates[name])})")


def main(argv=None) -> int:
    parser = KoreanArgumentParser(description="Step 7 벤치마크: (a)/(b)/(c) 비교표와 Trainer 처리량")
    add_model_argument(parser, default="bundled")
    parser.add_argument("--part", choices=["all", "table", "speed"], default="all", help="실행할 부분")
    parser.add_argument("--chatbot_csv", default=str(CHATBOT_CSV), help="ChatbotData.csv 경로 (없으면 그 표는 건너뜀)")
    parser.add_argument("--chatbot_train_pairs", type=int, default=2000, help="ChatbotData 학습 쌍 수")
    parser.add_argument("--chatbot_heldout", type=int, default=200, help="ChatbotData held-out 쌍 수")
    parser.add_argument("--chatbot_epochs", type=float, default=2.0, help="ChatbotData 에폭 수")
    parser.add_argument("--eval_questions", type=int, default=100, help="ChatbotData에서 답을 생성할 held-out 질문 수")
    parser.add_argument("--steps", type=int, default=20, help="처리량: 변형마다 라운드당 학습 스텝 수")
    parser.add_argument("--rounds", type=int, default=2, help="처리량 측정 라운드 수")
    parser.add_argument("--batch_size", type=int, default=16, help="처리량: 배치 크기")
    parser.add_argument("--max_length", type=int, default=64, help="최대 토큰 수 (노트북의 패딩 길이)")
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="처리량: 학습률")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="처리량의 시계: wall = 경과 시간, cpu = 이 프로세스의 CPU 시간 (여럿이 함께 쓰는 컴퓨터에서 "
                             "OMP_NUM_THREADS=1과 함께 쓰면 한가한 코어 하나의 토큰/초에 가까움)")
    cli = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    step = load_solution()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if cli.part in ("all", "table"):
            lesson_table(step, "내장 예제", ["--model_name_or_path", cli.model], Path(tmp))
            if Path(cli.chatbot_csv).is_file():
                lesson_table(step, "ChatbotData", [
                    "--model_name_or_path", cli.model, "--data", cli.chatbot_csv,
                    "--heldout_pairs", str(cli.chatbot_heldout), "--max_train_pairs", str(cli.chatbot_train_pairs),
                    "--eval_questions", str(cli.eval_questions), "--num_train_epochs", str(cli.chatbot_epochs)], Path(tmp))
            else:
                print(f"[건너뜀] ChatbotData가 없습니다: {cli.chatbot_csv}")
        if cli.part in ("all", "speed"):
            throughput(step, cli)
    print(f"\n전체 {time.perf_counter() - began:.0f}초")
    return 0


if __name__ == "__main__":
    sys.exit(main())
