"""The grade command: run each step's tests against the student files, one process per step.

    python -m kogpt2_course grade                       # all steps, student files here
    python -m kogpt2_course grade --step 1 --json results.json
    python -m kogpt2_course grade --course-dir ../student07 --timeout 60

A step whose file crashes, calls sys.exit() or does not parse is graded 0 with a reason; a test
that exceeds the time limit scores 0 and grading goes on; the other steps are always graded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kogpt2_course.cli.arguments import UserError, display_width, wrap_columns
from kogpt2_course.grading.exercises import ROOT, STEP_FILES, list_todos

TESTS_DIR = ROOT / "tests"


@dataclass
class TestResult:
    step: int
    todo: str
    name: str
    points: float
    score: float
    reason: str
    skipped: bool = False


def step_test_files(step: int) -> list[Path]:
    return sorted(TESTS_DIR.glob(f"test_step{step}_*.py"))


def pytest_args(step: int, course_dir: Path, target: str, timeout_s: float, results_path: Path) -> list[str]:
    """The pytest command line of one step (after ``python -m pytest``); grade-class runs the same."""
    return [*map(str, step_test_files(step)), "-q", "-p", "kogpt2_course.grading.plugin",
            "--grading-json", str(results_path), "--target", target, "--course-dir", str(course_dir),
            f"--timeout={timeout_s}", "-o", "timeout_method=signal", "-o", "timeout_func_only=true",
            "--rootdir", str(ROOT), "-p", "no:cacheprovider"]


def exit_problem(returncode: int) -> str:
    """Why a step's pytest process did not end normally ('' when it did: 0 all passed, 1 some failed)."""
    return "" if returncode in (0, 1) else f"채점 프로세스가 비정상 종료했습니다 (종료 코드 {returncode})"


def step_timeout_problem(step: int, step_timeout_s: float) -> str:
    return f"Step {step} 채점이 전체 시간 제한({step_timeout_s:g}초)을 넘어 중단되었습니다"


def run_step(step: int, course_dir: Path, target: str, timeout_s: float, step_timeout_s: float) -> list[TestResult]:
    if not step_test_files(step):
        return []
    with tempfile.TemporaryDirectory() as tmp:
        results_path = Path(tmp) / "results.json"
        cmd = [sys.executable, "-m", "pytest", *pytest_args(step, course_dir, target, timeout_s, results_path)]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        problem = ""
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=step_timeout_s, stdin=subprocess.DEVNULL)
            problem = exit_problem(proc.returncode)
        except subprocess.TimeoutExpired:
            problem = step_timeout_problem(step, step_timeout_s)
        raw = json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else []
    return results_from_records(step, raw, problem)


def results_from_records(step: int, raw: list[dict], problem: str) -> list[TestResult]:
    """Scores from the plugin's records of one step and the process-level ``problem`` ('' if none)."""
    if not raw:
        reason = problem or "테스트를 수집하지 못했습니다 — 파일을 확인하세요"
        return [TestResult(step, t.todo_id, "(채점 불가)", 1, 0, f"TODO {t.todo_id}: {reason}")
                for t in list_todos(step)]
    results = []
    for entry in raw:
        passed = entry["outcome"] == "passed"
        reason = entry["reason"]
        if entry["outcome"] == "not run" and problem:
            reason = problem
        if not passed and entry["outcome"] != "skipped" and not reason.startswith("TODO"):
            reason = f"TODO {entry['todo']}: {reason}"
        results.append(TestResult(step, entry["todo"], entry["name"], entry["points"],
                                  entry["points"] if passed else 0, reason,
                                  skipped=entry["outcome"] == "skipped"))
    return results


TABLE_WIDTH = 100  # terminal columns of the score table (Hangul counts 2)
_STEP_W, _TODO_W, _SCORE_W = 6, 7, 8
_TEXT_COLUMN = _STEP_W + _TODO_W + _SCORE_W


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def format_table(results: list[TestResult]) -> str:
    """The Korean score table, at most TABLE_WIDTH columns: test names and reasons wrap, never cut."""
    text_w = TABLE_WIDTH - _TEXT_COLUMN
    indent = " " * _TEXT_COLUMN
    lines = [f"{_pad('단계', _STEP_W)}{_pad('TODO', _TODO_W)}{_pad('점수', _SCORE_W)}테스트 (아래: 실패 사유)",
             "-" * TABLE_WIDTH]
    for step in sorted({r.step for r in results}):
        rows = [r for r in results if r.step == step and not r.skipped]
        for r in rows:
            name = wrap_columns(r.name, text_w)
            score = f"{r.score:g}/{r.points:g}"
            lines.append(f"{_pad(str(step), _STEP_W)}{_pad(r.todo, _TODO_W)}{_pad(score, _SCORE_W)}{name[0]}")
            lines += [indent + part for part in name[1:]]
            if r.reason and r.score < r.points:
                lines += [indent + "  " + part for part in wrap_columns(r.reason, text_w - 2)]
        got, total = sum(r.score for r in rows), sum(r.points for r in rows)
        lines.append(f"{' ' * (_STEP_W + _TODO_W)}{_pad(f'{got:g}/{total:g}', _SCORE_W)}Step {step} 합계")
        lines.append("")
    graded = [r for r in results if not r.skipped]
    got, total = sum(r.score for r in graded), sum(r.points for r in graded)
    lines.append(f"총점: {got:g}/{total:g}")
    return "\n".join(lines)


def gradescope_json(results: list[TestResult]) -> dict:
    graded = [r for r in results if not r.skipped]
    return {
        "score": sum(r.score for r in graded),
        "max_score": sum(r.points for r in graded),
        "tests": [{"name": f"Step {r.step} · TODO {r.todo} · {r.name}", "score": r.score,
                   "max_score": r.points, "output": r.reason or "통과"} for r in graded],
    }


def grade(steps: list[int], course_dir: Path, target: str = "student", timeout_s: float = 60.0,
          step_timeout_s: float = 900.0) -> list[TestResult]:
    results: list[TestResult] = []
    for step in steps:
        print(f"Step {step} 채점 중...", file=sys.stderr, flush=True)
        results += run_step(step, course_dir, target, timeout_s, step_timeout_s)
    return results


def hint_line(hint_levels: dict[str, int]) -> str:
    """'힌트를 본 TODO: 2-4(3단계), ...' for the TODOs whose level-2+ hints were asked for."""
    asked = {t: level for t, level in hint_levels.items() if level > 1}
    order = sorted(asked, key=lambda t: tuple(int(x) for x in t.split("-")))
    return "힌트를 본 TODO: " + (", ".join(f"{t}({asked[t]}단계)" for t in order) if order else "없음")


def main(args) -> int:
    from kogpt2_course.grading.hints import seen_levels

    steps = args.step or sorted(STEP_FILES)
    course_dir = Path(args.course_dir).resolve()
    if not course_dir.is_dir():
        raise UserError(f"--course-dir {args.course_dir} : 폴더가 없습니다. 학생 파일(step1_basic_generation.py 등)이 "
                        f"있는 폴더를 지정하세요.")
    results = grade(steps, course_dir, args.target, args.timeout, args.step_timeout)
    print(format_table(results))
    hint_levels = seen_levels(course_dir)
    print(hint_line(hint_levels))
    if args.json:
        doc = gradescope_json(results)
        doc["extra_data"] = {"hint_levels": hint_levels}
        Path(args.json).write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"Gradescope 형식 결과를 {args.json}에 저장했습니다.")
    return 0
