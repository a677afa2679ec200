"""Run a script's ``main`` so that an unfinished TODO or a user mistake gives a Korean message, not a traceback;
``todo("N-M")``, the placeholder of every unfinished answer in a student file."""

from __future__ import annotations

import linecache
import re
import sys
from typing import Callable, NoReturn, Sequence

from kogpt2_course.cli.arguments import UserError

HINT_COMMAND = "python -m kogpt2_course hint"


def in_notebook() -> bool:
    return "ipykernel" in sys.modules


def todo_message(todo_id: str, hint: str = "") -> str:
    """The Korean message of an unfinished TODO (what the grader and ``run_main`` show)."""
    hint = hint or "이 자리를 채우세요"
    return f"TODO {todo_id} 미완성 (더 자세한 힌트: {HINT_COMMAND} {todo_id}) — {hint}"


def _hint_above(filename: str, todo_id: str) -> str:
    """The hint of ``# TODO N-M: <hint>`` (and its ``#   ...`` continuation lines) in the caller's file."""
    pattern = re.compile(rf"^\s*# TODO {re.escape(todo_id)}: (.+?)\s*$")
    parts: list[str] = []
    for line in linecache.getlines(filename):
        if parts:
            more = re.match(r"^\s*#   (.+?)\s*$", line)
            if not more:
                break
            parts.append(more.group(1))
            continue
        match = pattern.match(line)
        if match:
            parts.append(match.group(1))
    return " ".join(parts)


def todo(todo_id: str) -> NoReturn:
    """Stand-in for the answer of TODO ``todo_id``: raises NotImplementedError with its Korean hint.

    A student file writes ``output_ids = todo("1-4")``: the names on the left are what the answer
    must define; replace the whole line by the answer.
    """
    caller = sys._getframe(1).f_code.co_filename
    raise NotImplementedError(todo_message(todo_id, _hint_above(caller, todo_id)))


def run_main(main: Callable[[Sequence[str] | None], object], argv: Sequence[str] | None = None) -> None:
    """Call ``main(argv)``; in Jupyter, ignore the kernel's own command-line arguments.

    An unfinished TODO exits with code 1, a ``UserError`` (wrong --model, busy port, ...) with code 2,
    each after one Korean message; a non-zero int returned by ``main`` becomes the exit code.
    """
    if argv is None and in_notebook():
        argv = []
    try:
        code = main(argv)
    except NotImplementedError as exc:
        message = str(exc)
        if not message.startswith("TODO"):
            raise
        print(f"\n[아직 완성되지 않았습니다] {message}\n"
              f"위 TODO를 채운 뒤 다시 실행하세요. 채점: python -m kogpt2_course grade",
              file=sys.stderr, flush=True)
        code = 1
    except UserError as exc:
        print(f"[오류] {exc}", file=sys.stderr, flush=True)
        code = 2
    if isinstance(code, int) and code and not in_notebook():
        sys.exit(code)
