"""Generate the student exercise files from the solutions (one source of truth).

In ``solutions/stepN_solution.py`` every answer region sits between markers::

    # BEGIN TODO 1-2: <level-1 hint in Korean: the goal, the concept, where to look>
    # HINT 2: <level 2: the function/API and its arguments>
    # HINT 3: <level 3: the expression itself; repeat the line for several lines>
    ...answer code...
    # END TODO

and solution-only demos between ``# BEGIN SOLUTION ONLY`` / ``# END SOLUTION ONLY``.
In the student file each TODO region becomes its level-1 hint as a comment plus one honest
placeholder line that names what the region must define, derived from the solution's syntax tree:

    output_ids = todo("1-4")           # the names the region assigns and the function reads later
    return todo("1-8")                 # the region ends by returning
    results[t] = todo("3-5")           # the region fills an item of an outer container
    todo("5-6")                        # the region defines nothing (a call for its effect)

``todo`` (kogpt2_course.grading.script_runner) raises NotImplementedError with the TODO's Korean
hint, so the file imports and runs and nothing after it is unreachable. HINT lines never reach the
student file: ``python -m kogpt2_course hint 1-2`` shows them one level at a time. Solution-only
regions disappear. Regions must be inside a function body.

    python -m kogpt2_course make-exercises          # rewrite the student files
    python -m kogpt2_course make-exercises --check  # exit 1 if a committed file is stale
"""

from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass, field
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
    8: "step8_lora_dialogue.py",
}

BEGIN_TODO = re.compile(r"^(?P<indent>\s*)# BEGIN TODO (?P<id>\d+-\d+): (?P<hint>.+?)\s*$")
HINT_LINE = re.compile(r"^\s*# HINT (?P<level>\d+):(?: (?P<text>.*?))?\s*$")
END_TODO = re.compile(r"^\s*# END TODO\s*$")
BEGIN_ONLY = re.compile(r"^\s*# BEGIN SOLUTION ONLY\b")
END_ONLY = re.compile(r"^\s*# END SOLUTION ONLY\s*$")

TODO_MODULE = "kogpt2_course.grading.script_runner"
TODO_IMPORT = f"from {TODO_MODULE} import todo\n"
RUN_MAIN_IMPORT = re.compile(rf"^from {re.escape(TODO_MODULE)} import run_main\s*$")
COMMENT_WIDTH = 110  # display columns of a wrapped hint comment in the student file (Korean counts 2)


@dataclass(frozen=True)
class Todo:
    todo_id: str
    hint: str                      # level 1: the comment the student file shows
    line: int                      # the BEGIN line in the solution (1-based)
    end_line: int = 0              # the END line
    hints: tuple[str, ...] = ()    # levels 2, 3, ... (HINT lines)
    placeholder: str = ""          # the student's line, e.g. 'output_ids = todo("1-4")'
    function: str = ""             # the enclosing function

    def level(self, n: int) -> str:
        """Hint of level ``n`` (1 = the comment in the student file)."""
        return self.hint if n == 1 else self.hints[n - 2]

    @property
    def levels(self) -> int:
        return 1 + len(self.hints)


@dataclass
class _Region:
    todo_id: str
    indent: str
    hint: str
    begin: int
    end: int = 0
    hints: dict[int, list[str]] = field(default_factory=dict)


def solution_path(step: int, root: Path = ROOT) -> Path:
    return root / "solutions" / f"step{step}_solution.py"


def student_path(step: int, root: Path = ROOT) -> Path:
    return root / STEP_FILES[step]


def banner(step: int) -> str:
    return (f"# 이 파일은 solutions/step{step}_solution.py 에서 자동으로 만들어졌습니다 "
            f"(python -m kogpt2_course make-exercises).\n"
            f"# TODO 부분의 todo(...) 줄을 답으로 바꾸고 실행해 보세요. 채점: python -m kogpt2_course grade --step {step}\n"
            f"# 막히면: python -m kogpt2_course hint N-M (부를 때마다 한 단계 더 자세한 힌트)\n")


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def hint_comment(indent: str, todo_id: str, hint: str, width: int = COMMENT_WIDTH) -> list[str]:
    """The level-1 hint as comment lines: '# TODO N-M: ...' then '#   ...' continuation lines."""
    lines, current = [], f"{indent}# TODO {todo_id}:"
    for word in hint.split():
        if _columns(current) + 1 + _columns(word) > width and not current.endswith(":"):
            lines.append(current + "\n")
            current = f"{indent}#  "
        current += " " + word
    return lines + [current + "\n"]


# --- reading the regions -----------------------------------------------------------------------

def _scan(solution_source: str, step: int, origin: str) -> tuple[list[_Region], list[tuple[int, int]]]:
    """Check the markers; return the TODO regions and the solution-only line ranges."""
    regions: list[_Region] = []
    only: list[tuple[int, int]] = []
    open_todo: _Region | None = None
    code_seen = False
    only_start = 0
    for number, line in enumerate(solution_source.splitlines(), start=1):
        where = f"{origin}:{number}"
        begin = BEGIN_TODO.match(line)
        if begin:
            if open_todo or only_start:
                raise ValueError(f"{where}: 마커가 겹칩니다 (BEGIN TODO 안의 BEGIN)")
            if not begin["indent"]:
                raise ValueError(f"{where}: TODO 영역은 함수 안에 있어야 합니다 (들여쓰기 필요)")
            if not begin["id"].startswith(f"{step}-"):
                raise ValueError(f"{where}: Step {step} 파일의 TODO 번호는 '{step}-'로 시작해야 합니다")
            if any(r.todo_id == begin["id"] for r in regions):
                raise ValueError(f"{where}: TODO {begin['id']} 번호가 중복됩니다")
            open_todo = _Region(begin["id"], begin["indent"], begin["hint"], number)
            regions.append(open_todo)
            code_seen = False
            continue
        hint = HINT_LINE.match(line)
        if hint:
            if not open_todo or code_seen:
                raise ValueError(f"{where}: HINT 줄은 BEGIN TODO 바로 다음, 답 코드보다 앞에 있어야 합니다")
            level = int(hint["level"])
            expected = max(open_todo.hints, default=1)
            if level not in (expected, expected + 1) or level < 2:
                raise ValueError(f"{where}: HINT 단계는 2부터 차례로 적어야 합니다 (HINT {expected + 1} 차례)")
            open_todo.hints.setdefault(level, []).append(hint["text"] or "")
            continue
        if END_TODO.match(line):
            if not open_todo:
                raise ValueError(f"{where}: 짝이 없는 END TODO")
            if not code_seen:
                raise ValueError(f"{where}: TODO {open_todo.todo_id} 영역에 답 코드가 없습니다")
            open_todo.end = number
            open_todo = None
            continue
        if BEGIN_ONLY.match(line):
            if open_todo or only_start:
                raise ValueError(f"{where}: 마커가 겹칩니다")
            only_start = number
            continue
        if END_ONLY.match(line):
            if not only_start:
                raise ValueError(f"{where}: 짝이 없는 END SOLUTION ONLY")
            only.append((only_start, number))
            only_start = 0
            continue
        if open_todo and line.strip() and not line.strip().startswith("#"):
            code_seen = True
    if open_todo or only_start:
        raise ValueError(f"{origin}: 닫히지 않은 마커가 있습니다")
    return regions, only


# --- what a region must define ------------------------------------------------------------------

def _span(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.end_lineno


def _inside(node: ast.AST, begin: int, end: int) -> bool:
    first, last = _span(node)
    return begin < first and last < end


def _enclosing(tree: ast.AST, begin: int, end: int, kinds) -> list[ast.AST]:
    """Nodes of the given kinds that contain the region, outermost first (the END line may follow
    the node's last statement, so the BEGIN line decides)."""
    return [node for node in ast.walk(tree) if isinstance(node, kinds)
            and node.lineno < begin < node.end_lineno]


def _region_statements(function: ast.AST, begin: int, end: int) -> list[ast.stmt]:
    """The statements of the region at its own nesting level (the ones written right under BEGIN)."""
    for node in ast.walk(function):
        for name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                inside = [s for s in block if isinstance(s, ast.stmt) and _inside(s, begin, end)]
                if inside:
                    return inside
    return []


def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _placeholder(tree: ast.AST, region: _Region, origin: str) -> tuple[str, str]:
    """The student's placeholder line for a region and the enclosing function's name."""
    functions = _enclosing(tree, region.begin, region.end, (ast.FunctionDef, ast.AsyncFunctionDef))
    if not functions:
        raise ValueError(f"{origin}:{region.begin}: TODO {region.todo_id} 영역은 함수 안에 있어야 합니다")
    function = functions[-1]
    statements = _region_statements(function, region.begin, region.end)
    if not statements:
        raise ValueError(f"{origin}:{region.begin}: TODO {region.todo_id} 영역에 답 코드가 없습니다")
    call = f'todo("{region.todo_id}")'
    if isinstance(statements[-1], ast.Return):
        return f"return {call}", function.name

    stores: dict[str, tuple[int, int]] = {}   # name -> first assignment inside the region
    targets: list[str] = []                   # what the placeholder assigns, in order
    loads_after, loads_in_loop = set(), set()
    loops = [loop for loop in _enclosing(function, region.begin, region.end, (ast.For, ast.While, ast.AsyncFor))
             if loop is not function]
    loop_first = min((loop.lineno for loop in loops), default=None)
    for node in ast.walk(function):
        if not isinstance(node, ast.Name):
            continue
        inside = region.begin < node.lineno < region.end
        if inside and isinstance(node.ctx, ast.Store):
            if node.id not in stores or _position(node) < stores[node.id]:
                stores[node.id] = _position(node)
        elif isinstance(node.ctx, ast.Load):
            if node.lineno > region.end:
                loads_after.add(node.id)
            elif loop_first is not None and loop_first <= node.lineno < region.end:
                loads_in_loop.add((node.id, _position(node)))
    for name, first_store in sorted(stores.items(), key=lambda item: item[1]):
        read_again = any(n == name and (pos < (region.begin, 0) or pos <= first_store)
                         for n, pos in loads_in_loop)  # loop-carried: read before this pass assigns it
        if name in loads_after or read_again:
            targets.append(name)
    for statement in statements:  # an item of an outer container filled in, e.g. results[t] = ...
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            for target in getattr(statement, "targets", [getattr(statement, "target", None)]):
                base = target
                while isinstance(base, (ast.Subscript, ast.Attribute)):
                    base = base.value
                if target is not base and isinstance(base, ast.Name) and base.id not in stores:
                    targets.append(ast.unparse(target))
    return (f"{', '.join(targets)} = {call}" if targets else call), function.name


def read_todos(solution_source: str, step: int, origin: str = "solution") -> list[Todo]:
    """The TODO regions of a solution file with their hints and placeholder lines."""
    regions, _ = _scan(solution_source, step, origin)
    tree = ast.parse(solution_source, origin) if regions else None
    todos = []
    for region in regions:
        placeholder, function = _placeholder(tree, region, origin)
        hints = tuple("\n".join(region.hints[level]) for level in sorted(region.hints))
        todos.append(Todo(region.todo_id, region.hint, region.begin, region.end, hints, placeholder, function))
    return todos


def _import_line(solution_source: str) -> int:
    """The last line of the last top-level import before the first function or class (0 if none)."""
    last = 0
    for node in ast.parse(solution_source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            break
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node.end_lineno
    return last


def make_student_source(solution_source: str, step: int, origin: str = "solution") -> tuple[str, list[Todo]]:
    """Return the student version of a solution file and the TODOs it contains."""
    todos = read_todos(solution_source, step, origin)
    _, only = _scan(solution_source, step, origin)
    by_begin = {t.line: t for t in todos}
    skipped = {n for t in todos for n in range(t.line, t.end_line + 1)}
    skipped |= {n for first, last in only for n in range(first, last + 1)}
    lines = solution_source.splitlines(keepends=True)
    import_after = _import_line(solution_source) if todos else 0
    merged_import = False
    out: list[str] = [banner(step)]
    for number, line in enumerate(lines, start=1):
        todo = by_begin.get(number)
        if todo:
            indent = BEGIN_TODO.match(line)["indent"]
            out += hint_comment(indent, todo.todo_id, todo.hint)
            out.append(f"{indent}{todo.placeholder}\n")
            continue
        if number in skipped:
            continue
        if todos and not merged_import and RUN_MAIN_IMPORT.match(line):
            line = line.rstrip("\n").rstrip() + ", todo\n"
            merged_import = True
        out.append(line)
        if number == import_after and todos and not merged_import and not any(
                RUN_MAIN_IMPORT.match(later) for later in lines[number:]):
            out.append(TODO_IMPORT)
            merged_import = True
    if todos and not merged_import:  # a file without imports: the first line after the banner
        out.insert(1, TODO_IMPORT)
    source = "".join(out)
    compile(source, origin, "exec")  # the student file must always be valid Python
    return source, todos


def list_todos(step: int, root: Path = ROOT) -> list[Todo]:
    path = solution_path(step, root)
    return read_todos(path.read_text(encoding="utf-8"), step, str(path))


def all_todos(root: Path = ROOT) -> dict[str, Todo]:
    """Every TODO of every step, by id."""
    return {t.todo_id: t for step in STEP_FILES if solution_path(step, root).exists()
            for t in list_todos(step, root)}


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
