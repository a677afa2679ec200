# 이 파일은 solutions/step8_solution.py 에서 자동으로 만들어졌습니다 (python -m kogpt2_course make-exercises).
# TODO 부분의 todo(...) 줄을 답으로 바꾸고 실행해 보세요. 채점: python -m kogpt2_course grade --step 8
# 막히면: python -m kogpt2_course hint N-M (부를 때마다 한 단계 더 자세한 힌트)
# %% [markdown]
# # Step 8. LoRA — 가중치의 1%만 학습해 공감하는 여러 턴 한국어 챗봇 만들기
#
# 이 단계에서 배우는 것
# 1. **LoRA(Low-Rank Adaptation)**: 사전 학습 가중치 `W`는 얼려 두고, 옆에 작은 두 행렬 `A`(r×입력),
#    `B`(출력×r)만 학습합니다. 층의 출력은 `W·x + (alpha/r)·B·A·x`. r이 2면 층 하나에 입력+출력의 2배만큼의
#    파라미터만 새로 생기므로 학습할 파라미터가 전체의 약 1% 이하로 줄고, 그만큼 그래디언트와 AdamW 상태
#    메모리가 줄며, 저장하는 것도 어댑터(수백 KB)뿐입니다. `B`가 0에서 시작하므로 학습 전 출력은 원래 모델과 똑같습니다.
# 2. 여러 턴 대화 데이터: AI Hub 감성 대화 말뭉치 형식(`HS01, SS01, ...`)을 읽어 (최근 대화 기록, 응답) 예제를
#    만들고, KoGPT2의 화자 토큰 `<usr>`/`<sys>`로 이어 붙이고, 감정을 Step 4의 `긍정`처럼 맨 앞의 제어 코드로 씁니다.
#    손실은 **응답 토큰에만** 겁니다 (나머지 정답은 -100).
# 3. peft 라이브러리: `LoraConfig`, `get_peft_model`, `print_trainable_parameters`, `save_pretrained`(어댑터만),
#    `merge_and_unload`(어댑터를 가중치에 합쳐 보통 모델로), `disable_adapter()`(잠시 원래 모델로).
# 4. 학습 방법은 한 "공감 대화 LoRA" 프로젝트(Gemma2 2B + AI Hub 감성 대화)를 따릅니다: 기록 최대 4턴, 256토큰,
#    랭크 2, AdamW(학습률 1e-4, weight decay 0.01, bias·LayerNorm 제외), 배치 1, 2 에폭, 에폭마다 어댑터 저장과
#    검증 대화 한 개 생성.
#
# 실행: `python step8_lora_dialogue.py` (인터넷 없이 강의의 예제 대화 48개로 몇 분 안에 끝납니다. 옵션은 `--help`)
# 대화: `python step8_lora_dialogue.py chat` (마지막으로 저장한 어댑터를 불러 대화합니다)
# AI Hub 데이터가 있으면: `python step8_lora_dialogue.py --train_file Training.json --val_file Validation.json --model hub`
# 여러 GPU·여러 컴퓨터: `--accelerator gpu --devices 4 --strategy ddp` (--num_nodes; 안내서 '규모 키우기')

# %%
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import lightning as L
import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers.pytorch_utils import Conv1D

from kogpt2_course.cli.arguments import KoreanArgumentParser, UserError
from kogpt2_course.lora.chat import chat_loop, generate_reply, scripted_input
from kogpt2_course.lora.data import (EMOTION_CLASSES, SYSTEM, USER, DialogueDataError, DialogueExample,
                                         dialogue_examples)
from kogpt2_course.lora.encoding import example_token_ids, fit_prompt_ids
from kogpt2_course.lora.readers import SAMPLE_TRAIN, SAMPLE_VALID, read_aihub
from kogpt2_course.lora.training import (PRECISIONS, LoraTrainArguments, fit_dialogue_model, latest_adapter,
                                         load_adapter_model, load_causal_lm, validation_loss)
from kogpt2_course.grading.script_runner import run_main, todo
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR, add_model_argument, resolve_model_name
from kogpt2_course.nlpbook.generation.arguments import add_engine_arguments, engine_arguments
from kogpt2_course.nlpbook.generation.dataset import IGNORE_INDEX
from kogpt2_course.plots.figure import OUTPUT_DIR
from kogpt2_course.plots.training import plot_loss_history

USER_TOKEN, SYSTEM_TOKEN = "<usr>", "<sys>"  # KoGPT2(와 번들 모델)의 화자 토큰: id 2, 4
# 작은 번들 모델에 랭크 2 어댑터(4.9만 개)를 예제 97개로 2 에폭(194스텝) 학습하면 1e-4로는 검증 손실이
# 거의 움직이지 않습니다. 그래서 번들 모델은 더 큰 학습률을 쓰고, 진짜 KoGPT2·Gemma2 같은 큰 모델은 원래 방법의 1e-4.
BUNDLED_LEARNING_RATE = 3e-3
SEED_LEARNING_RATE = 1e-4
DEMO_CHAT = ["요즘 회사 일이 너무 많아서 지쳐.", "주말에도 쉬지 못했어."]


# %% [markdown]
# ## 1. 프롬프트 형식과 정답(labels)
# 대화 기록 `[(사람, "시험에 떨어졌어"), (시스템, "많이 속상하시겠어요"), (사람, "다시 할 수 있을까?")]`과 감정
# `슬픔`은 이런 문자열이 됩니다:
#
#     슬픔<usr>시험에 떨어졌어<sys>많이 속상하시겠어요<usr>다시 할 수 있을까?<sys>
#
# 앞에 bos(`</s>`)가 붙고, 뒤에 응답 토큰과 eos(`</s>`)가 이어집니다. 모델은 `<sys>` 다음을 자기 차례로 배웁니다.
# 예제가 256토큰을 넘으면 가장 오래된 발화부터 뺍니다 (`kogpt2_course/lora/encoding.py`).
# `labels`는 `input_ids`와 같은 길이이고, 프롬프트 자리는 -100(손실에서 제외), 응답 자리는 응답 토큰입니다.
# 그래야 모델이 사람의 말을 흉내 내는 대신 **답하는 법**만 배웁니다.

# %%
def format_prompt(history: Sequence, emotion: str | None) -> str:
    """대화 기록과 감정(없으면 None)으로 프롬프트 문자열을 만듭니다.

    history: Turn(speaker, text)의 목록, 마지막은 사람의 발화. speaker는 USER("usr", 사람) 또는 SYSTEM("sys", 시스템).
    """
    # TODO 8-1: 감정 단어(있으면)를 맨 앞에 두고, 발화마다 말한 사람의 화자 토큰(사람 USER_TOKEN, 시스템
    #   SYSTEM_TOKEN)을 앞에 붙여 이어 쓴 뒤, 모델이 답할 차례라는 표시로 SYSTEM_TOKEN을 끝에 붙인 문자열을
    #   만드세요 (안내서 'Step 8 > 프롬프트 형식')
    prompt = todo("8-1")
    return prompt


def build_features(prompt_ids: list[int], response_ids: list[int]) -> dict:
    """프롬프트와 응답의 토큰 id로 학습 예제 {"input_ids", "labels"}를 만듭니다."""
    # TODO 8-2: input_ids는 프롬프트 뒤에 응답을 이어 붙인 것, labels는 같은 길이로 프롬프트 자리는 손실에서
    #   빼는 값 IGNORE_INDEX(-100), 응답 자리는 응답 토큰 그대로인 사전을 만드세요
    features = todo("8-2")
    return features


def encode_examples(examples: Sequence[DialogueExample], tokenizer, max_length: int) -> list[dict]:
    """예제마다 (256토큰에 맞춘) 프롬프트와 응답의 토큰 id -> build_features."""
    return [build_features(*example_token_ids(example, tokenizer, format_prompt, max_length)) for example in examples]


def reply(model, tokenizer, history, emotion, cli, **options) -> str:
    """대화 기록에 대한 모델의 답 (기본은 그리디; 프롬프트는 max_length - max_new_tokens 토큰에 맞춤)."""
    prompt_ids = fit_prompt_ids(history, emotion, tokenizer, format_prompt, cli.max_length - cli.max_new_tokens)
    return generate_reply(model, tokenizer, prompt_ids, cli.max_new_tokens, **options)


# %% [markdown]
# ## 2. LoRA 어댑터 붙이기
# 어떤 층에 어댑터를 붙일지(`target_modules`)는 모델 구조마다 다릅니다. 어텐션과 MLP의 선형 변환 층 모두에 붙이고,
# 어휘 크기만큼 큰 출력층(`lm_head`, 입력 임베딩과 가중치를 공유)은 뺍니다.
# - GPT-2(KoGPT2, 번들 모델): `c_attn`(Q·K·V 한꺼번에), `c_proj`(어텐션 출력과 MLP 출력), `c_fc`(MLP 확장).
#   이 층들은 `nn.Linear`가 아니라 transformers의 **`Conv1D`**로, 가중치를 (입력, 출력) 모양으로 뒤집어 저장합니다.
#   그래서 `fan_in_fan_out=True`로 알려 줘야 어댑터를 가중치에 합칠 때(merge) 모양이 맞습니다.
# - Llama·Gemma2 계열: `q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj`(모두 `nn.Linear`, `fan_in_fan_out=False`).
# - Polyglot-ko(GPT-NeoX): `query_key_value, dense, dense_h_to_4h, dense_4h_to_h`.
# 층의 **종류**로 고르면 이름을 외우지 않아도 어느 구조에서나 맞습니다.

# %%
def lora_targets(model) -> tuple[list[str], bool]:
    """(어댑터를 붙일 층 이름들, fan_in_fan_out)을 돌려줍니다. 이름은 peft가 끝부분으로 찾는 짧은 이름(예: "c_attn")."""
    # TODO 8-3: 모델의 모든 하위 모듈을 훑어 선형 변환 층(GPT-2의 Conv1D, 다른 구조의 nn.Linear)의 짧은 이름을
    #   모으되 어휘 크기의 출력층(lm_head)은 빼고, Conv1D가 있었는지를 fan_in_fan_out으로 돌려주세요 (위
    #   설명과 peft LoraConfig 문서의 target_modules, fan_in_fan_out)
    names, fan_in_fan_out = todo("8-3")
    return names, fan_in_fan_out


def build_lora_model(model, rank: int, alpha: float, dropout: float):
    """model에 LoRA 어댑터를 붙인 peft 모델을 돌려주고, 학습할 파라미터 수를 한 줄로 출력합니다."""
    # TODO 8-4: lora_targets가 고른 층에 랭크 rank, 배율 alpha, 드롭아웃 dropout인 LoRA 설정을 만들어(인과
    #   언어 모델 과제) 모델에 붙이고, 학습할 파라미터 수를 출력하세요 (peft 문서 'LoRA' 빠른 시작)
    peft_model = todo("8-4")
    return peft_model


# %% [markdown]
# ## 3. weight decay를 걸 파라미터와 걸지 않을 파라미터
# weight decay는 가중치를 0 쪽으로 조금씩 당깁니다. bias와 정규화 층(LayerNorm)의 가중치에는 걸지 않는 것이 관례입니다:
# LayerNorm의 가중치는 1 근처가 "아무것도 안 함"인데 0으로 당기면 층의 출력을 줄여 버립니다.
# 흔한 코드 `no_decay = ["bias", "LayerNorm.weight"]`는 BERT의 이름이라 GPT-2의 `ln_1`, `ln_2`, `ln_f`를 놓칩니다.
# 그래서 이름이 아니라 **모듈의 종류**(`nn.LayerNorm`, Llama·Gemma의 `...RMSNorm`)로 가릅니다.
# LoRA에서는 어댑터(`lora_A`, `lora_B`)만 학습하므로 모두 decay 쪽이지만, 같은 함수로 전체 미세 조정(벤치마크)도 합니다.
# 입력 임베딩과 출력층은 같은 가중치를 공유하므로, 같은 파라미터를 두 번 넣지 않도록 주의하세요 (AdamW가 오류를 냅니다).

# %%
def is_norm_layer(module) -> bool:
    return isinstance(module, (nn.LayerNorm, nn.RMSNorm)) or type(module).__name__.endswith("RMSNorm")


def optimizer_groups(model, weight_decay: float) -> list[dict]:
    """AdamW에 넘길 파라미터 그룹 두 개: weight_decay를 거는 것과 0인 것(bias, 정규화 층). 학습하는 파라미터만."""
    # TODO 8-5: 학습하는(requires_grad) 파라미터를 각각 한 번씩만, bias이거나 정규화 층(is_norm_layer)에 속한
    #   것은 weight_decay 0인 그룹에, 나머지는 weight_decay인 그룹에 넣은 두 사전의 리스트를 만드세요
    #   (torch.optim.AdamW 문서의 per-parameter options)
    groups = todo("8-5")
    return groups


# %% [markdown]
# ## 4. 학습: 에폭마다 어댑터 저장과 검증 대화 한 개
# 학습은 Step 4의 `GenerationTask`와 `get_trainer`(PyTorch Lightning)를 그대로 씁니다
# (`kogpt2_course/lora/training.py`의 `fit_dialogue_model`). 에폭이 끝날 때마다(그 에폭의 검증 뒤)
# 아래 함수가 불립니다. peft 모델의 `save_pretrained`는 **어댑터만** 저장합니다(`adapter_model.safetensors` +
# `adapter_config.json`). 폴더 이름은 `{lora_name}_{rank}_epoch{k}`.

# %%
def save_adapter_and_sample(model, tokenizer, epoch: int, cli, sample: DialogueExample) -> tuple[Path, str]:
    """에폭 epoch가 끝났을 때: 어댑터를 저장한 폴더와, 검증 대화 sample에 대한 모델의 답을 돌려줍니다."""
    # TODO 8-6: cli.output_dir 아래 '{cli.lora_name}_{cli.lora_rank}_epoch{epoch}' 폴더에 어댑터만 저장하고,
    #   검증 대화 sample의 기록과 감정으로 답을 하나 생성하세요 (peft 문서의 save_pretrained, 위의 reply 함수)
    path, answer = todo("8-6")
    return path, answer


# %% [markdown]
# ## 5. 어댑터를 가중치에 합치기 (merge)
# 서비스할 때는 어댑터를 가중치에 더해(`W + (alpha/r)·B·A`) 보통 모델로 만들면 층마다 곱셈이 하나 줄고
# peft 없이도 불러올 수 있습니다. 합친 모델의 출력은 base + 어댑터와 (부동소수 오차 안에서) 같아야 합니다.

# %%
def merge_adapter(peft_model):
    """어댑터를 가중치에 합친 보통 transformers 모델을 돌려줍니다 (peft_model의 가중치가 바뀝니다)."""
    # TODO 8-7: peft 모델의 어댑터를 기본 가중치에 합치고 peft 포장을 벗긴 모델을 돌려주세요 — 그 메서드는
    #   합친 모델을 "돌려준다"는 점에 주의 (peft 문서 'Merge LoRA weights')
    merged = todo("8-7")
    return merged


# %% [markdown]
# ## 6. 학습 전후 비교: 같은 모델에서 어댑터를 잠시 끄기
# 학습 전 모델을 따로 불러올 필요가 없습니다. `with peft_model.disable_adapter():` 안에서는 어댑터가 꺼져 원래
# 모델과 똑같이 동작하고, 블록을 나오면 다시 켜집니다. (`peft_model.base_model`이나 `get_base_model()`은 어댑터가
# 끼워진 채라 "학습 전"이 아닙니다.)

# %%
def before_after(peft_model, tokenizer, example: DialogueExample, cli) -> tuple[str, str]:
    """(어댑터를 끈 답, 어댑터를 켠 답)을 돌려줍니다."""
    # TODO 8-8: 어댑터를 잠시 끈 상태에서 example의 기록과 감정으로 답을 하나 만들고(학습 전), 어댑터가 켜진
    #   상태로 다시 만드세요(학습 후) (peft 문서의 disable_adapter)
    before, after = todo("8-8")
    return before, after


# %% [markdown]
# ## 7. 명령행과 실행
# 학습률: 원래 방법은 1e-4입니다. 작은 번들 모델로 예제 97개를 2 에폭만 학습할 때는 그 값으로는 변화가 거의 보이지
# 않아 `--learning_rate`를 생략하면 번들 모델에 3e-3을 씁니다 (안내서 'Step 8 > 학습률').

# %%
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = LoraTrainArguments()
    help_of = {name: f.metadata["help"] for name, f in LoraTrainArguments.__dataclass_fields__.items()}
    parser = KoreanArgumentParser(description="Step 8: LoRA로 공감하는 여러 턴 챗봇 학습 (chat: 학습한 어댑터와 대화)")
    add_model_argument(parser)
    parser.add_argument("--train_file", default=str(SAMPLE_TRAIN), help="학습 데이터 (AI Hub 감성 대화 JSON 형식)")
    parser.add_argument("--val_file", default=str(SAMPLE_VALID), help="검증 데이터 (같은 형식)")
    parser.add_argument("--output_dir", default=defaults.downstream_model_dir, help=help_of["downstream_model_dir"])
    parser.add_argument("--lora_name", default=defaults.lora_name, help=help_of["lora_name"])
    parser.add_argument("--lora_rank", type=int, default=defaults.lora_rank, help=help_of["lora_rank"])
    parser.add_argument("--lora_alpha", type=float, default=None, help=help_of["lora_alpha"])
    parser.add_argument("--lora_dropout", type=float, default=defaults.lora_dropout, help=help_of["lora_dropout"])
    parser.add_argument("--learning_rate", type=float, default=None,
                        help=f"학습률 (생략하면 번들 모델 {BUNDLED_LEARNING_RATE:g}, 그 밖의 모델 {SEED_LEARNING_RATE:g})")
    parser.add_argument("--weight_decay", type=float, default=defaults.weight_decay, help=help_of["weight_decay"])
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=help_of["epochs"])
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size, help=help_of["batch_size"])
    parser.add_argument("--max_length", type=int, default=defaults.max_seq_length, help=help_of["max_seq_length"])
    parser.add_argument("--max_history_turns", type=int, default=defaults.max_history_turns,
                        help=help_of["max_history_turns"])
    parser.add_argument("--max_train_examples", type=int, default=None, help="학습 예제를 앞에서부터 N개만 (생략하면 전부)")
    parser.add_argument("--max_val_examples", type=int, default=None, help="검증 예제를 앞에서부터 N개만 (생략하면 전부)")
    parser.add_argument("--precision", choices=PRECISIONS, default=defaults.precision, help=help_of["precision"])
    parser.add_argument("--seed", type=int, default=defaults.seed, help="난수 시드")
    parser.add_argument("--max_new_tokens", type=int, default=40, help="답 하나에 생성할 최대 토큰 수")
    parser.add_argument("--num_samples", type=int, default=3, help="학습 전후를 비교할 검증 대화 수")
    parser.add_argument("--plots_dir", default=str(OUTPUT_DIR), help="손실 곡선(PNG)을 저장할 폴더")
    parser.add_argument("--torch_threads", type=int, default=None,
                        help="PyTorch CPU 스레드 수 (생략하면 번들 모델은 1, 그 밖은 PyTorch 기본값). 번들 모델의 작은 "
                             "행렬은 스레드를 나눠 얻는 것이 적고, 다른 프로그램과 CPU를 나눠 쓸 때는 여러 스레드가 "
                             "서로 기다리느라 몇십 배 느려질 수 있습니다")
    add_engine_arguments(parser, defaults)  # --accelerator --devices --num_nodes --strategy (안내서 '규모 키우기')
    sub = parser.add_subparsers(dest="command", metavar="{chat}", help="chat: 저장한 어댑터를 불러 대화 (생략하면 학습)")
    chat_parser = sub.add_parser("chat", help="저장한 어댑터를 불러 대화합니다",
                                 description="base 모델 + LoRA 어댑터와 대화합니다. 빈 줄, quit, Ctrl+D로 끝냅니다.")
    chat_parser.add_argument("--adapter", default=None,
                             help="어댑터 폴더 (생략하면 --output_dir에서 가장 최근에 저장한 것)")
    for flag in ("--model", "--output_dir", "--max_length", "--max_history_turns", "--max_new_tokens", "--torch_threads"):
        shared = next(a for a in parser._actions if flag in a.option_strings)  # the same option after 'chat' too
        chat_parser.add_argument(flag, type=shared.type, default=argparse.SUPPRESS, help=f"{shared.help} (위와 같음)")
    chat_parser.add_argument("--emotion", choices=EMOTION_CLASSES, default=None, help="제어 코드로 쓸 감정 (생략하면 없음)")
    chat_parser.add_argument("--temperature", type=float, default=0.8, help="샘플링 온도")
    chat_parser.add_argument("--top_p", type=float, default=0.9, help="top-p 샘플링")
    chat_parser.add_argument("--greedy", action="store_true", help="샘플링 대신 그리디 (매번 같은 답)")
    cli = parser.parse_args(argv)
    for name, low in (("lora_rank", 1), ("epochs", 1), ("batch_size", 1), ("max_length", 16),
                      ("max_history_turns", 0), ("max_new_tokens", 1), ("num_samples", 0)):
        if getattr(cli, name) < low:
            parser.error(f"--{name}은(는) {low} 이상이어야 합니다 (받은 값: {getattr(cli, name)})")
    if cli.max_new_tokens >= cli.max_length:
        parser.error(f"--max_new_tokens({cli.max_new_tokens})는 --max_length({cli.max_length})보다 작아야 합니다")
    return cli


def build_arguments(model_name: str, cli: argparse.Namespace) -> LoraTrainArguments:
    learning_rate = cli.learning_rate
    if learning_rate is None:
        learning_rate = BUNDLED_LEARNING_RATE if model_name == str(BUNDLED_MODEL_DIR) else SEED_LEARNING_RATE
    return LoraTrainArguments(
        pretrained_model_name=model_name, downstream_model_dir=cli.output_dir, max_seq_length=cli.max_length,
        batch_size=cli.batch_size, learning_rate=learning_rate, weight_decay=cli.weight_decay, epochs=cli.epochs,
        seed=cli.seed, lora_rank=cli.lora_rank, lora_alpha=cli.lora_alpha, lora_dropout=cli.lora_dropout,
        lora_name=cli.lora_name, max_history_turns=cli.max_history_turns, precision=cli.precision,
        **engine_arguments(cli))


def load_examples(path, max_history_turns: int, limit: int | None) -> list[DialogueExample]:
    dialogues, report = read_aihub(path)
    print(report.summary())
    examples = dialogue_examples(dialogues, max_history_turns)[:limit]
    if not examples:
        raise DialogueDataError(f"{path}: 학습에 쓸 (기록, 응답) 예제가 하나도 없습니다")
    return examples


def set_torch_threads(requested: int | None, model_name: str) -> None:
    threads = requested if requested is not None else (1 if model_name == str(BUNDLED_MODEL_DIR) else None)
    if threads:
        torch.set_num_threads(threads)


def check_length(model, max_length: int) -> None:
    limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
    if limit and max_length > limit:
        raise DialogueDataError(f"--max_length {max_length}이(가) 모델의 최대 위치 {limit}보다 깁니다")


def show_dialogue(example: DialogueExample, answer: str, label: str = "챗봇") -> None:
    for turn in example.history:
        print(f"  {'사람' if turn.speaker == USER else '챗봇'}: {turn.text}")
    print(f"  → {label}: {answer}")


def train_main(cli: argparse.Namespace) -> None:
    model_name = resolve_model_name(cli.model)
    args = build_arguments(model_name, cli)
    set_torch_threads(cli.torch_threads, model_name)
    L.seed_everything(args.seed, verbose=False)
    train_examples = load_examples(cli.train_file, args.max_history_turns, cli.max_train_examples)
    val_examples = load_examples(cli.val_file, args.max_history_turns, cli.max_val_examples)
    model, tokenizer = load_causal_lm(model_name)
    check_length(model, args.max_seq_length)
    train_features = encode_examples(train_examples, tokenizer, args.max_seq_length)
    val_features = encode_examples(val_examples, tokenizer, args.max_seq_length)
    tokens = sum(len(f["input_ids"]) for f in train_features)
    print(f"학습 예제 {len(train_features)}개 ({tokens:,} 토큰), 검증 예제 {len(val_features)}개, "
          f"학습률 {args.learning_rate:g}, 랭크 {args.lora_rank}, alpha {args.alpha:g}, 에폭 {args.epochs}")

    model = build_lora_model(model, args.lora_rank, args.alpha, args.lora_dropout)
    before_loss = validation_loss(model, tokenizer, val_features, args)
    print(f"학습 전 검증 손실(응답 토큰당): {before_loss:.3f}")
    sample = val_examples[0]

    def on_epoch_end(epoch: int, val_loss: float | None) -> None:
        path, answer = save_adapter_and_sample(model, tokenizer, epoch, cli, sample)
        size = sum(f.stat().st_size for f in Path(path).glob("*.safetensors"))
        loss = "-" if val_loss is None else f"{val_loss:.3f}"
        print(f"\n[에폭 {epoch}] 검증 손실 {loss} | 어댑터 저장: {path} ({size / 1024:.0f} KB) | "
              f"검증 대화 (감정 {sample.emotion}):")
        show_dialogue(sample, answer)

    task = fit_dialogue_model(model, tokenizer, train_features, val_features, args, optimizer_groups, on_epoch_end)
    if not task.trainer.is_global_zero:
        return  # 여러 프로세스(--devices 2 이상)로 학습했다면 그림·비교·대화 예시는 0번 프로세스 하나만 합니다
    marks = [(step, f"검증 손실 {loss:.3f}") for step, loss in task.history["val_loss"]]
    png = plot_loss_history(task.history["loss"], "step8_loss_curve.png", cli.plots_dir,
                            title="Step 8 LoRA 학습 손실 (응답 토큰, 에폭 끝마다 검증)", marks=marks)
    print(f"\n손실 곡선: {png}")

    print("\n--- 학습 전(어댑터 끔) vs 학습 후(어댑터 켬), 검증 대화 ---")
    for example in val_examples[:cli.num_samples]:
        before, after = before_after(model, tokenizer, example, cli)
        print(f"[감정 {example.emotion}]")
        show_dialogue(example, before, "학습 전")
        print(f"  → 학습 후: {after}")
    after_loss = validation_loss(model, tokenizer, val_features, args)
    print(f"\n검증 손실(응답 토큰당): 학습 전 {before_loss:.3f} → 학습 후 {after_loss:.3f}")

    probe = torch.tensor([val_features[0]["input_ids"]], device=model.device)
    model.eval()
    with torch.no_grad():
        adapter_logits = model(input_ids=probe).logits
        merged = merge_adapter(model)
        merged_logits = merged(input_ids=probe).logits
    print(f"어댑터를 합친 모델({type(merged).__name__})과 base + 어댑터의 로짓 최대 차이: "
          f"{(merged_logits - adapter_logits).abs().max().item():.2e}")

    print("\n--- 대화 예시 (합친 모델, 기록을 이어 가며) ---")
    chat_loop(lambda history, emotion: reply(merged, tokenizer, history, emotion, cli), emotion="슬픔",
              max_history_turns=args.max_history_turns, read=scripted_input(DEMO_CHAT))
    print("\n직접 대화하려면: python step8_lora_dialogue.py chat  (감정 지정: --emotion 슬픔)")


def chat_main(cli: argparse.Namespace) -> None:
    adapter = cli.adapter or latest_adapter(cli.output_dir)
    if adapter is None:
        raise UserError(f"{cli.output_dir}에 저장된 어댑터가 없습니다 — 먼저 학습하세요: python step8_lora_dialogue.py")
    model, tokenizer = load_adapter_model(adapter, resolve_model_name(cli.model) if cli.model else None)
    set_torch_threads(cli.torch_threads, model.get_base_model().name_or_path)
    print(f"[어댑터] {adapter}")
    options = {} if cli.greedy else dict(do_sample=True, temperature=cli.temperature, top_p=cli.top_p)
    chat_loop(lambda history, emotion: reply(model, tokenizer, history, emotion, cli, **options),
              emotion=cli.emotion, max_history_turns=cli.max_history_turns)


# %%
def main(argv: Sequence[str] | None = None) -> None:
    cli = parse_args(argv)
    chat_main(cli) if cli.command == "chat" else train_main(cli)  # 데이터·어댑터 문제(UserError)는 run_main이 한 줄로 알립니다


if __name__ == "__main__":
    run_main(main)
