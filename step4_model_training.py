# 이 파일은 solutions/step4_solution.py 에서 자동으로 만들어졌습니다 (python -m kogpt2_course make-exercises).
# TODO 부분의 todo(...) 줄을 답으로 바꾸고 실행해 보세요. 채점: python -m kogpt2_course grade --step 4
# 막히면: python -m kogpt2_course hint N-M (부를 때마다 한 단계 더 자세한 힌트)
# %% [markdown]
# # Step 4. 미세 조정(fine-tuning) — NSMC 영화 리뷰로 감성을 조종하는 생성 모델 만들기
#
# 이 단계에서 배우는 것
# 1. 전이 학습: 사전 학습된 KoGPT2를 영화 리뷰로 조금 더 학습시켜, 맨 앞의 `긍정`/`부정` 한 단어가
#    생성되는 리뷰의 감성을 조종하게 만듭니다. 학습 문장 형식은 `</s>긍정 <리뷰></s>`, `</s>부정 <리뷰></s>`.
#    이 맨 앞 단어는 CTRL(Keskar et al., 2019)의 **제어 코드(control code)**와 같은 방식입니다: 학습 문장마다
#    속성(여기서는 감성)을 나타내는 토큰을 앞에 붙여 두면, 생성할 때 그 토큰으로 속성을 고를 수 있습니다.
# 2. 책의 `ratsnlp`와 같은 이름의 API(`GenerationTrainArguments`, `NsmcCorpus`, `GenerationDataset`,
#    `GenerationTask`, `get_trainer`)를 최신 transformers + PyTorch Lightning 2.x 위에서 씁니다
#    (`kogpt2_course` 패키지). 책처럼 `from kogpt2_course import nlpbook`, `nlpbook.get_trainer(args)`로도 씁니다.
# 3. LightningModule의 핵심 두 가지를 직접 씁니다: 학습 스텝의 손실(다음 토큰 예측)과 옵티마이저·학습률 스케줄.
# 4. 학습 전후를 비교합니다: 같은 프롬프트로 생성한 리뷰, 퍼플렉서티 `exp(val_loss)`, 손실 곡선.
#    검증 세트는 학습 파일에서 떼어 내 체크포인트 선택에 쓰고, 테스트 파일은 마지막에 한 번만 평가합니다.
# 5. 체크포인트: val_loss가 가장 낮은 체크포인트와 `last.ckpt`가 저장되고, 중단 후 다시 실행하면
#    이어서 학습합니다. Step 5는 가장 좋은 체크포인트를 불러와 서비스합니다.
#
# 실행: `python step4_model_training.py` (인터넷 없이 내장 예제 리뷰로 몇 분 안에 끝납니다. 옵션은 `--help`)
# 실제 NSMC: `python step4_model_training.py --downstream_corpus_name nsmc --max_train_samples 20000`
# 여러 GPU·여러 컴퓨터: `--accelerator gpu --devices 4 --strategy ddp` (--num_nodes; 안내서 '규모 키우기')

# %%
from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import lightning as L
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, SequentialSampler
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast, get_linear_schedule_with_warmup
from transformers.trainer_pt_utils import LengthGroupedSampler

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.nlpbook.checkpoints import load_finetuned_model
from kogpt2_course.nlpbook.generation.dataset import IGNORE_INDEX, GenerationCollator, GenerationDataset
from kogpt2_course.nlpbook.generation.task import GenerationTask
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR, add_model_argument, resolve_model_name
from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus, prepare_corpus
from kogpt2_course.nlpbook.generation.evaluation import describe_drop, format_part_losses, loss_by_part
from kogpt2_course.nlpbook.generation.sample_reviews import SAMPLE_CORPUS_NAME
from kogpt2_course.plots.figure import plt, save_figure
from kogpt2_course.grading.script_runner import run_main, todo
from kogpt2_course.nlpbook.generation.inference import generate_reviews
from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS
from kogpt2_course.nlpbook.generation.arguments import (GenerationDeployArguments, GenerationTrainArguments,
                                                        add_engine_arguments, engine_arguments)
from kogpt2_course.nlpbook.trainer import get_evaluator, get_trainer, remove_checkpoints, resume_checkpoint_path

SENTIMENTS = ["긍정", "부정"]
# 작은 번들 모델은 큰 학습률로도 안정적으로 빨리 배웁니다. 진짜 KoGPT2(약 1억 2,500만 = 125M 파라미터)는 책처럼 5e-5.
BUNDLED_LEARNING_RATE = 1e-3
HUB_LEARNING_RATE = 5e-5
REAL_NSMC_DIR = Path("../shared/data/nsmc")  # 강의 컴퓨터에 있을 수 있는 실제 NSMC 형식 리뷰 (없어도 됩니다)


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
    add_engine_arguments(parser, defaults)  # --accelerator --devices --num_nodes --strategy (안내서 '규모 키우기')
    return parser.parse_args(argv)


def default_learning_rate(model_name: str) -> float:
    """번들 모델이면 큰 학습률, 그 밖(진짜 KoGPT2 등)이면 책의 5e-5."""
    return BUNDLED_LEARNING_RATE if str(BUNDLED_MODEL_DIR) == str(model_name) else HUB_LEARNING_RATE


def build_arguments(model_name: str, cli: argparse.Namespace) -> GenerationTrainArguments:
    """명령행 옵션(cli)으로 GenerationTrainArguments를 만듭니다."""
    learning_rate = cli.learning_rate if cli.learning_rate is not None else default_learning_rate(model_name)
    # TODO 4-1: 명령행 옵션(cli)의 값을 학습 설정 GenerationTrainArguments의 같은 이름 필드에 옮기세요(말뭉치
    #   이름·폴더, 모델 폴더, 길이, 배치, 에폭, 예제 수 제한, 시드, 검증 주기). 두 가지는 그대로 옮기면 안
    #   됩니다: 학습률은 위에서 계산한 learning_rate(옵션을 생략하면 cli 쪽 값은 None)이고, 이어서
    #   학습할지(resume)는 --no_resume 옵션의 반대입니다 (위 1절,
    #   kogpt2_course/nlpbook/generation/arguments.py의 필드 설명)
    args = todo("4-1")
    return replace(args, **engine_arguments(cli))  # 여러 장치·컴퓨터로 학습하는 Lightning 옵션 (안내서 '규모 키우기')


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
    """학습 파일(train)과 테스트 파일(test)의 GenerationDataset을 돌려줍니다.

    main은 학습 파일의 일부(args.val_ratio)를 떼어 검증 세트로 씁니다 (train_dataset.split_validation).
    """
    # TODO 4-2: NSMC 말뭉치 읽개(NsmcCorpus)를 하나 만들어, 같은 설정(args)과 토크나이저로 학습 파일과 테스트
    #   파일의 GenerationDataset을 만드세요. 하나는 ratings_train.txt를, 다른 하나는 ratings_test.txt를 읽도록
    #   모드를 정합니다 (위 2절, kogpt2_course/nlpbook/generation/dataset.py)
    train_dataset, val_dataset = todo("4-2")
    return train_dataset, val_dataset


def build_dataloaders(args: GenerationTrainArguments, train_dataset, val_dataset, tokenizer):
    """학습용(길이로 묶어 섞음)과 검증용(순서대로) DataLoader를 돌려줍니다."""
    # TODO 4-3: 두 데이터 로더를 만드세요. 공통: 배치 크기는 args.batch_size, 배치를 만드는 함수는 배치 안
    #   가장 긴 예제까지만 채우고 패딩 자리의 정답을 -100으로 두는 GenerationCollator, 작업 프로세스 수는
    #   args.cpu_workers. 학습용은 섞은 뒤 길이가 비슷한 예제끼리 묶는 샘플러, 검증용은 순서대로 읽는 샘플러를
    #   씁니다 (위 2절, PyTorch 문서의 DataLoader, transformers의 LengthGroupedSampler)
    train_dataloader, val_dataloader = todo("4-3")
    return train_dataloader, val_dataloader


# %% [markdown]
# ## 3. 태스크(LightningModule)와 학습
# `GenerationTask`는 모델과 설정을 받아 손실 계산, AdamW + 학습률 스케줄(워밍업 후 선형 감소),
# `loss`/`val_loss` 기록을 맡습니다. `get_trainer(args)`는 Lightning `Trainer`를 만듭니다
# (CPU/GPU 자동 선택, val_loss 최저 체크포인트 + last.ckpt 저장, 진행 막대).
# `trainer.fit(..., ckpt_path=resume_checkpoint_path(args))`는 last.ckpt가 있으면 거기서 이어서 학습합니다.
#
# ### 3-1. LightningModule의 두 부분을 직접 쓰기
# `ReviewGenerationTask`는 `GenerationTask`를 물려받아 두 메서드만 여러분의 코드로 바꿉니다. Lightning은
# 배치마다 `training_step` → `compute_loss`를 부르고, 학습을 시작할 때 한 번 `configure_optimizers`를 부릅니다.
# - **학습 스텝의 손실** (`compute_loss`): 위치 t의 로짓은 t+1번째 토큰을 예측합니다. 그래서 로짓과 정답을
#   한 칸 어긋나게 맞추고, 정답이 -100인 자리(패딩)는 빼고, **예측한 토큰 하나당 평균**을 냅니다. 합을 쓰면
#   손실의 크기가 배치 안 토큰 수에 따라 달라져 학습률의 뜻이 배치마다 바뀝니다.
# - **옵티마이저와 학습률 스케줄** (`configure_optimizers`): AdamW, 그리고 전체 스텝의 `warmup_ratio`만큼
#   0에서 최대 학습률까지 올린 뒤 마지막 스텝에 0이 되도록 줄이는 선형 스케줄. Lightning에 스케줄러를
#   `"lr_scheduler"` 키로, `"interval": "step"`과 함께 넘겨야 **배치마다** 갱신됩니다 (책의 ratsnlp는
#   `"scheduler"` 키로 넘겨 Lightning이 무시했고, 학습률이 끝까지 그대로였습니다).

# %%
class ReviewGenerationTask(GenerationTask):
    """GenerationTask에서 학습 스텝의 손실과 옵티마이저·스케줄을 직접 쓴 태스크."""

    def compute_loss(self, batch) -> torch.Tensor:
        """배치의 학습 손실: 예측한 토큰(정답이 -100이 아닌 자리) 하나당 평균 음의 로그 가능도 (0차원 텐서)."""
        # TODO 4-7: 모델의 로짓으로 다음 토큰 예측 손실을 직접 계산하세요 — 위치 t의 로짓과 t+1번째
        #   정답(batch["labels"])을 짝짓고, 정답이 -100(IGNORE_INDEX, 패딩)인 자리는 빼고, 예측한 토큰 하나당
        #   평균을 냅니다 (위 3-1 설명, 가이드 Step 4 'LightningModule 직접 쓰기')
        loss = todo("4-7")
        return loss

    def configure_optimizers(self):
        """AdamW와, 워밍업 뒤 선형으로 0까지 줄이는 학습률 스케줄(배치마다 갱신)을 Lightning 형식으로 돌려줍니다."""
        # TODO 4-8: 옵티마이저(AdamW: 학습률 self.args.learning_rate, weight decay self.args.weight_decay)와,
        #   전체 학습 스텝의 self.args.warmup_ratio만큼 0에서 올린 뒤 마지막 스텝에 0이 되도록 선형으로 줄이는
        #   스케줄을 만들어, Lightning이 배치마다 스케줄러를 갱신하는 형식으로 돌려주세요 (위 3-1 설명,
        #   Lightning 문서의 configure_optimizers)
        return todo("4-8")


def build_task(args: GenerationTrainArguments) -> GenerationTask:
    """사전 학습 모델을 불러와 GenerationTask로 감쌉니다."""
    # TODO 4-4: args.pretrained_model_name의 사전 학습 가중치로 GPT-2 언어 모델을 불러와, 학습을 맡는
    #   LightningModule인 GenerationTask로 감싸세요 (위 3절, kogpt2_course/nlpbook/generation/task.py)
    task = todo("4-4")
    return task


def train(args: GenerationTrainArguments, task: GenerationTask, train_dataloader, val_dataloader) -> L.Trainer:
    """트레이너를 만들어 학습하고(중단된 학습이면 이어서) 트레이너를 돌려줍니다."""
    # TODO 4-5: 설정(args)으로 Lightning 트레이너를 만들고 학습 데이터와 검증 데이터로 학습하세요. 중단된
    #   학습이 이어지도록, 이어서 시작할 체크포인트 경로(없으면 None)도 학습 함수에 넘깁니다 (위 3절,
    #   kogpt2_course/nlpbook/trainer.py, Lightning 문서의 Trainer.fit)
    trainer = todo("4-5")
    return trainer


# %% [markdown]
# ## 4. 퍼플렉서티: 처음 보는 리뷰를 얼마나 잘 예측하나
# `val_loss`는 평가 데이터의 (패딩이 아닌) 토큰 하나당 평균 음의 로그 가능도입니다.
# 퍼플렉서티 `exp(val_loss)`는 "모델이 매 토큰 평균 몇 개의 후보 사이에서 망설이는가"로 읽을 수 있고,
# 낮을수록 좋습니다.
#
# 세 가지 데이터를 나눠 씁니다. **학습 세트**로 가중치를 바꾸고, 학습 파일에서 떼어 낸 **검증 세트**의
# val_loss로 가장 좋은 체크포인트를 고르며, **테스트 세트**(`ratings_test.txt`)는 고른 체크포인트를 마지막에
# **한 번만** 평가합니다. 검증 세트는 고르는 데 썼기 때문에 그 점수는 조금 낙관적입니다(여러 후보 중 검증
# 점수가 가장 좋은 것을 골랐으니까요). 고르는 데 쓰지 않은 테스트 세트의 점수가 처음 보는 리뷰에 대한
# 정직한 추정치입니다. 테스트 점수를 보고 설정을 다시 고르기 시작하면 테스트 세트도 검증 세트가 됩니다.

# %%
def evaluate_perplexity(task: GenerationTask, val_dataloader) -> tuple[float, float]:
    """(val_loss, perplexity)를 돌려줍니다."""
    # TODO 4-6: 검증 데이터 전체의 손실 val_loss(패딩을 뺀 토큰 하나당 평균 음의 로그 가능도)와 퍼플렉서티
    #   exp(val_loss)를 float로 구하세요. 배치별 손실을 더하거나 배치 평균을 다시 평균하면 토큰당 평균이
    #   아닙니다 — 검증만 하는 트레이너로 태스크의 검증 단계를 돌리면 태스크가 val_loss를 토큰당 평균으로
    #   기록해 줍니다 (위 4절, kogpt2_course/nlpbook/trainer.py의 get_evaluator, Lightning 문서의
    #   Trainer.validate)
    val_loss, perplexity = todo("4-6")
    return val_loss, perplexity


# %% [markdown]
# ## 5. 학습 전후 비교: 생성된 리뷰와 손실 곡선

# %%
def show_generations(title: str, model, tokenizer, num_samples: int, max_new_tokens: int, seed: int) -> None:
    """프롬프트 `</s>긍정`/`</s>부정`으로 생성한 리뷰를 프롬프트 단어까지 함께 보여 줍니다.

    학습 전 모델은 `긍정`을 단어의 앞부분으로 보고 `긍정적이고 ...`처럼 이어 쓰기도 합니다. 프롬프트 단어를
    빼고 보여 주면 `적이고 ...` 같은 조각이 되어 무슨 일이 일어났는지 보이지 않습니다.
    """
    print(f"\n--- {title} — 프롬프트 </s>긍정 / </s>부정, 프롬프트 단어부터 보여 줌 ---")
    for sentiment in SENTIMENTS:
        for text in generate_reviews(model, tokenizer, sentiment, num_samples, max_new_tokens, seed=seed,
                                     with_prefix=True):
            print(f"[{sentiment}] {text}")


def what_the_drop_measures(corpus_name: str, measured: str, bundled_model: bool) -> str:
    """퍼플렉서티 하락이 무엇을 재는지, 이번에 잰 부분별 손실(measured)과 말뭉치·모델에 따라 솔직하게 설명합니다."""
    text = ("[무엇을 잰 것인가] 위 표에서 제어 코드와 끝의 `</s>`는 학습 문장의 형식을 익힌 몫이고, 리뷰 본문만이 "
            f"리뷰 자체를 더 잘 예측하게 된 몫입니다. {measured}")
    pretrained_on_reviews = " 번들 모델은 이미 실제 영화 리뷰로 사전 학습되었습니다." if bundled_model else ""
    if corpus_name == SAMPLE_CORPUS_NAME:
        text += (" 그리고 내장 예제(nsmc-sample)는 강의가 정해 둔 문장 틀(무엇이 + 어땠다 + 맺음말)의 조합이라 검증·테스트 "
                 "리뷰도 같은 틀에서 나옵니다: 리뷰 본문의 하락도 대부분 '그 틀을 익힌 정도'이지, 실제 리뷰의 말투에 "
                 "적응한 정도가 아닙니다." + pretrained_on_reviews)
        real = REAL_NSMC_DIR / "ratings_train.txt"
        if real.exists():
            text += (f" 이 컴퓨터에 있는 실제 NSMC 형식 리뷰로 같은 것을 재 보세요: python step4_model_training.py "
                     f"--downstream_corpus_root_dir {REAL_NSMC_DIR.parent} --downstream_corpus_name {REAL_NSMC_DIR.name} "
                     f"--max_train_samples 2000 --max_eval_samples 1000 --epochs 1 "
                     f"--downstream_model_dir checkpoints/step4-real-nsmc")
        else:
            text += (" 실제 리뷰로 재 보려면 --downstream_corpus_name nsmc(인터넷에서 내려받음)로 다시 실행하세요 "
                     "(CPU라면 --max_train_samples 2000 --max_eval_samples 1000 --epochs 1).")
    else:
        if bundled_model:
            text += (pretrained_on_reviews + " 리뷰 본문의 손실이 줄지 않았다면 미세 조정의 효과는 제어 코드가 감성을 "
                     "바꾸는 생성 결과(아래)에서 보이고, 크게 줄었다면 이 말뭉치가 사전 학습한 리뷰와 다르거나 작고 "
                     "반복적이어서 외운 것입니다.")
        text += (" 테스트 리뷰(ratings_test.txt)는 학습에도 체크포인트 선택에도 쓰지 않았으니, 처음 보는 리뷰에 대한 "
                 "추정치는 테스트 퍼플렉서티입니다.")
    return text


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
    else:
        resume_checkpoint_path(args, verbose=False)  # 이어서 학습할 수 없는 설정(--epochs)이면 여기서 바로 알립니다

    prepare_corpus(args)
    tokenizer = load_tokenizer(model_name)
    train_file_dataset, test_dataset = build_datasets(args, tokenizer)
    # 학습 파일의 일부를 검증 세트로 떼어 냅니다 (체크포인트 선택용). 테스트 파일은 마지막에 한 번만 씁니다.
    train_dataset, val_dataset = train_file_dataset.split_validation(args.val_ratio)
    train_dataloader, val_dataloader = build_dataloaders(args, train_dataset, val_dataset, tokenizer)
    _, test_dataloader = build_dataloaders(args, train_dataset, test_dataset, tokenizer)  # 검증 로더와 같은 방식
    print(f"학습 예제 {len(train_dataset)}개 ({train_dataset.num_tokens():,} 토큰), 검증 예제 {len(val_dataset)}개"
          f"(학습 파일에서 떼어 냄, 체크포인트 선택용), 테스트 예제 {len(test_dataset)}개(마지막에 한 번만 평가)")

    task = build_task(args)
    show_generations("학습 전 생성", task.model, tokenizer, cli.num_samples, cli.max_new_tokens, args.seed)
    before_loss, before_ppl = evaluate_perplexity(task, val_dataloader)
    before_parts = loss_by_part(task.model, tokenizer, val_dataset)  # 하락이 어디서 오는지 나중에 비교
    print(f"\n학습 전 검증 퍼플렉서티: {before_ppl:.1f} (val_loss {before_loss:.3f})\n")

    # 같은 모델을 여러분이 손실과 옵티마이저를 쓴 태스크(3-1)로 감싸 학습합니다.
    task = ReviewGenerationTask(task.model, args)
    trainer = train(args, task, train_dataloader, val_dataloader)
    if not trainer.is_global_zero:
        return  # 여러 프로세스(--devices 2 이상)로 학습했다면 평가·생성·그림은 0번 프로세스 하나만 합니다

    deploy_args = GenerationDeployArguments(pretrained_model_name=model_name,
                                            downstream_model_dir=args.downstream_model_dir)
    best_path = deploy_args.downstream_model_checkpoint_fpath
    print(f"\n학습 스텝 {trainer.global_step}개 완료. 검증 val_loss 최저 체크포인트: {best_path}")
    if best_path is None:
        print("val_loss가 적힌 체크포인트가 없어 마지막 가중치로 평가합니다.")
        best_model = task.model
    else:
        best_model = load_finetuned_model(deploy_args)  # Step 5도 이렇게 불러옵니다
    best_task = GenerationTask(best_model, args)
    after_loss, after_ppl = evaluate_perplexity(best_task, val_dataloader)
    print(f"검증 퍼플렉서티: 학습 전 {before_ppl:.1f} → 학습 후 {after_ppl:.1f} "
          f"(val_loss {before_loss:.3f} → {after_loss:.3f}; 체크포인트를 고르는 데 쓴 세트라 조금 낙관적)")
    test_loss, test_ppl = evaluate_perplexity(best_task, test_dataloader)
    print(f"테스트 퍼플렉서티 (고른 체크포인트, 한 번만 평가): {test_ppl:.1f} (loss {test_loss:.3f}) — 선택에 쓰지 않은 "
          f"리뷰라, 처음 보는 리뷰에 대한 정직한 추정치입니다.")
    after_parts = loss_by_part(best_model, tokenizer, val_dataset)
    print(format_part_losses(before_parts, after_parts))
    print(what_the_drop_measures(args.downstream_corpus_name, describe_drop(before_parts, after_parts),
                                 bundled_model=str(model_name) == str(BUNDLED_MODEL_DIR)))
    show_generations("학습 후 생성 (val_loss 최저 체크포인트)", best_model, tokenizer, cli.num_samples,
                     cli.max_new_tokens, args.seed)

    png = plot_loss_curve(task.history, before_loss, cli.output_dir)
    print(f"\n손실 곡선: {png}")
    print("다시 실행하면 마지막 체크포인트에서 이어서 학습합니다 (--epochs를 늘리면 더 학습, --no_resume이면 처음부터).")
    print("[Step 5와의 관계] Step 5의 웹 데모는 아직 제어 코드 `</s>긍정`/`</s>부정`을 붙여 보내지 않습니다: 입력한 "
          "프롬프트를 그대로 모델에 넣습니다. 데모에서 감성 조종을 보려면 프롬프트를 `긍정 ` 또는 `부정 `으로 "
          "시작하세요 (학습 때 맨 앞에 있던 `</s>`가 없어 조종이 약해질 수 있습니다).")


if __name__ == "__main__":
    run_main(main)
