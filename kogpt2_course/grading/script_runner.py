"""Run a step's ``main`` so that an unfinished TODO gives a Korean message, not a traceback."""

from __future__ import annotations

import sys
from typing import Callable, Sequence


def in_notebook() -> bool:
    return "ipykernel" in sys.modules


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is a Korean sentence for the user (imported only when one is raised)."""
    from kogpt2_course.nlpbook.checkpoints import ResumeError

    return (ResumeError,)


def run_main(main: Callable[[Sequence[str] | None], object], argv: Sequence[str] | None = None) -> None:
    """Call ``main(argv)``; in Jupyter, ignore the kernel's own command-line arguments."""
    if argv is None and in_notebook():
        argv = []
    try:
        main(argv)
    except _user_errors() as exc:  # a user's mistake: one Korean sentence, no traceback
        print(f"\n[오류] {exc}", file=sys.stderr, flush=True)
        if not in_notebook():
            sys.exit(2)
    except NotImplementedError as exc:
        message = str(exc)
        if not message.startswith("TODO"):
            raise
        print(f"\n[아직 완성되지 않았습니다] {message}\n"
              f"위 TODO를 채운 뒤 다시 실행하세요. 채점: python -m kogpt2_course grade",
              file=sys.stderr, flush=True)
        if not in_notebook():
            sys.exit(1)
