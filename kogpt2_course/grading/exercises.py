"""Generate the student exercise files from the solutions (one source of truth).

In ``solutions/stepN_solution.py`` every answer region sits between markers::

    # BEGIN TODO 1-2: <한국어 힌트>
    ...answer code...
    # END TODO

and solution-only demos between ``# BEGIN SOLUTION ONLY`` / ``# END SOLUTION ONLY``.
In the student file each TODO region becomes a comment with the hint plus
``raise NotImplementedError("TODO 1-2: ...")`` (so the file still imports and runs) and each
solution-only region disappears. Regions must be inside a function body.

    python -m kogpt2_course make-exercises          # rewrite the student files
    python -m kogpt2_course make-exercises --check  # exit 1 if a committed file is stale
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STEP_FILES = {
    1: "step1_basic_generation.py",
    2: "step2_generation_strategies.py",
    3: "step3_parameter_tuning.py",
    4: "step4_model_training.py",
    5: "step5_web_service.py",
    6: "step6_style_finetuning.py",
    7: "step7_dialogue_finetuning.py",
}

BEGIN_TODO = re.compile(r"^(?P<indent>\s*)# BEGIN TODO (?P<id>\d+-\d+): (?P<hint>.+?)\s*$")
END_TODO = re.compile(r"^\s*# END TODO\s*$")
BEGIN_ONLY = re.compile(r"^\s*# BEGIN SOLUTION ONLY\b")
END_ONLY = re.compile(r"^\s*# END SOLUTION ONLY\s*$")


@dataclass(frozen=True)
class Todo:
    todo_id: str
    hint: str
    line: int


def solution_path(step: int, root: Path = ROOT) -> Path:
    return root / "solutions" / f"step{step}_solution.py"


def student_path(step: int, root: Path = ROOT) -> Path:
    return root / STEP_FILES[step]


def banner(step: int) -> str:
    return (f"# 이 파일은 solutions/step{step}_solution.py 에서 자동으로 만들어졌습니다 "
            f"(python -m kogpt2_course make-exercises).\n"
            f"# TODO 부분을 채우고 실행해 보세요. 채점: python -m kogpt2_course grade --step {step}\n")


def todo_message(todo_id: str, hint: str) -> str:
    return f"TODO {todo_id} 미완성: {hint}"


def make_student_source(solution_source: str, step: int, origin: str = "solution") -> tuple[str, list[Todo]]:
    """Return the student version of a solution file and the TODOs it contains."""
    out: list[str] = [banner(step)]
    todos: list[Todo] = []
    open_todo: re.Match | None = None
    in_only = False
    for number, line in enumerate(solution_source.splitlines(keepends=True), start=1):
        where = f"{origin}:{number}"
        begin = BEGIN_TODO.match(line)
        if begin:
            if open_todo or in_only:
                raise ValueError(f"{where}: 마커가 겹칩니다 (BEGIN TODO 안의 BEGIN)")
            if not begin["indent"]:
                raise ValueError(f"{where}: TODO 영역은 함수 안에 있어야 합니다 (들여쓰기 필요)")
            if not begin["id"].startswith(f"{step}-"):
                raise ValueError(f"{where}: Step {step} 파일의 TODO 번호는 '{step}-'로 시작해야 합니다")
            if any(t.todo_id == begin["id"] for t in todos):
                raise ValueError(f"{where}: TODO {begin['id']} 번호가 중복됩니다")
            open_todo = begin
            todos.append(Todo(begin["id"], begin["hint"], number))
            indent, hint = begin["indent"], begin["hint"]
            out.append(f"{indent}# TODO {begin['id']}: {hint}\n")
            out.append(f"{indent}raise NotImplementedError({todo_message(begin['id'], hint)!r})\n")
            continue
        if END_TODO.match(line):
            if not open_todo:
                raise ValueError(f"{where}: 짝이 없는 END TODO")
            open_todo = None
            continue
        if BEGIN_ONLY.match(line):
            if open_todo or in_only:
                raise ValueError(f"{where}: 마커가 겹칩니다")
            in_only = True
            continue
        if END_ONLY.match(line):
            if not in_only:
                raise ValueError(f"{where}: 짝이 없는 END SOLUTION ONLY")
            in_only = False
            continue
        if not open_todo and not in_only:
            out.append(line)
    if open_todo or in_only:
        raise ValueError(f"{origin}: 닫히지 않은 마커가 있습니다")
    source = "".join(out)
    compile(source, origin, "exec")  # the student file must always be valid Python
    return source, todos


def list_todos(step: int, root: Path = ROOT) -> list[Todo]:
    path = solution_path(step, root)
    return make_student_source(path.read_text(encoding="utf-8"), step, str(path))[1]


def generate(root: Path = ROOT, check: bool = False) -> list[Path]:
    """Write (or, with ``check``, compare) every student file. Returns the stale/changed paths."""
    changed = []
    for step in STEP_FILES:
        src = solution_path(step, root)
        student, _ = make_student_source(src.read_text(encoding="utf-8"), step, str(src))
        target = student_path(step, root)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != student:
            changed.append(target)
            if not check:
                target.write_text(student, encoding="utf-8")
    return changed
