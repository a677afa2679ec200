"""A measurable style marker: the share of texts whose first sentence ends in the style's ending,
and its counterweight, the share of texts that only copy a training sentence.

The bundled sample is written in 합쇼체, so its marker is ``니다`` (``~습니다``, ``~ㅂ니다``, ``~입니다``);
ChatbotData's answers are polite 해요체, marker ``요``. Only the first sentence of a text counts (what
the model wrote right after the prompt, before it drifts); trailing punctuation, quotes, emoticon
letters (ㅋ, ㅎ, ㅠ) and spaces are ignored. A text cut off by the length limit in mid-sentence does not
end in the marker — it counts against the style, the same before and after fine-tuning.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

_SENTENCE_END = re.compile(r"[.!?…\n]")
_TRAILING = " \t\"'”’)]~^ㅋㅎㅠㅜ.,!?…"


def first_sentence(text: str) -> str:
    """The text up to its first sentence-final mark (``. ! ? …`` or a line break), without that mark."""
    text = text.strip()
    match = _SENTENCE_END.search(text)
    return (text[:match.start()] if match else text).strip()


def has_ending(text: str, endings: Sequence[str]) -> bool:
    return first_sentence(text).rstrip(_TRAILING).endswith(tuple(endings))


def ending_share(texts: Iterable[str], endings: Sequence[str]) -> float:
    """Share (0..1) of ``texts`` whose first sentence ends in one of ``endings``."""
    texts = list(texts)
    return sum(has_ending(t, endings) for t in texts) / len(texts) if texts else 0.0


def copied_share(texts: Iterable[str], training_texts: Iterable[str]) -> float:
    """Share (0..1) of ``texts`` whose first sentence is word for word the first sentence of a training text.

    A style is learned when the marker goes up while this stays low; a model that has memorised its
    few hundred training sentences scores high on both.
    """
    texts = list(texts)
    seen = {first_sentence(t) for t in training_texts}
    return sum(first_sentence(t) in seen for t in texts) / len(texts) if texts else 0.0
