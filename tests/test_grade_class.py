"""grade-class on a small class (Step 1): the gradebook, per-student JSON, report and heat map; an
interrupted run resumes; broken submissions cost points, never the run; scores equal ``grade``'s.

The class is graded in children forked from this test process (``warm_worker=False``: the libraries
are already imported here); the worker's own loop (``worker.serve``) is driven through a pipe. The
one subprocess is the reference: ``grade``'s own run of Step 1 for one student, run in a thread
while the class is graded."""

from __future__ import annotations

import csv
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
    """The children are forked from this process: import and load once here, as the worker does."""


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    make_submission(root / "a_solution", "solution", [1])
    make_submission(root / "b_untouched", "untouched", [1])
    wrong = root / "c_wrong"
    wrong.mkdir()
    source = (ROOT / "solutions" / "step1_solution.py").read_text(encoding="utf-8")
    (wrong / STEP1).write_text(patched(source, WRONG_STEP1, "c_wrong"), encoding="utf-8")
    with zipfile.ZipFile(root / "d_syntax.zip", "w") as archive:  # a zip with a folder inside
        archive.writestr(f"my_course/{STEP1}", "def load_tokenizer(:\n    pass\n")
    (root / "e_empty").mkdir()  # nothing handed in
    (root / "notes.txt").write_text("not a student", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def reference(submissions):
    """``grade``'s own results for c_wrong (a pytest subprocess), computed in the background."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault(
        "results", grader.run_step(1, (submissions / "c_wrong").resolve(), "student", 60.0, 300.0)))
    thread.start()
    yield box, thread
    thread.join()


class Interrupt(KeyboardInterrupt):
    pass


@pytest.fixture(scope="module")
def graded(submissions, reference, tmp_path_factory):
    """Grade the class, interrupted (Ctrl+C) after two steps were saved, then run again to the end."""
    out = tmp_path_factory.mktemp("grades")
    saved = []
    real_write = classroom.write_json_atomic

    def write_then_interrupt(path, data):
        real_write(path, data)
        saved.append(path)
        if len(saved) == 2:
            raise Interrupt()

    mp = pytest.MonkeyPatch()
    mp.setattr(classroom, "write_json_atomic", write_then_interrupt)
    with pytest.raises(Interrupt):
        classroom.grade_class(submissions, out, [1], jobs=1, step_timeout_s=STEP_TIMEOUT_S, progress=False,
                              warm_worker=False)
    mp.undo()
    first = sorted(p.parent.name for p in saved)
    run = classroom.grade_class(submissions, out, [1], jobs=2, step_timeout_s=STEP_TIMEOUT_S, progress=False,
                                warm_worker=False)
    return out, run, first


def test_class_discovery_and_resume_after_interruption(graded):
    out, run, first = graded
    assert [s.student for s in run.submissions] == ["a_solution", "b_untouched", "c_wrong", "d_syntax", "e_empty"]
    assert first == ["a_solution", "b_untouched"]  # saved before Ctrl+C ...
    assert (run.resumed, run.graded) == (2, 3)  # ... so the rerun graded only the other three
    syntax = next(s for s in run.submissions if s.student == "d_syntax")
    assert syntax.course_dir.name == "my_course"  # the step file one folder down in the zip
    tasks, done = classroom.plan(run.submissions, [1], out, 60.0, STEP_TIMEOUT_S)
    assert (tasks, done) == ([], 5)
    tasks, done = classroom.plan(run.submissions, [1], out, 60.0, STEP_TIMEOUT_S, regrade=True)
    assert (len(tasks), done) == (5, 0)
    tasks, _ = classroom.plan(run.submissions, [1], out, 30.0, STEP_TIMEOUT_S)  # other limits: graded again
    assert len(tasks) == 5


def test_gradebook_student_json_report_and_heatmap(graded):
    out, run, _ = graded
    with open(out / "gradebook.csv", encoding="utf-8-sig", newline="") as f:
        rows = {row["학생"]: row for row in csv.DictReader(f)}
    full = sum(r.points for r in gradebook.load_student(out, run.submissions[0], [1]).graded)
    step_column = f"Step 1 (/{full:g})"
    assert float(rows["a_solution"][step_column]) == full and float(rows["a_solution"]["총점"]) == full
    assert float(rows["b_untouched"]["총점"]) == 0
    assert 0 < float(rows["c_wrong"]["총점"]) < full
    assert "종료 코드 7" in rows["c_wrong"]["문제"]
    assert "SyntaxError" in rows["d_syntax"]["문제"] and "파일이 없습니다" in rows["e_empty"]["문제"]
    assert all(float(row["채점 시간(초)"]) > 0 for row in rows.values())

    for student, row in rows.items():
        doc = json.loads((out / "students" / student / "results.json").read_text(encoding="utf-8"))
        assert doc["score"] == float(row["총점"]) and doc["max_score"] >= 1
        assert all({"name", "score", "max_score", "output"} <= set(t) for t in doc["tests"])

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "# 학급 채점 보고서" in report and "학생 5명" in report and "![학생 × TODO 히트맵](heatmap.png)" in report
    for todo in list_todos(1):
        assert f"| {todo.todo_id} |" in report
    # TODO 1-1: the solution and c_wrong pass; the untouched, the syntax error and the empty folder fail
    assert "| 1-1 | 1 | 2/5 | 40% |" in report
    assert "TODO 1-1 미완성 (raise NotImplementedError가 남아 있음) (1명)" in report  # reasons, counted
    assert "디코딩하세요: '&lt;/s>" in report  # c_wrong's reason for TODO 1-5, escaped for Markdown
    assert "종료 코드 7" in report and "**e_empty**" in report
    html = gradebook.write_report([gradebook.load_student(out, s, [1]) for s in run.submissions], [1], out,
                                  "html", out / "heatmap.png")
    assert "<table>" in html.read_text(encoding="utf-8")
    assert (out / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scores_identical_to_grade(graded, reference):
    out, run, _ = graded
    box, thread = reference
    thread.join()
    wrong = next(s for s in run.submissions if s.student == "c_wrong")
    ours = gradebook.load_student(out, wrong, [1]).results
    assert ours == box["results"]  # every test: TODO, name, points, score, reason
    assert any(r.score == r.points for r in ours) and any("종료 코드 7" in r.reason for r in ours)


def test_worker_loop_survives_a_hang(submissions, tmp_path):
    """worker.serve through a pipe: a module-level infinite loop is stopped at the step's time limit,
    and the next task in the same worker is graded normally."""
    hang = tmp_path / "hang"
    hang.mkdir()
    (hang / STEP1).write_text("import time\n\nwhile True:\n    time.sleep(1)\n", encoding="utf-8")
    tasks = [{"id": "hang", "step": 1, "course_dir": str(hang), "timeout_s": 60, "step_timeout_s": 1.5},
             {"id": "empty", "step": 1, "course_dir": str(submissions / "e_empty"), "timeout_s": 60,
              "step_timeout_s": 120, "log_path": str(tmp_path / "empty.log")}]
    read_fd, write_fd = os.pipe()
    os.write(write_fd, "".join(json.dumps(t) + "\n" for t in tasks).encode())
    os.close(write_fd)
    with open(tmp_path / "answers.jsonl", "w", encoding="utf-8") as answers:
        worker.serve(read_fd, answers)
    os.close(read_fd)
    got = {a["id"]: a for a in map(json.loads, (tmp_path / "answers.jsonl").read_text(encoding="utf-8").splitlines())}
    assert "전체 시간 제한(1.5초)" in got["hang"]["problem"] and 1.5 <= got["hang"]["seconds"] < 10
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
