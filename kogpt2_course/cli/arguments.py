"""Command-line plumbing every script shares: a Korean ``argparse`` parser and the user-error type.

    parser = KoreanArgumentParser(description="Step 1: ...")   # Korean usage/errors, defaults in --help
    raise UserError("포트 9001을(를) 이미 ... --port로 다른 포트를 지정하세요")

``run_main`` (:mod:`kogpt2_course.grading.script_runner`) prints a ``UserError`` as one Korean line
and exits with code 2, the code argparse uses for a wrong option.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata


class UserError(Exception):
    """A mistake on the user's side (a wrong --model, a busy port, a missing file); the message is Korean."""


def display_width(text: str) -> int:
    """Terminal columns of ``text``: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap_columns(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken at spaces (a longer word is split)."""
    lines, line = [], ""
    for word in text.split():
        joined = f"{line} {word}" if line else word
        if display_width(joined) <= width:
            line = joined
            continue
        if line:
            lines.append(line)
        while display_width(word) > width:
            cut = max(i for i in range(1, len(word) + 1) if display_width(word[:i]) <= width)
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    return lines + [line] if line else lines or [""]


class KoreanHelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` in Korean: each option shows its default; descriptions keep their line breaks."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "사용법: " if prefix is None else prefix)

    def _split_lines(self, text, width):  # argparse counts characters; Hangul takes two columns
        return wrap_columns(text, width)

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        shown = not (default is None or default is False or default is argparse.SUPPRESS) and action.nargs != 0
        if shown and "%(default)" not in text and (action.option_strings or action.nargs in ("?", "*")):
            text += " (기본값: %(default)s)"
        return text


# argparse's English error messages (Python 3.11+) and their Korean versions
_MESSAGES = [
    (r"argument (.+?): (.*)", lambda m: f"{m[1]}: {translate_message(m[2])}"),
    (r"the following arguments are required: (.*)", lambda m: f"다음 인자가 필요합니다: {m[1]}"),
    (r"unrecognized arguments: (.*)", lambda m: f"알 수 없는 인자입니다: {m[1]}"),
    (r"invalid choice: (.*) \(choose from (.*)\)", lambda m: f"{m[1]}은(는) 고를 수 없는 값입니다 (가능한 값: {m[2]})"),
    (r"invalid int value: (.*)", lambda m: f"{m[1]}은(는) 정수가 아닙니다"),
    (r"invalid float value: (.*)", lambda m: f"{m[1]}은(는) 숫자가 아닙니다"),
    (r"invalid (\S+) value: (.*)", lambda m: f"{m[2]}은(는) 올바른 값이 아닙니다 ({m[1]})"),
    (r"expected one argument", lambda m: "값이 하나 필요합니다"),
    (r"expected at least one argument", lambda m: "값이 하나 이상 필요합니다"),
    (r"expected at most one argument", lambda m: "값은 하나까지만 줄 수 있습니다"),
    (r"not allowed with argument (.*)", lambda m: f"{m[1]}와(과) 함께 쓸 수 없습니다"),
    (r"one of the arguments (.*) is required", lambda m: f"다음 중 하나가 필요합니다: {m[1]}"),
    (r"ambiguous option: (.*) could match (.*)", lambda m: f"{m[1]}이(가) 여러 옵션에 해당합니다: {m[2]}"),
    (r"ignored explicit argument (.*)", lambda m: f"값을 받지 않는 옵션에 값 {m[1]}을(를) 주었습니다"),
]


def translate_message(message: str) -> str:
    """argparse's English error message in Korean (unknown messages are returned unchanged)."""
    for pattern, korean in _MESSAGES:
        match = re.fullmatch(pattern, message)
        if match:
            return korean(match)
    return message


class KoreanArgumentParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose usage, section titles, help and errors are Korean (subcommands too)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", KoreanHelpFormatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "위치 인자"
        self._optionals.title = "옵션"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "이 도움말을 보여 주고 끝냅니다"

    def error(self, message: str):
        commands = [a for a in self._actions if isinstance(a, argparse._SubParsersAction)]
        required = re.fullmatch(r"the following arguments are required: (.*)", message)
        if commands and required and commands[0].dest in required[1].split(", "):
            korean = f"명령을 하나 지정하세요: {', '.join(commands[0].choices)}"
        else:
            korean = translate_message(message)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 오류: {korean}\n도움말: {self.prog} --help\n")
