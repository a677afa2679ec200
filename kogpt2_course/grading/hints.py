"""Tiered hints on demand: ``python -m kogpt2_course hint 2-4`` prints the next level of TODO 2-4.

Level 1 is the comment in the student file; levels 2 and 3 (the ``# HINT 2:`` / ``# HINT 3:`` lines
of the solution) come one call at a time, or directly with ``--level N``. The level each TODO has
reached is remembered per course folder in ``.kogpt2_hints.json`` (git-ignored), which the grade
report shows to the instructor.

    python -m kogpt2_course hint 2-4             # the next level
    python -m kogpt2_course hint 2-4 --level 3   # level 3 directly
    python -m kogpt2_course hint                 # every TODO and the level it has reached
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from kogpt2_course.cli.arguments import UserError
from kogpt2_course.grading.exercises import STEP_FILES, Todo, all_todos

STATE_FILE = ".kogpt2_hints.json"
TODO_ID = re.compile(r"^\d+-\d+$")


class HintError(UserError):
    """A user mistake (unknown TODO, bad level) with a Korean message."""


def state_path(course_dir: str | Path) -> Path:
    return Path(course_dir) / STATE_FILE


def seen_levels(course_dir: str | Path) -> dict[str, int]:
    """{TODO id: highest hint level shown} for a course folder (empty when none was asked for)."""
    path = state_path(course_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): int(v["level"]) for k, v in data.get("todos", {}).items() if TODO_ID.match(str(k))}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _record(course_dir: str | Path, todo_id: str, level: int) -> None:
    path = state_path(course_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        todos = data["todos"] if isinstance(data.get("todos"), dict) else {}
    except (OSError, ValueError, AttributeError, KeyError):
        todos = {}
    previous = todos.get(todo_id, {}).get("level", 1) if isinstance(todos.get(todo_id), dict) else 1
    todos[todo_id] = {"level": max(int(previous), level), "at": datetime.now().isoformat(timespec="seconds")}
    try:
        path.write_text(json.dumps({"todos": todos}, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
    except OSError as exc:
        raise HintError(f"힌트 기록 파일을 쓸 수 없습니다 ({path}): {exc.strerror or exc}") from exc


def find_todo(todo_id: str, todos: dict[str, Todo] | None = None) -> Todo:
    todos = all_todos() if todos is None else todos
    if not TODO_ID.match(todo_id or ""):
        raise HintError(f"TODO 번호는 '2-4'처럼 '단계-번호'로 쓰세요 (받은 값: {todo_id!r})")
    if not todos:
        raise HintError("힌트는 정답 파일(solutions/stepN_solution.py)에서 읽는데, 이 설치에는 solutions/ 폴더가 없습니다")
    if todo_id not in todos:
        known = ", ".join(sorted(todos, key=lambda t: tuple(map(int, t.split("-")))))
        raise HintError(f"TODO {todo_id}는 없습니다. 있는 TODO: {known}")
    return todos[todo_id]


def hint_text(todo: Todo, level: int) -> str:
    """The text shown for one level of one TODO."""
    step = int(todo.todo_id.split("-")[0])
    where = f"{STEP_FILES.get(step, f'step{step}')}, {todo.function}()"
    body = "\n".join("  " + line for line in todo.level(level).splitlines())
    lines = [f"TODO {todo.todo_id} ({where}) — 힌트 {level}/{todo.levels}", body]
    if level < todo.levels:
        lines.append(f"더 필요하면: python -m kogpt2_course hint {todo.todo_id}")
    else:
        lines.append(f"마지막 힌트입니다. 채워야 할 줄: {todo.placeholder}")
    return "\n".join(lines)


def next_hint(todo_id: str, course_dir: str | Path, level: int | None = None,
              todos: dict[str, Todo] | None = None) -> str:
    """The next level of ``todo_id`` (or ``level``), recorded for ``course_dir``."""
    todo = find_todo(todo_id, todos)
    if level is None:
        level = min(seen_levels(course_dir).get(todo.todo_id, 1) + 1, todo.levels)
    if not 1 <= level <= todo.levels:
        raise HintError(f"TODO {todo.todo_id}의 힌트는 1~{todo.levels}단계입니다 (받은 값: {level})")
    _record(course_dir, todo.todo_id, level)
    return hint_text(todo, level)


def summary(course_dir: str | Path, todos: dict[str, Todo] | None = None) -> str:
    todos = all_todos() if todos is None else todos
    seen = seen_levels(course_dir)
    lines = ["TODO   본 힌트 단계"]
    for todo_id in sorted(todos, key=lambda t: tuple(map(int, t.split("-")))):
        lines.append(f"{todo_id:<6} {seen.get(todo_id, 1)}/{todos[todo_id].levels}")
    lines.append("다음 단계 보기: python -m kogpt2_course hint N-M")
    return "\n".join(lines)


def main(args) -> int:
    try:
        if args.todo is None:
            print(summary(args.course_dir))
        else:
            print(next_hint(args.todo, args.course_dir, args.level))
    except HintError as exc:
        print(f"오류: {exc}")
        return 2
    return 0
