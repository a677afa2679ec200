"""Single source of truth: student files are generated from the solutions and stay in sync; tiered
hints never give the answer away at level 1; scaffolds name what each region must define."""

import ast
import re
import textwrap

import jupytext
import pytest

from kogpt2_course.grading import exercises, grader, hints
from kogpt2_course.grading.exercises import ROOT, STEP_FILES, list_todos, make_student_source, solution_path
from kogpt2_course.grading.script_runner import run_main, todo


def test_committed_student_files_match_the_generator():
    stale = exercises.generate(check=True)
    assert not stale, f"다시 생성하세요 (python -m kogpt2_course make-exercises): {stale}"


SOLUTION = '''import torch


def f(x):
    y = 1
    # BEGIN TODO 9-1: x에 1을 더한 값을 y로 두세요
    # HINT 2: 덧셈
    # HINT 3: y = x + 1
    y = x + 1
    # END TODO
    return y


def loop(n, tokens):
    out, last = [], None
    results = {}
    for i in range(n):
        # BEGIN TODO 9-2: 반복 안의 영역
        step = (last or 0) + i
        last = step
        out.append(step)
        results[i] = step
        # END TODO
    return out


def g():
    # BEGIN SOLUTION ONLY
    secret = 42
    # END SOLUTION ONLY
    return 0


def h(a):
    # BEGIN TODO 9-3: 값을 돌려주세요
    # HINT 2: 두 배
    # HINT 3: if a:
    # HINT 3:     return a * 2
    if a:
        return a * 2
    return 0
    # END TODO


def k(table):
    # BEGIN TODO 9-4: 표의 칸을 채우세요
    table["x"] = 1
    # END TODO
    print(table)
'''


def load_student(source, tmp_path):
    path = tmp_path / "student.py"
    path.write_text(source, encoding="utf-8")
    namespace = {"__name__": "student"}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def test_regions_become_honest_placeholders(tmp_path):
    student, todos = make_student_source(SOLUTION, 9)
    assert [t.todo_id for t in todos] == ["9-1", "9-2", "9-3", "9-4"]
    assert "x + 1" not in student and "secret" not in student and "HINT" not in student, "답과 HINT 줄은 빠져야 합니다"
    assert "from kogpt2_course.grading.script_runner import todo" in student
    placeholders = [t.placeholder for t in todos]
    # the names the function reads afterwards (and loop-carried ones), a return, an outer container's item
    assert placeholders == ['y = todo("9-1")', 'last, results[i] = todo("9-2")', 'return todo("9-3")',
                            'table[\'x\'] = todo("9-4")']
    assert all(p in student for p in placeholders)
    assert [t.hints for t in todos][:3] == [("덧셈", "y = x + 1"), (), ("두 배", "if a:\n    return a * 2")]
    namespace = load_student(student, tmp_path)
    with pytest.raises(NotImplementedError, match=r"TODO 9-1 미완성.*x에 1을 더한 값을 y로 두세요"):
        namespace["f"](1)
    assert namespace["g"]() == 0


def test_student_files_have_no_unreachable_code_and_no_answers():
    for step, name in STEP_FILES.items():
        source = (ROOT / name).read_text(encoding="utf-8")
        assert "raise NotImplementedError" not in source, f"{name}: todo(...) 자리 표시를 쓰세요"
        for node in ast.walk(ast.parse(source)):
            for block in ("body", "orelse", "finalbody"):
                statements = getattr(node, block, None)
                if not isinstance(statements, list):
                    continue
                for before, after in zip(statements, statements[1:]):
                    assert not isinstance(before, (ast.Return, ast.Raise)), \
                        f"{name}:{after.lineno}: return/raise 뒤의 코드는 실행되지 않습니다"
        for todo_ in list_todos(step):
            assert re.search(rf"# TODO {todo_.todo_id}: .*\n(\s*#   .*\n)*\s*{re.escape(todo_.placeholder)}\n", source), \
                f"{name}: TODO {todo_.todo_id}의 주석 바로 아래에 {todo_.placeholder!r}가 있어야 합니다"


def test_long_hints_wrap_and_the_message_keeps_the_whole_hint(tmp_path):
    hint = "아주 긴 힌트 문장입니다 " * 20
    source = f"import os\n\n\ndef f():\n    # BEGIN TODO 9-1: {hint}\n    x = 1\n    # END TODO\n    return x\n"
    student, _ = make_student_source(source, 9)
    comment = [line for line in student.splitlines() if line.lstrip().startswith("#") and "힌트" in line]
    assert len(comment) > 2 and all(len(line) < 80 for line in comment)
    with pytest.raises(NotImplementedError) as error:
        load_student(student, tmp_path)["f"]()
    assert " ".join(hint.split()) in str(error.value) and "hint 9-1" in str(error.value)


@pytest.mark.parametrize("bad,problem", [
    ("# BEGIN TODO 9-1: 모듈 수준\nx = 1\n# END TODO\n", "함수 안"),
    ("def f():\n    # BEGIN TODO 9-1: 닫히지 않음\n    return 1\n", "닫히지 않은"),
    ("def f():\n    # BEGIN TODO 8-1: 다른 단계 번호\n    return 1\n    # END TODO\n", "9-"),
    ("def f():\n    return 1\n    # END TODO\n", "짝이 없는"),
    ("def f():\n    # BEGIN TODO 9-1: 힌트\n    x = 1\n    # HINT 2: 코드 뒤\n    return x\n    # END TODO\n", "HINT 줄은"),
    ("def f():\n    # BEGIN TODO 9-1: 힌트\n    # HINT 3: 건너뜀\n    return 1\n    # END TODO\n", "HINT 단계"),
    ("def f():\n    # HINT 2: 영역 밖\n    return 1\n", "HINT 줄은"),
    ("def f():\n    # BEGIN TODO 9-1: 힌트\n    # END TODO\n    return 1\n", "답 코드가 없습니다"),
])
def test_marker_mistakes_are_reported(bad, problem):
    with pytest.raises(ValueError, match=problem):
        make_student_source(bad, 9)


def test_every_todo_is_graded_by_a_test():
    for step in STEP_FILES:
        todos = {t.todo_id for t in list_todos(step)}
        tested = set()
        for path in (ROOT / "tests").glob(f"test_step{step}_*.py"):
            tested |= set(re.findall(r'mark\.todo\("(\d+-\d+)"', path.read_text(encoding="utf-8")))
        assert todos <= tested, f"Step {step}: 테스트가 없는 TODO {sorted(todos - tested)}"
        assert tested <= todos, f"Step {step}: 없는 TODO를 채점하는 테스트 {sorted(tested - todos)}"


# --- level-1 hints must not give the answer away ---------------------------------------------------

# TODO id -> why its level-1 hint may contain an answer fragment (keep this list short).
LEVEL1_ANSWER_ALLOWED: dict[str, str] = {}
MIN_FRAGMENT = 8  # shorter fragments ('-1', 'break', 'k') are words any explanation may use


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", text).replace('"', "'")


def answer_fragments(todo_) -> set[str]:
    """The answer's statements, their right-hand sides, its calls with arguments, its keyword arguments
    and its conditions."""
    lines = solution_path(int(todo_.todo_id.split("-")[0])).read_text(encoding="utf-8").splitlines()
    code = [line for line in lines[todo_.line:todo_.end_line - 1] if not line.strip().startswith("#")]
    tree = ast.parse(textwrap.dedent("\n".join(code)))
    fragments = set()
    for node in ast.walk(tree):
        parts = []
        if isinstance(node, ast.stmt) and not hasattr(node, "body"):
            parts.append(node)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr)) and node.value:
            parts.append(node.value)
        if isinstance(node, ast.Call) and (node.args or node.keywords):
            parts.append(node)
        if isinstance(node, ast.keyword) and node.arg:
            fragments.add(normalise(f"{node.arg}={ast.unparse(node.value)}"))
        if isinstance(node, (ast.If, ast.While)):
            parts.append(node.test)
        if isinstance(node, ast.For):
            parts.append(node.iter)
        if isinstance(node, ast.With):
            parts += [item.context_expr for item in node.items]
        fragments |= {normalise(ast.unparse(p)) for p in parts}
    return {f for f in fragments if len(f) >= MIN_FRAGMENT}


def test_answer_fragments_see_statements_calls_and_conditions():
    todo_ = next(t for t in list_todos(1) if t.todo_id == "1-4")
    fragments = answer_fragments(todo_)
    assert "torch.no_grad()" in fragments and "torch.ones_like(input_ids)" in fragments
    assert any(f.startswith("model.generate(input_ids,") for f in fragments)


@pytest.mark.parametrize("step", sorted(STEP_FILES))
def test_level1_hints_do_not_contain_the_answer(step):
    for todo_ in list_todos(step):
        assert todo_.levels >= 3, f"TODO {todo_.todo_id}: '# HINT 2:'(함수와 인자)와 '# HINT 3:'(식) 줄이 필요합니다"
        if todo_.todo_id in LEVEL1_ANSWER_ALLOWED:
            continue
        hint = normalise(todo_.hint)
        leaked = sorted(f for f in answer_fragments(todo_) if f in hint)
        assert not leaked, (f"TODO {todo_.todo_id}의 1단계 힌트에 답이 들어 있습니다: {leaked} — 1단계는 목표·개념·"
                            f"찾아볼 곳만, 함수와 인자는 HINT 2, 식은 HINT 3에 쓰세요")


# --- the hint command --------------------------------------------------------------------------------

def test_hint_command_climbs_one_level_per_call_and_remembers_per_folder(tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    todo_ = next(t for t in list_todos(2) if t.todo_id == "2-4")
    first = hints.next_hint("2-4", tmp_path)
    assert "힌트 2/3" in first and todo_.hints[0] in first
    second = hints.next_hint("2-4", tmp_path)
    assert "힌트 3/3" in second and all(line in second for line in todo_.hints[1].splitlines())
    assert todo_.placeholder in second and "힌트 3/3" in hints.next_hint("2-4", tmp_path), "마지막 단계에 머뭅니다"
    assert hints.seen_levels(tmp_path) == {"2-4": 3} and hints.seen_levels(other) == {}
    assert "힌트 2/3" in hints.next_hint("2-4", other), "폴더마다 따로 기억합니다"
    assert "힌트 1/3" in hints.next_hint("2-4", tmp_path, level=1) and hints.seen_levels(tmp_path)["2-4"] == 3
    assert "2-4    3/3" in hints.summary(tmp_path)
    for bad, message in (("9-9", "없습니다"), ("24", "단계-번호")):
        with pytest.raises(hints.HintError, match=message):
            hints.next_hint(bad, tmp_path)
    with pytest.raises(hints.HintError, match="1~3단계"):
        hints.next_hint("2-4", tmp_path, level=4)
    (other / hints.STATE_FILE).write_text("{망가진 파일", encoding="utf-8")
    assert hints.seen_levels(other) == {} and "힌트 2/3" in hints.next_hint("1-1", other)
    with pytest.raises(hints.HintError, match="solutions/ 폴더가 없습니다"):
        hints.next_hint("2-4", tmp_path, todos={})
    assert grader.hint_line(hints.seen_levels(tmp_path)) == "힌트를 본 TODO: 2-4(3단계)"
    assert grader.hint_line({}) == "힌트를 본 TODO: 없음"


def test_hint_cli_reports_mistakes_in_korean(tmp_path, capsys):
    from kogpt2_course.__main__ import main

    assert main(["hint", "1-3", "--course-dir", str(tmp_path)]) == 0
    assert "힌트 2/3" in capsys.readouterr().out
    assert main(["hint", "1-99", "--course-dir", str(tmp_path)]) == 2
    assert "오류: TODO 1-99는 없습니다" in capsys.readouterr().out
    assert main(["hint", "1-3", "--course-dir", str(tmp_path / "없는 폴더")]) == 2
    assert "힌트 기록 파일을 쓸 수 없습니다" in capsys.readouterr().out


# --- running an unfinished step -------------------------------------------------------------------------

def test_unfinished_script_prints_the_todo_in_korean(capsys):
    def main(argv):
        raise NotImplementedError("TODO 1-2 미완성: 모델을 불러오세요")

    with pytest.raises(SystemExit) as exit_info:
        run_main(main, argv=[])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "TODO 1-2" in err and "아직 완성되지 않았습니다" in err and "Traceback" not in err


def test_todo_without_a_comment_still_names_the_todo():
    with pytest.raises(NotImplementedError, match=r"^TODO 7-7 미완성 .*hint 7-7"):
        todo("7-7")


def test_other_errors_are_not_hidden():
    def main(argv):
        raise NotImplementedError("some library feature")

    with pytest.raises(NotImplementedError):
        run_main(main, argv=[])


@pytest.mark.parametrize("path", [ROOT / name for name in STEP_FILES.values()]
                         + sorted((ROOT / "solutions").glob("step*_solution.py")), ids=lambda p: p.name)
def test_every_step_opens_as_a_notebook(path):
    notebook = jupytext.read(path)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("code") >= 2 and "markdown" in kinds
