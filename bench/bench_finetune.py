"""Step 4 benchmark: fine-tuning throughput, sentiment control and held-out perplexity on real NSMC.

    python bench/bench_finetune.py                      # ../shared/data/nsmc, bundled model, ~5-10 min on 2 cores
    python bench/bench_finetune.py --nsmc_dir DIR --train_samples 4000 --steps 20

Measured side by side in one run (the same model, data subset and batch size):
1. training tokens/s (real, non-padding tokens per second of optimizer steps):
   dynamic padding (GenerationCollator) vs padding every example to max_seq_length (the ratsnlp
   way) vs a plain Hugging Face ``Trainer`` (needs the ``accelerate`` package; reported as skipped
   when it is missing). The variants alternate in rounds so background load hits them alike.
2. sentiment control: a bag-of-words naive Bayes classifier (numpy, on the tokenizer's sub-words)
   trained on NSMC train, applied to ``--generations`` samples per prefix after fine-tuning on a
   subset: the share of ``긍정`` and of ``부정`` generations classified positive.
3. held-out perplexity exp(val_loss) on the first ``--eval_samples`` reviews of ratings_test,
   before and after fine-tuning.
4. what that drop is made of, and transfer: the loss per token of the control code, the review body and
   the final ``</s>`` (:mod:`kogpt2_course.nlpbook.generation.evaluation`) before and after; then the
   same architecture from random weights, fine-tuned with the same steps on the same reviews.
Skips with a message when the NSMC folder is absent. Never downloads anything.
``--skip_throughput`` leaves out [1] (the slowest part).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lightning as L  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast  # noqa: E402

from kogpt2_course.cli.arguments import KoreanArgumentParser  # noqa: E402
from kogpt2_course.grading.script_runner import run_main  # noqa: E402
from kogpt2_course.nlpbook.generation.dataset import GenerationCollator, GenerationDataset  # noqa: E402
from kogpt2_course.nlpbook.generation.evaluation import format_part_losses, loss_by_part  # noqa: E402
from kogpt2_course.nlpbook.generation.task import GenerationTask  # noqa: E402
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name  # noqa: E402
from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus, read_nsmc_file  # noqa: E402
from kogpt2_course.nlpbook.generation.inference import generate_reviews  # noqa: E402
from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS  # noqa: E402
from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments  # noqa: E402
from kogpt2_course.nlpbook.trainer import get_evaluator  # noqa: E402


def quiet_trainer(**kw) -> L.Trainer:
    return L.Trainer(accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, **kw)


def real_tokens(loader, steps: int) -> int:
    total = 0
    for i, batch in enumerate(loader):
        if i >= steps:
            break
        total += int(batch["attention_mask"].sum())
    return total


class TokenTimer(L.Callback):
    """Real tokens per second over training steps 2..K (step 1 = warm-up, setup excluded)."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock  # time.process_time: CPU seconds of this process (steadier on a shared machine)
        self.start = None
        self.tokens = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.start is None:
            self.start = self.clock()
        else:
            self.tokens += int(batch["attention_mask"].sum())
            self.end = self.clock()

    def rate(self) -> float:
        return self.tokens / (self.end - self.start)


def lightning_tokens_per_s(args, dataset, collate, steps: int, group_by_length: bool = False) -> tuple[float, float]:
    """(tokens/s, mean padded batch width) of ``steps`` optimizer steps with the Lightning task."""
    generator = torch.Generator().manual_seed(0)
    if group_by_length:  # transformers' own sampler (what HF Trainer's group_by_length uses)
        from transformers.trainer_pt_utils import LengthGroupedSampler

        sampler = LengthGroupedSampler(args.batch_size, lengths=dataset.lengths(),
                                       generator=generator)
    else:
        sampler = torch.utils.data.RandomSampler(dataset, generator=generator)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, collate_fn=collate)
    widths = []
    for i, batch in enumerate(loader):
        if i >= steps:
            break
        widths.append(batch["input_ids"].shape[1])
    generator.manual_seed(0)  # the same batches again for training
    task = GenerationTask(GPT2LMHeadModel.from_pretrained(args.pretrained_model_name), args)
    timer = TokenTimer()
    quiet_trainer(max_steps=steps, limit_val_batches=0, callbacks=[timer]).fit(task, train_dataloaders=loader)
    return timer.rate(), float(np.mean(widths))


def hf_trainer_tokens_per_s(args, dataset, collate, steps: int) -> float | str:
    try:
        from transformers import Trainer, TrainingArguments

        with tempfile.TemporaryDirectory() as tmp:
            targs = TrainingArguments(output_dir=tmp, per_device_train_batch_size=args.batch_size, max_steps=steps,
                                      learning_rate=args.learning_rate, report_to=[], save_strategy="no",
                                      logging_strategy="no", use_cpu=not torch.cuda.is_available(),
                                      dataloader_drop_last=False, disable_tqdm=True)
            model = GPT2LMHeadModel.from_pretrained(args.pretrained_model_name)
            trainer = Trainer(model=model, args=targs, train_dataset=dataset, data_collator=collate)
            start = time.perf_counter()
            trainer.train()
            elapsed = time.perf_counter() - start
    except ImportError as exc:
        return f"건너뜀 ({str(exc).splitlines()[0][:90]})"
    # The HF Trainer shuffles; the number of real tokens of `steps` batches is about the same.
    loader = DataLoader(dataset, batch_size=args.batch_size, collate_fn=collate)
    return real_tokens(loader, steps) / elapsed


class BagOfWordsNB:
    """Multinomial naive Bayes over sub-word ids (add-one smoothing), in numpy."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size

    def fit(self, id_lists, labels):
        counts = np.ones((2, self.vocab_size))
        for ids, label in zip(id_lists, labels):
            counts[label] += np.bincount(ids, minlength=self.vocab_size)
        self.log_probs = np.log(counts / counts.sum(axis=1, keepdims=True))
        self.log_prior = np.log(np.bincount(labels, minlength=2) / len(labels))
        return self

    def predict(self, id_lists) -> np.ndarray:
        scores = [self.log_prior + self.log_probs[:, ids].sum(axis=1) if len(ids) else self.log_prior
                  for ids in id_lists]
        return np.array([int(np.argmax(s)) for s in scores])


def perplexity(task, loader) -> float:
    return math.exp(float(get_evaluator().validate(task, dataloaders=loader, verbose=False)[0]["val_loss"]))


def main(argv=None) -> int:
    parser = KoreanArgumentParser(description="Step 4 미세 조정 벤치마크 (처리량, 감성 조종, 퍼플렉서티)")
    parser.add_argument("--nsmc_dir", default=str(ROOT.parent / "shared" / "data" / "nsmc"),
                        help="ratings_train.txt / ratings_test.txt가 있는 폴더")
    add_model_argument(parser, default="bundled")  # benchmark figures are quoted for the bundled model
    parser.add_argument("--max_seq_length", type=int, default=64, help="최대 토큰 수 (ratsnlp 방식 패딩 길이)")
    parser.add_argument("--batch_size", type=int, default=32, help="배치 크기")
    parser.add_argument("--steps", type=int, default=15, help="처리량 측정: 변형마다 라운드당 학습 스텝 수")
    parser.add_argument("--rounds", type=int, default=2, help="처리량 측정 라운드 수 (변형을 번갈아 실행)")
    parser.add_argument("--train_samples", type=int, default=3000, help="감성 조종용 미세 조정 예제 수 (1 에폭)")
    parser.add_argument("--eval_samples", type=int, default=1000, help="퍼플렉서티를 잴 ratings_test 예제 수")
    parser.add_argument("--generations", type=int, default=100, help="접두어마다 생성할 리뷰 수")
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="학습률 (번들 모델 기준)")
    parser.add_argument("--skip_throughput", action="store_true", help="[1] 처리량 측정을 건너뜀 (가장 오래 걸림)")
    cli = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they are measured (background runs)

    nsmc_dir = Path(cli.nsmc_dir)
    if not (nsmc_dir / "ratings_train.txt").exists() or not (nsmc_dir / "ratings_test.txt").exists():
        print(f"[건너뜀] NSMC 파일이 없습니다: {nsmc_dir} (ratings_train.txt, ratings_test.txt)")
        return 0
    began = time.perf_counter()
    model_name = resolve_model_name(cli.model)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name, **TOKENIZER_KWARGS)
    print(f"torch 스레드 {torch.get_num_threads()}개, 장치 {'cuda' if torch.cuda.is_available() else 'cpu'}")

    with tempfile.TemporaryDirectory() as tmp:
        # NsmcCorpus reads <root>/<name>/; point a symlinked folder at the (read-only) NSMC copy.
        root = Path(tmp) / "data"
        root.mkdir()
        (root / "nsmc").symlink_to(nsmc_dir.resolve(), target_is_directory=True)
        args = GenerationTrainArguments(
            pretrained_model_name=model_name, downstream_corpus_name="nsmc", downstream_corpus_root_dir=str(root),
            downstream_model_dir=str(Path(tmp) / "ckpt"), max_seq_length=cli.max_seq_length,
            batch_size=cli.batch_size, learning_rate=cli.learning_rate, epochs=1,
            max_train_samples=cli.train_samples, max_eval_samples=cli.eval_samples, seed=7)
        corpus = NsmcCorpus()
        train = GenerationDataset(args, corpus, tokenizer, "train")
        val = GenerationDataset(args, corpus, tokenizer, "test")
        lengths = [len(s) for s in train.sequences]
        print(f"학습 부분집합 {len(train)}개, 평균 {np.mean(lengths):.1f} 토큰 (최대 {max(lengths)}), "
              f"검증 {len(val)}개")

        # 1. throughput ---------------------------------------------------------------------------
        dynamic = GenerationCollator(tokenizer.pad_token_id)
        padded = GenerationCollator(tokenizer.pad_token_id, pad_to_length=cli.max_seq_length)
        variants = {"dynamic": "동적 패딩 (무작위 배치)",
                    "grouped": "동적 패딩 + 길이 묶음 (LengthGroupedSampler)",
                    "max_length": f"max_seq_length={cli.max_seq_length} 패딩 (ratsnlp 방식)"}
        speed = {name: [] for name in variants}
        widths = {}
        hf_speed, hf_note = [], ""
        for _ in range(0 if cli.skip_throughput else cli.rounds):
            for name in variants:
                collate = padded if name == "max_length" else dynamic
                tps, widths[name] = lightning_tokens_per_s(args, train, collate, cli.steps, name == "grouped")
                speed[name].append(tps)
            hf = hf_trainer_tokens_per_s(args, train, dynamic, cli.steps)
            if isinstance(hf, str):
                hf_note = hf
            else:
                hf_speed.append(hf)
        base = np.mean(speed["max_length"]) if speed["max_length"] else float("nan")
        if not cli.skip_throughput:
            print(f"\n[1] 학습 처리량 (실제 토큰/초, 라운드 {cli.rounds}번 x {cli.steps}스텝, 첫 스텝 제외, 배치 {cli.batch_size})")
        for name, label in variants.items() if not cli.skip_throughput else ():
            tps = np.mean(speed[name])
            print(f"  {label:45s}: {tps:7.0f} 토큰/초, 평균 배치 폭 {widths[name]:5.1f}  "
                  f"(ratsnlp 방식 대비 {tps / base:.2f}배)")
        if hf_speed:
            hf = np.mean(hf_speed)
            print(f"  HF Trainer (동적 패딩, 설정 시간 포함): {hf:7.0f} 토큰/초 "
                  f"(Lightning 동적 패딩/HF = {np.mean(speed['dynamic']) / hf:.2f})")
        elif not cli.skip_throughput:
            print(f"  HF Trainer: {hf_note}")

        # 3a. perplexity before ---------------------------------------------------------------------
        val_loader = DataLoader(val, batch_size=cli.batch_size, collate_fn=dynamic)
        task = GenerationTask(GPT2LMHeadModel.from_pretrained(model_name), args)
        ppl_before = perplexity(task, val_loader)

        # 2. fine-tune on the subset (1 epoch), then generate ----------------------------------------
        L.seed_everything(7, verbose=False)
        loader = DataLoader(train, batch_size=cli.batch_size, shuffle=True, collate_fn=dynamic)
        start = time.perf_counter()
        quiet_trainer(max_epochs=1, limit_val_batches=0).fit(task, train_dataloaders=loader)
        train_time = time.perf_counter() - start
        ppl_after = perplexity(task, val_loader)

        rows = read_nsmc_file(nsmc_dir / "ratings_train.txt").rows
        test_rows = read_nsmc_file(nsmc_dir / "ratings_test.txt").rows[:5000]
        encode = lambda texts: [np.array(ids, dtype=np.int64) for ids in tokenizer(texts)["input_ids"]]  # noqa: E731
        classifier = BagOfWordsNB(len(tokenizer)).fit(encode([r.document for r in rows]),
                                                       np.array([r.label for r in rows]))
        accuracy = float(np.mean(classifier.predict(encode([r.document for r in test_rows]))
                                 == np.array([r.label for r in test_rows])))
        rates = {}
        samples = {}
        for prefix in ("긍정", "부정"):
            texts = generate_reviews(task.model, tokenizer, prefix, cli.generations, max_new_tokens=30, seed=7)
            rates[prefix] = float(np.mean(classifier.predict(encode(texts)) == 1))
            samples[prefix] = texts[:3]
        print(f"\n[2] 감성 조종 (학습 {len(train)}개 x 1 에폭 = {len(loader)}스텝, {train_time:.0f}초; "
              f"BoW 나이브 베이즈, ratings_test 5000개 정확도 {accuracy:.1%})")
        for prefix in ("긍정", "부정"):
            print(f"  '{prefix}' 생성 {cli.generations}개 중 긍정 판정: {rates[prefix]:.0%}   예: {samples[prefix]}")
        print(f"\n[3] 검증 퍼플렉서티 (ratings_test 앞 {len(val)}개): 학습 전 {ppl_before:.1f} → 학습 후 {ppl_after:.1f}")

        # 4. what the drop is made of; transfer: the same steps from random weights ----------------
        pretrained = GPT2LMHeadModel.from_pretrained(model_name)
        print("\n" + format_part_losses(loss_by_part(pretrained, tokenizer, val), loss_by_part(task.model, tokenizer, val),
                                        f"[4] 부분별 토큰당 손실 (ratings_test 앞 {len(val)}개; 사전 학습 모델 → 미세 조정 후):"))
        torch.manual_seed(7)
        scratch = GenerationTask(GPT2LMHeadModel(pretrained.config), args)
        random_parts = loss_by_part(scratch.model, tokenizer, val)
        L.seed_everything(7, verbose=False)
        quiet_trainer(max_epochs=1, limit_val_batches=0).fit(scratch, train_dataloaders=loader)
        print(format_part_losses(random_parts, loss_by_part(scratch.model, tokenizer, val),
                                 f"    같은 구조를 무작위 가중치에서 같은 {len(loader)}스텝 학습 (무작위 → 학습 후):"))
        samples = {prefix: generate_reviews(scratch.model, tokenizer, prefix, 2, max_new_tokens=30, seed=7)
                   for prefix in ("긍정", "부정")}
        print(f"    무작위에서 학습한 모델의 생성 예: {samples}")
    print(f"\n전체 {time.perf_counter() - began:.0f}초")
    return 0


if __name__ == "__main__":
    run_main(main)
