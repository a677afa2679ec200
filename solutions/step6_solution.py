# %% [markdown]
# # Step 6. 문체 학습 — 학습 루프를 직접 쓰고, 정확히 이어서 학습하고, 대화형으로 생성하기
#
# Step 4에서는 Lightning의 `trainer.fit`이 학습 루프를 대신 돌렸습니다. 이번에는 그 루프를 **직접** 씁니다.
# 이 단계에서 배우는 것
# 1. 배치 만들기: 배치마다 가장 긴 문장까지만 채우고(동적 패딩), 채운 자리의 정답은 -100 (손실에서 제외).
# 2. 한 스텝: 순전파와 손실 → 역전파 → 기울기 자르기 → `optimizer.step()` → 학습률 스케줄 → 기울기 비우기.
# 3. 진행 막대(tqdm), 주기적인 손실 기록과 샘플 생성, bf16 autocast(이 컴퓨터에서 재 보고 빠를 때만).
# 4. 체크포인트: 모델, 옵티마이저, 스케줄러, 에폭·스텝, 난수 상태, 데이터 순서의 위치까지 저장해서,
#    중단했다가 다시 실행하면 중단하지 않은 것과 **비트 단위로 같은** 가중치에 이릅니다.
# 5. 대화형 생성기: `--tmp_sent`로 시작해 입력한 문장을 차례로 이어 쓰고(KV 캐시를 쓰는 `generate`),
#    결과를 samples 폴더에 설정과 함께 저장합니다.
#
# 데이터는 한 가지 문체로 쓴 문장의 CSV(`score,genre,sent`)입니다. 기본은 강의가 직접 쓴 합쇼체(~습니다) 문장
# 300개(`kogpt2_course/style/formal_sample.csv`)이고, 학습 전후에 생성한 글 중 `~니다`로 끝나는 비율을 잽니다.
#
# 실행 (옵션은 `--help`, `train --help`, `generate --help`):
#   python step6_style_finetuning.py                       # 데모: 학습 전/후 문체 비교와 그림 (CPU 2코어에서 3분 안)
#   python step6_style_finetuning.py train --epoch 5 --data_file_path my.csv --save_path checkpoints/step6-style/ --batch_size 16
#   python step6_style_finetuning.py generate --temperature 0.7 --text_size 60 --tmp_sent "오늘은"

# %%
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import GPT2LMHeadModel, get_linear_schedule_with_warmup, set_seed

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.grading.script_runner import run_main
from kogpt2_course.lm.decoding import drop_broken_tail
from kogpt2_course.lm.loading import load_model_and_tokenizer
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR, add_model_argument
from kogpt2_course.nlpbook.generation.dataset import IGNORE_INDEX
from kogpt2_course.nlpbook.generation.inference import generate_reviews
from kogpt2_course.plots.distributions import plot_metric_bars
from kogpt2_course.plots.training import plot_loss_history
from kogpt2_course.style.checkpoint import (TrainState, checkpoint_model_name, data_order_generator,
                                            latest_checkpoint, load_checkpoint, load_model_weights, order_mismatches,
                                            prune_checkpoints, restore_training, save_checkpoint, stop_on_interrupt)
from kogpt2_course.style.corpus import (DEFAULT_TEXT_COLUMN, SAMPLE_ENDINGS, SAMPLE_PATH, control_text, encode_rows, read_style_csv)
from kogpt2_course.style.generator import GeneratorSettings, new_token_budget, run_interactive
from kogpt2_course.style.marker import copied_share, ending_share
from kogpt2_course.style.precision import bf16_supported, time_training_step

DEFAULT_SAVE_PATH = "checkpoints/step6-style/"
# 작은 번들 모델은 큰 학습률로 빨리 배웁니다. 진짜 KoGPT2(1억 2천만 파라미터)는 5e-5 정도가 알맞습니다.
BUNDLED_LEARNING_RATE = 1e-3
HUB_LEARNING_RATE = 5e-5
# 생성 설정의 기본값은 형제 프로젝트의 generator.py와 같습니다.
SAMPLING = dict(temperature=0.7, top_k=40, top_p=0.9)


# %% [markdown]
# ## 1. 명령행: `train`, `generate`, 그리고 인자 없이 실행하면 데모
# 형제 프로젝트(KoGPT2-finetuning)의 옵션 이름을 그대로 씁니다: `--epoch`, `--data_file_path`, `--save_path`,
# `--load_path`, `--batch_size` / `--temperature`, `--text_size`, `--tmp_sent`, `--top_k`, `--top_p`, `--loops`.

# %%
def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"1 이상의 정수여야 합니다 (받은 값: {text})")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"0 이상의 정수여야 합니다 (받은 값: {text})")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"0보다 커야 합니다 (받은 값: {text})")
    return value


def probability(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"0 초과 1 이하여야 합니다 (받은 값: {text})")
    return value


def loops_count(text: str) -> int:
    value = int(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"1 이상, 또는 -1(끝낼 때까지 무한 반복)이어야 합니다 (받은 값: {text})")
    return value


def add_train_options(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--data_file_path", default=str(SAMPLE_PATH),
                        help="학습할 문장 CSV (첫 줄은 열 이름, 예: score,genre,sent). 기본은 강의가 쓴 합쇼체 예제")
    parser.add_argument("--text_column", default=DEFAULT_TEXT_COLUMN,
                        help="글이 든 열 이름 (형제 프로젝트의 가사 파일은 lyrics, ChatbotData의 답변은 A)")
    parser.add_argument("--condition_column", default=None,
                        help="조건 열 이름 (예: genre). 주면 그 값이 글 앞의 조종 단어가 됩니다 ('날씨 오늘은 ...')")
    parser.add_argument("--bad_rows", choices=["skip", "error"], default="skip",
                        help="잘못된 행: skip(건너뛰고 개수를 알림) 또는 error(파일:줄과 함께 멈춤)")
    parser.add_argument("--epoch", type=positive_int, default=3,
                        help="학습할 에폭 수 (이어 학습하면 전체 에폭 수). 작은 데이터에서 너무 늘리면 학습 문장을 외워 씁니다")
    parser.add_argument("--batch_size", type=positive_int, default=16, help="배치 크기 (동적 패딩이라 1이 아니어도 됩니다)")
    parser.add_argument("--learning_rate", type=positive_float, default=None,
                        help=f"최대 학습률 (생략하면 번들 모델 {BUNDLED_LEARNING_RATE:g}, 그 밖의 모델 {HUB_LEARNING_RATE:g})")
    parser.add_argument("--warmup_ratio", type=float, default=0.1, help="전체 스텝 중 학습률을 0에서 올리는 워밍업 비율")
    parser.add_argument("--weight_decay", type=float, default=0.01, help="AdamW의 가중치 감쇠")
    parser.add_argument("--max_grad_norm", type=positive_float, default=1.0, help="기울기 자르기: 전체 기울기 노름의 상한")
    parser.add_argument("--max_seq_length", type=positive_int, default=64, help="예제 하나의 최대 토큰 수 (</s> 포함)")
    parser.add_argument("--max_steps", type=non_negative_int, default=0,
                        help="이 스텝에서 체크포인트를 저장하고 멈춤 (0 = 끝까지). 학습률 스케줄은 --epoch 기준 그대로")
    parser.add_argument("--seed", type=int, default=42, help="난수 시드 (초기화, 에폭마다의 데이터 순서)")
    parser.add_argument("--save_path", default=DEFAULT_SAVE_PATH, help="체크포인트(KoGPT2_checkpoint_<스텝>.tar)를 저장할 폴더")
    parser.add_argument("--load_path", default=None,
                        help="이어서 학습할 체크포인트 파일(또는 폴더). 없는 경로면 처음부터. "
                             "생략하면 --save_path의 가장 최근 체크포인트")
    parser.add_argument("--no_resume", action="store_true", help="체크포인트가 있어도 처음부터 학습")
    parser.add_argument("--save_every", type=non_negative_int, default=50,
                        help="N 스텝마다 체크포인트 저장 (0 = 에폭 끝에만). 에폭 끝과 멈출 때는 늘 저장")
    parser.add_argument("--keep_checkpoints", type=non_negative_int, default=2,
                        help="--save_path에 남길 최근 체크포인트 수 (0 = 모두 남김)")
    parser.add_argument("--log_every", type=non_negative_int, default=20,
                        help="N 스텝마다 평균 손실과 샘플 한 줄 출력 (0 = 끔)")
    parser.add_argument("--sample_prompt", default="", help="주기적인 샘플의 프롬프트 (빈 문자열 = </s>에서 바로 시작)")
    parser.add_argument("--sample_tokens", type=positive_int, default=30, help="주기적인 샘플의 새 토큰 수")
    parser.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                        help="bf16 autocast: auto(처음에 재 보고 빠를 때만), on, off. 이어 학습하면 처음 결정을 따름")
    parser.add_argument("--device", default="auto", help="auto(CUDA가 있으면 GPU), cpu, cuda, cuda:1 ...")
    parser.add_argument("--output_dir", default="outputs", help="그림(PNG)을 저장할 폴더")
    parser.add_argument("--no_plot", action="store_true", help="그림(손실 곡선, 문체 표지)을 그리지 않음")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = KoreanArgumentParser(
        description="Step 6: 직접 쓴 PyTorch 학습 루프로 문체 학습, 정확한 이어 학습, 대화형 생성기. "
                    "명령 없이 실행하면 데모(학습 전/후 문체 비교)를 돌립니다.",
        epilog="명령마다의 옵션: demo --help, train --help, generate --help")
    commands = parser.add_subparsers(dest="command", metavar="{demo,train,generate}", title="명령")
    demo = commands.add_parser("demo", help="학습 전/후 문체 비교 데모 (기본)")
    add_train_options(demo)
    demo.add_argument("--generations", type=positive_int, default=100, help="학습 전후 각각 생성할 글 수")
    demo.add_argument("--marker", nargs="+", default=list(SAMPLE_ENDINGS),
                      help="문체 표지: 첫 문장이 이것으로 끝나는 글의 비율을 잽니다 (합쇼체 니다, 해요체 요)")
    train = commands.add_parser("train", help="학습 (중단 후 다시 실행하면 이어서)")
    add_train_options(train)
    generate = commands.add_parser("generate", help="대화형 생성기")
    add_model_argument(generate)
    generate.add_argument("--load_path", default=None,
                          help=f"체크포인트 파일 또는 폴더 (생략하면 {DEFAULT_SAVE_PATH}의 가장 최근 것, 없으면 사전 학습 모델)")
    generate.add_argument("--tmp_sent", default="오늘은", help="처음 이어 쓸 문장 (빈 문자열이면 바로 입력을 받음)")
    generate.add_argument("--text_size", type=positive_int, default=100, help="새로 만들 최대 토큰 수 (모델 길이에 맞춰 줄어듦)")
    generate.add_argument("--temperature", type=positive_float, default=SAMPLING["temperature"], help="온도 (낮을수록 무난)")
    generate.add_argument("--top_k", type=non_negative_int, default=SAMPLING["top_k"], help="top-k (0 = 쓰지 않음)")
    generate.add_argument("--top_p", type=probability, default=SAMPLING["top_p"], help="top-p (1 = 쓰지 않음)")
    generate.add_argument("--loops", type=loops_count, default=-1, help="생성할 결과 수 (-1 = 끝낼 때까지)")
    generate.add_argument("--condition", default=None, help="조건 열로 학습했다면 그 값 (예: 날씨): 글 앞의 조종 단어")
    generate.add_argument("--samples", default="samples", help="결과를 저장할 폴더 (없으면 만듭니다)")
    generate.add_argument("--seed", type=int, default=None, help="난수 시드 (주면 같은 입력을 같은 순서로 넣을 때 같은 결과)")
    generate.add_argument("--device", default="auto", help="auto, cpu, cuda ...")
    commands_known = ["demo", "train", "generate", "-h", "--help"]
    # BEGIN SOLUTION ONLY
    ddp = commands.add_parser("ddp", help="(확장) torchrun으로 여러 프로세스가 같은 루프를 DDP로 학습")
    add_train_options(ddp)
    commands_known.append("ddp")
    # END SOLUTION ONLY
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in commands_known:
        argv = ["demo", *argv]  # no command: the demo (its options may follow directly)
    return parser.parse_args(argv)


def pick_device(requested: str) -> torch.device:
    return torch.device("cuda" if requested == "auto" and torch.cuda.is_available() else
                        "cpu" if requested == "auto" else requested)


# %% [markdown]
# ## 2. 배치 만들기: 동적 패딩과 -100
# 문장마다 토큰 수가 다릅니다. 한 배치를 텐서 하나로 만들려면 짧은 문장 뒤를 `<pad>`로 채워야 하는데,
# 모든 문장을 최대 길이까지 채우면 계산 대부분이 패딩에 쓰입니다. 그래서 **그 배치의 가장 긴 문장까지만** 채웁니다.
# - `attention_mask`: 진짜 토큰 1, 패딩 0 (모델이 패딩을 보지 않게).
# - `labels`: 정답 토큰. 패딩 자리는 -100으로 두면 `CrossEntropyLoss`(그리고 transformers의 손실)가 건너뜁니다.
#   모델이 labels를 한 칸씩 밀어 "다음 토큰"과 맞춰 보므로, labels는 input_ids와 같은 자리에 같은 값을 둡니다.
# 형제 프로젝트는 패딩이 없어서 배치 크기가 1이어야 했습니다. 동적 패딩이면 어떤 배치 크기든 됩니다.

# %%
def collate_batch(examples: list[dict[str, torch.Tensor]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """`{"input_ids": 1차원 LongTensor}` 예제들을 (배치, 가장 긴 길이) 텐서 세 개로 묶습니다."""
    # BEGIN TODO 6-1: 배치의 가장 긴 예제 길이에 맞춰 `input_ids`(빈자리는 pad_token_id), `attention_mask`(진짜 토큰 1, 패딩 0), `labels`(input_ids와 같되 패딩 자리는 IGNORE_INDEX = -100)를 만드세요 — 안내서 Step 6 "배치 만들기"
    # HINT 2: torch.full((배치, 최대 길이), pad_token_id)와 torch.zeros로 빈 텐서를 만들고 예제마다 앞부분을 채운 뒤, labels는 input_ids.masked_fill(조건, IGNORE_INDEX)
    # HINT 3: longest = max(len(e["input_ids"]) for e in examples); 각 행 i에 input_ids[i, :n] = ids, attention_mask[i, :n] = 1; labels = input_ids.masked_fill(attention_mask == 0, IGNORE_INDEX)
    longest = max(len(example["input_ids"]) for example in examples)
    input_ids = torch.full((len(examples), longest), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), longest), dtype=torch.long)
    for row, example in enumerate(examples):
        ids = example["input_ids"]
        input_ids[row, :len(ids)] = ids
        attention_mask[row, :len(ids)] = 1
    labels = input_ids.masked_fill(attention_mask == 0, IGNORE_INDEX)
    # END TODO
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def epoch_batches(dataset, batch_size: int, seed: int, epoch: int, pad_token_id: int) -> DataLoader:
    """에폭 `epoch`의 배치들. 순서는 (seed, epoch)로 정해진 생성기가 섞으므로, 다시 만들어도 같습니다.

    그래서 체크포인트에는 "이 에폭에서 배치 몇 개를 이미 학습했나"만 있으면 정확히 그 다음 배치부터 이어 갈 수 있습니다.
    (`generator`를 주면 DataLoader가 전역 난수를 건드리지 않아 드롭아웃의 난수 흐름도 그대로입니다.)
    """
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=data_order_generator(seed, epoch),
                      collate_fn=partial(collate_batch, pad_token_id=pad_token_id))


# %% [markdown]
# ## 3. 순전파와 손실 (bf16 autocast)
# `GPT2LMHeadModel`에 정답(labels)을 함께 주면, 로짓과 정답을 한 칸 어긋나게 맞춰 -100이 아닌 토큰의 평균
# 크로스 엔트로피를 손실로 돌려줍니다. 직접 계산해도 됩니다.
# `torch.autocast` 블록 안에서 bfloat16으로 순전파하면 행렬 곱이 bfloat16으로 돌고(손실 같은 합계는 float32로
# 남습니다), bf16을 직접 계산하는 GPU·CPU에서는 빨라집니다. 빠른지는 재 봐야 압니다 (5절).

# %%
def compute_loss(model, batch: dict[str, torch.Tensor], bf16: bool) -> torch.Tensor:
    """배치의 평균 손실(패딩을 뺀 토큰당 음의 로그 가능도, 스칼라 텐서). bf16=True면 순전파를 bf16 autocast 안에서."""
    batch = {name: tensor.to(model.device) for name, tensor in batch.items()}
    # BEGIN TODO 6-2: 배치를 모델에 넣어 다음 토큰 예측의 평균 손실 `loss`(패딩 제외)를 구하세요. bf16이 True일 때만 순전파를 bf16 autocast 안에서 돌립니다 — 안내서 Step 6 "순전파와 손실"
    # HINT 2: with torch.autocast(device_type=model.device.type, dtype=torch.bfloat16, enabled=bf16): 안에서 model(**batch) — labels를 주면 출력의 .loss가 그 손실입니다
    # HINT 3: with torch.autocast(device_type=model.device.type, dtype=torch.bfloat16, enabled=bf16): loss = model(**batch).loss
    with torch.autocast(device_type=model.device.type, dtype=torch.bfloat16, enabled=bf16):
        loss = model(**batch).loss
    # END TODO
    return loss


# %% [markdown]
# ## 4. 옵티마이저와 학습률 스케줄, 그리고 한 스텝
# - **AdamW**: 파라미터마다 기울기의 이동 평균(1차, 2차 모멘트)으로 보폭을 정하고, 가중치 감쇠를 따로 적용합니다.
# - **스케줄**: 처음 `warmup_steps` 동안 학습률을 0에서 최댓값까지 올리고, 그 뒤 마지막 스텝에서 0이 되도록
#   직선으로 내립니다 (`transformers.get_linear_schedule_with_warmup`, Step 4의 `GenerationTask`와 같은 것).
# - **한 스텝**: 역전파로 기울기를 구하고, 전체 기울기 노름이 `max_grad_norm`을 넘으면 비율대로 줄이고(폭주 방지),
#   옵티마이저와 스케줄러를 한 걸음씩 진행합니다. PyTorch는 기울기를 `.grad`에 **더하므로** 비우지 않으면 다음 스텝에
#   앞 스텝의 기울기가 섞입니다. Lightning은 이것을 `trainer.fit` 안에서 했습니다.

# %%
def build_optimizer(model, learning_rate: float, weight_decay: float, warmup_steps: int, total_steps: int):
    """(optimizer, scheduler): 모델의 모든 파라미터를 학습하는 AdamW와, 워밍업 후 선형으로 0까지 줄이는 스케줄."""
    # BEGIN TODO 6-3: 모델의 모든 파라미터를 learning_rate와 weight_decay로 학습하는 AdamW `optimizer`와, warmup_steps 동안 0→최대, 그 뒤 total_steps에서 0이 되도록 선형으로 바꾸는 `scheduler`를 만드세요 — 안내서 Step 6 "옵티마이저와 스케줄"
    # HINT 2: torch.optim.AdamW(model.parameters(), lr=..., weight_decay=...)와 transformers의 get_linear_schedule_with_warmup(optimizer, 워밍업 스텝 수, 전체 스텝 수)
    # HINT 3: optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay); scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
    # END TODO
    return optimizer, scheduler


def optimizer_step(loss: torch.Tensor, model, optimizer, scheduler, max_grad_norm: float) -> float:
    """손실 하나로 가중치를 한 번 갱신하고, 자르기 **전**의 전체 기울기 노름을 돌려줍니다."""
    # BEGIN TODO 6-4: 역전파로 기울기를 구하고, 전체 기울기 노름이 max_grad_norm을 넘지 않게 자른 뒤(자르기 전 노름을 `grad_norm`에), 옵티마이저와 스케줄러를 한 걸음씩 진행하고, 다음 스텝에 앞 기울기가 섞이지 않게 하세요 — 안내서 Step 6 "한 스텝"
    # HINT 2: loss.backward(), torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)(자르기 전 노름을 돌려줌), optimizer.step(), scheduler.step(), optimizer.zero_grad()
    # HINT 3: loss.backward(); grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm); optimizer.step(); scheduler.step(); optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    # END TODO
    return float(grad_norm)


# %% [markdown]
# ## 5. bf16: 재 보고 빠를 때만
# bf16을 하드웨어가 직접 계산하면(최근 GPU, AVX512-BF16/AMX가 있는 CPU) 빨라지지만, 그렇지 않으면 흉내 내느라 오히려
# 느립니다. 작은 모델에서는 형 변환 비용이 더 클 수도 있습니다. 그래서 `--bf16 auto`는 첫 배치로 순전파+역전파를
# 두 방식으로 재 보고(`time_training_step`) 빠른 쪽을 고릅니다. 결정은 체크포인트에 저장되어 이어 학습해도 같습니다.

# %%
def choose_bf16(mode: str, supported: bool, measure: Callable[[bool], float]) -> bool:
    """mode 'on'/'off'는 그대로, 'auto'는 bf16을 쓸 수 있고 measure(True) < measure(False)일 때만 True.

    measure(bf16)는 한 학습 스텝(순전파+역전파)의 시간(초)을 재서 돌려줍니다. 재는 데 시간이 드니 필요할 때만 부르세요.
    """
    # BEGIN TODO 6-5: `use_bf16`을 정하세요: 'on'이면 True, 'off'면 False(둘 다 잴 필요 없음), 'auto'면 이 장치에서 쓸 수 있고(supported) 재 본 bf16 스텝이 float32 스텝보다 빠를 때만 True — 안내서 Step 6 "bf16"
    # HINT 2: 'auto'일 때만 measure(True)와 measure(False)를 부르고, supported가 False면 부르지 않습니다
    # HINT 3: use_bf16 = mode == "on" or (mode == "auto" and supported and measure(True) < measure(False))
    use_bf16 = mode == "on" or (mode == "auto" and supported and measure(True) < measure(False))
    # END TODO
    return use_bf16


# %% [markdown]
# ## 6. 생성: KV 캐시를 쓰는 `generate`
# 형제 프로젝트의 생성기는 토큰 하나를 만들 때마다 문장 전체를 다시 모델에 넣었습니다(길이 n이면 계산이 n²에 비례).
# `model.generate`는 Step 1에서 직접 만든 것처럼 KV 캐시(`past_key_values`)를 써서 새 토큰 하나만 넣습니다
# (`python bench/bench_style.py`로 속도를 비교합니다). 학습 문장이 `</s>글</s>`이었으니 생성도 `</s>`로 시작합니다.

# %%
def generate_text(model, tokenizer, prompt: str, text_size: int, temperature: float, top_k: int, top_p: float) -> str:
    """`</s>` + prompt 뒤를 샘플링으로 최대 text_size 토큰 이어 쓴 글 전체(프롬프트 포함, 특수 토큰 제외)."""
    # BEGIN TODO 6-6: 학습 문장처럼 `</s>`로 시작하는 프롬프트를 만들어 KV 캐시를 쓰는 generate로 최대 text_size개의 새 토큰을 샘플링(temperature, top_k, top_p)하고, 프롬프트를 포함한 결과를 특수 토큰 없이 디코딩해 `text`에 담으세요 — 안내서 Step 6 "생성"
    # HINT 2: input_ids = [[tokenizer.bos_token_id] + tokenizer.encode(prompt)]를 model.device의 텐서로; torch.no_grad() 안에서 model.generate(input_ids, attention_mask=..., do_sample=True, max_new_tokens=text_size, temperature=..., top_k=..., top_p=..., pad_token_id=tokenizer.pad_token_id); tokenizer.decode(..., skip_special_tokens=True)
    # HINT 3: output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=True, max_new_tokens=text_size, temperature=temperature, top_k=top_k, top_p=top_p, pad_token_id=tokenizer.pad_token_id); text = tokenizer.decode(output[0], skip_special_tokens=True)
    input_ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer.encode(prompt)]], device=model.device)
    with torch.no_grad():
        output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=True,
                                max_new_tokens=text_size, temperature=temperature, top_k=top_k, top_p=top_p,
                                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    text = tokenizer.decode(output[0], skip_special_tokens=True)
    # END TODO
    return drop_broken_tail(text)  # 길이 제한이 한 글자의 중간에서 끊으면 남는 깨진 글자(�)를 뺍니다


# %% [markdown]
# ## 7. 주기적인 기록과 샘플
# 손실 숫자만으로는 모델이 무엇을 배웠는지 모릅니다. `--log_every` 스텝마다 최근 손실의 평균과 함께, 지금 모델이
# 쓰는 문장 하나를 출력합니다. 두 가지를 조심합니다.
# - 생성하는 동안에는 평가 모드(드롭아웃 끔), 끝나면 다시 학습 모드.
# - 샘플링은 전역 난수를 씁니다. 그대로 두면 "샘플을 찍었느냐"에 따라 이후 드롭아웃 난수가 달라져 학습 결과가
#   바뀝니다. 생성하는 동안만 난수 상태를 따로 쓰고 끝나면 원래대로 되돌려야 합니다 (안내서 Step 6 참고).

# %%
def report(step: int, recent_losses: Sequence[float], model, tokenizer, prompt: str, max_new_tokens: int) -> str:
    """최근 손실의 평균과 지금 모델의 샘플 한 줄을 출력하고 그 줄을 돌려줍니다. 학습 모드와 난수 상태는 그대로 둡니다."""
    # BEGIN TODO 6-7: recent_losses의 평균과 generate_text로 만든 샘플(SAMPLING의 설정, max_new_tokens 토큰)을 한 줄 `line`에 담으세요(스텝 번호 포함). 생성은 평가 모드에서 하고 학습 모드로 되돌리며, 학습의 난수 흐름이 바뀌지 않게 하세요 — 안내서 Step 6 "주기적인 기록과 샘플"
    # HINT 2: mean = sum(recent_losses) / len(recent_losses); model.eval() → with torch.random.fork_rng(): generate_text(model, tokenizer, prompt, max_new_tokens, **SAMPLING) → model.train()
    # HINT 3: line = f"[스텝 {step}] 최근 {len(recent_losses)}스텝 평균 손실 {mean:.3f} | 샘플: {sample}"
    mean = sum(recent_losses) / len(recent_losses)
    model.eval()
    with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda" else []):
        sample = generate_text(model, tokenizer, prompt, max_new_tokens, **SAMPLING)
    model.train()
    line = f"[스텝 {step}] 최근 {len(recent_losses)}스텝 평균 손실 {mean:.3f} | 샘플: {sample}"
    # END TODO
    tqdm.write(line)  # print 대신: 진행 막대를 깨뜨리지 않고 그 위에 한 줄을 씁니다
    return line


# %% [markdown]
# ## 8. 한 에폭의 학습 루프 (Lightning의 `trainer.fit`이 하던 일)
# 배치마다: 손실 계산(3절) → 한 스텝 갱신(4절) → 상태 기록 → 진행 막대 → `after_step`(주기적인 기록·샘플,
# 체크포인트, 멈춤 확인). 상태 `state`는 체크포인트에 저장되는 바로 그것입니다.
# - `state.step`: 지금까지의 `optimizer.step()` 횟수, `state.batch_in_epoch`: 이번 에폭에서 학습을 마친 배치 수,
#   `state.history`: (스텝, 손실) 목록.
# - 이어 학습: 체크포인트에서 돌아왔다면 이번 에폭의 앞 `state.batch_in_epoch`개 배치는 이미 학습했으니 건너뜁니다.
#   데이터 순서는 (seed, epoch)로 정해지므로(2절) 건너뛴 뒤의 배치는 중단 전에 다음으로 학습했을 바로 그 배치입니다.
# - 진행 막대(tqdm)는 전체 배치 수와, 이어 학습이면 이미 지난 배치 수에서 시작하게 만들 수 있습니다.

# %%
def run_epoch(model, batches, optimizer, scheduler, state: TrainState, epochs: int, max_grad_norm: float,
              after_step: Callable[[TrainState], bool]) -> bool:
    """에폭 state.epoch의 배치들을 학습합니다 (이미 학습한 앞부분은 건너뜀). after_step이 False를 돌려주면 멈추고 False."""
    finished = True
    # BEGIN TODO 6-8: 진행 막대를 두르고 batches를 돌며, 이번 에폭에서 이미 학습한 배치는 건너뛰고(이어서 학습할 때 같은 배치를 두 번 배우지 않도록), 나머지는 앞에서 만든 손실 계산과 옵티마이저 스텝으로 학습한 뒤 학습 상태(state)의 스텝·에폭 안 위치·손실 기록을 고치고, 스텝마다 부르는 후처리 함수가 멈추라고 하면 이 에폭을 끝나지 않은 것으로 표시하고 멈추세요 — 안내서 Step 6 "학습 루프"
    # HINT 2: progress = tqdm(total=len(batches), initial=state.batch_in_epoch, desc=f"에폭 {state.epoch + 1}/{epochs}"); for index, batch in enumerate(batches): 에서 index < state.batch_in_epoch면 continue; 스텝 뒤 progress.update(1); 끝나면 progress.close()
    # HINT 3: state.step += 1; state.batch_in_epoch = index + 1; state.history.append((state.step, loss.item())); if not after_step(state): finished = False; break
    progress = tqdm(total=len(batches), initial=state.batch_in_epoch, desc=f"에폭 {state.epoch + 1}/{epochs}",
                    unit="배치", dynamic_ncols=True)
    for index, batch in enumerate(batches):
        if index < state.batch_in_epoch:
            continue  # 이어 학습: 이 에폭에서 이미 학습한 배치
        loss = compute_loss(model, batch, state.bf16)
        optimizer_step(loss, model, optimizer, scheduler, max_grad_norm)
        state.step += 1
        state.batch_in_epoch = index + 1
        state.history.append((state.step, loss.item()))
        progress.update(1)
        progress.set_postfix(loss=f"{loss.item():.3f}")
        if not after_step(state):
            finished = False
            break
    progress.close()
    # END TODO
    return finished


# %% [markdown]
# ## 9. 전체 학습: 데이터 → 모델 → (체크포인트에서 이어서) → 에폭 반복
# `--load_path`가 있으면 그 체크포인트에서, 없는 경로면 처음부터 (한 줄로 알려 줍니다), 생략하면 `--save_path`의
# 가장 최근 체크포인트에서 이어서 학습합니다. 첫 Ctrl+C는 지금 스텝을 마치고 체크포인트를 저장한 뒤 멈추고,
# 다시 실행하면 그 자리에서 이어 갑니다. 체크포인트는 `--save_every` 스텝마다와 에폭 끝에 저장합니다.

# %%
@dataclass
class TrainingRun:
    model: object
    tokenizer: object
    model_name: str
    state: TrainState
    stopped: str | None  # None: 끝까지 학습, "interrupt": Ctrl+C, "max_steps": --max_steps에 닿음
    resumed_at: int | None
    last_checkpoint: Path | None


def resume_checkpoint(cli: argparse.Namespace) -> dict | None:
    """이어서 학습할 체크포인트(없으면 None). 어느 쪽인지 한 줄로 알려 줍니다."""
    if cli.no_resume:
        print("[처음부터] --no_resume: 체크포인트가 있어도 처음부터 학습합니다.")
        return None
    if cli.load_path:
        path = Path(cli.load_path)
        if not path.exists() or (path.is_dir() and latest_checkpoint(path) is None):
            print(f"[처음부터] 체크포인트 {path}가 없어 처음부터 학습합니다.")
            return None
    else:
        path = latest_checkpoint(cli.save_path)
        if path is None:
            print(f"[처음부터] {cli.save_path}에 체크포인트가 없어 처음부터 학습합니다.")
            return None
    checkpoint = load_checkpoint(path)
    print(f"[이어 학습] {checkpoint['path']}에서 이어서 학습합니다 (처음부터 하려면 --no_resume).")
    return checkpoint


def read_style_data(cli: argparse.Namespace):
    return read_style_csv(cli.data_file_path, cli.text_column, cli.condition_column,
                          on_bad_row="raise" if cli.bad_rows == "error" else "skip")


def default_learning_rate(model_name: str) -> float:
    return BUNDLED_LEARNING_RATE if Path(model_name).resolve() == BUNDLED_MODEL_DIR.resolve() else HUB_LEARNING_RATE


def run_train(cli: argparse.Namespace, checkpoint: dict | None = None, model_name: str | None = None) -> TrainingRun:
    data = read_style_data(cli)  # 잘못된 파일이면 모델을 불러오기 전에 바로 알려 줍니다
    print(data.summary())
    if checkpoint is None and model_name is None:
        checkpoint = resume_checkpoint(cli)
    model_name = model_name or checkpoint_model_name(cli.model, checkpoint)
    device = pick_device(cli.device)
    model, tokenizer = load_model_and_tokenizer(model_name)
    model.to(device)
    dataset = encode_rows(data, tokenizer, cli.max_seq_length)
    batches_per_epoch = math.ceil(len(dataset) / cli.batch_size)
    total_steps = cli.epoch * batches_per_epoch
    warmup_steps = round(cli.warmup_ratio * total_steps)
    learning_rate = cli.learning_rate or default_learning_rate(model_name)
    optimizer, scheduler = build_optimizer(model, learning_rate, cli.weight_decay, warmup_steps, total_steps)
    meta = {"model_name": model_name, "seed": cli.seed, "batch_size": cli.batch_size, "num_examples": len(dataset),
            "data_file_path": str(cli.data_file_path), "text_column": cli.text_column,
            "condition_column": cli.condition_column, "epochs": cli.epoch, "learning_rate": learning_rate}
    if checkpoint is not None:
        for difference in order_mismatches(checkpoint, meta):
            print(f"[주의] 체크포인트와 설정이 다릅니다 ({difference}): 데이터 순서가 중단 전과 달라 정확히 이어지지 않습니다.")
        state = restore_training(checkpoint, model, optimizer, scheduler)  # 난수 상태까지: 이 뒤로는 난수를 쓰지 않고 루프로
        print(f"[이어 학습] 스텝 {state.step}, 에폭 {state.epoch + 1}의 배치 {state.batch_in_epoch}/{batches_per_epoch} 다음부터.")
    else:
        set_seed(cli.seed)
        state = TrainState()
    if state.bf16 is None:
        state.bf16 = decide_bf16(cli.bf16, model, dataset, tokenizer, cli, device)
    elif cli.bf16 != "auto" and state.bf16 != (cli.bf16 == "on"):
        print(f"[bf16] 체크포인트의 결정(bf16={state.bf16})을 따릅니다 (같은 계산이어야 정확히 이어집니다).")
    print(f"[학습] 예제 {len(dataset)}개, 에폭 {cli.epoch} × 배치 {batches_per_epoch}개 = {total_steps}스텝 "
          f"(배치 크기 {cli.batch_size}), 학습률 {learning_rate:g}, 워밍업 {warmup_steps}스텝, 장치 {device}, "
          f"bf16 {'켬' if state.bf16 else '끔'}")
    resumed_at = state.step if checkpoint is not None else None
    saved: list[Path] = []

    def save(current: TrainState) -> None:
        saved.append(save_checkpoint(cli.save_path, model, optimizer, scheduler, current, meta))
        prune_checkpoints(cli.save_path, cli.keep_checkpoints)
        tqdm.write(f"[체크포인트] {saved[-1]} (스텝 {current.step})")

    if state.epoch >= cli.epoch or (cli.max_steps and state.step >= cli.max_steps):
        more = "--max_steps를 늘리거나 빼세요" if state.epoch < cli.epoch else "--epoch을 늘리세요"
        print(f"[학습] 이미 스텝 {state.step}(에폭 {state.epoch})까지 학습했습니다. 더 하려면 {more}.")
        stopped = None
    else:
        stopped = train_loop(model, tokenizer, dataset, optimizer, scheduler, state, cli, save)
    model.eval()
    if stopped == "interrupt":
        print(f"[멈춤] Ctrl+C: 스텝 {state.step}에서 멈췄습니다. 같은 명령을 다시 실행하면 그 자리에서 이어서 학습합니다.")
    elif stopped == "max_steps":
        print(f"[멈춤] --max_steps {cli.max_steps}에서 멈췄습니다. --max_steps를 늘리거나 빼고 다시 실행하면 이어서 학습합니다.")
    else:
        print(f"[학습 완료] 스텝 {state.step}, 에폭 {state.epoch}. 체크포인트 폴더: {cli.save_path}")
    return TrainingRun(model, tokenizer, model_name, state, stopped, resumed_at, saved[-1] if saved else None)


def decide_bf16(mode: str, model, dataset, tokenizer, cli, device) -> bool:
    supported = bf16_supported(device)
    if mode == "on" and not supported:
        print(f"[bf16] {device}에서는 bf16 autocast를 쓸 수 없어 float32로 학습합니다.")
        mode = "off"
    first_batch = next(iter(epoch_batches(dataset, cli.batch_size, cli.seed, 0, tokenizer.pad_token_id)))
    times: dict[bool, float] = {}

    def measure(bf16: bool) -> float:
        times[bf16] = time_training_step(model, first_batch, bf16, compute_loss)
        return times[bf16]

    use_bf16 = choose_bf16(mode, supported, measure)
    if times:
        print(f"[bf16 측정] 한 스텝(순전파+역전파): float32 {times.get(False, float('nan')) * 1000:.0f}ms, "
              f"bf16 autocast {times.get(True, float('nan')) * 1000:.0f}ms → {'bf16' if use_bf16 else 'float32'}")
    return use_bf16


def train_loop(model, tokenizer, dataset, optimizer, scheduler, state: TrainState, cli, save) -> str | None:
    """state의 위치부터 cli.epoch 에폭까지 학습합니다. 도중에 멈췄으면 그 까닭("interrupt", "max_steps")."""
    model.train()
    with stop_on_interrupt() as stop:
        def after_step(current: TrainState) -> bool:
            if cli.log_every and current.step % cli.log_every == 0:
                recent = [loss for _, loss in current.history[-cli.log_every:]]
                report(current.step, recent, model, tokenizer, cli.sample_prompt, cli.sample_tokens)
            finish = stop.requested or bool(cli.max_steps and current.step >= cli.max_steps)
            if finish or (cli.save_every and current.step % cli.save_every == 0):
                save(current)
            return not finish

        while state.epoch < cli.epoch:
            batches = epoch_batches(dataset, cli.batch_size, cli.seed, state.epoch, tokenizer.pad_token_id)
            if not run_epoch(model, batches, optimizer, scheduler, state, cli.epoch, cli.max_grad_norm, after_step):
                return "interrupt" if stop.requested else "max_steps"
            state.epoch += 1
            state.batch_in_epoch = 0
            save(state)  # 에폭 끝: 다음 에폭의 처음부터 이어 가도록 (같은 스텝의 파일이면 덮어씀)
    return None


def plot_run(run: TrainingRun, output_dir: str) -> Path:
    marks = [(run.resumed_at, "이어 학습")] if run.resumed_at else []
    return plot_loss_history(run.state.history, "step6_loss_curve.png", output_dir,
                             title="Step 6 문체 학습 손실 (직접 쓴 학습 루프)", marks=marks)


# %% [markdown]
# ## 10. 데모: 문체를 배웠나? (학습 전 → 학습 → 학습 후)
# `</s>`에서 바로 시작해 `--generations`개의 글을 샘플링하고(온도 0.7, top-k 40, top-p 0.9), 첫 문장이 문체 표지
# (`--marker`, 합쇼체 예제는 `니다`)로 끝나는 비율을 학습 전과 후에 잽니다. 학습 데이터 자체의 비율이 목표치입니다.

# %%
def style_samples(model, tokenizer, cli, condition: str = "") -> list[str]:
    # the generator's own settings (SAMPLING), none of the review preset's repetition controls
    return generate_reviews(model, tokenizer, condition, num_samples=cli.generations, max_new_tokens=cli.sample_tokens,
                            seed=cli.seed, repetition_penalty=1.0, no_repeat_ngram_size=0, **SAMPLING)


def show_samples(title: str, texts: list[str], share: float, marker: Sequence[str], count: int = 3) -> None:
    print(f"\n--- {title}: '{'/'.join(marker)}'로 끝나는 글 {share:.0%} ({len(texts)}개 중) ---")
    for text in texts[:count]:
        print(f"  {drop_broken_tail(text)}")


def run_demo(cli: argparse.Namespace) -> None:
    data = read_style_data(cli)
    checkpoint = resume_checkpoint(cli)
    model_name = checkpoint_model_name(cli.model, checkpoint)
    target = ending_share([row.text for row in data.rows], cli.marker)
    base_model, tokenizer = load_model_and_tokenizer(model_name)
    before_texts = style_samples(base_model, tokenizer, cli)
    before = ending_share(before_texts, cli.marker)
    show_samples("학습 전 (사전 학습 모델)", before_texts, before, cli.marker)
    del base_model

    print()
    run = run_train(cli, checkpoint, model_name)
    if run.stopped:
        return
    after_texts = style_samples(run.model, tokenizer, cli)
    after = ending_share(after_texts, cli.marker)
    show_samples("학습 후", after_texts, after, cli.marker)
    copied = copied_share(after_texts, [row.text for row in data.rows])
    print(f"  (그중 학습 문장을 그대로 옮긴 글 {copied:.0%} — 높으면 문체가 아니라 문장을 외운 것입니다)")

    print(f"\n문체 표지: 학습 전 {before:.0%} → 학습 후 {after:.0%} (학습 데이터 {target:.0%})")
    if not cli.no_plot:
        label = f"첫 문장이 '{'/'.join(cli.marker)}'로 끝나는 비율"
        style_png = plot_metric_bars({label: {"학습 전": before, "학습 후": after, "학습 데이터": target}},
                                     "step6_style_marker.png", cli.output_dir,
                                     title=f"Step 6 문체 표지 ({cli.generations}개씩 생성)", ylabel="비율")
        print(f"그림: {style_png}, {plot_run(run, cli.output_dir)}")
    print(f"대화형 생성기: python {Path(sys.argv[0]).name} generate --load_path {run.last_checkpoint or cli.save_path} "
          f"--tmp_sent \"오늘은\"")


# %% [markdown]
# ## 11. 대화형 생성기
# `--tmp_sent`를 먼저 이어 쓰고, 그다음부터는 입력한 문장을 이어 씁니다. 빈 줄, `quit`, Ctrl+D, Ctrl+C로 끝납니다.
# 결과는 `--samples` 폴더에 `1.txt`, `2.txt`, ...로 저장되고 첫 줄에 설정이 적힙니다.

# %%
def run_generate(cli: argparse.Namespace) -> None:
    path = cli.load_path or latest_checkpoint(DEFAULT_SAVE_PATH)
    checkpoint = load_checkpoint(path) if path else None
    model_name = checkpoint_model_name(cli.model, checkpoint)
    model, tokenizer = load_model_and_tokenizer(model_name)
    if checkpoint is None:
        print(f"[알림] {DEFAULT_SAVE_PATH}에 체크포인트가 없어 미세 조정하지 않은 모델로 생성합니다 (먼저 train을 실행하세요).")
    else:
        load_model_weights(checkpoint, model)
        state = TrainState.from_dict(checkpoint["state"])
        print(f"[체크포인트] {checkpoint['path']} (스텝 {state.step}, 에폭 {state.epoch})")
    model.to(pick_device(cli.device)).eval()
    if cli.seed is not None:
        set_seed(cli.seed)
    settings = GeneratorSettings(cli.text_size, cli.temperature, cli.top_k, cli.top_p,
                                 load_path=checkpoint["path"] if checkpoint else "", model=model_name,
                                 condition=cli.condition)

    def generate(prompt: str) -> str:
        text = control_text(cli.condition, prompt)
        budget = new_token_budget(model, tokenizer, text, cli.text_size)
        return generate_text(model, tokenizer, text, budget, cli.temperature, cli.top_k, cli.top_p)

    run_interactive(generate, cli.tmp_sent, settings, cli.samples, cli.loops)


# BEGIN SOLUTION ONLY
# %% [markdown]
# ## (확장) 같은 루프를 여러 프로세스로: `DistributedDataParallel` + `DistributedSampler`
# 실행: `torchrun --nproc_per_node 2 step6_style_finetuning.py ddp --epoch 2` (GPU가 없으면 CPU 프로세스 2개가 gloo로,
# GPU가 있으면 GPU마다 프로세스 하나가 nccl로 통신합니다). `torchrun`이 프로세스마다 환경 변수 `RANK`,
# `LOCAL_RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`를 넣어 주고, `init_process_group`이 그 값으로 프로세스들을
# 잇습니다. 위의 루프에서 달라지는 것은 세 가지입니다.
# 1. **데이터**: `DistributedSampler`가 에폭마다 (seed + 에폭 번호)로 모든 프로세스에서 같은 순서를 섞고, 프로세스마다
#    그 순서의 rank번째부터 프로세스 수 간격으로 가져갑니다 → 프로세스마다 서로 다른 1/N. 에폭마다
#    `sampler.set_epoch(epoch)`를 부르지 않으면 모든 에폭이 같은 순서가 됩니다. 예제 수가 N으로 나누어떨어지지
#    않으면 앞의 몇 개를 한 번 더 넣어 개수를 맞춥니다.
# 2. **모델**: `DistributedDataParallel(model)`로 감싸면 `backward()`가 끝날 때 모든 프로세스의 기울기를 평균
#    (all-reduce)합니다. 같은 가중치에서 시작해 같은 기울기로 같은 걸음을 걸으니 가중치가 끝까지 같습니다.
# 3. **한 스텝이 보는 예제** = 배치 크기 × 프로세스 수(유효 배치), 한 에폭의 스텝 수는 1/N.
# 출력과 저장은 0번 프로세스만 합니다. 이 확장은 체크포인트·이어서 학습을 하지 않습니다 (실전에서는 Step 4의
# Lightning이나 Step 7의 `Trainer`가 맡는 일입니다).

# %%
@dataclass
class DistributedRun:
    model: object  # 학습한 모델 (DDP로 감싸기 전의 것)
    rank: int
    world_size: int
    steps: int
    seen: list[list[int]]  # 에폭마다 이 프로세스가 학습한 예제 번호
    fingerprint: list[float]  # 프로세스마다 가중치의 (합, 제곱합): 모두 같아야 합니다


def weight_fingerprint(model) -> tuple[float, float]:
    weights = torch.cat([p.detach().double().flatten() for p in model.parameters()])
    return float(weights.sum()), float((weights * weights).sum())


def run_ddp(cli: argparse.Namespace) -> DistributedRun:
    import os

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DistributedSampler

    cuda = torch.cuda.is_available() and cli.device in ("auto", "cuda")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)  # 이 컴퓨터의 GPU 가운데 이 프로세스의 것 (LOCAL_RANK번)
    started = not dist.is_initialized()
    if started and "RANK" not in os.environ:
        from kogpt2_course.cli.arguments import UserError

        raise UserError("ddp 명령은 torchrun으로 실행하세요 (프로세스마다 RANK, WORLD_SIZE 같은 환경 변수를 넣어 줍니다): "
                        "torchrun --nproc_per_node 2 solutions/step6_solution.py ddp --epoch 2")
    if started:
        dist.init_process_group(backend="nccl" if cuda else "gloo")  # 주소·순번은 torchrun의 환경 변수에서
    rank, world_size = dist.get_rank(), dist.get_world_size()
    say = print if rank == 0 else (lambda *args, **kwargs: None)
    data = read_style_data(cli)
    say(data.summary())
    model_name = checkpoint_model_name(cli.model, None)
    set_seed(cli.seed)  # 모든 프로세스가 같은 가중치에서 시작합니다 (DDP도 처음에 0번의 가중치를 나눠 줍니다)
    model, tokenizer = load_model_and_tokenizer(model_name)
    model.to(device).train()
    dataset = encode_rows(data, tokenizer, cli.max_seq_length)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=cli.seed)
    loader = DataLoader(dataset, batch_size=cli.batch_size, sampler=sampler,
                        collate_fn=partial(collate_batch, pad_token_id=tokenizer.pad_token_id))
    ddp_model = DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    total_steps = cli.epoch * len(loader)
    learning_rate = cli.learning_rate or default_learning_rate(model_name)
    optimizer, scheduler = build_optimizer(model, learning_rate, cli.weight_decay,
                                           round(cli.warmup_ratio * total_steps), total_steps)
    say(f"[DDP] 프로세스 {world_size}개({dist.get_backend()}), 예제 {len(dataset)}개 → 프로세스마다 에폭당 {len(sampler)}개, "
        f"유효 배치 {cli.batch_size} × {world_size} = {cli.batch_size * world_size}, 에폭 {cli.epoch} × {len(loader)}스텝")
    seen, step = [], 0
    for epoch in range(cli.epoch):
        sampler.set_epoch(epoch)  # 에폭마다 다른 순서 (모든 프로세스에서 같은 순서를 다르게 나눠 가짐)
        seen.append(list(sampler))
        for batch in loader:
            loss = compute_loss(ddp_model, batch, bf16=False)
            optimizer_step(loss, ddp_model, optimizer, scheduler, cli.max_grad_norm)  # backward가 기울기를 평균
            step += 1
            if cli.log_every and step % cli.log_every == 0:
                mean = loss.detach().clone()
                dist.all_reduce(mean)  # 기록용: 프로세스들의 손실 평균
                say(f"[DDP] 스텝 {step}: 손실 {mean.item() / world_size:.3f}")
    fingerprints = [None] * world_size
    dist.all_gather_object(fingerprints, weight_fingerprint(model))
    seen_by_rank = [None] * world_size
    dist.all_gather_object(seen_by_rank, seen[-1])
    overlap = set(seen_by_rank[0]).intersection(*map(set, seen_by_rank[1:])) if world_size > 1 else set()
    say(f"[DDP] 마지막 에폭에 프로세스마다 학습한 예제 수 {[len(s) for s in seen_by_rank]}, 서로 겹친 예제 {len(overlap)}개")
    say(f"[DDP] 프로세스마다 가중치 (합, 제곱합): {fingerprints} → "
        f"{'모두 같습니다' if all(f == fingerprints[0] for f in fingerprints) else '다릅니다!'}")
    if rank == 0:
        folder = Path(cli.save_path) / "ddp-model"
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        say(f"[DDP] 0번 프로세스만 학습한 모델을 {folder}에 저장했습니다 (from_pretrained로 불러오는 폴더)")
    if started:
        dist.barrier()  # 0번이 저장을 마칠 때까지
        dist.destroy_process_group()
    return DistributedRun(model, rank, world_size, step, seen, list(fingerprints[rank]))


# END SOLUTION ONLY
# %%
def main(argv: Sequence[str] | None = None) -> None:
    cli = parse_args(argv)
    try:  # 잘못된 파일·열·체크포인트(StyleDataError, CheckpointError)는 run_main이 한국어 한 줄로 알립니다
        if cli.command == "generate":
            run_generate(cli)
        # BEGIN SOLUTION ONLY
        elif cli.command == "ddp":
            run_ddp(cli)
        # END SOLUTION ONLY
        elif cli.command == "train":
            run = run_train(cli)
            if run.state.history and not cli.no_plot:
                print(f"손실 곡선: {plot_run(run, cli.output_dir)}")
        else:
            run_demo(cli)
    except KeyboardInterrupt:
        print("\n[중단] 멈췄습니다. 마지막 체크포인트부터 다시 이어서 학습할 수 있습니다.", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    run_main(main)
