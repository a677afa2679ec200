"""교실 데모의 내용 거르기: 강사가 고치는 금지어 목록(텍스트 파일 하나).

파일 형식(UTF-8, 기본 파일은 이 폴더의 ``blocked_words.txt``, 서버의 ``--blocked_words``로 바꿈): 한 줄에 낱말 하나,
``#``로 시작하는 줄과 빈 줄은 건너뜁니다. 대소문자와 전각/반각은 가리지 않습니다(NFKC, casefold).

두 곳에 씁니다.

1. **프롬프트**: 금지어가 들어 있으면 생성하지 않고 ``prompt`` 항목의 한국어 400으로 거절합니다 — 웹 앱의 모든
   주소(``/api``, ``/api/stream``, ``/api/ab``, ``/api/next-tokens``)에서.
2. **생성**: 낱말의 토큰 열을 ``model.generate``의 ``bad_words_ids``로 넘겨, 모델이 그 토큰 열을 만들지 못하게
   합니다. 글자 BPE 토크나이저는 같은 낱말을 낱말 첫머리(``▁``가 붙은 조각)와 낱말 가운데(``▁`` 없는 조각)에서 다르게
   자르므로 두 철자를 모두 막습니다(:func:`token_spellings`). ``bad_words_ids``는 바로 그 토큰 열만 막습니다: 모델이
   더 잘게 쪼갠 다른 토큰 열로 같은 글자를 만들 수는 있으므로, 그렇게 새어 나온 낱말은 결과에서 ``*``로 가립니다
   (:meth:`ContentFilter.mask`).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from kogpt2_course.web.params import ParameterError

DEFAULT_BLOCKED_WORDS = Path(__file__).resolve().with_name("blocked_words.txt")
# A word inside a longer word is tokenized without the leading word marker ("▁"/"Ġ"): encoding it after
# one of these characters (which do not merge with Hangul) and dropping the character's tokens gives that spelling.
ANCHORS = ("0", ".", "가")


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def read_word_list(path: str | Path) -> list[str]:
    """금지어 파일의 낱말들 (주석·빈 줄 제외, 파일 순서, 겹치는 것은 한 번)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ValueError(f"금지어 파일이 없습니다: {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"금지어 파일은 UTF-8 텍스트여야 합니다: {path}") from None
    words = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return list(dict.fromkeys(words))


def token_spellings(tokenizer, word: str) -> list[list[int]]:
    """``word``를 모델이 만들 수 있는 토큰 열들: 낱말 첫머리(앞에 공백/``▁``)와 낱말 가운데의 철자."""
    spellings: list[list[int]] = []

    def add(ids: list[int]) -> None:
        if ids and ids not in spellings:
            spellings.append(ids)

    add(tokenizer.encode(word, add_special_tokens=False))
    add(tokenizer.encode(" " + word, add_special_tokens=False))
    for anchor in ANCHORS:
        head = tokenizer.encode(anchor, add_special_tokens=False)
        ids = tokenizer.encode(anchor + word, add_special_tokens=False)
        if ids[:len(head)] == head:
            add(ids[len(head):])
    return spellings


class ContentFilter:
    """금지어 목록: 프롬프트 검사(:meth:`check_prompt`), 생성 차단(:meth:`bad_words_ids`), 결과 가리기(:meth:`mask`)."""

    def __init__(self, words, source: str = ""):
        self.words = [w for w in dict.fromkeys(str(w).strip() for w in words) if w]
        self.source = source
        self._keys = [_normalized(w) for w in self.words]
        self._pattern = (re.compile("|".join(re.escape(w) for w in sorted(self.words, key=len, reverse=True)),
                                    re.IGNORECASE) if self.words else None)

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_BLOCKED_WORDS) -> "ContentFilter":
        return cls(read_word_list(path), source=str(path))

    def __bool__(self) -> bool:
        return bool(self.words)

    def check_prompt(self, prompt: str, field: str = "prompt") -> str:
        """금지어가 들어 있으면 ``field`` 항목의 ParameterError(한국어). 낱말 자체는 되풀이해 보여 주지 않습니다."""
        text = _normalized(prompt)
        if any(key in text for key in self._keys):
            raise ParameterError(field, "강사가 정한 금지어 목록에 있는 말이 들어 있어 생성하지 않습니다. "
                                        "표현을 바꿔 다시 입력하세요.")
        return prompt

    def bad_words_ids(self, tokenizer) -> list[list[int]]:
        """``model.generate(bad_words_ids=...)``에 넘길 토큰 열들 (낱말마다 모든 철자)."""
        return [ids for word in self.words for ids in token_spellings(tokenizer, word)]

    def generate_kwargs(self, tokenizer) -> dict:
        """``generate``에 더할 인자: 금지어가 있으면 ``{"bad_words_ids": ...}``, 없으면 빈 dict."""
        ids = self.bad_words_ids(tokenizer)
        return {"bad_words_ids": ids} if ids else {}

    def apply_to(self, model, tokenizer) -> None:
        """모델의 ``generation_config.bad_words_ids``에 넣습니다: 이 모델의 모든 ``generate`` 호출(학생의
        ``inference_fn`` 포함)이 따로 넘기지 않아도 금지어 토큰 열을 만들지 않습니다."""
        ids = self.bad_words_ids(tokenizer)
        if ids:
            model.generation_config.bad_words_ids = ids

    def mask(self, text: str) -> str:
        """결과에 남은 금지어(다른 토큰 열로 만들어진 것)를 같은 길이의 ``*``로 가립니다."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: "*" * len(m.group(0)), text)
