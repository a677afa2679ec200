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

from typing import Sequence

import torch
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name
from kogpt2_course.grading.script_runner import run_main

DEFAULT_PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서"]


# %% [markdown]
# ## 1. 토크나이저와 모델 불러오기
# KoGPT2는 `</s>`를 문장 시작(bos)과 끝(eos)으로 함께 씁니다. 특수 토큰을 직접 알려 주어야 합니다.

# %%
def load_tokenizer(model_name: str):
    """KoGPT2 토크나이저를 불러옵니다."""
    # BEGIN TODO 1-1: PreTrainedTokenizerFast.from_pretrained(model_name, bos_token='</s>', eos_token='</s>', unk_token='<unk>', pad_token='<pad>', mask_token='<mask>')로 토크나이저를 불러오세요
    tokenizer = PreTrainedTokenizerFast.from_pretrained(
        model_name,
        bos_token="</s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )
    # END TODO
    return tokenizer


def load_model(model_name: str):
    """KoGPT2 언어 모델을 불러와 평가 모드로 둡니다."""
    # BEGIN TODO 1-2: GPT2LMHeadModel.from_pretrained(model_name)로 모델을 불러오고 model.eval()로 평가 모드(드롭아웃 끔)로 바꾸세요
    model = GPT2LMHeadModel.from_pretrained(model_name)
    model.eval()
    # END TODO
    return model


# %% [markdown]
# ## 2. 인코딩 → 생성 → 디코딩

# %%
def encode_prompt(tokenizer, prompt: str) -> torch.Tensor:
    """프롬프트를 (1, 길이) 모양의 토큰 id 텐서로 바꿉니다."""
    # BEGIN TODO 1-3: tokenizer.encode(prompt, return_tensors="pt")로 프롬프트를 (1, 길이) 텐서로 바꾸세요
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    # END TODO
    return input_ids


def generate_greedy(model, tokenizer, prompt: str, max_new_tokens: int = 30) -> torch.Tensor:
    """그리디 디코딩으로 최대 max_new_tokens개를 생성해 (프롬프트 + 생성) 토큰 id 전체를 돌려줍니다."""
    input_ids = encode_prompt(tokenizer, prompt)
    # BEGIN TODO 1-4: model.generate(input_ids, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)를 torch.no_grad() 안에서 호출하세요
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
    # BEGIN TODO 1-5: tokenizer.decode(token_ids, skip_special_tokens=True)로 문자열을 만드세요 (2차원 텐서면 첫 줄만)
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
            # BEGIN TODO 1-6: model(input_ids=next_input, past_key_values=past_key_values, use_cache=True)를 호출해 마지막 위치의 로짓(outputs.logits[:, -1, :])과 새 캐시(outputs.past_key_values)를 얻으세요
            outputs = model(input_ids=next_input, past_key_values=past_key_values, use_cache=True)
            next_token_logits = outputs.logits[:, -1, :]
            past_key_values = outputs.past_key_values
            # END TODO
            # BEGIN TODO 1-7: argmax로 다음 토큰을 골라 generated 뒤에 붙이고, 다음 입력(next_input)은 그 토큰 하나로 하세요. eos_token_id가 나오면 멈추세요
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
    # BEGIN TODO 1-8: 위치 i마다 tuple(ids[i:i+n])을 만들고, 앞에서 본 n-gram 집합에 이미 있으면 i를 돌려주세요 (없으면 -1)
    seen = set()
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i:i + n])
        if gram in seen:
            return i
        seen.add(gram)
    return -1
    # END TODO


# %% [markdown]
# ## 5. 실행해 보기

# %%
def main(argv: Sequence[str] | None = None) -> None:
    parser = KoreanArgumentParser(description="Step 1: 그리디 생성과 직접 만든 자기회귀 루프")
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
