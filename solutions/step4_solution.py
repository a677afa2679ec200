# %% [markdown]
# # Step 4. 미세 조정(fine-tuning) — NSMC 영화 리뷰로 감성을 조종하는 생성 모델 만들기
#
# 이 단계에서 배우는 것
# 1. 전이 학습: 사전 학습된 KoGPT2를 영화 리뷰로 조금 더 학습시켜, 맨 앞의 `긍정`/`부정` 한 단어가
#    생성되는 리뷰의 감성을 조종하게 만듭니다. 학습 문장 형식은 `</s>긍정 <리뷰></s>`, `</s>부정 <리뷰></s>`.
# 2. 책의 `ratsnlp`와 같은 이름의 API(`GenerationTrainArguments`, `NsmcCorpus`, `GenerationDataset`,
#    `GenerationTask`, `get_trainer`)를 최신 transformers + PyTorch Lightning 2.x 위에서 씁니다
#    (`kogpt2_course` 패키지).
# 3. 학습 전후를 비교합니다: 같은 프롬프트로 생성한 리뷰, 검증 데이터의 퍼플렉서티 `exp(val_loss)`, 손실 곡선.
# 4. 체크포인트: val_loss가 가장 낮은 체크포인트와 `last.ckpt`가 저장되고, 중단 후 다시 실행하면
#    `last.ckpt`에서 이어서 학습합니다. Step 5는 가장 좋은 체크포인트를 불러와 서비스합니다.
#
# 실행: `python step4_model_training.py` (인터넷 없이 내장 예제 리뷰로 몇 분 안에 끝납니다. 옵션은 `--help`)
# 실제 NSMC: `python step4_model_training.py --downstream_corpus_name nsmc --max_train_samples 20000`

# %%
from __future__ import annotations

import argparse
import math
from typing import Sequence

import lightning as L
from torch.utils.data import DataLoader, SequentialSampler
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast
from transformers.trainer_pt_utils import LengthGroupedSampler

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.nlpbook.checkpoints import load_finetuned_model
from kogpt2_course.nlpbook.generation.dataset import GenerationCollator, GenerationDataset
from kogpt2_course.nlpbook.generation.task import GenerationTask
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR, add_model_argument, resolve_model_name
from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus, prepare_corpus
from kogpt2_course.plots.figure import plt, save_figure
from kogpt2_course.grading.script_runner import run_main
from kogpt2_course.nlpbook.generation.inference import generate_reviews
from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS
from kogpt2_course.nlpbook.generation.arguments import GenerationDeployArguments, GenerationTrainArguments
from kogpt2_course.nlpbook.trainer import get_evaluator, get_trainer, remove_checkpoints, resume_checkpoint_path

SENTIMENTS = ["긍정", "부정"]
# 작은 번들 모델은 큰 학습률로도 안정적으로 빨리 배웁니다. 진짜 KoGPT2(1억 2천만 파라미터)는 책처럼 5e-5.
BUNDLED_LEARNING_RATE = 1e-3
HUB_LEARNING_RATE = 5e-5


# %% [markdown]
# ## 1. 학습 설정 만들기
# 명령행 옵션을 모아 `GenerationTrainArguments`를 만듭니다. 필드마다 설명이 있습니다
# (`kogpt2_course/nlpbook/generation/arguments.py`). 폴더는 모두 현재 폴더 기준입니다: 데이터는 `data/`,
# 체크포인트는 `checkpoints/step4-nsmc-generation/`.

# %%
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = KoreanArgumentParser(description="Step 4: NSMC 리뷰로 KoGPT2 미세 조정 (긍정/부정 조종 생성)")
    add_model_argument(parser)
    defaults = GenerationTrainArguments()
    parser.add_argument("--downstream_corpus_name", default=defaults.downstream_corpus_name,
                        help="말뭉치: 'nsmc-sample'(내장 예제, 인터넷 불필요), 'nsmc'(없으면 내려받기) "
                             "또는 --downstream_corpus_root_dir 아래의 NSMC 형식 폴더 이름")
    parser.add_argument("--downstream_corpus_root_dir", default=defaults.downstream_corpus_root_dir,
                        help="말뭉치 폴더들이 있는 상위 폴더 (예: ../shared/data)")
    parser.add_argument("--downstream_model_dir", default=defaults.downstream_model_dir,
                        help="체크포인트와 로그를 저장할 폴더")
    parser.add_argument("--max_seq_length", type=int, default=defaults.max_seq_length, help="예제 하나의 최대 토큰 수")
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size, help="배치 크기")
    parser.add_argument("--learning_rate", type=float, default=None,
                        help=f"최대 학습률 (생략하면 번들 모델 {BUNDLED_LEARNING_RATE:g}, KoGPT2 {HUB_LEARNING_RATE:g})")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="에폭 수")
    parser.add_argument("--max_train_samples", type=int, default=None,
                        help="학습 예제를 앞에서부터 N개만 (CPU에서 실제 NSMC를 수업 시간 안에 돌릴 때)")
    parser.add_argument("--max_eval_samples", type=int, default=None, help="검증 예제를 앞에서부터 N개만")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="난수 시드")
    parser.add_argument("--val_check_interval", type=float, default=defaults.val_check_interval,
                        help="검증(+체크포인트) 주기: 1.0 = 에폭마다, 0.25 = 에폭의 1/4마다, 정수 = N 스텝마다")
    parser.add_argument("--no_resume", action="store_true",
                        help="last.ckpt가 있어도 이어서 하지 않고 처음부터 학습 (이전 체크포인트는 지움)")
    parser.add_argument("--num_samples", type=int, default=3, help="학습 전후 프롬프트마다 생성할 리뷰 수")
    parser.add_argument("--max_new_tokens", type=int, default=30, help="생성할 최대 토큰 수")
    parser.add_argument("--output_dir", default="outputs", help="손실 곡선 PNG를 저장할 폴더")
    return parser.parse_args(argv)


def default_learning_rate(model_name: str) -> float:
    """번들 모델이면 큰 학습률, 그 밖(진짜 KoGPT2 등)이면 책의 5e-5."""
    return BUNDLED_LEARNING_RATE if str(BUNDLED_MODEL_DIR) == str(model_name) else HUB_LEARNING_RATE


def build_arguments(model_name: str, cli: argparse.Namespace) -> GenerationTrainArguments:
    """명령행 옵션(cli)으로 GenerationTrainArguments를 만듭니다."""
    learning_rate = cli.learning_rate if cli.learning_rate is not None else default_learning_rate(model_name)
    # BEGIN TODO 4-1: GenerationTrainArguments(pretrained_model_name=model_name, downstream_corpus_name=cli.downstream_corpus_name, ...)로 cli의 값(말뭉치 이름/폴더, 모델 폴더, max_seq_length, batch_size, epochs, max_train_samples, max_eval_samples, seed, val_check_interval)과 learning_rate를 넣고, resume=not cli.no_resume으로 하세요
    args = GenerationTrainArguments(
        pretrained_model_name=model_name,
        downstream_corpus_name=cli.downstream_corpus_name,
        downstream_corpus_root_dir=cli.downstream_corpus_root_dir,
        downstream_model_dir=cli.downstream_model_dir,
        max_seq_length=cli.max_seq_length,
        batch_size=cli.batch_size,
        learning_rate=learning_rate,
        epochs=cli.epochs,
        max_train_samples=cli.max_train_samples,
        max_eval_samples=cli.max_eval_samples,
        seed=cli.seed,
        val_check_interval=cli.val_check_interval,
        resume=not cli.no_resume,
    )
    # END TODO
    return args


def load_tokenizer(model_name: str):
    """Step 1에서 배운 대로 KoGPT2 토크나이저를 불러옵니다 (</s> = bos = eos, <pad>)."""
    return PreTrainedTokenizerFast.from_pretrained(model_name, **TOKENIZER_KWARGS)


# %% [markdown]
# ## 2. 데이터셋과 데이터 로더
# `NsmcCorpus`는 `ratings_train.txt`/`ratings_test.txt`(id, 리뷰, 레이블)를 읽어 `"긍정 <리뷰>"` 같은
# 학습 문장을 만들고, `GenerationDataset`은 이를 토큰 id `[</s>, ..., </s>]`로 바꿉니다.
# 데이터 로더는 배치마다 **그 배치의 가장 긴 예제 길이까지만** 채우고(동적 패딩), 채운 자리의
# 정답(labels)은 -100으로 두어 손실에서 뺍니다 (`GenerationCollator`).
# 학습 로더는 길이가 비슷한 리뷰끼리 한 배치로 묶습니다(`LengthGroupedSampler`, HF Trainer의
# `group_by_length`와 같은 것): 에폭마다 무작위로 섞은 뒤, 최대 `50 × 배치 크기`개씩(한 에폭이 적어도
# 네 묶음이 되도록) 잘라 묶음 안을 길이순으로 정렬하고 차례로 배치를 만듭니다. NSMC는 짧은 리뷰가
# 대부분이라 무작위 배치에는 거의 늘 긴 리뷰가 하나 끼어 나머지가 패딩으로 채워집니다 — 길이로 묶으면
# 같은 시간에 약 2.7배 많은 토큰을 학습합니다 (`python bench/bench_finetune.py`).

# %%
def build_datasets(args: GenerationTrainArguments, tokenizer):
    """학습용(train)과 검증용(test) GenerationDataset을 돌려줍니다."""
    # BEGIN TODO 4-2: corpus = NsmcCorpus()를 만들고 GenerationDataset(args=args, corpus=corpus, tokenizer=tokenizer, mode="train")과 mode="test"인 검증 데이터셋을 만드세요
    corpus = NsmcCorpus()
    train_dataset = GenerationDataset(args=args, corpus=corpus, tokenizer=tokenizer, mode="train")
    val_dataset = GenerationDataset(args=args, corpus=corpus, tokenizer=tokenizer, mode="test")
    # END TODO
    return train_dataset, val_dataset


def build_dataloaders(args: GenerationTrainArguments, train_dataset, val_dataset, tokenizer):
    """학습용(길이로 묶어 섞음)과 검증용(순서대로) DataLoader를 돌려줍니다."""
    # BEGIN TODO 4-3: collate_fn=GenerationCollator(tokenizer.pad_token_id)로 동적 패딩을 하고, 학습은 DataLoader(train_dataset, batch_size=args.batch_size, sampler=LengthGroupedSampler(args.batch_size, lengths=train_dataset.lengths()), collate_fn=..., num_workers=args.cpu_workers), 검증은 SequentialSampler로 만드세요
    collate_fn = GenerationCollator(tokenizer.pad_token_id)
    train_sampler = LengthGroupedSampler(args.batch_size, lengths=train_dataset.lengths())
    train_dataloader = DataLoader(train_dataset, batch_size=args.batch_size, sampler=train_sampler,
                                  collate_fn=collate_fn, num_workers=args.cpu_workers)
    val_dataloader = DataLoader(val_dataset, batch_size=args.batch_size, sampler=SequentialSampler(val_dataset),
                                collate_fn=collate_fn, num_workers=args.cpu_workers)
    # END TODO
    return train_dataloader, val_dataloader


# %% [markdown]
# ## 3. 태스크(LightningModule)와 학습
# `GenerationTask`는 모델과 설정을 받아 손실 계산, AdamW + 학습률 스케줄(워밍업 후 선형 감소),
# `loss`/`val_loss` 기록을 맡습니다. `get_trainer(args)`는 Lightning `Trainer`를 만듭니다
# (CPU/GPU 자동 선택, val_loss 최저 체크포인트 + last.ckpt 저장, 진행 막대).
# `trainer.fit(..., ckpt_path=resume_checkpoint_path(args))`는 last.ckpt가 있으면 거기서 이어서 학습합니다.

# %%
def build_task(args: GenerationTrainArguments) -> GenerationTask:
    """사전 학습 모델을 불러와 GenerationTask로 감쌉니다."""
    # BEGIN TODO 4-4: model = GPT2LMHeadModel.from_pretrained(args.pretrained_model_name)으로 모델을 불러오고 task = GenerationTask(model, args)를 만드세요
    model = GPT2LMHeadModel.from_pretrained(args.pretrained_model_name)
    task = GenerationTask(model, args)
    # END TODO
    return task


def train(args: GenerationTrainArguments, task: GenerationTask, train_dataloader, val_dataloader) -> L.Trainer:
    """트레이너를 만들어 학습하고(중단된 학습이면 이어서) 트레이너를 돌려줍니다."""
    # BEGIN TODO 4-5: trainer = get_trainer(args)로 트레이너를 만들고 trainer.fit(task, train_dataloaders=train_dataloader, val_dataloaders=val_dataloader, ckpt_path=resume_checkpoint_path(args))를 호출하세요
    trainer = get_trainer(args)
    trainer.fit(task, train_dataloaders=train_dataloader, val_dataloaders=val_dataloader,
                ckpt_path=resume_checkpoint_path(args))
    # END TODO
    return trainer


# %% [markdown]
# ## 4. 퍼플렉서티: 검증 데이터를 얼마나 잘 예측하나
# `val_loss`는 검증 데이터의 (패딩이 아닌) 토큰 하나당 평균 음의 로그 가능도입니다.
# 퍼플렉서티 `exp(val_loss)`는 "모델이 매 토큰 평균 몇 개의 후보 사이에서 망설이는가"로 읽을 수 있고,
# 낮을수록 좋습니다.

# %%
def evaluate_perplexity(task: GenerationTask, val_dataloader) -> tuple[float, float]:
    """(val_loss, perplexity)를 돌려줍니다."""
    # BEGIN TODO 4-6: get_evaluator().validate(task, dataloaders=val_dataloader, verbose=False)가 돌려준 리스트의 첫 사전에서 "val_loss"를 꺼내 float로 바꾸고, perplexity = math.exp(val_loss)를 계산하세요
    results = get_evaluator().validate(task, dataloaders=val_dataloader, verbose=False)
    val_loss = float(results[0]["val_loss"])
    perplexity = math.exp(val_loss)
    # END TODO
    return val_loss, perplexity


# %% [markdown]
# ## 5. 학습 전후 비교: 생성된 리뷰와 손실 곡선

# %%
def show_generations(title: str, model, tokenizer, num_samples: int, max_new_tokens: int, seed: int) -> None:
    print(f"\n--- {title} ---")
    for sentiment in SENTIMENTS:
        for text in generate_reviews(model, tokenizer, sentiment, num_samples, max_new_tokens, seed=seed):
            print(f"[{sentiment}] {text}")


def plot_loss_curve(history: dict, before_loss: float, output_dir: str):
    """학습 손실(스텝마다, 이동 평균)과 검증 손실을 한 그림에 그려 PNG로 저장합니다."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if history["loss"]:
        steps, losses = zip(*history["loss"])
        window = max(1, len(losses) // 20)
        smooth = [sum(losses[max(0, i - window + 1):i + 1]) / len(losses[max(0, i - window + 1):i + 1])
                  for i in range(len(losses))]
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, label="학습 손실 (스텝마다)")
        ax.plot(steps, smooth, color="tab:blue", label=f"학습 손실 (이동 평균 {window}스텝)")
    val = [(0, before_loss)] + sorted(history["val_loss"])
    ax.plot([s for s, _ in val], [v for _, v in val], "o-", color="tab:red", label="검증 손실 val_loss (0 = 학습 전)")
    ax.set_xlabel("학습 스텝")
    ax.set_ylabel("손실 (토큰당 음의 로그 가능도)")
    ax.set_title("Step 4 미세 조정 손실 곡선")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, "step4_loss_curve.png", output_dir)


# %%
def main(argv: Sequence[str] | None = None) -> None:
    cli = parse_args(argv)
    model_name = resolve_model_name(cli.model)
    args = build_arguments(model_name, cli)
    L.seed_everything(args.seed, verbose=False)
    print(f"학습 설정: 말뭉치 {args.downstream_corpus_root_dir}/{args.downstream_corpus_name}, 에폭 {args.epochs}, "
          f"배치 {args.batch_size}, 학습률 {args.learning_rate:g}, 체크포인트 폴더 {args.downstream_model_dir}")
    if not args.resume:
        removed = remove_checkpoints(args)
        if removed:
            print(f"[처음부터] 이전 체크포인트 {removed}개를 지웠습니다.")

    prepare_corpus(args)
    tokenizer = load_tokenizer(model_name)
    train_dataset, val_dataset = build_datasets(args, tokenizer)
    train_dataloader, val_dataloader = build_dataloaders(args, train_dataset, val_dataset, tokenizer)
    print(f"학습 예제 {len(train_dataset)}개 ({train_dataset.num_tokens():,} 토큰), 검증 예제 {len(val_dataset)}개")

    task = build_task(args)
    show_generations("학습 전 생성", task.model, tokenizer, cli.num_samples, cli.max_new_tokens, args.seed)
    before_loss, before_ppl = evaluate_perplexity(task, val_dataloader)
    print(f"\n학습 전 검증 퍼플렉서티: {before_ppl:.1f} (val_loss {before_loss:.3f})\n")

    trainer = train(args, task, train_dataloader, val_dataloader)

    deploy_args = GenerationDeployArguments(pretrained_model_name=model_name,
                                            downstream_model_dir=args.downstream_model_dir)
    best_path = deploy_args.downstream_model_checkpoint_fpath
    print(f"\n학습 스텝 {trainer.global_step}개 완료. val_loss 최저 체크포인트: {best_path}")
    if best_path is None:
        print("val_loss가 적힌 체크포인트가 없어 마지막 가중치로 평가합니다.")
        best_model = task.model
    else:
        best_model = load_finetuned_model(deploy_args)  # Step 5도 이렇게 불러옵니다
    after_loss, after_ppl = evaluate_perplexity(GenerationTask(best_model, args), val_dataloader)
    print(f"검증 퍼플렉서티: 학습 전 {before_ppl:.1f} → 학습 후 {after_ppl:.1f} "
          f"(val_loss {before_loss:.3f} → {after_loss:.3f})")
    show_generations("학습 후 생성 (val_loss 최저 체크포인트)", best_model, tokenizer, cli.num_samples,
                     cli.max_new_tokens, args.seed)

    png = plot_loss_curve(task.history, before_loss, cli.output_dir)
    print(f"\n손실 곡선: {png}")
    print("다시 실행하면 last.ckpt에서 이어서 학습합니다 (--epochs를 늘리면 더 학습, --no_resume이면 처음부터).")


if __name__ == "__main__":
    run_main(main)
