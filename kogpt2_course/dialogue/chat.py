"""The ``chat`` loop of Step 7: read a line, answer it with the last turns as history, repeat.

The conversation is kept as utterances in the ``[UTTERANCE]`` format (what
:func:`kogpt2_course.dialogue.data.read_utterance_file` reads), so a transcript saved with
``transcript_path`` can be fed back to ``preprocess`` as training data. Only the last
``history_turns`` exchanges go into the prompt (a small model has a short context).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from kogpt2_course.dialogue.data import format_dialogue, write_utterance_file

QUIT_WORDS = {"quit", "exit", "q", "종료", "그만"}


def chat_loop(reply: Callable[[str, Sequence[tuple[str, str]]], str], read: Callable[[str], str] = input,
              write: Callable[[str], None] = print, history_turns: int = 2,
              transcript_path: str | Path | None = None) -> list[tuple[str, str]]:
    """Chat until an empty line, ``quit`` (or 종료), end of input (Ctrl+D) or Ctrl+C.

    ``reply(question, history)`` answers one question given the previous exchanges (at most
    ``history_turns``). Returns every exchange; appends the dialogue to ``transcript_path``.
    """
    write(f"대화를 시작합니다. 빈 줄, quit(또는 종료), Ctrl+D로 끝냅니다. 최근 {history_turns}번의 주고받기를 기억합니다.")
    exchanges: list[tuple[str, str]] = []
    while True:
        try:
            line = read("나: ")
        except (EOFError, KeyboardInterrupt):
            write("")
            break
        question = line.strip()
        if not question or question.lower() in QUIT_WORDS:
            break
        history = exchanges[-history_turns:] if history_turns > 0 else []
        answer = reply(question, history)
        write(f"봇: {answer or '(빈 답 — 모델이 바로 </s>를 냈습니다)'}")
        exchanges.append((question, answer or "…"))
    write(f"대화를 마칩니다 ({len(exchanges)}번 주고받음).")
    if exchanges:
        utterances = [u for exchange in exchanges for u in exchange]
        if transcript_path:
            path = write_utterance_file(transcript_path, [utterances], append=True)
            write(f"대화 기록을 [UTTERANCE] 형식으로 {path}에 덧붙였습니다 (preprocess의 입력으로 쓸 수 있습니다).")
        else:
            write("대화 기록 ([UTTERANCE] 형식):\n" + format_dialogue(utterances))
    return exchanges
