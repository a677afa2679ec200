"""grade-class on a small class (Step 1): the gradebook, per-student JSON, report and heat map; an
interrupted run resumes; broken submissions cost points, never the run; scores equal ``grade``'s.

The class is graded in children forked from this test process (``warm_worker=False``: the libraries
are already imported here); the worker's own loop (``worker.serve``) is driven through a pipe. The
one subprocess is the reference: ``grade``'s own run of Step 1 for one student, run in a thread
while the class is graded."""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import os
import threading
import zipfile

import pytest

from kogpt2_course.grading import classroom, gradebook, grader, worker
from kogpt2_course.grading.exercises import ROOT, STEP_FILES, list_todos
from kogpt2_course.grading.sample_class import make_submission, patched
from kogpt2_course.grading.script_runner import run_main

STEP1 = STEP_FILES[1]
STEP_TIMEOUT_S = 120.0
# A student who got some TODOs wrong and whose loop ends the interpreter (os._exit): TODO 1-5
# keeps the special tokens, TODO 1-6's code exits the process, so the tests after it never run.
WRONG_STEP1 = [
    ("    text = tokenizer.decode(token_ids, skip_special_tokens=True)\n", "    text = tokenizer.decode(token_ids)\n"),
    ("            outputs = model(input_ids=next_input, past_key_values=past_key_values, use_cache=True)\n",
     "            import os\n            os._exit(7)\n"),
]


@pytest.fixture(scope="module", autouse=True)
def warm(tiny_model, tiny_tokenizer):
    """The children are forked from this process: import and load once here, as the worker does
    (hypothesis, where installed, is imported by its pytest plugin at the end of every pytest run)."""
    if importlib.util.find_spec("hypothesis") is not None:
        importlib.import_module("hypothesis")


def make_class(root):
    make_submission(root / "c_solution", "solution", [1])
    make_submission(root / "d_untouched", "untouched", [1])
    wrong = root / "e_wrong"
    wrong.mkdir()
    source = (ROOT / "solutions" / "step1_solution.py").read_text(encoding="utf-8")
    (wrong / STEP1).write_text(patched(source, WRONG_STEP1, "e_wrong"), encoding="utf-8")
    with zipfile.ZipFile(root / "b_syntax.zip", "w") as archive:  # a zip with a folder inside
        archive.writestr(f"my_course/{STEP1}", "def load_tokenizer(:\n    pass\n")
    (root / "a_empty").mkdir()  # nothing handed in
    (root / "notes.txt").write_text("not a student", encoding="utf-8")


class Interrupt(KeyboardInterrupt):
    pass


def grade_interrupted_then_resumed(submissions, out, monkeypatch):
    """Ctrl+C once two steps are saved (one task at a time), then the same command again (two at a time)."""
    saved = []
    real_write = classroom.write_json_atomic

    def write_then_interrupt(path, data):
        real_write(path, data)
        saved.append(path.parent.name)
        if len(saved) == 2:
            raise Interrupt()

    with monkeypatch.context() as patch:
        patch.setattr(classroom, "write_json_atomic", write_then_interrupt)
        with pytest.raises(Interrupt):
            classroom.grade_class(submissions, out, [1], jobs=1, step_timeout_s=STEP_TIMEOUT_S, progress=False,
                                  warm_worker=False)
    run = classroom.grade_class(submissions, out, [1], jobs=2, step_timeout_s=STEP_TIMEOUT_S, progress=False,
                                warm_worker=False)
    return run, sorted(saved)


def check_resume(out, run, first):
    assert [s.student for s in run.submissions] == ["a_empty", "b_syntax", "c_solution", "d_untouched", "e_wrong"]
    assert first == ["a_empty", "b_syntax"]  # saved before Ctrl+C ...
    assert (run.resumed, run.graded) == (2, 3)  # ... so the rerun graded only the other three
    syntax = next(s for s in run.submissions if s.student == "b_syntax")
    assert syntax.course_dir.name == "my_course"  # the step file one folder down in the zip
    tasks, done = classroom.plan(run.submissions, [1], out, 60.0, STEP_TIMEOUT_S)
    assert (tasks, done) == ([], 5)
    tasks, done = classroom.plan(run.submissions, [1], out, 60.0, STEP_TIMEOUT_S, regrade=True)
    assert (len(tasks), done) == (5, 0)
    tasks, _ = classroom.plan(run.submissions, [1], out, 30.0, STEP_TIMEOUT_S)  # other limits: graded again
    assert len(tasks) == 5


def check_outputs(out, run):
    with open(out / "gradebook.csv", encoding="utf-8-sig", newline="") as f:
        rows = {row["학생"]: row for row in csv.DictReader(f)}
    solution = next(s for s in run.submissions if s.student == "c_solution")
    full = sum(r.points for r in gradebook.load_student(out, solution, [1]).graded)
    step_column = f"Step 1 (/{full:g})"
    assert float(rows["c_solution"][step_column]) == full and float(rows["c_solution"]["총점"]) == full
    assert float(rows["d_untouched"]["총점"]) == 0
    assert 0 < float(rows["e_wrong"]["총점"]) < full
    assert "종료 코드 7" in rows["e_wrong"]["문제"]
    assert "SyntaxError" in rows["b_syntax"]["문제"] and "파일이 없습니다" in rows["a_empty"]["문제"]
    assert all(float(row["채점 시간(초)"]) > 0 for row in rows.values())

    for student, row in rows.items():
        doc = json.loads((out / "students" / student / "results.json").read_text(encoding="utf-8"))
        assert doc["score"] == float(row["총점"]) and doc["max_score"] >= 1
        assert all({"name", "score", "max_score", "output"} <= set(t) for t in doc["tests"])

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "# 학급 채점 보고서" in report and "학생 5명" in report and "![학생 × TODO 히트맵](heatmap.png)" in report
    for todo in list_todos(1):
        assert f"| {todo.todo_id} |" in report
    # TODO 1-1: the solution and e_wrong pass; the untouched, the syntax error and the empty folder fail
    assert "| 1-1 | 1 | 2/5 | 40% |" in report
    assert "TODO 1-1 미완성 (raise NotImplementedError가 남아 있음) (1명)" in report  # reasons, counted
    assert "디코딩하세요: '&lt;/s>" in report  # e_wrong's reason for TODO 1-5, escaped for Markdown
    assert "종료 코드 7" in report and "**a_empty**" in report
    html = gradebook.write_report([gradebook.load_student(out, s, [1]) for s in run.submissions], [1], out,
                                  "html", out / "heatmap.png")
    assert "<table>" in html.read_text(encoding="utf-8")
    assert (out / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grade_class_resumes_writes_outputs_and_scores_like_grade(tmp_path, monkeypatch):
    """One test (so that pytest -n 2 does not grade the class twice): the class is graded while
    ``grade``'s own run of e_wrong (the reference, a pytest subprocess) goes on in a thread."""
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    make_class(submissions)
    reference = {}
    thread = threading.Thread(target=lambda: reference.setdefault(
        "results", grader.run_step(1, (submissions / "e_wrong").resolve(), "student", 60.0, 300.0)))
    thread.start()
    try:
        run, first = grade_interrupted_then_resumed(submissions, out, monkeypatch)
    finally:
        thread.join()
    check_resume(out, run, first)
    check_outputs(out, run)

    wrong = next(s for s in run.submissions if s.student == "e_wrong")
    ours = gradebook.load_student(out, wrong, [1]).results
    assert ours == reference["results"]  # every test: TODO, name, points, score, reason
    assert any(r.score == r.points for r in ours) and any("종료 코드 7" in r.reason for r in ours)


def test_worker_loop_survives_a_hang(tmp_path):
    """worker.serve through a pipe: a module-level infinite loop is stopped at the step's time limit,
    and the next task in the same worker is graded normally."""
    hang = tmp_path / "hang"
    hang.mkdir()
    (hang / STEP1).write_text("import time\n\nwhile True:\n    time.sleep(1)\n", encoding="utf-8")
    tasks = [{"id": "hang", "step": 1, "course_dir": str(hang), "timeout_s": 60, "step_timeout_s": 1.0},
             {"id": "empty", "step": 1, "course_dir": str(tmp_path), "timeout_s": 60,
              "step_timeout_s": 120, "log_path": str(tmp_path / "empty.log")}]
    read_fd, write_fd = os.pipe()
    os.write(write_fd, "".join(json.dumps(t) + "\n" for t in tasks).encode())
    os.close(write_fd)
    with open(tmp_path / "answers.jsonl", "w", encoding="utf-8") as answers:
        worker.serve(read_fd, answers)
    os.close(read_fd)
    got = {a["id"]: a for a in map(json.loads, (tmp_path / "answers.jsonl").read_text(encoding="utf-8").splitlines())}
    assert "전체 시간 제한(1초)" in got["hang"]["problem"] and 1.0 <= got["hang"]["seconds"] < 10
    scored = grader.results_from_records(1, got["hang"]["records"], got["hang"]["problem"])
    assert scored and all(r.score == 0 and r.reason.startswith("TODO 1-") for r in scored)
    assert got["empty"]["problem"] == "" and got["empty"]["records"]
    assert "파일이 없습니다" in (tmp_path / "empty.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["grade-class", "{tmp}/nowhere"], "제출물 폴더가 없습니다"),
    (["grade-class", "{tmp}"], "학생 폴더나 .zip 파일이 없습니다"),
    (["grade-class", "{tmp}", "--jobs", "0"], "--jobs 0 : 1 이상이어야 합니다"),
])
def test_bad_input_is_a_korean_error(tmp_path, capsys, argv, message):
    from kogpt2_course.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        run_main(main, [a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and "Traceback" not in err
