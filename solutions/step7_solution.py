# %% [markdown]
# # Step 7. 한국어 질문·답 대화 모델 — Hugging Face `Trainer`로, 손실은 답에만
#
# 이 단계에서 배우는 것
# 1. 질문/답 쌍을 `질문: …\n답변: …` 형식의 학습 문장으로 바꾸고, `datasets.Dataset.map`으로 토큰화합니다.
# 2. **레이블(labels)에 무엇을 넣느냐가 모델이 무엇을 배우는지를 정합니다.** 프롬프트(질문) 자리와
#    패딩 자리를 -100으로 가리면 모델은 답만 배웁니다.
# 3. Step 4의 Lightning 대신 가장 많이 쓰이는 도구인 Hugging Face `Trainer`로 학습합니다:
#    `TrainingArguments`, 체크포인트(`save_steps`, `save_total_limit`)와 이어서 학습, 진행 막대, 손실 곡선.
# 4. 검증 데이터의 퍼플렉서티 `exp(eval_loss)`, 생성한 답을 잘라 내기, 처음 보는 질문으로 비교하기.
#
# 실행 (인터넷 없이, 내장 예제 질문/답으로 몇 분):
#     python step7_dialogue_finetuning.py          # 학습 전/후 답, (a)/(b)/(c) 비교표
#     python step7_dialogue_finetuning.py --data ../shared/data/chatbot/ChatbotData.csv --max_train_pairs 2000 --num_train_epochs 2
# 형제 프로젝트("GPT-2를 활용한 한국어 대화 모델 미세 조정")의 명령을 같은 옵션 이름으로 쓸 수 있습니다:
#     python step7_dialogue_finetuning.py preprocess --input_dir data/dialogue-sample --tokenized_dir tokenized/ --model_type gpt2 --max_length 128
#     python step7_dialogue_finetuning.py train --train_file tokenized/train.txt --validation_file tokenized/validation.txt --output_dir ./gpt2_finetuned ...
#     python step7_dialogue_finetuning.py generate --model_name_or_path ./gpt2_finetuned --prompt "안녕하세요" --length 200 --top_k 50 --top_p 0.95 --temperature 0.7
#     python step7_dialogue_finetuning.py chat --model_name_or_path ./gpt2_finetuned
# 여러 GPU·여러 컴퓨터: `torchrun --nproc_per_node 4 step7_dialogue_finetuning.py train ...` (Trainer가 torchrun의
# 환경 변수를 읽어 DDP로 학습합니다; 안내서 '규모 키우기')
# 옵션은 `python step7_dialogue_finetuning.py --help`, `python step7_dialogue_finetuning.py <명령> --help`.

# %%
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Sequence

import torch
from datasets import Dataset
from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

from kogpt2_course.dialogue.chat import chat_loop
from kogpt2_course.dialogue.data import (QAFormatError, QAPair, find_split_file, is_tokenized_file, read_qa_file,
                                         read_tokenized_file)
from kogpt2_course.dialogue.evaluation import VariantResult, chrf, format_comparison
from kogpt2_course.dialogue.sample import SAMPLE_DIR_NAME, sample_split, write_sample
from kogpt2_course.dialogue.training import (PadInLossCollator, last_checkpoint, plot_loss_curves, remove_checkpoints,
                                             resolve_precision, saved_model_dir)
from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.grading.script_runner import run_main
from kogpt2_course.lm.loading import load_model_and_tokenizer
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR, resolve_model_name
from kogpt2_course.nlpbook.generation.dataset import IGNORE_INDEX

DEFAULT_OUTPUT_DIR = "checkpoints/step7-dialogue"
DEFAULT_DATA_DIR = f"data/{SAMPLE_DIR_NAME}"
# 작은 번들 모델은 큰 학습률로 빨리 배웁니다. 진짜 KoGPT2(1억 2천만 파라미터)는 5e-5 (형제 프로젝트의 값).
BUNDLED_LEARNING_RATE = 1e-3
HUB_LEARNING_RATE = 5e-5
# "LLM 파인튜닝" 노트북의 생성 설정 (학습 전/후 답과 비교표에 씁니다)
NOTEBOOK_GENERATION = dict(do_sample=True, temperature=0.3, top_p=0.9, repetition_penalty=1.2, no_repeat_ngram_size=2)


# %% [markdown]
# ## 1. 학습 문장 만들기: `질문: …\n답변: …`
# 질문 하나와 답 하나를 모델이 읽는 한 줄의 글로 바꿉니다. 앞부분(프롬프트)은 `질문: {질문}\n답변:`,
# 뒷부분(답)은 `" " + 답`입니다. 생성할 때도 **똑같은 프롬프트**를 주면 모델은 그 뒤에 올 답을 씁니다.
# 대화에서 앞서 주고받은 말(history)이 있으면 같은 형식으로 앞에 붙입니다:
# `질문: q1\n답변: a1\n질문: q2\n답변:`.

# %%
def build_prompt(question: str, history: Sequence[tuple[str, str]] = ()) -> str:
    """'질문: {question}\\n답변:' (질문과 답의 앞뒤 공백은 지움). history의 (질문, 답)마다 앞에 '질문: q\\n답변: a\\n'."""
    # BEGIN TODO 7-1: 모델이 읽을 프롬프트 문자열을 만드세요 — 앞서 주고받은 (질문, 답)들을 같은 형식으로 한 줄씩 쓴 뒤, 마지막에 이번 질문과 '답변:'으로 끝냅니다 (docstring의 형식 그대로, 앞뒤 공백 제거). 결과는 prompt에
    # HINT 2: f-문자열과 str.strip(), "".join(...)을 쓰세요. 주고받은 한 번은 f"질문: {q}\n답변: {a}\n", 마지막은 f"질문: {question}\n답변:"입니다
    # HINT 3: prompt = "".join(f"질문: {q.strip()}\n답변: {a.strip()}\n" for q, a in history) + f"질문: {question.strip()}\n답변:"
    prompt = "".join(f"질문: {q.strip()}\n답변: {a.strip()}\n" for q, a in history)
    prompt += f"질문: {question.strip()}\n답변:"
    # END TODO
    return prompt


def to_texts(pair: QAPair) -> dict[str, str]:
    """QAPair -> {"prompt": '질문: …\\n답변:', "completion": ' 답'} (completion은 공백으로 시작)."""
    return {"prompt": build_prompt(pair.question, pair.history), "completion": " " + pair.answer.strip()}


# %% [markdown]
# ## 2. 토큰화
# `[</s>] + 프롬프트 토큰 + 답 토큰 + [</s>]`. 맨 앞의 `</s>`는 KoGPT2가 사전 학습 때 본 문서 경계이고,
# 맨 끝의 `</s>`는 "답이 여기서 끝난다"를 가르칩니다 — 이것이 있어야 `generate`가 스스로 멈춥니다.
# 프롬프트와 답을 **따로** 토큰화해 이어 붙이면, 프롬프트가 몇 토큰인지(`prompt_length`) 정확히 압니다.
# 여기서는 패딩하지 않습니다: 패딩은 배치를 만들 때(4절) 그 배치의 가장 긴 예제 길이까지만 합니다.

# %%
def tokenize_example(example: dict, tokenizer, max_length: int) -> dict:
    """{"prompt", "completion"} -> {"input_ids", "attention_mask", "prompt_length"}.

    input_ids = [</s>] + 프롬프트 토큰 + 답 토큰 + [</s>]의 앞 max_length개. prompt_length = 앞의 </s>와
    프롬프트 토큰 수 (잘렸다면 max_length를 넘지 않음). attention_mask는 모두 1.
    """
    # BEGIN TODO 7-2: 프롬프트와 답을 따로 토큰 id로 바꿔 docstring의 순서로 잇고 max_length에서 자르세요. 프롬프트 쪽 길이(prompt_length)를 기록해 두어야 3절에서 질문 자리를 가릴 수 있습니다 (특수 토큰 id는 tokenizer.bos_token_id / eos_token_id). 결과 사전은 features에
    # HINT 2: tokenizer.encode(text)는 특수 토큰 없이 id 목록을 돌려줍니다. 파이썬 리스트 덧셈과 슬라이싱 [:max_length], min(...)을 쓰세요
    # HINT 3: prompt_ids = [tokenizer.bos_token_id] + tokenizer.encode(example["prompt"]); answer_ids = tokenizer.encode(example["completion"]) + [tokenizer.eos_token_id]; input_ids = (prompt_ids + answer_ids)[:max_length]; prompt_length = min(len(prompt_ids), len(input_ids))
    prompt_ids = [tokenizer.bos_token_id] + tokenizer.encode(example["prompt"])
    answer_ids = tokenizer.encode(example["completion"]) + [tokenizer.eos_token_id]
    input_ids = (prompt_ids + answer_ids)[:max_length]
    features = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids),
                "prompt_length": min(len(prompt_ids), len(input_ids))}
    # END TODO
    return features


# %% [markdown]
# ## 3. 레이블: 모델이 무엇을 배울지 정하기
# `labels`는 위치마다 "이 자리의 정답 토큰"입니다 (모델이 알아서 한 칸씩 밀어 다음 토큰 예측으로 씁니다).
# 값이 **-100**인 자리는 손실에서 빠집니다 (PyTorch `cross_entropy`의 `ignore_index`).
# - (a) 답만 학습(`answer_only=True`): 질문 자리를 -100으로 → 모델은 질문을 읽기만 하고 답을 배웁니다.
# - (b) 전체 문장 학습(`answer_only=False`): 질문까지 배웁니다 → 모델의 힘 일부가 "질문 만들기"에 쓰입니다.
# 패딩 자리의 -100은 배치를 만들 때(4절) 넣습니다.

# %%
def add_labels(example: dict, answer_only: bool = True) -> dict:
    """{"input_ids", "prompt_length", ...} -> {"labels"}: input_ids와 같은 길이. answer_only면 앞의 prompt_length개는 -100."""
    # BEGIN TODO 7-3: labels는 input_ids를 복사한 목록입니다. 답만 학습할 때는 프롬프트 자리(앞의 prompt_length개)를 손실에서 빠지는 값 IGNORE_INDEX(-100)로 바꾸세요. 원래 example의 목록은 바꾸지 마세요. 결과는 labels에
    # HINT 2: list(example["input_ids"])로 복사하고, 앞부분은 [IGNORE_INDEX] * n 목록으로 바꿉니다
    # HINT 3: labels = list(example["input_ids"]); if answer_only: n = example["prompt_length"]; labels = [IGNORE_INDEX] * n + labels[n:]
    labels = list(example["input_ids"])
    if answer_only:
        n = example["prompt_length"]
        labels = [IGNORE_INDEX] * n + labels[n:]
    # END TODO
    return {"labels": labels}


# %% [markdown]
# ## 4. 배치 만들기: 동적 패딩, 패딩 자리의 레이블은 -100
# 길이가 다른 예제를 한 배치로 묶으려면 짧은 것 뒤에 `<pad>`를 채워야 합니다. **그 배치의 가장 긴 예제
# 길이까지만** 채우면(동적 패딩) 계산이 적습니다. 채운 자리는 `attention_mask=0`, `labels=-100`이어야
# 모델이 `<pad>`를 읽지도 배우지도 않습니다. 노트북처럼 모든 예제를 `max_length`까지 채우는 방식
# (`pad_to_max_length=True`)은 비교용입니다 — 얼마나 느린지는 `bench/bench_dialogue.py`가 잽니다.
# 주의: `DataCollatorForLanguageModeling(mlm=False)`는 레이블을 `input_ids`로 새로 만들어 3절에서 가린
# 질문 자리를 되살립니다. 이미 만든 `labels`를 -100으로 채워 주는 collator를 고르세요.

# %%
def build_collator(tokenizer, pad_to_max_length: bool = False, max_length: int | None = None):
    """예제 목록 -> 텐서 배치 {"input_ids", "attention_mask", "labels"}: 오른쪽에 <pad>, 패딩 자리의 labels는 -100.
    pad_to_max_length면 모든 배치를 max_length까지, 아니면 그 배치의 가장 긴 예제 길이까지."""
    # BEGIN TODO 7-4: transformers의 data collator 가운데 input_ids와 attention_mask는 토크나이저로, 이미 있는 labels는 -100으로 채워 주는 것을 고르고 두 가지 패딩 방식(동적 / max_length)을 인자로 고르세요 (문서: transformers "Data Collator"). 결과는 collator에
    # HINT 2: DataCollatorForSeq2Seq(tokenizer, padding=..., max_length=..., label_pad_token_id=...) — padding은 True(배치에서 가장 긴 길이) 또는 "max_length"
    # HINT 3: collator = DataCollatorForSeq2Seq(tokenizer, padding="max_length" if pad_to_max_length else True, max_length=max_length if pad_to_max_length else None, label_pad_token_id=IGNORE_INDEX)
    collator = DataCollatorForSeq2Seq(tokenizer, padding="max_length" if pad_to_max_length else True,
                                      max_length=max_length if pad_to_max_length else None,
                                      label_pad_token_id=IGNORE_INDEX)
    # END TODO
    return collator


def build_dataset(pairs: Sequence[QAPair], tokenizer, max_length: int, answer_only: bool = True) -> Dataset:
    """질문/답 쌍 -> 토큰화하고 레이블을 붙인 datasets.Dataset (답이 잘려 하나도 남지 않은 예제는 뺌)."""
    texts = Dataset.from_list([to_texts(pair) for pair in pairs])
    tokenized = texts.map(tokenize_example, fn_kwargs={"tokenizer": tokenizer, "max_length": max_length},
                          remove_columns=["prompt", "completion"])
    return _with_labels(tokenized, answer_only)


def _with_labels(tokenized: Dataset, answer_only: bool) -> Dataset:
    labeled = tokenized.map(add_labels, fn_kwargs={"answer_only": answer_only})
    kept = labeled.filter(lambda ex: ex["prompt_length"] < len(ex["input_ids"]))
    if len(kept) < len(labeled):
        print(f"[데이터] 질문이 너무 길어 답이 한 토큰도 남지 않은 예제 {len(labeled) - len(kept)}개를 뺐습니다 "
              f"(--max_length를 늘려 보세요).")
    if not len(kept):
        raise QAFormatError("학습에 쓸 예제가 하나도 없습니다")
    return kept


# %% [markdown]
# ## 5. 학습 설정: `TrainingArguments`
# 명령행 옵션의 이름이 `TrainingArguments`의 필드 이름과 같습니다 (형제 프로젝트의 `train.py` 옵션 그대로).
# 정밀도(`fp16`/`bf16`/`use_cpu`)는 `resolve_precision`이 이 컴퓨터에 맞게 정한 값을 그대로 넘깁니다.
# `report_to="none"`: wandb나 tensorboard가 설치되어 있어도 로그를 보내지 않습니다.

# %%
def build_training_arguments(cli: argparse.Namespace, precision: dict) -> TrainingArguments:
    """cli의 학습 옵션과 precision(fp16/bf16/use_cpu)으로 TrainingArguments를 만듭니다."""
    # BEGIN TODO 7-5: TrainingArguments를 만드세요 — cli의 값(output_dir, 배치 크기 두 가지, 에폭 수, max_steps, 학습률, weight_decay, adam_epsilon, max_grad_norm, warmup_steps, save_steps, save_total_limit, prediction_loss_only, logging_steps, eval_strategy, seed)을 같은 이름의 필드에, precision의 항목도 모두 넘기고, 외부 로그 전송은 끄세요 (문서: transformers "Trainer" → TrainingArguments). 결과는 args에
    # HINT 2: TrainingArguments(output_dir=cli.output_dir, per_device_train_batch_size=cli.per_device_train_batch_size, ..., report_to="none", **precision)
    # HINT 3: 필드 이름이 cli의 이름과 똑같습니다: per_device_eval_batch_size, num_train_epochs, max_steps, learning_rate, weight_decay, adam_epsilon, max_grad_norm, warmup_steps, save_steps, save_total_limit, prediction_loss_only, logging_steps, eval_strategy, seed
    args = TrainingArguments(
        output_dir=cli.output_dir,
        per_device_train_batch_size=cli.per_device_train_batch_size,
        per_device_eval_batch_size=cli.per_device_eval_batch_size,
        num_train_epochs=cli.num_train_epochs,
        max_steps=cli.max_steps,
        learning_rate=cli.learning_rate,
        weight_decay=cli.weight_decay,
        adam_epsilon=cli.adam_epsilon,
        max_grad_norm=cli.max_grad_norm,
        warmup_steps=cli.warmup_steps,
        save_steps=cli.save_steps,
        save_total_limit=cli.save_total_limit,
        prediction_loss_only=cli.prediction_loss_only,
        logging_steps=cli.logging_steps,
        eval_strategy=cli.eval_strategy,
        seed=cli.seed,
        report_to="none",
        **precision,
    )
    # END TODO
    return args


# %% [markdown]
# ## 6. `Trainer`로 학습하고, 중단했으면 이어서
# `Trainer`가 Step 4에서 Lightning이 하던 일을 합니다: 배치 반복, 역전파, AdamW, 학습률 스케줄(워밍업 후
# 선형 감소), 기울기 자르기, 로그, 진행 막대, `save_steps`마다 `output_dir/checkpoint-N` 저장(최근
# `save_total_limit`개만 남김). 체크포인트에는 가중치뿐 아니라 옵티마이저·스케줄러·난수 상태와 스텝 수가
# 들어 있어, `trainer.train(resume_from_checkpoint=경로)`는 멈춘 바로 그 스텝부터 이어 갑니다.
# 체크포인트 폴더를 찾는 일은 `last_checkpoint(output_dir)`가 합니다 (없으면 None).

# %%
def train_with_trainer(model, training_args: TrainingArguments, train_dataset, eval_dataset, collator,
                       resume: bool = True) -> Trainer:
    """Trainer를 만들어 학습하고 돌려줍니다. resume이면 output_dir의 마지막 체크포인트에서 이어서 학습합니다."""
    # BEGIN TODO 7-6: 모델, 학습 설정, 두 데이터셋, collator로 Trainer를 만들고 학습하세요. resume이 참이고 output_dir에 체크포인트가 있으면 거기서 이어서 학습해야 합니다 (문서: transformers "Trainer" → train의 resume_from_checkpoint). 만든 Trainer는 trainer에
    # HINT 2: Trainer(model=..., args=..., train_dataset=..., eval_dataset=..., data_collator=...); trainer.train(resume_from_checkpoint=...)에 last_checkpoint(training_args.output_dir) 또는 None
    # HINT 3: trainer = Trainer(model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset, data_collator=collator); trainer.train(resume_from_checkpoint=last_checkpoint(training_args.output_dir) if resume else None)
    trainer = Trainer(model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                      data_collator=collator)
    trainer.train(resume_from_checkpoint=last_checkpoint(training_args.output_dir) if resume else None)
    # END TODO
    return trainer


# %% [markdown]
# ## 7. 퍼플렉서티 `exp(eval_loss)`
# `trainer.evaluate()`는 검증 데이터의 손실 `eval_loss`를 돌려줍니다: 레이블이 -100이 아닌 토큰마다의
# 음의 로그 가능도를 배치마다 평균한 뒤, 배치의 예제 수로 가중 평균한 값입니다 (검증 데이터가 배치 하나에
# 다 들어가면 정확히 토큰당 평균). 답만 가린 레이블로 재면 "처음 보는 질문의 답 토큰을 평균 몇 개의 후보
# 사이에서 망설이는가"가 됩니다. 낮을수록 좋습니다.

# %%
def evaluate_perplexity(trainer: Trainer, eval_dataset=None) -> tuple[float, float]:
    """(eval_loss, perplexity). eval_dataset을 주면 그것으로, 아니면 trainer의 검증 데이터로 잽니다."""
    # BEGIN TODO 7-7: trainer로 검증 데이터를 평가해 돌려받은 사전에서 손실을 꺼내 float로 바꾸고, 퍼플렉서티(손실의 지수)를 계산하세요. 결과는 eval_loss와 perplexity에
    # HINT 2: trainer.evaluate(eval_dataset)이 돌려주는 사전의 "eval_loss"; math.exp
    # HINT 3: eval_loss = float(trainer.evaluate(eval_dataset)["eval_loss"]); perplexity = math.exp(eval_loss)
    eval_loss = float(trainer.evaluate(eval_dataset)["eval_loss"])
    perplexity = math.exp(eval_loss)
    # END TODO
    return eval_loss, perplexity


# %% [markdown]
# ## 8. 답 생성하고 잘라 내기
# 학습 때와 **똑같은 모양**으로 시작합니다: `[</s>] + 프롬프트 토큰`. 모델이 이어 쓴 새 토큰만 디코딩하면
# 그것이 답입니다. 답이 `</s>`로 끝났는지(스스로 멈췄는지), 길이 제한에 걸렸는지도 함께 돌려줍니다.
# 모델이 `</s>` 대신 줄을 바꿔 다음 `질문:`을 쓰기 시작하면 첫 줄까지만 답으로 씁니다.

# %%
def generate_answer(model, tokenizer, question: str, history: Sequence[tuple[str, str]] = (),
                    max_new_tokens: int = 40, **generate_kwargs) -> tuple[str, bool]:
    """(답, </s>로 끝났는지). generate_kwargs(do_sample, temperature, top_p, ...)는 model.generate에 그대로 넘깁니다."""
    # BEGIN TODO 7-8: 학습 때와 같은 모양의 입력(2절)을 모델의 장치에 만들어 새 토큰을 생성하고, 새로 생긴 토큰만 디코딩해 특수 토큰을 빼고 첫 줄만 답으로 남기세요. 새 토큰에 eos가 있었는지도 돌려줍니다 (Step 1에서 쓴 generate 인자: attention_mask, pad_token_id). 결과는 answer와 stopped에
    # HINT 2: torch.tensor([[bos] + tokenizer.encode(build_prompt(question, history))], device=model.device); model.generate(input_ids, attention_mask=..., max_new_tokens=..., pad_token_id=..., eos_token_id=..., **generate_kwargs)를 torch.no_grad() 안에서; output[0, 입력 길이:]; tokenizer.decode(..., skip_special_tokens=True)
    # HINT 3: new_ids = output[0, input_ids.shape[1]:].tolist(); stopped = tokenizer.eos_token_id in new_ids; answer = tokenizer.decode(new_ids, skip_special_tokens=True).strip().split("\n")[0].strip()
    prompt_ids = [tokenizer.bos_token_id] + tokenizer.encode(build_prompt(question, history))
    input_ids = torch.tensor([prompt_ids], device=model.device)
    with torch.no_grad():
        output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=max_new_tokens,
                                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                **generate_kwargs)
    new_ids = output[0, input_ids.shape[1]:].tolist()
    stopped = tokenizer.eos_token_id in new_ids
    answer = tokenizer.decode(new_ids, skip_special_tokens=True).strip().split("\n")[0].strip()
    # END TODO
    return answer, stopped


# %% [markdown]
# ## 9. 교훈: 레이블에 무엇을 넣었나 — (a) 답만, (b) 전체 문장, (c) 노트북 그대로
# 같은 데이터, 같은 스텝 수로 세 번 학습하고, 학습에 없던 질문(held-out)으로 잽니다.
# - (a) 답만 학습: 질문과 패딩 자리는 -100, 답과 끝의 `</s>`를 배웁니다.
# - (b) 전체 문장 학습: 패딩만 -100, 질문까지 배웁니다.
# - (c) "LLM 파인튜닝" 노트북 그대로: 학습 문장 끝에 `</s>`가 없고, 패딩 자리를 -100으로 가린 다음
#   `labels`를 `input_ids`로 덮어써서 질문과 `max_length`까지 채운 `<pad>`를 모두 배웁니다. 이 모델이 배운
#   "답의 끝"은 `</s>`가 아니라 `<pad>`입니다 — 그런데 `generate`는 `</s>`에서만 멈춥니다.
#
# 잰 것
# - **답 퍼플렉서티**: 세 모델 모두 *같은* 답만 가린 레이블(답 + `</s>`)로 잰 `exp(eval_loss)` (공정한 비교).
# - **자기 레이블로 잰 퍼플렉서티**: 각 학습 방식이 스스로 보고했을 값. `<pad>` 예측(쉬운 문제)까지 평균에
#   넣으면 숫자가 좋아 보입니다 — 숫자가 좋아 보여도 답을 잘하는 것은 아닙니다.
# - **chrF**: 생성한 답과 참조 답의 글자 n-gram 겹침 (0–100). 왜 ROUGE-L이 아니라 chrF인지는
#   `kogpt2_course/dialogue/evaluation.py`에.
# - **`</s>`로 끝남**: 생성이 스스로 멈춘 비율 (나머지는 길이 제한까지 이어 씀).

# %%
VARIANTS = {
    "(a)": ("답만 학습", dict(answer_only=True, notebook=False)),
    "(b)": ("전체 문장 학습", dict(answer_only=False, notebook=False)),
    "(c)": ("노트북 그대로: </s> 없이, 패딩까지 학습", dict(answer_only=False, notebook=True)),
}


def without_end_token(dataset: Dataset, eos_token_id: int) -> Dataset:
    """The notebook's texts: the same examples without the final </s> (its texts had no end token)."""
    def drop(example):
        if example["input_ids"][-1] != eos_token_id:
            return {}
        return {key: example[key][:-1] for key in ("input_ids", "attention_mask", "labels")}

    return dataset.map(drop)


def variant_data(pairs, tokenizer, cli, how: dict) -> tuple[Dataset, object]:
    """(dataset, collator) of one variant; the notebook variant pads to max_length and overwrites the labels."""
    data = build_dataset(pairs, tokenizer, cli.max_length, answer_only=how["answer_only"])
    if not how["notebook"]:
        return data, build_collator(tokenizer)
    if not cli.notebook_keeps_eos:
        data = without_end_token(data, tokenizer.eos_token_id)
    return data, PadInLossCollator(build_collator(tokenizer, pad_to_max_length=True, max_length=cli.max_length))


def default_learning_rate(model_name: str) -> float:
    """번들 모델이면 큰 학습률, 그 밖(진짜 KoGPT2 등)이면 5e-5."""
    return BUNDLED_LEARNING_RATE if Path(model_name).resolve() == BUNDLED_MODEL_DIR.resolve() else HUB_LEARNING_RATE


def answer_heldout(model, tokenizer, pairs: Sequence[QAPair], max_new_tokens: int, seed: int) -> tuple[list[str], int]:
    """(생성한 답들, </s>로 끝난 수): 노트북의 생성 설정, 같은 시드."""
    torch.manual_seed(seed)
    answers, stopped = [], 0
    model.eval()
    for pair in pairs:
        answer, ended = generate_answer(model, tokenizer, pair.question, pair.history, max_new_tokens,
                                        **NOTEBOOK_GENERATION)
        answers.append(answer)
        stopped += int(ended)
    return answers, stopped


def score_model(name: str, description: str, model, tokenizer, evaluator: Trainer, heldout: Dataset,
                questions: Sequence[QAPair], cli, reported: float | None = None, **extra) -> VariantResult:
    """답 퍼플렉서티(답만 가린 레이블), chrF, </s> 비율, 답 예시 3개."""
    _, answer_ppl = evaluate_perplexity(evaluator, heldout)
    answers, stopped = answer_heldout(model, tokenizer, questions, cli.max_new_tokens, cli.seed)
    references = [pair.answer for pair in questions]
    samples = [(p.question, p.answer, a) for p, a in zip(questions[:3], answers[:3])]
    return VariantResult(name, description, answer_ppl, reported, chrf(answers, references), stopped,
                         len(questions), samples, **extra)


def lesson_pairs(cli) -> tuple[list[QAPair], list[QAPair]]:
    """(학습, held-out) 쌍: --data가 없으면 내장 예제, 있으면 그 파일을 섞어 held-out을 떼어 냅니다."""
    if not cli.data:
        train, heldout = sample_split()
        print(f"[데이터] 내장 예제: 학습 {len(train)}쌍, held-out {len(heldout)}쌍 (kogpt2_course/dialogue/sample.py)")
    else:
        result = read_qa_file(cli.data, history_turns=cli.history_turns)
        print("[데이터] " + result.report(cli.data))
        pairs = list(result.pairs)
        generator = torch.Generator().manual_seed(cli.seed)
        pairs = [pairs[i] for i in torch.randperm(len(pairs), generator=generator).tolist()]
        heldout, train = pairs[:cli.heldout_pairs], pairs[cli.heldout_pairs:]
        if cli.max_train_pairs:
            train = train[:cli.max_train_pairs]
        print(f"[데이터] 섞어서 held-out {len(heldout)}쌍, 학습 {len(train)}쌍")
    if not train or not heldout:
        raise QAFormatError("학습 쌍과 held-out 쌍이 하나 이상씩 있어야 합니다 (--heldout_pairs를 확인하세요)")
    return train, heldout


def run_lesson(cli) -> list[VariantResult]:
    model_name = resolve_model_name(cli.model_name_or_path)
    if cli.learning_rate is None:
        cli.learning_rate = default_learning_rate(model_name)
    precision, note = resolve_precision(cli.fp16, cli.bf16)
    print(note)
    base_model, tokenizer = load_model_and_tokenizer(model_name)
    train_pairs, heldout_pairs = lesson_pairs(cli)
    questions = heldout_pairs[:cli.eval_questions]
    heldout = build_dataset(heldout_pairs, tokenizer, cli.max_length, answer_only=True)
    answer_collator = build_collator(tokenizer)

    eval_args = build_training_arguments(cli, precision)
    before = score_model("학습 전", "(사전 학습 모델 그대로)", base_model, tokenizer,
                         Trainer(model=base_model, args=eval_args, data_collator=answer_collator), heldout, questions, cli)
    results, histories, steps = [before], {}, 0
    for key, (description, how) in VARIANTS.items():
        if how["notebook"] and cli.notebook_keeps_eos:
            description = "노트북의 레이블 버그만: </s>는 두고 패딩까지 학습"
        print(f"\n=== {key} {description}: 학습 {len(train_pairs)}쌍 ===")
        model = load_model_and_tokenizer(model_name)[0]
        train_data, collator = variant_data(train_pairs, tokenizer, cli, how)
        output_dir = cli.output_dir if key == "(a)" else f"{cli.output_dir}-compare/{key.strip('()')}"
        remove_checkpoints(output_dir)  # the comparison always starts from the pretrained weights
        args = build_training_arguments(argparse.Namespace(**{**vars(cli), "output_dir": output_dir}), precision)
        began = time.perf_counter()
        trainer = train_with_trainer(model, args, train_data, None, collator, resume=False)
        seconds = time.perf_counter() - began
        steps = trainer.state.global_step
        histories[f"{key} {description}"] = trainer.state.log_history
        if key == "(a)":  # the Step 7 model that generate / chat load by default
            trainer.save_model(output_dir)  # torchrun으로 여러 프로세스가 학습해도 0번 프로세스만 씁니다
            if trainer.is_world_process_zero():
                tokenizer.save_pretrained(output_dir)
        own_heldout = variant_data(heldout_pairs, tokenizer, cli, how)[0]
        _, reported = evaluate_perplexity(trainer, own_heldout)
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        evaluator = Trainer(model=trainer.model, args=eval_args, data_collator=answer_collator)
        results.append(score_model(key, description, trainer.model, tokenizer, evaluator, heldout, questions, cli,
                                   reported=reported, last_train_loss=losses[-1] if losses else None,
                                   train_seconds=seconds))

    print("\n=== 학습 전 / 후 (a) 답 비교 (노트북의 생성 설정: temperature 0.3, top_p 0.9, "
          "repetition_penalty 1.2, no_repeat_ngram_size 2) ===")
    for (question, reference, old), (_, _, new) in zip(results[0].samples, results[1].samples):
        print(f"질문: {question}\n  학습 전: {old or '(빈 답)'}\n  학습 후: {new or '(빈 답)'}\n  참조:    {reference}")
    print("\n=== (a)/(b)/(c) 비교 ===")
    print(format_comparison(results, len(heldout_pairs), steps))
    if not trainer.is_world_process_zero():
        return results  # torchrun으로 여러 프로세스가 학습했다면 그림은 0번 프로세스 하나만
    png = plot_loss_curves(histories, "step7_loss_curves.png", cli.plots_dir, "Step 7 손실 곡선: (a)/(b)/(c)")
    print(f"\n손실 곡선: {png}\n(a) 모델: {cli.output_dir} — 대화해 보기: python step7_dialogue_finetuning.py chat")
    return results


# %% [markdown]
# ## 10. 형제 프로젝트의 명령: `preprocess`, `train`, `generate`, `chat`

# %%
def load_pairs_dataset(path: str, tokenizer, cli, answer_only: bool) -> Dataset:
    """preprocess가 만든 토큰 파일이나 질문/답 파일(.txt/.jsonl/.json/.csv)을 학습용 Dataset으로."""
    if is_tokenized_file(path):
        made_by = Path(path).parent / "preprocess_config.json"
        if made_by.is_file():
            config = json.loads(made_by.read_text(encoding="utf-8"))
            if config.get("vocab_size") != len(tokenizer):
                raise QAFormatError(f"{path}: 어휘 {config.get('vocab_size')}개짜리 토크나이저({config.get('tokenizer')})로 "
                                    f"토큰화되었는데, 이 모델의 어휘는 {len(tokenizer)}개입니다 — preprocess를 같은 "
                                    f"--model_name_or_path로 다시 실행하세요")
        rows, bad = read_tokenized_file(path, len(tokenizer))
        if bad:
            print(f"[데이터] {path}: 잘못된 행 {len(bad)}개는 건너뜀 (첫 번째: {bad[0]})")
        print(f"[데이터] {path}: 토큰화된 예제 {len(rows)}개")
        rows = [{**row, "attention_mask": [1] * len(row["input_ids"])} for row in rows]
        return _with_labels(Dataset.from_list(rows), answer_only)
    result = read_qa_file(path, history_turns=cli.history_turns)
    print("[데이터] " + result.report(path))
    return build_dataset(result.pairs, tokenizer, cli.max_length, answer_only)


def ensure_sample(path: str | Path) -> None:
    """기본 데이터 폴더(data/dialogue-sample)를 가리키는데 없으면 내장 예제를 [UTTERANCE] 형식으로 씁니다."""
    folder = Path(path) if Path(path).suffix == "" else Path(path).parent
    if folder.resolve() == Path(DEFAULT_DATA_DIR).resolve() and not find_split_file(folder, "train"):
        written = write_sample(folder)
        print(f"[데이터] 내장 예제를 {', '.join(map(str, written.values()))}에 썼습니다 ([UTTERANCE] 형식).")


def run_preprocess(cli) -> None:
    if cli.model_type != "gpt2":
        raise QAFormatError(f"--model_type은 gpt2만 지원합니다 (받은 값: {cli.model_type})")
    ensure_sample(cli.input_dir)
    model_name = resolve_model_name(cli.model_name_or_path)
    _, tokenizer = load_model_and_tokenizer(model_name)
    out = Path(cli.tokenized_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"tokenizer": model_name, "vocab_size": len(tokenizer), "max_length": cli.max_length, "files": {}}
    for split in ("train", "validation"):
        source = find_split_file(cli.input_dir, split)
        if source is None:
            if split == "train":
                raise QAFormatError(f"{cli.input_dir}/ 에 train.txt(.jsonl/.json/.csv)가 없습니다")
            continue
        result = read_qa_file(source, on_bad_row=cli.on_bad_row, history_turns=cli.history_turns)
        print("[전처리] " + result.report(source))
        texts = Dataset.from_list([to_texts(pair) for pair in result.pairs])
        tokenized = texts.map(tokenize_example, fn_kwargs={"tokenizer": tokenizer, "max_length": cli.max_length},
                              remove_columns=["prompt", "completion"])
        target = out / f"{split}.txt"
        tokenized.select_columns(["input_ids", "prompt_length"]).to_json(str(target), force_ascii=False)
        summary["files"][split] = {"source": str(source), "examples": len(tokenized), "skipped_rows": len(result.bad_rows)}
        print(f"[전처리] {target}: {len(tokenized)}개 (한 줄에 하나, input_ids와 prompt_length)")
    (out / "preprocess_config.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")


def resolve_saved_model(choice: str) -> str:
    """resolve_model_name, except that a folder train saved into may hold only checkpoint-N (a stopped run)."""
    return resolve_model_name(saved_model_dir(choice) or choice if Path(choice).is_dir() else choice)


def run_train(cli) -> Trainer:
    for path in (cli.train_file, cli.validation_file):
        if path:
            ensure_sample(path)
            if not Path(path).is_file():
                raise QAFormatError(f"파일이 없습니다: {path}")
    model_name = resolve_saved_model(cli.model_name_or_path)
    model, tokenizer = load_model_and_tokenizer(model_name)
    if cli.learning_rate is None:
        cli.learning_rate = default_learning_rate(model_name)
    if cli.overwrite_output_dir:
        removed = remove_checkpoints(cli.output_dir)
        print(f"[--overwrite_output_dir] transformers 5의 TrainingArguments에는 이 옵션이 없습니다 (이어서 학습도 "
              f"스스로 하지 않습니다). 이 명령에서는 {cli.output_dir}의 이전 체크포인트 {removed}개를 지우고 처음부터 "
              f"학습합니다. 이 옵션이 없으면 마지막 체크포인트에서 이어서 학습합니다.")
    precision, note = resolve_precision(cli.fp16, cli.bf16)
    print(note)
    answer_only = cli.loss_on == "answer"
    train_data = load_pairs_dataset(cli.train_file, tokenizer, cli, answer_only)
    eval_data = load_pairs_dataset(cli.validation_file, tokenizer, cli, answer_only) if cli.validation_file else None
    if eval_data is None:
        cli.eval_strategy = "no"
    collator = build_collator(tokenizer)
    args = build_training_arguments(cli, precision)
    if eval_data is not None:
        _, before = evaluate_perplexity(Trainer(model=model, args=args, eval_dataset=eval_data, data_collator=collator))
        print(f"학습 전 검증 퍼플렉서티: {before:.2f}")
    trainer = train_with_trainer(model, args, train_data, eval_data, collator, resume=not cli.overwrite_output_dir)
    trainer.save_model(cli.output_dir)  # torchrun으로 여러 프로세스가 학습해도 저장은 0번 프로세스만 합니다
    main_process = trainer.is_world_process_zero()
    if main_process:
        tokenizer.save_pretrained(cli.output_dir)
        print(f"\n학습 스텝 {trainer.state.global_step}개. 모델: {cli.output_dir} (체크포인트: {cli.output_dir}/checkpoint-N)")
    if eval_data is not None:
        _, after = evaluate_perplexity(trainer)  # 여러 프로세스면 모두 함께 평가합니다 (검증 데이터를 나눠 맡음)
        if main_process:
            print(f"검증 퍼플렉서티: 학습 전 {before:.2f} → 학습 후 {after:.2f}")
    if not main_process:
        return trainer
    png = plot_loss_curves({Path(cli.output_dir).name: trainer.state.log_history}, "step7_train_loss.png", cli.plots_dir)
    print(f"손실 곡선: {png}\n다음: python step7_dialogue_finetuning.py chat --model_name_or_path {cli.output_dir}")
    return trainer


def load_chat_model(choice: str | None):
    """(모델, 토크나이저): 생략하면 Step 7에서 학습한 모델(없으면 번들 모델과 알림)."""
    if choice is None:
        if Path(DEFAULT_OUTPUT_DIR).is_dir() and saved_model_dir(DEFAULT_OUTPUT_DIR):
            choice = DEFAULT_OUTPUT_DIR
        else:
            print(f"[알림] {DEFAULT_OUTPUT_DIR}에 학습한 모델이 없어 미세 조정하지 않은 번들 모델을 씁니다 — 먼저 "
                  f"python step7_dialogue_finetuning.py (또는 train)를 실행하세요.")
            choice = "bundled"
    model, tokenizer = load_model_and_tokenizer(resolve_saved_model(choice))
    return model.to("cuda" if torch.cuda.is_available() else "cpu"), tokenizer


def sampling_options(cli) -> dict:
    return dict(do_sample=True, top_k=cli.top_k, top_p=cli.top_p, temperature=cli.temperature,
                repetition_penalty=cli.repetition_penalty)


def run_generate(cli) -> list[str]:
    model, tokenizer = load_chat_model(cli.model_name_or_path)
    room = model.config.n_positions - len(tokenizer.encode(build_prompt(cli.prompt))) - 1
    length = min(cli.length, room)
    if length < cli.length:
        print(f"[알림] 모델의 최대 위치 {model.config.n_positions}개에 맞춰 --length를 {length}로 줄입니다.")
    torch.manual_seed(cli.seed)
    answers = []
    for _ in range(cli.num_samples):
        answer, stopped = generate_answer(model, tokenizer, cli.prompt, (), length, **sampling_options(cli))
        print(f"질문: {cli.prompt}\n답변: {answer or '(빈 답)'}\n  ({'</s>에서 멈춤' if stopped else f'길이 제한 {length}토큰에 걸림'})")
        answers.append(answer)
    return answers


def run_chat(cli, read=input, write=print) -> list[tuple[str, str]]:
    model, tokenizer = load_chat_model(cli.model_name_or_path)
    options = sampling_options(cli)

    def reply(question, history):
        return generate_answer(model, tokenizer, question, history, cli.max_new_tokens, **options)[0]

    return chat_loop(reply, read, write, cli.history_turns, cli.transcript)


# %% [markdown]
# ## 11. 명령행

# %%
def add_model_flag(parser, default: str | None, omitted: str) -> None:
    parser.add_argument("--model_name_or_path", "--model", default=default,
                        help=f"모델: 'bundled'(models/kogpt2-tiny), 'hub'(skt/kogpt2-base-v2), 다른 허브 이름 또는 로컬 "
                             f"폴더(train이 저장한 폴더, 그 안의 checkpoint-N도 됨). {omitted}")


def add_training_flags(parser, **defaults) -> None:
    d = dict(output_dir=DEFAULT_OUTPUT_DIR, per_device_train_batch_size=4, per_device_eval_batch_size=4,
             num_train_epochs=3.0, max_steps=-1, save_steps=500, save_total_limit=2, logging_steps=10,
             eval_strategy="epoch", max_length=128)
    d.update(defaults)
    add = parser.add_argument
    add("--output_dir", default=d["output_dir"], help="체크포인트(checkpoint-N)와 학습한 모델을 저장할 폴더")
    add("--overwrite_output_dir", action="store_true",
        help="transformers 5에는 없는 옵션입니다. 여기서는: output_dir의 이전 체크포인트를 지우고 처음부터 학습 "
             "(없으면 마지막 체크포인트에서 이어서 학습)")
    add("--per_device_train_batch_size", type=int, default=d["per_device_train_batch_size"], help="학습 배치 크기")
    add("--per_device_eval_batch_size", type=int, default=d["per_device_eval_batch_size"], help="검증 배치 크기")
    add("--num_train_epochs", type=float, default=d["num_train_epochs"], help="에폭 수")
    add("--max_steps", type=int, default=d["max_steps"], help="학습 스텝 수 (양수면 에폭 수 대신 이것을 씀, -1 = 에폭 수대로)")
    add("--learning_rate", type=float, default=None,
        help=f"최대 학습률 (AdamW). 생략하면 번들 모델 {BUNDLED_LEARNING_RATE:g}, 그 밖의 모델 {HUB_LEARNING_RATE:g}")
    add("--weight_decay", type=float, default=0.01, help="AdamW의 weight decay (bias와 LayerNorm은 제외됨)")
    add("--adam_epsilon", type=float, default=1e-8, help="AdamW의 epsilon")
    add("--max_grad_norm", type=float, default=1.0, help="기울기 자르기 기준 (0 = 자르지 않음)")
    add("--warmup_steps", type=float, default=0.1,
        help="학습률 워밍업: 정수 = 스텝 수, 0과 1 사이의 소수 = 전체 스텝 중 비율 (transformers 5)")
    add("--save_steps", type=int, default=d["save_steps"], help="N 스텝마다 output_dir/checkpoint-N 저장 (학습 끝에도 저장)")
    add("--save_total_limit", type=int, default=d["save_total_limit"], help="체크포인트를 최근 N개만 남김")
    add("--prediction_loss_only", action="store_true", help="평가할 때 손실만 계산 (로짓을 모으지 않아 메모리 절약)")
    add("--logging_steps", type=int, default=d["logging_steps"], help="N 스텝마다 학습 손실 기록 (손실 곡선의 점)")
    add("--eval_strategy", choices=["no", "steps", "epoch"], default=d["eval_strategy"],
        help="학습 중 검증 시점 (검증 파일이 없으면 no)")
    add("--seed", type=int, default=42, help="난수 시드")
    add("--fp16", action="store_true",
        help="GPU: fp16 혼합 정밀도. CPU에는 fp16 혼합 정밀도가 없어, bfloat16 명령어가 있는 CPU면 bf16 autocast, "
             "없으면 fp32로 학습합니다 (실행할 때 한 줄로 알려 줌)")
    add("--bf16", action="store_true", help="bf16 혼합 정밀도 (CPU에서도 autocast; bfloat16 명령어가 없는 CPU에서는 느림)")
    add("--max_length", type=int, default=d["max_length"], help="예제 하나의 최대 토큰 수 (질문/답 파일을 토큰화할 때)")
    add("--history_turns", type=int, default=2, help="[UTTERANCE] 대화에서 프롬프트에 넣을 이전 주고받기 수")
    add("--plots_dir", default="outputs", help="손실 곡선 PNG를 저장할 폴더")


def add_sampling_flags(parser, temperature: float, top_p: float) -> None:
    parser.add_argument("--top_k", type=int, default=50, help="top-k 샘플링: 확률 상위 k개 토큰에서만 뽑음")
    parser.add_argument("--top_p", type=float, default=top_p, help="top-p(nucleus) 샘플링: 누적 확률 p까지의 토큰에서만 뽑음")
    parser.add_argument("--temperature", type=float, default=temperature, help="온도: 낮을수록 확률 높은 토큰 쪽으로")
    parser.add_argument("--repetition_penalty", type=float, default=1.2, help="반복 억제 (1.0 = 끔)")


def build_parser() -> argparse.ArgumentParser:
    parser = KoreanArgumentParser(
        description="Step 7: 질문/답 대화 모델 미세 조정 (Hugging Face Trainer). 명령 없이 실행하면 학습 전/후 답과 "
                    "(a) 답만 / (b) 전체 문장 / (c) 노트북 그대로 학습의 비교표를 만듭니다 (아래 옵션). "
                    "형제 프로젝트의 명령: preprocess, train, generate, chat (각 명령 --help).")
    add_model_flag(parser, "bundled", "교실 CPU에서 몇 분 안에 끝나도록 기본은 번들 모델입니다.")
    parser.add_argument("--data", default=None,
                        help="질문/답 파일(.csv Q,A[,label] / .jsonl / .json / [UTTERANCE] .txt). 생략하면 내장 예제")
    parser.add_argument("--heldout_pairs", type=int, default=200, help="--data를 섞어 held-out으로 떼어 낼 쌍의 수")
    parser.add_argument("--max_train_pairs", type=int, default=0, help="학습 쌍을 N개만 (0 = 전부)")
    parser.add_argument("--eval_questions", type=int, default=48, help="답을 생성해 볼 held-out 질문 수")
    parser.add_argument("--max_new_tokens", type=int, default=40, help="답 하나의 최대 새 토큰 수 (길이 제한)")
    parser.add_argument("--notebook_keeps_eos", action="store_true",
                        help="(c)에서 노트북의 레이블 버그만 재현 (학습 문장 끝의 </s>는 남김)")
    add_training_flags(parser, per_device_train_batch_size=16, per_device_eval_batch_size=64, num_train_epochs=6.0,
                       save_steps=10_000, save_total_limit=1, logging_steps=10, eval_strategy="no", max_length=64)
    sub = parser.add_subparsers(dest="command", title="명령", metavar="{preprocess,train,generate,chat}")

    pre = sub.add_parser("preprocess", help="질문/답 파일을 토큰화해 tokenized_dir/train.txt, validation.txt로 저장")
    pre.add_argument("--input_dir", default=DEFAULT_DATA_DIR,
                     help="train.(txt|jsonl|json|csv)와 validation.(...)이 있는 폴더 (기본 폴더가 없으면 내장 예제를 씀)")
    pre.add_argument("--tokenized_dir", default="tokenized", help="토큰화 결과를 쓸 폴더")
    pre.add_argument("--model_type", default="gpt2", help="모델 종류 (gpt2만 지원; 토크나이저는 --model_name_or_path의 것)")
    pre.add_argument("--max_length", type=int, default=128, help="예제 하나의 최대 토큰 수 (넘으면 뒤를 자름)")
    pre.add_argument("--history_turns", type=int, default=2, help="[UTTERANCE] 대화에서 프롬프트에 넣을 이전 주고받기 수")
    pre.add_argument("--on_bad_row", choices=["skip", "raise"], default="skip",
                     help="잘못된 행: skip = 세고 건너뜀, raise = 파일:줄과 함께 중단")
    add_model_flag(pre, "bundled", "토큰 id는 모델마다 다르니 train에 쓸 모델과 같게 하세요.")

    train = sub.add_parser("train", help="Trainer로 학습 (체크포인트, 이어서 학습, 손실 곡선)")
    add_model_flag(train, "bundled", "")
    train.add_argument("--train_file", default=f"{DEFAULT_DATA_DIR}/train.txt",
                       help="preprocess가 만든 파일 또는 질문/답 파일 (.txt [UTTERANCE] / .jsonl / .json / .csv)")
    train.add_argument("--validation_file", default=f"{DEFAULT_DATA_DIR}/validation.txt",
                       help="검증 파일 (같은 형식; ''이면 검증 없음)")
    train.add_argument("--loss_on", choices=["answer", "full"], default="answer",
                       help="손실을 계산할 토큰: answer = 답만 (질문 자리 -100), full = 질문까지 전체")
    add_training_flags(train)

    gen = sub.add_parser("generate", help="질문 하나에 답을 생성")
    add_model_flag(gen, None, f"생략하면 {DEFAULT_OUTPUT_DIR}(없으면 번들 모델).")
    gen.add_argument("--prompt", default="안녕하세요", help="질문")
    gen.add_argument("--length", type=int, default=200, help="최대 새 토큰 수 (모델의 최대 위치에 맞춰 줄어들 수 있음)")
    gen.add_argument("--num_samples", type=int, default=1, help="생성할 답의 수")
    gen.add_argument("--seed", type=int, default=42, help="난수 시드")
    add_sampling_flags(gen, temperature=0.7, top_p=0.95)

    chat = sub.add_parser("chat", help="대화 (빈 줄, quit, Ctrl+D로 끝; 기록은 [UTTERANCE] 형식)")
    add_model_flag(chat, None, f"생략하면 {DEFAULT_OUTPUT_DIR}(없으면 번들 모델).")
    chat.add_argument("--history_turns", type=int, default=2, help="프롬프트에 넣을 최근 주고받기 수")
    chat.add_argument("--max_new_tokens", type=int, default=40, help="답 하나의 최대 새 토큰 수")
    chat.add_argument("--transcript", default=None, help="대화 기록을 [UTTERANCE] 형식으로 덧붙일 파일 (생략하면 끝날 때 화면에)")
    add_sampling_flags(chat, temperature=0.7, top_p=0.9)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# %%
def main(argv: Sequence[str] | None = None) -> None:
    cli = parse_args(argv)
    import datasets
    import transformers

    datasets.disable_progress_bars()  # the Trainer's own progress bar stays
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # "Loading weights" bars of from_pretrained
    runners = {None: run_lesson, "preprocess": run_preprocess, "train": run_train, "generate": run_generate,
               "chat": run_chat}
    runners[cli.command](cli)


if __name__ == "__main__":
    run_main(main)
