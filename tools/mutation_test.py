"""Mutation testing of the grader: mutate the answer regions of a solution, rerun the step's tests.

Every TODO region of ``solutions/stepN_solution.py`` gets small, plausible mistakes, one at a time:
a comparison or arithmetic operator swapped, a number off by one (or -1 <-> 0 as an index), a
keyword argument dropped, an argument replaced by None, a statement deleted, a returned value
replaced by None, True <-> False, ``and`` <-> ``or``, min <-> max, argmax <-> argmin, ones_like <->
zeros_like, a string emptied. A mutant is *killed* when at least one of the step's graded tests fails
on it; the score is killed / (killed + survived). Mutants that do not compile are not counted.

One process per step imports torch, transformers and Lightning once (by importing the solution and
collecting the step's tests), then runs pytest for each mutant in a forked child (``os.fork``: the child starts with everything
imported, and a mutant that hangs, crashes or exits cannot harm the next one). The tests of the
mutated TODO run first and the first failure stops the child (``-x``), so a killed mutant costs a
second or two. Tests marked ``solution_only`` are left out (students' files have no such code).

    nice -n 10 python tools/mutation_test.py --step 1                 # one step
    nice -n 10 python tools/mutation_test.py --step 4 --todo 4-6      # one TODO
    python tools/mutation_test.py --step 2 --list                     # the mutants, no tests
    nice -n 10 python tools/mutation_test.py --step 3 --json outputs/mutation/step3.json
    nice -n 10 python tools/mutation_test.py --step 3 --rerun outputs/mutation/step3.json --json outputs/mutation/step3.json

The report lists every survivor with its line and change, and whether the killing test belonged to
the mutated TODO (the grader blames that TODO) or to another one.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a mutant that asks the hub for a model fails at once

from kogpt2_course.grading.exercises import STEP_FILES, list_todos, solution_path  # noqa: E402

SWAP_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
FLIP_COMPARE = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
              ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
SWAP_NAMES = {"min": "max", "max": "min", "argmax": "argmin", "argmin": "argmax", "ones_like": "zeros_like",
              "zeros_like": "ones_like", "any": "all", "all": "any", "topk": "kthvalue", "cumsum": "cumprod",
              "softmax": "log_softmax", "log": "exp", "exp": "log"}


@dataclass
class Mutant:
    todo: str
    line: int
    kind: str
    before: str
    after: str
    source: str = ""

    def label(self) -> str:
        return f"{self.todo} L{self.line} {self.kind}: {self.before} → {self.after}"


@dataclass
class Outcome:
    todo: str
    line: int
    kind: str
    before: str
    after: str
    status: str             # killed / survived / timeout / error
    killer: str = ""        # the first failing test
    killer_todo: str = ""   # its TODO
    reason: str = ""        # the grader's Korean reason
    seconds: float = 0.0


# --- making mutants ---------------------------------------------------------------------------

def _offsets(lines: list[bytes], node: ast.AST) -> tuple[int, int, int, int]:
    return node.lineno, node.col_offset, node.end_lineno, node.end_col_offset


def splice(source: str, node: ast.AST, replacement: str) -> str:
    """Replace the source text of ``node`` (AST offsets are UTF-8 byte columns) by ``replacement``."""
    lines = source.encode("utf-8").splitlines(keepends=True)
    first, col, last, end_col = _offsets(lines, node)
    head = b"".join(lines[:first - 1]) + lines[first - 1][:col]
    tail = lines[last - 1][end_col:] + b"".join(lines[last:])
    return (head + replacement.encode("utf-8") + tail).decode("utf-8")


def _number(node: ast.AST):
    """The value of a numeric literal, counting a unary minus (``-1`` is UnaryOp(USub, 1) in the AST)."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) in (int, float):
        return -node.operand.value
    return None


def _changed(node: ast.AST, change) -> str:
    clone = copy.deepcopy(node)
    change(clone)
    return ast.unparse(clone)


def node_mutations(node: ast.AST, parents: dict) -> list[tuple]:
    """(kind, node to replace, replacement source[, shown before, shown after]) for one node."""
    out = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for table, kind in ((SWAP_COMPARE, "비교 연산자"), (FLIP_COMPARE, "비교 방향")):
                if type(op) in table:
                    out.append((kind, node, _changed(node, lambda n, i=i, t=table: n.ops.__setitem__(i, t[type(n.ops[i])]()))))
    elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAP_BINOP:
        out.append(("산술 연산자", node, _changed(node, lambda n: setattr(n, "op", SWAP_BINOP[type(n.op)]()))))
    elif isinstance(node, ast.BoolOp):
        swapped = ast.Or if isinstance(node.op, ast.And) else ast.And
        out.append(("and/or", node, _changed(node, lambda n: setattr(n, "op", swapped()))))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("not 삭제", node, ast.unparse(node.operand)))
    number = _number(node)
    if number is not None and not isinstance(parents.get(id(node)), ast.UnaryOp):
        if isinstance(number, bool):
            pass
        elif isinstance(number, int):
            for value in sorted({number + 1, number - 1} | ({0} if number == -1 else set()) | ({-1} if number == 0 else set())):
                out.append(("상수 ±1" if abs(value - number) == 1 else "인덱스 -1↔0", node, repr(value)))
        else:
            for value in (number * 0.5, number * 1.5):
                out.append(("실수 상수", node, repr(round(value, 6))))
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            out.append(("True/False", node, repr(not node.value)))
        elif isinstance(node.value, str) and node.value and not isinstance(parents.get(id(node)), ast.JoinedStr):
            out.append(("문자열 비움", node, "''"))
    if isinstance(node, ast.Call):
        for i, keyword in enumerate(node.keywords):
            if keyword.arg is None:
                continue
            shown = ast.unparse(keyword)
            out.append(("키워드 인자 삭제", node, _changed(node, lambda n, i=i: n.keywords.pop(i)), shown, "(없음)"))
            if not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None):
                out.append(("인자를 None으로", node,
                            _changed(node, lambda n, i=i: setattr(n.keywords[i], "value", ast.Constant(None))),
                            shown, f"{keyword.arg}=None"))
        for i, arg in enumerate(node.args):
            if not isinstance(arg, ast.Starred) and not (isinstance(arg, ast.Constant) and arg.value is None):
                out.append(("인자를 None으로", node, _changed(node, lambda n, i=i: n.args.__setitem__(i, ast.Constant(None))),
                            f"{ast.unparse(node.func)}(… {ast.unparse(arg)} …)", "None"))
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in SWAP_NAMES:
            def rename(n):
                if isinstance(n.func, ast.Attribute):
                    n.func.attr = SWAP_NAMES[name]
                else:
                    n.func.id = SWAP_NAMES[name]
            out.append(("함수 바꿈", node, _changed(node, rename)))
    if isinstance(node, ast.Return) and node.value is not None:
        out.append(("None 반환", node, "return None"))
    if isinstance(node, ast.stmt) and not isinstance(node, (ast.Pass, ast.Return)):
        out.append(("문장 삭제", node, "pass"))
    return out


def make_mutants(step: int, todo_filter: str | None = None) -> list[Mutant]:
    source = solution_path(step).read_text(encoding="utf-8")
    tree = ast.parse(source)
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    mutants, seen = [], {source}
    for todo in list_todos(step):
        if todo_filter and todo.todo_id != todo_filter:
            continue
        for node in ast.walk(tree):
            if not hasattr(node, "lineno") or not (todo.line < node.lineno and node.end_lineno < todo.end_line):
                continue
            for kind, target, replacement, *shown in node_mutations(node, parents):
                before = ast.get_source_segment(source, target) or ast.unparse(target)
                before, after = shown if shown else (before, replacement)
                mutated = splice(source, target, replacement)
                if mutated in seen:
                    continue
                seen.add(mutated)
                try:
                    compile(mutated, "mutant", "exec")
                except SyntaxError:
                    continue
                mutants.append(Mutant(todo.todo_id, target.lineno, kind, " ".join(before.split())[:90],
                                      " ".join(after.split())[:90], mutated))
    return mutants


# --- running the tests on a mutant --------------------------------------------------------------

class FirstTheMutatedTodo:
    """pytest plugin: leave out solution-only tests, run the mutated TODO's tests first."""

    def __init__(self, todo: str):
        self.todo = todo

    def pytest_collection_modifyitems(self, config, items):
        kept = [item for item in items if not item.get_closest_marker("solution_only")]

        def key(item):
            marker = item.get_closest_marker("todo")
            return 0 if marker and marker.args[0] == self.todo else 1

        kept.sort(key=key)
        deselected = [item for item in items if item not in kept]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def run_tests(step: int, source: str, todo: str, per_test_timeout: float, limit_s: float) -> tuple[str, dict, float]:
    """Run the step's tests on ``source`` in a forked child. Returns (status, first failure, seconds)."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        course = Path(tmp)
        (course / "solutions").mkdir()
        solution_file = course / "solutions" / f"step{step}_solution.py"
        solution_file.write_text(source, encoding="utf-8")
        results = course / "results.json"
        files = [str(p) for p in sorted((ROOT / "tests").glob(f"test_step{step}_*.py"))]
        args = [*files, "-q", "-x", "-p", "no:cacheprovider", "-p", "kogpt2_course.grading.plugin",
                "--grading-json", str(results), "--target", "solution", "--course-dir", str(course),
                f"--timeout={per_test_timeout}", "-o", "timeout_func_only=true", "--rootdir", str(ROOT),
                "-W", "ignore"]
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # child
            code = 3
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                os.chdir(ROOT)
                import pytest
                import torch

                torch.set_num_threads(1)
                code = int(pytest.main(args, plugins=[FirstTheMutatedTodo(todo)]))
            finally:
                os._exit(code)
        status = None
        while True:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > limit_s:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = "timeout"
                break
            time.sleep(0.05)
        seconds = time.monotonic() - start
        recorded = json.loads(results.read_text(encoding="utf-8")) if results.exists() else []
    failed = [r for r in recorded if r["outcome"] == "failed"]
    if status is None:
        exit_code = os.waitstatus_to_exitcode(code)
        status = "survived" if exit_code == 0 else "killed" if failed or exit_code == 1 else "error"
    return status, (failed[0] if failed else {}), seconds


def warm_up(step: int) -> None:
    """Import everything the step and its tests need, once, in this process: forked children inherit it."""
    import importlib.util
    import io
    from contextlib import redirect_stderr, redirect_stdout

    import pytest

    sys.path.insert(0, str(ROOT / "tests"))
    spec = importlib.util.spec_from_file_location(f"warm_step{step}", solution_path(step))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the solution (Step 6) look their module up there
    spec.loader.exec_module(module)
    files = [str(p) for p in sorted((ROOT / "tests").glob(f"test_step{step}_*.py"))]
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):  # plugins, conftest, test modules
        pytest.main([*files, "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "kogpt2_course.grading.plugin",
                     "--rootdir", str(ROOT)])


def _key(o) -> tuple:
    return o.todo, o.kind, o.before, o.after


def run_step(step: int, todo_filter: str | None, per_test_timeout: float, json_path: str | None,
             rerun: str | None = None) -> list[Outcome]:
    mutants = make_mutants(step, todo_filter)
    kept: list[Outcome] = []
    if rerun:  # run again only what survived (or errored) last time; keep the other outcomes
        previous = [Outcome(**o) for o in json.loads(Path(rerun).read_text(encoding="utf-8"))["outcomes"]]
        again = {_key(o) for o in previous if o.status in ("survived", "error")}
        known = {_key(o) for o in previous}
        kept = [o for o in previous if _key(o) not in again and _key(o) in {_key(m) for m in mutants}]
        mutants = [m for m in mutants if _key(m) in again or _key(m) not in known]
    warm_up(step)
    print(f"Step {step}: 변이 {len(mutants)}개", flush=True)
    original = solution_path(step).read_text(encoding="utf-8")
    status, failure, baseline = run_tests(step, original, "", per_test_timeout, 1800)
    if status != "survived":
        raise SystemExit(f"정답 파일이 자기 테스트를 통과하지 못합니다: {status} {failure}")
    limit = max(120.0, 4 * baseline)
    print(f"  정답 파일 테스트 {baseline:.1f}초 (변이 하나의 시간 제한 {limit:.0f}초)", flush=True)
    outcomes = list(kept)
    for number, mutant in enumerate(mutants, start=1):
        status, failure, seconds = run_tests(step, mutant.source, mutant.todo, per_test_timeout, limit)
        outcome = Outcome(mutant.todo, mutant.line, mutant.kind, mutant.before, mutant.after, status,
                          failure.get("nodeid", ""), failure.get("todo", ""), failure.get("reason", ""),
                          round(seconds, 1))
        outcomes.append(outcome)
        mark = {"killed": "✓", "timeout": "✓", "survived": "✗", "error": "!"}[status]
        print(f"  [{number}/{len(mutants)}] {mark} {mutant.label()} ({seconds:.1f}초)"
              + (f" ← {outcome.killer_todo}: {outcome.reason[:100]}" if status == "killed" else ""), flush=True)
        if json_path:
            write_json(json_path, step, outcomes)
    return outcomes


def summarise(step: int, outcomes: list[Outcome]) -> str:
    counted = [o for o in outcomes if o.status in ("killed", "timeout", "survived")]
    killed = [o for o in counted if o.status != "survived"]
    other_todo = [o for o in killed if o.killer_todo and o.killer_todo != o.todo]
    errors = [o for o in outcomes if o.status == "error"]
    share = 100 * len(killed) / len(counted) if counted else 100.0
    lines = [f"Step {step}: 죽인 변이 {len(killed)}/{len(counted)} ({share:.1f}%)"
             + (f", 다른 TODO의 테스트가 잡은 것 {len(other_todo)}개" if other_todo else "")
             + (f", 실행 오류 {len(errors)}개" if errors else "")]
    for o in counted:
        if o.status == "survived":
            lines.append(f"  살아남음: {o.todo} L{o.line} {o.kind}: {o.before} → {o.after}")
    for o in other_todo:
        lines.append(f"  다른 TODO가 잡음: {o.todo} L{o.line} {o.kind}: {o.before} → {o.after} (잡은 테스트: {o.killer_todo})")
    return "\n".join(lines)


def summary_table(paths: list[str]) -> str:
    """A markdown table: per step, mutants killed / counted, and how many a test of another TODO caught."""
    rows = ["| 단계 | 죽인 변이 / 전체 | 비율 | 다른 TODO의 테스트가 잡음 | 살아남음 |", "|---|---|---|---|---|"]
    all_killed = all_counted = 0
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        outcomes = [Outcome(**o) for o in data["outcomes"]]
        counted = [o for o in outcomes if o.status in ("killed", "timeout", "survived")]
        killed = [o for o in counted if o.status != "survived"]
        elsewhere = [o for o in killed if o.killer_todo and o.killer_todo != o.todo
                     and not o.reason.startswith(f"TODO {o.todo}")]
        all_killed, all_counted = all_killed + len(killed), all_counted + len(counted)
        rows.append(f"| {data['step']} | {len(killed)}/{len(counted)} | {100 * len(killed) / max(1, len(counted)):.1f}% | "
                    f"{len(elsewhere)} | {len(counted) - len(killed)} |")
    rows.append(f"| 전체 | {all_killed}/{all_counted} | {100 * all_killed / max(1, all_counted):.1f}% | | "
                f"{all_counted - all_killed} |")
    return "\n".join(rows)


def write_json(path: str, step: int, outcomes: list[Outcome]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"step": step, "outcomes": [asdict(o) for o in outcomes]},
                                     ensure_ascii=False, indent=1), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="정답의 TODO 영역을 변이시켜 채점 테스트가 잡아내는지 잽니다",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--step", type=int, default=None, choices=sorted(STEP_FILES), help="변이시킬 단계")
    parser.add_argument("--todo", default=None, help="이 TODO(예: 1-4)만 변이시킵니다")
    parser.add_argument("--list", action="store_true", help="테스트 없이 변이 목록만 보여 줍니다")
    parser.add_argument("--timeout", type=float, default=60.0, help="테스트 하나의 시간 제한(초)")
    parser.add_argument("--json", default=None, help="결과를 저장할 JSON 파일")
    parser.add_argument("--rerun", default=None,
                        help="이전 결과 JSON: 거기서 살아남은(또는 새로 생긴) 변이만 다시 돌리고 나머지 결과는 그대로 씁니다")
    parser.add_argument("--summary", nargs="+", default=None, metavar="JSON",
                        help="저장된 결과 JSON들을 읽어 단계별 표(마크다운)만 출력합니다")
    args = parser.parse_args(argv)
    if args.summary:
        print(summary_table(args.summary))
        return 0
    if args.step is None:
        parser.error("--step이 필요합니다 (또는 --summary)")
    if args.list:
        for mutant in make_mutants(args.step, args.todo):
            print(mutant.label())
        return 0
    outcomes = run_step(args.step, args.todo, args.timeout, args.json, args.rerun)
    print(summarise(args.step, outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
