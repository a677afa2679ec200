"""토큰을 사람에게 보여 주기: KoGPT2식 토큰(``▁`` 단어 표시, 바이트 토큰)의 설명과 디코더.

KoGPT2와 번들 모델의 토크나이저는 모두 sentencepiece 방식입니다. 공백 뒤에서 시작하는 조각은 앞에 ``▁``
(U+2581)가 붙고(``'▁영화'``), 단어 안에서 이어지는 조각에는 붙지 않습니다(``'하'``, ``'세요.'``).
번들 모델은 어휘에 없는 드문 문자(이모지, 드문 한자·음절)를 UTF-8 바이트 토큰 ``<0xF0>`` ``<0x9F>`` …로
적습니다(byte fallback). 그래서 어떤 글도 ``<unk>`` 없이 그대로 되돌아옵니다 (공백으로 시작하는 글만 예외:
sentencepiece처럼 맨 앞 공백 하나는 단어 표시로 바뀌었다가 디코딩에서 빠집니다).
"""

from __future__ import annotations

import re

WORD_MARKER = "\u2581"
REPLACEMENT_CHARACTER = "\ufffd"
BYTE_TOKEN = re.compile(r"^<0x[0-9A-F]{2}>$")


def is_byte_token(token: str) -> bool:
    """``<0xNN>`` 꼴의 바이트 토큰(byte fallback)인지."""
    return bool(BYTE_TOKEN.match(token))


def token_kind(token: str, special_tokens=()) -> str:
    """토큰 하나의 종류(한국어): 특수 토큰 / 바이트 토큰 / 단어 시작 / 단어 안의 조각."""
    if token in special_tokens:
        return "특수 토큰"
    if is_byte_token(token):
        return "바이트 토큰"
    if token.startswith(WORD_MARKER):
        return "단어 시작"
    return "단어 안의 조각"


def explain_tokens(tokenizer, text: str) -> list[str]:
    """``text``가 어떻게 토큰으로 나뉘는지 한 줄씩 설명합니다 (Step 1이 출력)."""
    tokens = tokenizer.tokenize(text)
    special = set(tokenizer.all_special_tokens)
    kinds = [token_kind(t, special) for t in tokens]
    lines = [f"{text!r} → 토큰 {len(tokens)}개, 글자 {len(text)}개 (토큰당 {len(text) / max(1, len(tokens)):.2f}글자)"]
    lines += [f"  {t!r}: {k}" for t, k in zip(tokens, kinds)]
    if "바이트 토큰" in kinds:
        n = kinds.count("바이트 토큰")
        lines.append(f"  바이트 토큰 {n}개는 어휘에 없는 문자를 UTF-8 바이트로 적은 것입니다 (한글·이모지 한 글자는 3~4바이트).")
    return lines


def round_trip_mismatches(tokenizer, texts: list[str]) -> list[str]:
    """``decode(encode(x)) != x``인 글들 (bpc 명령이 평가 문서 전체에 대해 셉니다; 번들 토크나이저는 0개여야 함)."""
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    return [text for text, back in zip(texts, tokenizer.batch_decode(encoded)) if back != text]


def kogpt2_style_decoder(drop_broken_bytes: bool = True):
    """``tokenizers`` 디코더: 바이트 토큰을 글자로 모으고(ByteFallback), ``▁``를 공백으로(Metaspace).

    ``drop_broken_bytes``이면 글자를 이루지 못한 바이트 토큰(생성이 한 글자의 바이트 중간에서 멈추거나 샘플링이
    엉뚱한 바이트를 고른 경우)을 ``�``(U+FFFD)로 보여 주지 않고 뺍니다. 온전한 글자는 그대로라 말뭉치의
    모든 글이 ``decode(encode(x)) == x``로 돌아오고, 사람이 보는 생성 글에는 깨진 글자가 남지 않습니다.
    (U+FFFD 문자 자체가 든 입력만 예외로, 그 문자는 디코딩에서 빠집니다.)
    """
    from tokenizers import decoders

    steps = [decoders.ByteFallback()]
    if drop_broken_bytes:
        steps.append(decoders.Replace(REPLACEMENT_CHARACTER, ""))
    steps.append(decoders.Metaspace(replacement=WORD_MARKER, prepend_scheme="always"))
    return decoders.Sequence(steps)
