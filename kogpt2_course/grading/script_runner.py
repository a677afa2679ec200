"""Run a script's ``main`` so that an unfinished TODO or a user mistake gives a Korean message, not a traceback."""

from __future__ import annotations

import sys
from typing import Callable, Sequence

from kogpt2_course.cli.arguments import UserError


def in_notebook() -> bool:
    return "ipykernel" in sys.modules


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
