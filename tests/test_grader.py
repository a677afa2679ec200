"""The autograder bites: untouched student files score 0 with TODO reasons, and a broken,
hanging or exiting student file never stops the grading of the rest."""

import json
import shutil
import subprocess
import sys

import pytest

from kogpt2_course.grading import grader
from kogpt2_course.grading.exercises import ROOT, STEP_FILES, list_todos


def test_every_step_test_fails_on_the_untouched_student_files(tmp_path):
    """One pytest process over all step tests with --target student (the grader's plugin records them)."""
    report = tmp_path / "results.json"
    files = [str(p) for step in STEP_FILES for p in grader.step_test_files(step)]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *files, "-q", "-p", "kogpt2_course.grading.plugin",
         "--grading-json", str(report), "--target", "student", "--timeout=60", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    results = json.loads(report.read_text(encoding="utf-8"))
    graded = [r for r in results if r["outcome"] != "skipped"]
    assert graded, proc.stdout[-2000:]
    for r in graded:
        assert r["outcome"] == "failed", f"{r['nodeid']} passed on the untouched student file"
        assert r["reason"].startswith(f"TODO {r['todo'].split('-')[0]}-"), \
            f"{r['nodeid']}: reason does not name a TODO: {r['reason']}"
    steps_seen = {int(r["todo"].split("-")[0]) for r in graded}
    assert steps_seen == {s for s in STEP_FILES if list_todos(s)}


BROKEN_STEP1_PATCHES = {
    # TODO 1-8 hangs, TODO 1-5 calls sys.exit(): both must score 0, the rest full marks
    "    seen = set()\n": "    while True:\n        pass\n    seen = set()\n",
    "    text = tokenizer.decode(token_ids, skip_special_tokens=True)\n": "    import sys\n    sys.exit(0)\n",
}


@pytest.fixture
def broken_course(tmp_path):
    """A student's copy: Step 1 filled in but with a hang and a sys.exit(); Step 2 does not parse."""
    source = (ROOT / "solutions" / "step1_solution.py").read_text(encoding="utf-8")
    for old, new in BROKEN_STEP1_PATCHES.items():
        assert old in source
        source = source.replace(old, new)
    (tmp_path / STEP_FILES[1]).write_text(source, encoding="utf-8")
    (tmp_path / STEP_FILES[2]).write_text("def broken(:\n    pass\n", encoding="utf-8")
    return tmp_path


def test_grader_survives_hangs_exits_and_syntax_errors(broken_course, tmp_path, capsys):
    results = grader.grade([1, 2], broken_course, "student", timeout_s=12, step_timeout_s=300)
    by_todo = {}
    for r in results:
        by_todo.setdefault((r.step, r.todo), []).append(r)
    assert all(r.score == 0 and "시간 제한" in r.reason for r in by_todo[(1, "1-8")])
    assert all(r.score == 0 and "sys.exit" in r.reason for r in by_todo[(1, "1-5")])
    others = [r for (step, todo), rs in by_todo.items() if step == 1 and todo not in ("1-5", "1-8") for r in rs]
    assert others and all(r.score == r.points for r in others), [(r.todo, r.reason) for r in others]
    step2 = [r for r in results if r.step == 2 and not r.skipped]
    assert step2 and all(r.score == 0 and r.reason.startswith("TODO 2-") for r in step2)
    assert any("SyntaxError" in r.reason for r in step2)

    table = grader.format_table(results)
    assert "Step 1 합계" in table and "총점" in table
    doc = grader.gradescope_json(results)
    assert doc["score"] == sum(r.score for r in results if not r.skipped)
    assert doc["max_score"] > doc["score"] > 0
    assert all({"name", "score", "max_score", "output"} <= set(t) for t in doc["tests"])
