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
    # TODO 1-9 hangs, TODO 1-5 calls sys.exit(): both must score 0, the rest full marks.
    # (1-9 has a single test, so the hang costs one timeout, not one per test.)
    "\n    return 2 * config.n_layer * batch_size": "\n    while True:\n        pass\n    return 2 * config.n_layer * batch_size",
    "    text = tokenizer.decode(token_ids, skip_special_tokens=True)\n": "    import sys\n    sys.exit(0)\n",
}


@pytest.fixture
def broken_course(tmp_path):
    """A student's copy: Step 1 filled in but with a hang and a sys.exit(); Step 2 does not parse."""
    source = (ROOT / "solutions" / "step1_solution.py").read_text(encoding="utf-8")
    for old, new in BROKEN_STEP1_PATCHES.items():
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    (tmp_path / STEP_FILES[1]).write_text(source, encoding="utf-8")
    (tmp_path / STEP_FILES[2]).write_text("def broken(:\n    pass\n", encoding="utf-8")
    return tmp_path


def test_grader_survives_hangs_exits_and_syntax_errors(broken_course, tmp_path, capsys):
    results = grader.grade([1, 2], broken_course, "student", timeout_s=12, step_timeout_s=300)
    by_todo = {}
    for r in results:
        by_todo.setdefault((r.step, r.todo), []).append(r)
    assert by_todo[(1, "1-9")] and all(r.score == 0 and "시간 제한" in r.reason for r in by_todo[(1, "1-9")])
    assert all(r.score == 0 and "sys.exit" in r.reason for r in by_todo[(1, "1-5")])
    others = [r for (step, todo), rs in by_todo.items() if step == 1 and todo not in ("1-5", "1-9") for r in rs]
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


# --- every exception a wrong answer can raise becomes a Korean sentence about its TODO ------------------

FAKE_STEP = '''import torch


def divide(values):
    # TODO 9-1: 평균을 구하세요
    return sum(values) / len(values)


def lookup(results):
    # TODO 9-2: 값을 꺼내세요
    value = results[0]["loss"]
    return value


def combine(a, b):
    # TODO 9-3: 두 텐서를 더하세요
    return torch.cat([a, b], dim=1)


def open_folder(path):
    # TODO 9-4: 파일을 읽으세요
    with open(path) as f:
        return f.read()


def after_regions(x):
    # BEGIN TODO 9-5: 정답 파일의 영역
    y = x
    # END TODO
    return y.missing
'''


@pytest.fixture
def fake_step(tmp_path):
    import importlib.util

    path = tmp_path / "step9_fake.py"
    path.write_text(FAKE_STEP, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("step9_fake", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def explained(call):
    from kogpt2_course.grading.plugin import explain_exception

    with pytest.raises(BaseException) as info:
        call()
    return explain_exception(info)


def test_exceptions_in_student_code_become_korean_sentences_about_their_todo(fake_step, tmp_path):
    import torch

    reason, todo = explained(lambda: fake_step.divide([]))
    assert todo == "9-1" and reason.startswith("TODO 9-1: step9_fake.py 6번째 줄에서")
    assert "0으로 나누었습니다" in reason and "ZeroDivisionError" in reason
    reason, todo = explained(lambda: fake_step.lookup([{"val_loss": 1.0}]))
    assert todo == "9-2" and "사전(dict)에 없는 키" in reason and "KeyError: 'loss'" in reason
    reason, _ = explained(lambda: fake_step.combine(torch.zeros(1, 2), torch.zeros(2, 2)))
    assert reason.startswith("TODO 9-3:") and "(그 줄에서 부른 함수 안)" not in reason and "텐서의 모양" in reason
    reason, _ = explained(lambda: fake_step.open_folder(tmp_path))
    assert reason.startswith("TODO 9-4:") and "폴더 경로" in reason and "IsADirectoryError" in reason
    reason, _ = explained(lambda: fake_step.combine(torch.zeros(1, 2), torch.zeros(1, 2, device="meta")))
    assert "같은 device로" in reason
    reason, _ = explained(lambda: torch.device("gpu"))
    assert "장치 이름이 올바르지 않습니다" in reason
    reason, _ = explained(lambda: torch.nn.Linear(2, 2).load_state_dict({"model.weight": torch.zeros(2, 2)}))
    assert "'model.' 접두사" in reason
    reason, todo = explained(lambda: fake_step.after_regions(1))
    assert todo is None and "step9_fake.py 30번째 줄에서" in reason, "END TODO 뒤의 줄은 테스트의 TODO로 돌립니다"


def test_errors_outside_student_code_and_test_assertions(fake_step, tmp_path):
    import importlib.util

    reason, todo = explained(lambda: "문자열".tolist())
    assert todo is None and reason.startswith("돌려준 값을 채점 코드가 확인하다가") and "AttributeError" in reason
    helper = tmp_path / "test_step9_helper.py"  # a test module is not a step file
    helper.write_text("def check(value):\n    return value.tolist()\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("test_step9_helper", helper)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert explained(lambda: module.check(None))[0].startswith("돌려준 값을 채점 코드가 확인하다가")

    def assertion():
        assert 1 == 2, "테스트의 한국어 메시지"

    assert explained(assertion) is None, "테스트 자신의 assert는 그 메시지가 곧 사유입니다"
    assert explained(lambda: pytest.fail("한국어 실패")) is None
    from kogpt2_course.grading.script_runner import todo as unfinished

    assert explained(lambda: unfinished("9-9")) is None, "미완성 TODO는 todo()의 메시지를 그대로 씁니다"
