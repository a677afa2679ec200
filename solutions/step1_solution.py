# %% [markdown]
# # Step 1. 기본 텍스트 생성 — 그리디 디코딩과 자기회귀 루프
#
# 이 단계에서 배우는 것
# 1. KoGPT2 토크나이저와 모델을 불러옵니다 (`PreTrainedTokenizerFast`, `GPT2LMHeadModel`).
# 2. 프롬프트를 토큰 id로 바꾸고(인코딩), `model.generate(do_sample=False)`로 그리디 생성을 합니다.
# 3. `generate`가 속에서 하는 일을 직접 구현합니다: 매 단계 다음 토큰의 로짓을 구해 가장 큰 것을
#    고르고, KV 캐시(`past_key_values`)로 이전 계산을 재사용하는 자기회귀 루프입니다.
# 4. 그리디 디코딩이 같은 구절을 되풀이하는 지점을 찾아봅니다.
# 5. GPT-2의 속(블록, 어텐션 헤드, 위치, 문맥 길이)과 KV 캐시가 담는 것(층마다 키와 값)을 불러온 모델에서 확인합니다.
# 6. 그리디의 근시안: 매 단계 최선을 골라도 문장 전체의 로그 확률은 최선이 아닐 수 있음을 숫자로 봅니다.
#
# 실행: `python step1_basic_generation.py` (옵션은 `--help`)

# %%
from __future__ import annotations

import math
from typing import Sequence

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.lm.loading import cached_hub_tokenizer
from kogpt2_course.lm.resolution import HUB_MODEL_NAME, add_model_argument, resolve_model_name
from kogpt2_course.lm.tokens import explain_tokens
from kogpt2_course.grading.script_runner import run_main

DEFAULT_PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서"]
TOKEN_TOUR_SENTENCE = "안녕하세요. 한국어 GPT-2 입니다.😤:)l^o"  # KoGPT2 README의 토크나이저 예


# %% [markdown]
# ## 1. 토크나이저와 모델 불러오기
# KoGPT2는 `</s>`를 문장 시작(bos)과 끝(eos)으로 함께 씁니다. 특수 토큰을 직접 알려 주어야 합니다.
#
# `from_pretrained`는 모델을 이미 **평가 모드**(`model.training == False`, 드롭아웃 꺼짐)로 돌려줍니다.
# 그래도 `model.eval()`을 적어 두는 것은 "지금은 생성(추론)한다"를 분명히 하는 습관입니다. 진짜 함정은 **학습 직후**입니다:
# Step 4의 `GenerationTask`는 학습하려고 `model.train()`을 부르고, Lightning의 `trainer.fit`은 끝난 뒤에도 모델을
# 학습 모드로 둡니다(검증 때만 잠시 평가 모드). 그 모델로 바로 생성하면 KoGPT2처럼 드롭아웃(0.1)이 있는 모델은
# 그리디인데도 실행마다 결과가 달라집니다. (번들 모델은 드롭아웃이 0이라 차이가 보이지 않습니다.)

# %%
def load_tokenizer(model_name: str):
    """KoGPT2 토크나이저를 불러옵니다."""
    # BEGIN TODO 1-1: KoGPT2 토크나이저를 불러오세요. KoGPT2의 설정 파일에는 특수 토큰이 적혀 있지 않아, 불러올 때 어느 문자열이 문장 시작(bos)·끝(eos)·모르는 토큰(unk)·패딩(pad)·마스크(mask)인지 직접 알려 줘야 합니다 (위 1절 설명, transformers 문서의 PreTrainedTokenizerFast)
    # HINT 2: PreTrainedTokenizerFast.from_pretrained(model_name, ...)에 키워드 인자 bos_token, eos_token, unk_token, pad_token, mask_token을 주세요. KoGPT2는 bos와 eos가 모두 '</s>'입니다
    # HINT 3: tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name, bos_token='</s>', eos_token='</s>', unk_token='<unk>', pad_token='<pad>', mask_token='<mask>')
    tokenizer = PreTrainedTokenizerFast.from_pretrained(
        model_name,
        bos_token="</s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )
    # END TODO
    return tokenizer


def load_model(model_name: str):
    """KoGPT2 언어 모델을 불러와 평가 모드로 둡니다."""
    # BEGIN TODO 1-2: 사전 학습된 가중치로 GPT-2 언어 모델(다음 토큰을 예측하는 머리가 달린 모델)을 불러오고, 생성(추론)에 쓴다는 것을 분명히 하도록 평가 모드로 두세요. 평가 모드에서는 드롭아웃이 꺼져 같은 입력에 늘 같은 출력이 나옵니다 (위 1절 설명, transformers 문서의 GPT2LMHeadModel)
    # HINT 2: GPT2LMHeadModel.from_pretrained(model_name)으로 불러온 뒤 모델의 eval() 메서드를 부르세요
    # HINT 3: model = GPT2LMHeadModel.from_pretrained(model_name)
    # HINT 3: model.eval()
    model = GPT2LMHeadModel.from_pretrained(model_name)
    model.eval()
    # END TODO
    return model


# %% [markdown]
# ### 토큰은 어떻게 생겼나
# KoGPT2의 토크나이저는 **글자 단위 BPE**(sentencepiece 방식)입니다. 자주 함께 나오는 글자들을 하나의 토큰으로 합쳐
# 두었기 때문에 토큰 하나는 한 글자일 수도(`'하'`), 여러 글자가 합쳐진 단어 조각일 수도(`'▁영화'`, `'세요.'`) 있습니다.
# - 토큰 앞의 `▁`(U+2581)는 **그 앞에 공백이 있었다**는 표시입니다. `이 영화` → `['▁이', '▁영화']`. 디코딩하면 `▁`가 공백으로
#   돌아오고, 글 맨 앞의 공백은 지워집니다. `▁`가 없는 토큰은 앞 토큰에 붙어 같은 단어를 이룹니다.
# - KoGPT2 README의 예: `tokenizer.tokenize("안녕하세요. 한국어 GPT-2 입니다.😤:)l^o")` →
#   `['▁안녕', '하', '세', '요.', '▁한국어', '▁G', 'P', 'T', '-2', '▁입', '니다.', '😤', ':)', 'l^o']`.
# - 번들 모델(`models/kogpt2-tiny`)은 같은 규칙으로 더 작은 어휘(12,000개)를 씁니다. 같은 문장이
#   `['▁안녕', '하', '세요.', '▁한국', '어', '▁G', 'P', 'T', '-', '2', '▁입니다.', '<0xF0>', '<0x9F>', '<0x98>', '<0xA4>', ':)', 'l', '^', 'o']`로
#   나뉩니다. 어휘에 없는 드문 문자(여기서는 이모지 😤)는 UTF-8 **바이트 토큰** 네 개(`<0xF0>` …)로 적습니다(byte fallback).
#   그래서 공백으로 시작하지 않는 어떤 글도 `<unk>` 없이 `decode(encode(x)) == x`로 돌아옵니다. 생성이 바이트 토큰 중간에서 멈추면 글자를
#   이루지 못한 바이트는 디코딩에서 빠집니다(`�`를 보여 주지 않음).
# 아래 `main`이 첫 프롬프트와 이 문장의 토큰을 하나씩 풀어 보여 주고, 실제 KoGPT2가 캐시에 있으면 그 토큰도 함께 보여 줍니다.

# %% [markdown]
# ## 2. 인코딩 → 생성 → 디코딩
# `generate`에는 토큰 id와 함께 **attention mask**를 줍니다. 입력과 같은 모양의 0/1 텐서로, 1은 모델이 읽을
# 진짜 토큰, 0은 길이를 맞추려고 채운 패딩(모델이 무시할 자리)입니다. 프롬프트 하나를 그대로 넣으면 패딩이
# 없으니 모두 1입니다. 빼면 `generate`가 입력에서 추측하지만(패딩 토큰 id가 보이면 그 자리를 0으로),
# 길이가 다른 문장 여러 개를 한 배치로 넣을 때는 반드시 직접 주어야 하므로 처음부터 넘기는 습관을 들입니다.

# %%
def encode_prompt(tokenizer, prompt: str) -> torch.Tensor:
    """프롬프트를 (1, 길이) 모양의 토큰 id 텐서로 바꿉니다."""
    # BEGIN TODO 1-3: 프롬프트 문자열을 토큰 id로 바꾸되, 모델에 바로 넣을 수 있게 배치 차원이 있는 PyTorch 텐서(모양 (1, 길이))로 만드세요. 토크나이저의 인코딩 메서드에는 결과를 텐서로 돌려받는 옵션이 있습니다 (transformers 문서의 PreTrainedTokenizerFast.encode)
    # HINT 2: tokenizer.encode(prompt, return_tensors=...)를 쓰세요. PyTorch 텐서는 'pt'입니다
    # HINT 3: input_ids = tokenizer.encode(prompt, return_tensors='pt')
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    # END TODO
    return input_ids


def generate_greedy(model, tokenizer, prompt: str, max_new_tokens: int = 30) -> torch.Tensor:
    """그리디 디코딩으로 최대 max_new_tokens개를 생성해 (프롬프트 + 생성) 토큰 id 전체를 돌려줍니다."""
    input_ids = encode_prompt(tokenizer, prompt)
    # BEGIN TODO 1-4: transformers의 생성 함수로 그리디 디코딩(매 단계 가장 확률이 큰 토큰)을 하세요. 새 토큰은 최대 max_new_tokens개이고, 어디가 진짜 토큰인지 알려 주는 attention_mask와 패딩 토큰 id도 넘기며, 추론이므로 기울기 계산은 끕니다 (위 2절의 attention_mask 설명, transformers 문서의 GenerationMixin.generate)
    # HINT 2: torch.no_grad() 블록 안에서 model.generate(input_ids, attention_mask=..., do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)를 부르세요. 프롬프트 하나에는 패딩이 없으니 attention_mask는 input_ids와 같은 모양의, 1로 채운 텐서입니다
    # HINT 3: with torch.no_grad():
    # HINT 3:     output_ids = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
    # HINT 3:                                 max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)
    with torch.no_grad():
        output_ids = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    # END TODO
    return output_ids


def decode_tokens(tokenizer, token_ids) -> str:
    """토큰 id들을 사람이 읽는 문자열로 바꿉니다 (특수 토큰 제외)."""
    # BEGIN TODO 1-5: 토큰 id를 사람이 읽는 문자열로 되돌리세요. 문장 끝 '</s>'나 '<pad>' 같은 특수 토큰은 결과에 넣지 않습니다. generate의 결과처럼 (1, 길이) 2차원 텐서가 오면 첫 줄을 씁니다 (transformers 문서의 PreTrainedTokenizerFast.decode)
    # HINT 2: 2차원 텐서면 token_ids[0]으로 첫 줄을 고른 뒤 tokenizer.decode(token_ids, skip_special_tokens=...)를 쓰세요
    # HINT 3: if isinstance(token_ids, torch.Tensor) and token_ids.dim() == 2:
    # HINT 3:     token_ids = token_ids[0]
    # HINT 3: text = tokenizer.decode(token_ids, skip_special_tokens=True)
    if isinstance(token_ids, torch.Tensor) and token_ids.dim() == 2:
        token_ids = token_ids[0]
    text = tokenizer.decode(token_ids, skip_special_tokens=True)
    # END TODO
    return text


# %% [markdown]
# ## 3. generate 속을 들여다보기: 직접 만드는 그리디 루프
# 매 단계 모델은 지금까지의 토큰을 보고 다음 토큰의 점수(로짓)를 냅니다. 가장 큰 점수의 토큰을 붙이고
# 반복합니다. KV 캐시를 쓰면 두 번째 단계부터는 **새 토큰 하나만** 모델에 넣으면 됩니다.

# %%
def greedy_decode_loop(model, input_ids: torch.Tensor, max_new_tokens: int,
                       eos_token_id: int | None = None) -> torch.Tensor:
    """KV 캐시를 쓰는 그리디 자기회귀 루프. model.generate(do_sample=False)와 같은 id를 돌려줘야 합니다."""
    generated = input_ids
    next_input = input_ids
    past_key_values = None
    with torch.no_grad():
        for _ in range(max_new_tokens):
            # BEGIN TODO 1-6: 모델을 한 번 불러(forward) 다음 토큰의 점수를 얻으세요. 입력은 next_input(첫 단계는 프롬프트 전체, 그 뒤는 새 토큰 하나)과 지난번 캐시이고, 캐시를 쓰겠다고 알립니다. 다음 토큰의 점수는 출력 로짓의 마지막 위치에 있고, 다음 단계에 넘길 새 캐시도 출력에 들어 있습니다 (위 3절, transformers 문서의 GPT2LMHeadModel.forward와 past_key_values)
            # HINT 2: model(input_ids=next_input, past_key_values=past_key_values, use_cache=True)의 출력에서 logits(모양: 배치, 길이, 어휘)의 마지막 위치와 past_key_values를 꺼내세요
            # HINT 3: outputs = model(input_ids=next_input, past_key_values=past_key_values, use_cache=True)
            # HINT 3: next_token_logits = outputs.logits[:, -1, :]
            # HINT 3: past_key_values = outputs.past_key_values
            outputs = model(input_ids=next_input, past_key_values=past_key_values, use_cache=True)
            next_token_logits = outputs.logits[:, -1, :]
            past_key_values = outputs.past_key_values
            # END TODO
            # BEGIN TODO 1-7: 그리디 규칙으로 다음 토큰(점수가 가장 큰 토큰)을 고르세요. 고른 토큰을 generated 뒤에 이어 붙이고, KV 캐시가 앞부분을 기억하므로 다음 입력은 새 토큰 하나뿐입니다. eos_token_id가 주어졌고 그 토큰이 나오면 그 토큰까지 붙이고 멈춥니다. 모양은 계속 (1, 길이)입니다 (PyTorch 문서의 argmax, cat)
            # HINT 2: next_token_logits.argmax(dim=-1, keepdim=True)로 (1, 1) 모양의 다음 토큰을 만들고 torch.cat([generated, next_token], dim=-1)로 붙이세요. eos_token_id가 None이 아니고 next_token.item()과 같으면 break
            # HINT 3: next_token = next_token_logits.argmax(dim=-1, keepdim=True)
            # HINT 3: generated = torch.cat([generated, next_token], dim=-1)
            # HINT 3: next_input = next_token
            # HINT 3: if eos_token_id is not None and next_token.item() == eos_token_id:
            # HINT 3:     break
            next_token = next_token_logits.argmax(dim=-1, keepdim=True)
            generated = torch.cat([generated, next_token], dim=-1)
            next_input = next_token
            if eos_token_id is not None and next_token.item() == eos_token_id:
                break
            # END TODO
    return generated


# %% [markdown]
# ## 4. 그리디 디코딩의 약점: 반복
# 그리디 디코딩은 늘 같은 선택을 하므로, 한 번 나온 구절로 되돌아가면 그 뒤를 그대로 되풀이하기 쉽습니다.

# %%
def find_repetition(token_ids: Sequence[int], n: int = 3) -> int:
    """앞에서 이미 나온 n-gram이 처음으로 다시 나오는 시작 위치를 돌려줍니다. 반복이 없으면 -1."""
    ids = [int(t) for t in token_ids]
    # BEGIN TODO 1-8: 앞에서부터 n-gram(연속한 토큰 n개)을 하나씩 보면서 이미 본 n-gram을 기억해 두세요. 이미 본 것이 다시 나오면 그 시작 위치를, 끝까지 없으면 -1을 돌려줍니다. 리스트는 집합에 넣을 수 없으니 바꿀 수 없는 형태로 바꿔야 합니다 (파이썬 문서의 set, tuple)
    # HINT 2: seen = set()으로 시작해 i를 0부터 len(ids) - n까지 돌며 gram = tuple(ids[i:i + n])을 만들고, gram이 seen에 있으면 i를 돌려주고 없으면 seen.add(gram)
    # HINT 3: seen = set()
    # HINT 3: for i in range(len(ids) - n + 1):
    # HINT 3:     gram = tuple(ids[i:i + n])
    # HINT 3:     if gram in seen:
    # HINT 3:         return i
    # HINT 3:     seen.add(gram)
    # HINT 3: return -1
    seen = set()
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i:i + n])
        if gram in seen:
            return i
        seen.add(gram)
    return -1
    # END TODO


def describe_repetition(tokenizer, new_ids: Sequence[int], n: int = 3) -> str:
    """생성한 토큰 id에서 처음 다시 나온 n-gram을 사람이 읽는 한 줄로 알려 줍니다 (몇 번째는 1부터 셉니다)."""
    start = find_repetition(new_ids, n=n)
    if start < 0:
        return f"이번 생성에서는 반복되는 {n}-gram이 없습니다."
    repeated = tokenizer.decode([int(t) for t in new_ids[start:start + n]])
    return (f"반복 발견: 생성한 {start + 1}번째 토큰(위치 {start}, 0부터 셈)부터 "
            f"이미 나온 {n}-gram {repeated!r}이(가) 다시 나옵니다.")


# %% [markdown]
# ## 5. GPT-2의 속: 블록, 어텐션 헤드, 위치, 문맥 길이 — 그리고 KV 캐시
# `GPT2LMHeadModel`은 이렇게 생겼습니다.
# 1. **토큰 임베딩**(`wte`)과 **위치 임베딩**(`wpe`, 위치 0, 1, 2, …마다 벡터 하나)을 더해 토큰마다 `n_embd`차원 벡터를 만듭니다.
# 2. 똑같은 모양의 **트랜스포머 블록** `n_layer`개를 차례로 지납니다. 블록 하나 = LayerNorm → **마스크드 셀프 어텐션**
#    (자기와 앞 토큰만 봄) → 잔차 연결, LayerNorm → MLP → 잔차 연결. 어텐션은 `n_head`개의 **헤드**로 나뉘어, 헤드마다
#    `head_dim = n_embd / n_head`차원의 쿼리·키·값으로 따로 "어디를 볼지" 정합니다.
# 3. 마지막 LayerNorm 뒤 `lm_head`가 어휘 크기의 **로짓**을 냅니다(토큰 임베딩과 가중치 공유).
#
# 위치 임베딩이 `n_positions`개뿐이므로 **문맥 길이**(context window)는 `n_positions` 토큰입니다. 프롬프트 + 생성 토큰이
# 이를 넘으면 모델은 그 위치를 나타낼 수 없습니다 — Step 5의 웹 데모가 요청을 미리 막는 이유입니다.
#
# | | KoGPT2 (`skt/kogpt2-base-v2`) | 번들 모델 (`models/kogpt2-tiny`) |
# |---|---|---|
# | 블록 `n_layer` | 12 | 6 |
# | 헤드 `n_head` | 12 | 4 |
# | 은닉 차원 `n_embd` (head_dim) | 768 (64) | 256 (64) |
# | 문맥 길이 `n_positions` | 1,024 | 256 |
# | 어휘 | 51,200 | 12,000 |
# | 파라미터 | 약 1억 2,500만 (125M) | 788만 (7.88M) |
#
# **KV 캐시에 들어 있는 것**: 층(블록)마다 지금까지 모든 토큰의 **키**와 **값**, 각각 모양
# (배치, 헤드 수, 지금까지의 길이, head_dim)인 텐서입니다. 새 토큰은 자기 쿼리로 이 키들과 점수를 내고 값들을 섞습니다.
# 앞만 보는 어텐션에서는 뒤에 토큰이 붙어도 앞 토큰의 키·값이 바뀌지 않으므로 다시 계산할 필요가 없습니다 — 그래서
# 두 번째 단계부터 새 토큰 하나만 넣으면 됩니다(TODO 1-6). 대가는 메모리로, 길이에 비례해 커집니다.
# transformers 5에서 캐시는 `DynamicCache`이고, 층 `i`의 텐서는 `cache.layers[i].keys`, `cache.layers[i].values`입니다.

# %%
def model_anatomy(model) -> dict[str, int]:
    """불러온 모델의 모듈에서 직접 읽은 구조: 블록 수, 헤드 수, head_dim, 문맥 길이, 어휘 크기, 파라미터 수."""
    attention = model.transformer.h[0].attn
    return {
        "블록(n_layer)": len(model.transformer.h),
        "헤드(n_head)": attention.num_heads,
        "head_dim": attention.head_dim,
        "문맥 길이(n_positions)": model.transformer.wpe.num_embeddings,
        "어휘 크기": model.transformer.wte.num_embeddings,
        "파라미터 수": sum(p.numel() for p in model.parameters()),
    }


def kv_cache_shapes(past_key_values) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """층마다 (키 텐서 모양, 값 텐서 모양)."""
    return [(tuple(layer.keys.shape), tuple(layer.values.shape)) for layer in past_key_values.layers]


def kv_cache_numel(config, seq_len: int, batch_size: int = 1) -> int:
    """길이 seq_len까지 처리한 KV 캐시가 담는 수(원소)의 개수. config는 model.config (n_layer, n_head, n_embd)."""
    # BEGIN TODO 1-9: 위 설명과 kv_cache_shapes의 출력을 보고, 층마다 무엇이 몇 개, 어떤 모양으로 캐시에 들어 있는지 세어 모든 원소 수를 config 값으로 계산하세요
    # HINT 2: head_dim = config.n_embd // config.n_head. 층(config.n_layer개)마다 키 하나와 값 하나, 각각 모양 (batch_size, config.n_head, seq_len, head_dim)
    # HINT 3: return 2 * config.n_layer * batch_size * config.n_head * seq_len * (config.n_embd // config.n_head)
    head_dim = config.n_embd // config.n_head
    return 2 * config.n_layer * batch_size * config.n_head * seq_len * head_dim
    # END TODO


# %% [markdown]
# ## 6. 그리디의 근시안: 한 단계의 최선 ≠ 문장 전체의 최선
# 문장의 확률은 다음-토큰 확률의 곱이고, 로그를 취하면 합입니다: `log p(문장) = Σ log p(토큰 | 앞 토큰들)`.
# 그리디는 매 단계 **그 단계의** 확률이 가장 큰 토큰을 고를 뿐, 지금 조금 덜 그럴듯한 토큰을 골라야 뒤가 훨씬 그럴듯해지는
# 경우를 보지 못합니다. 후보 문장을 여러 개 키우는 빔 서치(Step 2)로 같은 길이의 문장을 만들어 로그 확률 합을 비교해 봅니다.
# 두 결과 모두 `min_new_tokens`로 끝(`</s>`)을 막아 길이를 같게 만듭니다 — 이 호출에만 주는 옵션이라 모델의 설정은 그대로입니다.

# %%
def sequence_log_prob(model, output_ids: torch.Tensor, prompt_length: int) -> float:
    """output_ids (1, 길이)에서 앞 prompt_length개(프롬프트) 뒤 토큰들의 로그 확률 합 Σ log p(토큰 | 앞 토큰들)."""
    # BEGIN TODO 1-10: output_ids 전체를 모델에 한 번 넣으면 위치 i의 로짓이 i+1번째 토큰의 분포입니다. 프롬프트 뒤 토큰마다 자기 앞 위치의 분포에서 그 토큰의 로그 확률을 골라 모두 더하세요 (확률을 곱하는 대신 로그 확률을 더함)
    # HINT 2: torch.no_grad() 안에서 model(output_ids).logits[0]에 .log_softmax(dim=-1); 위치 i-1의 분포에서 토큰 output_ids[0, i]의 값을 고르고(gather 또는 인덱싱), i는 prompt_length부터 끝까지
    # HINT 3: log_probs = model(output_ids).logits[0, :-1].log_softmax(-1); picked = log_probs.gather(-1, output_ids[0, 1:, None])[:, 0]; return float(picked[prompt_length - 1:].sum())
    with torch.no_grad():
        log_probs = model(output_ids).logits[0, :-1].log_softmax(dim=-1)
    picked = log_probs.gather(-1, output_ids[0, 1:, None])[:, 0]
    return float(picked[prompt_length - 1:].sum())
    # END TODO


def compare_greedy_and_beam(model, tokenizer, prompt: str, max_new_tokens: int = 20,
                            num_beams: int = 3) -> dict[str, tuple[torch.Tensor, float]]:
    """같은 길이(끝 토큰 막음)로 그리디와 빔 서치를 돌려 {이름: (토큰 id, 새 토큰의 로그 확률 합)}을 돌려줍니다."""
    input_ids = encode_prompt(tokenizer, prompt)
    fixed_length = dict(attention_mask=torch.ones_like(input_ids), do_sample=False, max_new_tokens=max_new_tokens,
                        min_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)
    results = {}
    for name, beams in (("그리디", 1), (f"빔 서치({num_beams})", num_beams)):
        with torch.no_grad():
            output_ids = model.generate(input_ids, num_beams=beams, **fixed_length)
        results[name] = (output_ids, sequence_log_prob(model, output_ids, input_ids.shape[1]))
    return results


def first_divergence(model, tokenizer, prompt_length: int, greedy_ids: torch.Tensor, other_ids: torch.Tensor) -> str:
    """두 결과가 처음 갈라지는 위치에서 각자 고른 토큰과 그 단계의 로그 확률을 한 줄로 알려 줍니다."""
    a, b = greedy_ids[0].tolist(), other_ids[0].tolist()
    i = next((i for i in range(prompt_length, min(len(a), len(b))) if a[i] != b[i]), None)
    if i is None:
        return "두 결과가 같습니다."
    step_a = sequence_log_prob(model, greedy_ids[:, :i + 1], i)
    step_b = sequence_log_prob(model, other_ids[:, :i + 1], i)
    return (f"새 토큰 {i - prompt_length + 1}번째에서 갈라짐: 그리디 {tokenizer.convert_ids_to_tokens(a[i])!r} "
            f"(log p {step_a:.2f}) vs 빔 서치 {tokenizer.convert_ids_to_tokens(b[i])!r} (log p {step_b:.2f})")


# %% [markdown]
# ## 7. 실행해 보기

# %%
def main(argv: Sequence[str] | None = None) -> None:
    parser = KoreanArgumentParser(description="Step 1: 그리디 생성과 직접 만든 자기회귀 루프")
    add_model_argument(parser)
    parser.add_argument("--prompts", nargs="+", default=DEFAULT_PROMPTS, help="생성을 시작할 프롬프트들")
    parser.add_argument("--max_new_tokens", type=int, default=40, help="새로 만들 토큰 수 (최대)")
    parser.add_argument("--compare_tokens", type=int, default=20, help="그리디와 빔 서치를 비교할 때 만들 토큰 수")
    args = parser.parse_args(argv)

    model_name = resolve_model_name(args.model)
    tokenizer = load_tokenizer(model_name)
    model = load_model(model_name)
    print(f"모델 파라미터 수: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M, "
          f"어휘 크기: {len(tokenizer)}")

    print("\n=== 토큰 살펴보기 ===")
    for text in (args.prompts[0], TOKEN_TOUR_SENTENCE):
        print("\n".join(explain_tokens(tokenizer, text)))
    hub_tokenizer = cached_hub_tokenizer() if model_name != HUB_MODEL_NAME else None
    if hub_tokenizer is not None:
        print(f"실제 KoGPT2({HUB_MODEL_NAME})의 토큰: {hub_tokenizer.tokenize(TOKEN_TOUR_SENTENCE)}")

    for prompt in args.prompts:
        print(f"\n=== 프롬프트: {prompt!r} ===")
        input_ids = encode_prompt(tokenizer, prompt)
        print(f"토큰: {tokenizer.convert_ids_to_tokens(input_ids[0])} → id {input_ids[0].tolist()}")
        output_ids = generate_greedy(model, tokenizer, prompt, args.max_new_tokens)
        print(f"generate (그리디): {decode_tokens(tokenizer, output_ids)}")

        loop_ids = greedy_decode_loop(model, input_ids, args.max_new_tokens, tokenizer.eos_token_id)
        same = torch.equal(loop_ids, output_ids)
        print(f"직접 만든 루프   : {decode_tokens(tokenizer, loop_ids)}")
        print("→ 두 결과의 토큰 id가 " + ("완전히 같습니다 ✓" if same else "다릅니다 ✗ (루프를 확인하세요)"))

        print(describe_repetition(tokenizer, output_ids[0, input_ids.shape[1]:].tolist(), n=3))

    print("\n=== GPT-2의 속 ===")
    for name, value in model_anatomy(model).items():
        print(f"  {name:>16}: {value:,}")
    input_ids = encode_prompt(tokenizer, args.prompts[0])
    with torch.no_grad():
        cache = model(input_ids, use_cache=True).past_key_values
    shapes = kv_cache_shapes(cache)
    stored = sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)
    print(f"KV 캐시 ({args.prompts[0]!r}, 토큰 {input_ids.shape[1]}개): 층 {len(shapes)}개, 층마다 키 {shapes[0][0]} + 값 {shapes[0][1]}"
          f" (배치, 헤드, 길이, head_dim)")
    expected = kv_cache_numel(model.config, input_ids.shape[1])
    print(f"  캐시의 원소 수 {stored:,} / kv_cache_numel의 계산 {expected:,} → " + ("같습니다 ✓" if stored == expected else "다릅니다 ✗"))
    full = kv_cache_numel(model.config, model.config.n_positions)
    kogpt2 = kv_cache_numel(GPT2Config(n_layer=12, n_head=12, n_embd=768), 1024)
    print(f"  문맥 길이 끝({model.config.n_positions}토큰)까지 채우면 {full * 4 / 2**20:.1f} MiB(float32). "
          f"KoGPT2(12층, 768차원)로 1,024토큰이면 {kogpt2 * 4 / 2**20:.1f} MiB — 문장 하나에.")

    print(f"\n=== 그리디의 근시안 (새 토큰 {args.compare_tokens}개, 끝 토큰 막음) ===")
    for prompt in args.prompts:
        results = compare_greedy_and_beam(model, tokenizer, prompt, args.compare_tokens)
        (greedy_ids, greedy_lp), (beam_name, (beam_ids, beam_lp)) = results["그리디"], list(results.items())[1]
        print(f"\n{prompt!r}")
        for name, (ids, log_prob) in results.items():
            print(f"  {name:>8} 로그 확률 합 {log_prob:7.2f} | {decode_tokens(tokenizer, ids)}")
        prompt_length = len(tokenizer.encode(prompt))
        print("  " + first_divergence(model, tokenizer, prompt_length, greedy_ids, beam_ids))
        print("  그리디: " + describe_repetition(tokenizer, greedy_ids[0, prompt_length:].tolist(), n=3))
        if beam_lp > greedy_lp:
            print(f"  → 매 단계 최선을 고른 그리디보다 {beam_name}의 문장이 전체로 {beam_lp - greedy_lp:.2f}만큼 더 그럴듯합니다 "
                  f"(확률로 {math.exp(beam_lp - greedy_lp):,.0f}배).")
        else:
            print(f"  → 이번에는 그리디가 더 높습니다: 빔 서치도 모든 문장을 보지 않는 근사입니다 (Step 2).")


if __name__ == "__main__":
    run_main(main)
