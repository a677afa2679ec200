"""``model.generate``와 한 번의 순전파를 감싼 작은 도우미 — Steps 2–3과 bench/가 함께 씁니다.

Step 1에서 이미 배운 뒷일(인코딩, 어텐션 마스크, pad id, ``torch.no_grad``)만 감춰서, 각 단계가 디코딩 옵션 자체에
집중하게 합니다. 옵션은 호출마다 ``**generate_kwargs``로 넘기고 모델의 ``generation_config``는 바꾸지 않습니다.
"""

from __future__ import annotations

import torch

from kogpt2_course.lm.tokens import REPLACEMENT_CHARACTER, WORD_MARKER, is_byte_token


def generate_ids(model, tokenizer, prompt: str, max_new_tokens: int = 30, **generate_kwargs) -> torch.Tensor:
    """프롬프트 하나로 ``model.generate``를 불러 (줄 수, 길이)인 프롬프트 + 새 토큰의 id를 돌려줍니다.

    ``generate_kwargs``는 디코딩 옵션입니다(``do_sample``, ``num_beams``, ``top_k``, ``min_new_tokens`` …).
    """
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    with torch.no_grad():
        return model.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                              max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                              **generate_kwargs)


def new_token_ids(tokenizer, prompt: str, output_ids: torch.Tensor) -> list[int]:
    """``generate``가 프롬프트 뒤에 붙인 토큰 id (첫 줄)."""
    prompt_length = len(tokenizer.encode(prompt))
    return output_ids[0, prompt_length:].tolist()


def next_token_logits(model, tokenizer, prompt: str) -> torch.Tensor:
    """``prompt`` 다음 토큰에 대한 모델의 로짓: 어휘 크기의 1차원 텐서 (아무 처리도 하지 않은 원래 점수)."""
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    with torch.no_grad():
        return model(input_ids).logits[0, -1, :]


def continuation_text(tokenizer, prompt: str, new_ids) -> str:
    """``generate``가 ``prompt`` 뒤에 붙인 글 — 단어 앞 공백까지 (``prompt + continuation_text(...)``가 전체 글).

    sentencepiece식 디코더(KoGPT2, 번들 모델)는 디코딩하는 글의 맨 앞 공백을 지우므로, 새 토큰만 디코딩하면
    ``'▁보고'``의 공백이 사라져 ``'이 영화보고'``가 됩니다. 그래서 프롬프트와 함께 디코딩한 뒤 프롬프트 부분을 잘라 냅니다.
    """
    prompt_ids = tokenizer.encode(prompt)
    full = tokenizer.decode(prompt_ids + [int(t) for t in new_ids], skip_special_tokens=True)
    head = tokenizer.decode(prompt_ids, skip_special_tokens=True)
    return full[len(head):] if full.startswith(head) else full


def token_labels(tokenizer, token_ids) -> list[str]:
    """토큰 하나하나의 읽기 쉬운 이름: 디코딩한 글자, 단어 앞 공백(``▁``)은 '_'로.

    바이트 토큰(어휘에 없는 문자를 UTF-8 바이트로 적은 조각)은 ``<0xF0>``처럼 토큰 이름 그대로 보입니다.
    """
    labels = []
    for token_id in token_ids:
        token = tokenizer.convert_ids_to_tokens(int(token_id))
        text = tokenizer.decode([int(token_id)])
        if token.startswith(WORD_MARKER) and not text.startswith(" "):
            text = " " + text  # sentencepiece 디코더는 글의 맨 앞 공백을 지우므로 토큰 하나만 디코딩하면 사라짐
        labels.append(token if is_byte_token(token) or REPLACEMENT_CHARACTER in text or not text
                      else text.replace(" ", "_"))
    return labels


def drop_broken_tail(text: str) -> str:
    """``text`` without the U+FFFD (�) that ``decode`` leaves when generation stopped inside a character.

    A tokenizer whose pieces can split one character over several tokens (byte-level BPE, or byte
    fallback without the course's clean-up decoder, see :func:`kogpt2_course.lm.tokens.kogpt2_style_decoder`)
    leaves a replacement character at the end when a length limit falls between them. Text shown to a
    person drops it.
    """
    return text.rstrip(REPLACEMENT_CHARACTER)
