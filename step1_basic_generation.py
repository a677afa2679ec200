# 이 파일은 solutions/step1_solution.py 에서 자동으로 만들어졌습니다 (python -m kogpt2_course make-exercises).
# TODO 부분의 todo(...) 줄을 답으로 바꾸고 실행해 보세요. 채점: python -m kogpt2_course grade --step 1
# 막히면: python -m kogpt2_course hint N-M (부를 때마다 한 단계 더 자세한 힌트)
# %% [markdown]
# # Step 1. 기본 텍스트 생성 — 그리디 디코딩과 자기회귀 루프
#
# 이 단계에서 배우는 것
# 1. KoGPT2 토크나이저와 모델을 불러옵니다 (`PreTrainedTokenizerFast`, `GPT2LMHeadModel`).
# 2. 프롬프트를 토큰 id로 바꾸고(인코딩), `model.generate(do_sample=False)`로 그리디 생성을 합니다.
# 3. `generate`가 속에서 하는 일을 직접 구현합니다: 매 단계 다음 토큰의 로짓을 구해 가장 큰 것을
#    고르고, KV 캐시(`past_key_values`)로 이전 계산을 재사용하는 자기회귀 루프입니다.
# 4. 그리디 디코딩이 같은 구절을 되풀이하는 지점을 찾아봅니다.
#
# 실행: `python step1_basic_generation.py` (옵션은 `--help`)

# %%
from __future__ import annotations

import argparse
from typing import Sequence

import torch
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name
from kogpt2_course.grading.script_runner import run_main, todo

DEFAULT_PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서"]


# %% [markdown]
# ## 1. 토크나이저와 모델 불러오기
# KoGPT2는 `</s>`를 문장 시작(bos)과 끝(eos)으로 함께 씁니다. 특수 토큰을 직접 알려 주어야 합니다.

# %%
def load_tokenizer(model_name: str):
    """KoGPT2 토크나이저를 불러옵니다."""
    # TODO 1-1: KoGPT2 토크나이저를 불러오세요. KoGPT2의 설정 파일에는 특수 토큰이 적혀 있지 않아, 불러올 때
    #   어느 문자열이 문장 시작(bos)·끝(eos)·모르는 토큰(unk)·패딩(pad)·마스크(mask)인지 직접 알려 줘야 합니다
    #   (위 1절 설명, transformers 문서의 PreTrainedTokenizerFast)
    tokenizer = todo("1-1")
    return tokenizer


def load_model(model_name: str):
    """KoGPT2 언어 모델을 불러와 평가 모드로 둡니다."""
    # TODO 1-2: 사전 학습된 가중치로 GPT-2 언어 모델(다음 토큰을 예측하는 머리가 달린 모델)을 불러오고, 생성에
    #   쓰도록 평가 모드로 바꾸세요. 평가 모드에서는 드롭아웃이 꺼져 같은 입력에 늘 같은 출력이 나옵니다
    #   (transformers 문서의 GPT2LMHeadModel, PyTorch 문서의 '평가 모드')
    model = todo("1-2")
    return model


# %% [markdown]
# ## 2. 인코딩 → 생성 → 디코딩
# `generate`에는 토큰 id와 함께 **attention mask**를 줍니다. 입력과 같은 모양의 0/1 텐서로, 1은 모델이 읽을
# 진짜 토큰, 0은 길이를 맞추려고 채운 패딩(모델이 무시할 자리)입니다. 프롬프트 하나를 그대로 넣으면 패딩이
# 없으니 모두 1입니다. 빼면 `generate`가 입력에서 추측하지만(패딩 토큰 id가 보이면 그 자리를 0으로),
# 길이가 다른 문장 여러 개를 한 배치로 넣을 때는 반드시 직접 주어야 하므로 처음부터 넘기는 습관을 들입니다.

# %%
def encode_prompt(tokenizer, prompt: str) -> torch.Tensor:
    """프롬프트를 (1, 길이) 모양의 토큰 id 텐서로 바꿉니다."""
    # TODO 1-3: 프롬프트 문자열을 토큰 id로 바꾸되, 모델에 바로 넣을 수 있게 배치 차원이 있는 PyTorch
    #   텐서(모양 (1, 길이))로 만드세요. 토크나이저의 인코딩 메서드에는 결과를 텐서로 돌려받는 옵션이 있습니다
    #   (transformers 문서의 PreTrainedTokenizerFast.encode)
    input_ids = todo("1-3")
    return input_ids


def generate_greedy(model, tokenizer, prompt: str, max_new_tokens: int = 30) -> torch.Tensor:
    """그리디 디코딩으로 최대 max_new_tokens개를 생성해 (프롬프트 + 생성) 토큰 id 전체를 돌려줍니다."""
    input_ids = encode_prompt(tokenizer, prompt)
    # TODO 1-4: transformers의 생성 함수로 그리디 디코딩(매 단계 가장 확률이 큰 토큰)을 하세요. 새 토큰은 최대
    #   max_new_tokens개이고, 어디가 진짜 토큰인지 알려 주는 attention_mask와 패딩 토큰 id도 넘기며,
    #   추론이므로 기울기 계산은 끕니다 (위 2절의 attention_mask 설명, transformers 문서의
    #   GenerationMixin.generate)
    output_ids = todo("1-4")
    return output_ids


def decode_tokens(tokenizer, token_ids) -> str:
    """토큰 id들을 사람이 읽는 문자열로 바꿉니다 (특수 토큰 제외)."""
    # TODO 1-5: 토큰 id를 사람이 읽는 문자열로 되돌리세요. 문장 끝 '</s>'나 '<pad>' 같은 특수 토큰은 결과에
    #   넣지 않습니다. generate의 결과처럼 (1, 길이) 2차원 텐서가 오면 첫 줄을 씁니다 (transformers 문서의
    #   PreTrainedTokenizerFast.decode)
    text = todo("1-5")
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
            # TODO 1-6: 모델을 한 번 불러(forward) 다음 토큰의 점수를 얻으세요. 입력은 next_input(첫 단계는
            #   프롬프트 전체, 그 뒤는 새 토큰 하나)과 지난번 캐시이고, 캐시를 쓰겠다고 알립니다. 다음 토큰의
            #   점수는 출력 로짓의 마지막 위치에 있고, 다음 단계에 넘길 새 캐시도 출력에 들어 있습니다 (위
            #   3절, transformers 문서의 GPT2LMHeadModel.forward와 past_key_values)
            next_token_logits, past_key_values = todo("1-6")
            # TODO 1-7: 그리디 규칙으로 다음 토큰(점수가 가장 큰 토큰)을 고르세요. 고른 토큰을 generated 뒤에
            #   이어 붙이고, KV 캐시가 앞부분을 기억하므로 다음 입력은 새 토큰 하나뿐입니다. eos_token_id가
            #   주어졌고 그 토큰이 나오면 그 토큰까지 붙이고 멈춥니다. 모양은 계속 (1, 길이)입니다 (PyTorch
            #   문서의 argmax, cat)
            generated, next_input = todo("1-7")
    return generated


# %% [markdown]
# ## 4. 그리디 디코딩의 약점: 반복
# 그리디 디코딩은 늘 같은 선택을 하므로, 한 번 나온 구절로 되돌아가면 그 뒤를 그대로 되풀이하기 쉽습니다.

# %%
def find_repetition(token_ids: Sequence[int], n: int = 3) -> int:
    """앞에서 이미 나온 n-gram이 처음으로 다시 나오는 시작 위치를 돌려줍니다. 반복이 없으면 -1."""
    ids = [int(t) for t in token_ids]
    # TODO 1-8: 앞에서부터 n-gram(연속한 토큰 n개)을 하나씩 보면서 이미 본 n-gram을 기억해 두세요. 이미 본
    #   것이 다시 나오면 그 시작 위치를, 끝까지 없으면 -1을 돌려줍니다. 리스트는 집합에 넣을 수 없으니 바꿀 수
    #   없는 형태로 바꿔야 합니다 (파이썬 문서의 set, tuple)
    return todo("1-8")


# %% [markdown]
# ## 5. 실행해 보기

# %%
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Step 1: 그리디 생성과 직접 만든 자기회귀 루프")
    add_model_argument(parser)
    parser.add_argument("--prompts", nargs="+", default=DEFAULT_PROMPTS, help="생성을 시작할 프롬프트들")
    parser.add_argument("--max_new_tokens", type=int, default=40, help="새로 만들 토큰 수 (최대)")
    args = parser.parse_args(argv)

    model_name = resolve_model_name(args.model)
    tokenizer = load_tokenizer(model_name)
    model = load_model(model_name)
    print(f"모델 파라미터 수: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M, "
          f"어휘 크기: {len(tokenizer)}")

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

        new_ids = output_ids[0, input_ids.shape[1]:].tolist()
        start = find_repetition(new_ids, n=3)
        if start >= 0:
            repeated = decode_tokens(tokenizer, new_ids[start:start + 3])
            print(f"반복 발견: 생성 {start}번째 토큰부터 이미 나온 3-gram {repeated!r}이(가) 다시 나옵니다.")
        else:
            print("이번 생성에서는 반복되는 3-gram이 없습니다.")


if __name__ == "__main__":
    run_main(main)
