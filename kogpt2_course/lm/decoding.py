"""``model.generate``와 한 번의 순전파를 감싼 작은 도우미 — Steps 2–3과 bench/가 함께 씁니다.

Step 1에서 이미 배운 뒷일(인코딩, 어텐션 마스크, pad id, ``torch.no_grad``)만 감춰서, 각 단계가 디코딩 옵션 자체에
집중하게 합니다. 옵션은 호출마다 ``**generate_kwargs``로 넘기고 모델의 ``generation_config``는 바꾸지 않습니다.
"""

from __future__ import annotations

import torch


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


def token_labels(tokenizer, token_ids) -> list[str]:
    """토큰 하나하나의 읽기 쉬운 이름: 디코딩한 글자, 공백은 '_'로.

    한 글자의 일부(바이트 조각)뿐인 토큰은 id로 보입니다(예: '[1234]').
    """
    labels = []
    for token_id in token_ids:
        text = tokenizer.decode([int(token_id)])
        labels.append(f"[{int(token_id)}]" if "\ufffd" in text or not text else text.replace(" ", "_"))
    return labels


def drop_broken_tail(text: str) -> str:
    """``text`` without the U+FFFD (�) that ``decode`` leaves when generation stopped inside a character.

    KoGPT2's byte-level pieces can split one Hangul syllable over several tokens; a length limit that
    falls between them leaves a replacement character at the end. Text shown to a person drops it.
    """
    return text.rstrip("\ufffd")
