"""Single source of truth: student files are generated from the solutions and stay in sync."""

import re
from pathlib import Path

import jupytext
import pytest

from kogpt2_course.grading import exercises
from kogpt2_course.grading.exercises import ROOT, STEP_FILES, list_todos, make_student_source
from kogpt2_course.grading.script_runner import run_main


def test_committed_student_files_match_the_generator():
    stale = exercises.generate(check=True)
    assert not stale, f"다시 생성하세요 (python -m kogpt2_course make-exercises): {stale}"


def test_todo_regions_become_placeholders_that_import_and_raise():
    solution = (
        "def f(x):\n"
        "    y = 1\n"
        "    # BEGIN TODO 9-1: x에 1을 더하세요\n"
        "    y = x + 1\n"
        "    # END TODO\n"
        "    return y\n"
        "def g():\n"
        "    # BEGIN SOLUTION ONLY\n"
        "    secret = 42\n"
        "    # END SOLUTION ONLY\n"
        "    return 0\n"
    )
    student, todos = make_student_source(solution, 9)
    assert [t.todo_id for t in todos] == ["9-1"] and "x + 1" not in student and "secret" not in student
    namespace = {}
    exec(compile(student, "student", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="TODO 9-1"):
        namespace["f"](1)
    assert namespace["g"]() == 0


@pytest.mark.parametrize("bad,problem", [
    ("# BEGIN TODO 9-1: 모듈 수준\nx = 1\n# END TODO\n", "함수 안"),
    ("def f():\n    # BEGIN TODO 9-1: 닫히지 않음\n    return 1\n", "닫히지 않은"),
    ("def f():\n    # BEGIN TODO 8-1: 다른 단계 번호\n    return 1\n    # END TODO\n", "9-"),
    ("def f():\n    return 1\n    # END TODO\n", "짝이 없는"),
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


def test_unfinished_script_prints_the_todo_in_korean(capsys):
    def main(argv):
        raise NotImplementedError("TODO 1-2 미완성: 모델을 불러오세요")

    with pytest.raises(SystemExit) as exit_info:
        run_main(main, argv=[])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "TODO 1-2" in err and "아직 완성되지 않았습니다" in err and "Traceback" not in err


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
