"""pytest plugin used by the grader: records each test's TODO, points, outcome and a one-line
Korean reason into a JSON file, rewritten after every test (so a crash loses nothing).

A failing assertion keeps the test's own Korean message. Any other exception a wrong answer can
raise (``ZeroDivisionError``, ``KeyError: 'loss'``, a shape or device error, ``IsADirectoryError`` …)
becomes a Korean sentence naming the TODO whose code raised it, the file and line, and what that kind
of error usually means; the original exception follows in parentheses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

STEP_FILE = re.compile(r"(?:^|[\\/])step\d+_\w+\.py$")  # stepN_*.py, not tests/test_stepN_*.py
TODO_MARK = re.compile(r"#\s*(?:BEGIN )?TODO (\d+-\d+):")
REGION_END = re.compile(r"^\s*# END TODO\s*$")
FUNCTION_START = re.compile(r"^\s*(?:async\s+)?def\s")

# (exception type, what it usually means in a student's answer), most specific first.
EXPLANATIONS: list[tuple[type, str]] = [
    (ZeroDivisionError, "0으로 나누었습니다 — 나누는 값이 0이 되는 경우(빈 입력, 개수 0)를 따로 처리하세요"),
    (KeyError, "사전(dict)에 없는 키를 꺼냈습니다 — 키 이름과, 그 값을 돌려주는 함수가 무엇을 담아 주는지 확인하세요"),
    (IndexError, "범위를 벗어난 인덱스를 썼습니다 — 길이와 인덱스(0부터 시작, -1은 마지막)를 확인하세요"),
    (UnboundLocalError, "값을 넣기 전에 지역 변수를 읽었습니다 — TODO 영역에서 그 변수를 만들었는지 확인하세요"),
    (NameError, "정의되지 않은 이름을 썼습니다 — TODO 영역에서 만들어야 할 변수를 만들었는지, 이름의 철자를 확인하세요"),
    (AttributeError, "없는 속성이나 메서드를 썼습니다 — 값의 종류(예: None을 돌려주지 않았는지)와 이름을 확인하세요"),
    (TypeError, "값의 형식이나 함수 인자가 맞지 않습니다 — 인자 이름·개수와 돌려주는 값의 형식을 확인하세요"),
    (IsADirectoryError, "파일이 와야 할 자리에 폴더 경로를 넘겼습니다 — 파일 경로인지 확인하세요"),
    (NotADirectoryError, "폴더가 와야 할 자리에 파일 경로를 넘겼습니다 — 폴더 경로인지 확인하세요"),
    (FileNotFoundError, "파일이나 폴더를 찾지 못했습니다 — 넘긴 경로를 확인하세요"),
    (PermissionError, "파일을 읽거나 쓸 권한이 없습니다 — 경로를 확인하세요"),
    (OSError, "파일이나 시스템을 다루다 오류가 났습니다 — 경로와 파일을 확인하세요"),
    (RecursionError, "함수가 자기 자신을 끝없이 부릅니다 — 종료 조건을 확인하세요"),
    (MemoryError, "메모리가 모자랍니다 — 너무 큰 텐서나 끝없이 커지는 리스트가 없는지 확인하세요"),
    (RuntimeError, "PyTorch/라이브러리 실행 중 오류가 났습니다 — 텐서의 모양·자료형·장치(CPU/GPU)가 맞는지 확인하세요"),
    (StopIteration, "반복자에서 더 꺼낼 값이 없습니다 — 빈 데이터 로더나 목록이 아닌지 확인하세요"),
    (ImportError, "모듈이나 이름을 가져오지 못했습니다 — import 줄을 확인하세요"),
    (OverflowError, "숫자가 너무 커졌습니다 — 계산식(지수, 나눗셈)을 확인하세요"),
    (ValueError, "값이 올바르지 않습니다 — 넘긴 값의 범위와 형식을 확인하세요"),
    (NotImplementedError, "아직 구현되지 않은 기능을 불렀습니다"),
    (AssertionError, "코드 안의 assert가 실패했습니다"),
]


# Messages of library errors that say more than their type, checked first.
MESSAGE_EXPLANATIONS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"state_dict|Missing key\(s\)|Unexpected key\(s\)"),
     "체크포인트의 가중치 이름이 모델과 맞지 않습니다 — Lightning 체크포인트의 키에는 'model.' 접두사가 붙어 있습니다 "
     "(kogpt2_course/nlpbook/checkpoints.py의 load_finetuned_model 참고)"),
    (re.compile(r"device type at start of device string|Invalid device string|Expected one of .* device type"),
     "장치 이름이 올바르지 않습니다 — 'cpu', 'cuda', 'cuda:0'처럼 쓰세요"),
    (re.compile(r"same device|not on the expected device|on the meta device|Cannot copy out of meta"),
     "텐서들이 서로 다른 장치에 있습니다 — 모델과 입력 텐서를 같은 device로 옮기세요"),
    (re.compile(r"size mismatch|shape .* (?:is invalid|mismatch)|must match the size|Sizes of tensors must match|"
                r"mat1 and mat2 shapes"),
     "텐서의 모양이 맞지 않습니다 — 각 텐서의 shape(배치, 길이, 어휘)를 출력해 확인하세요"),
    (re.compile(r"CUDA|Torch not compiled with CUDA"),
     "이 컴퓨터에서는 CUDA(GPU)를 쓸 수 없습니다 — GPU가 있을 때만 cuda를 고르세요"),
]
MAX_REASON_CHARS = 1000


def pytest_addoption(parser):
    parser.addoption("--grading-json", default=None, help="채점 결과를 기록할 JSON 파일")


def _reason(report) -> str:
    """One Korean line explaining a failure."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    if isinstance(longrepr, tuple):  # skipped: (path, line, reason)
        text = longrepr[2]
    timeout = re.search(r"Timeout \(?>?\s*([\d.]+)\s*s", text)
    if timeout:
        return f"시간 제한({float(timeout.group(1)):g}초)을 넘었습니다 — 무한 루프나 너무 긴 생성이 없는지 확인하세요"
    if "SystemExit" in text:
        return "함수 안에서 sys.exit()/exit()가 호출되었습니다 — 함수는 값을 반환해야 합니다"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("E ")]  # e.g. a fixture error's report
    first = (error_lines or lines or ["알 수 없는 오류"])[0]
    first = re.sub(r"^(Failed|E)\s*:?\s*", "", first)
    first = first.replace("NotImplementedError: ", "")
    first = re.sub(r"^AssertionError: ", "", first)
    if len(first) > MAX_REASON_CHARS:  # only huge reprs; the grader wraps long reasons, it never cuts them
        first = first[:MAX_REASON_CHARS].rsplit(" ", 1)[0] + " …"
    return first


def _blamed_todo(path: Path, lineno: int) -> str | None:
    """The TODO whose region holds line ``lineno`` (1-based) of a step file: the nearest TODO comment
    above it in the same function, unless an END TODO marker comes first."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in reversed(lines[:lineno - 1]):
        mark = TODO_MARK.search(line)
        if mark:
            return mark.group(1)
        if REGION_END.match(line) or FUNCTION_START.match(line):
            return None
    return None


def explain_exception(excinfo) -> tuple[str, str | None] | None:
    """(Korean reason, TODO whose code raised it or None) for an exception that is not an assertion
    of a test, a pytest outcome (fail/skip/timeout), sys.exit() or an unfinished TODO; else None."""
    exc = excinfo.value
    if isinstance(exc, (pytest.fail.Exception, pytest.skip.Exception, SystemExit, KeyboardInterrupt)):
        return None
    if isinstance(exc, NotImplementedError) and str(exc).startswith("TODO"):
        return None
    entries = list(excinfo.traceback)
    in_steps = [e for e in entries if STEP_FILE.search(str(e.path))]
    if isinstance(exc, AssertionError) and (not in_steps or Path(str(entries[-1].path)).parent.name == "tests"):
        return None  # a test's own assertion: its message is already the Korean reason
    meaning = next((text for pattern, text in MESSAGE_EXPLANATIONS if pattern.search(str(exc))), None) \
        or next((text for kind, text in EXPLANATIONS if isinstance(exc, kind)), "예상하지 못한 오류가 났습니다")
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    detail = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    if len(detail) > 160:
        detail = detail[:157] + "..."
    todo = None
    if in_steps:
        last = in_steps[-1]
        path, lineno = Path(str(last.path)), last.lineno + 1
        todo = _blamed_todo(path, lineno)
        inside = "" if last is entries[-1] else " (그 줄에서 부른 함수 안)"
        where = f"{path.name} {lineno}번째 줄에서{inside}"
    else:
        where = "돌려준 값을 채점 코드가 확인하다가"
    reason = f"{where} 오류가 났습니다: {meaning} ({detail})"
    return (f"TODO {todo}: {reason}" if todo else reason), todo


class GradingRecorder:
    def __init__(self, path: str):
        self.path = path
        self.tests: dict[str, dict] = {}

    def write(self) -> None:
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(list(self.tests.values()), f, ensure_ascii=False, indent=1)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("todo")
            if marker is None:
                continue
            doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
            self.tests[item.nodeid] = {
                "nodeid": item.nodeid,
                "todo": marker.args[0],
                "points": marker.kwargs.get("points", 1),
                "name": (doc[0] if doc else item.name) + (f" [{item.callspec.id}]" if hasattr(item, "callspec") else ""),
                "outcome": "not run",
                "reason": "테스트가 실행되지 않았습니다 (채점 프로세스가 중간에 멈췄습니다)",
            }
        self.write()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.excinfo is not None and report.failed:
            explained = explain_exception(call.excinfo)
            if explained:
                report.grading_reason = explained[0]

    def pytest_runtest_logreport(self, report):
        entry = self.tests.get(report.nodeid)
        if entry is None:
            return
        if report.when == "call" and report.passed:
            entry.update(outcome="passed", reason="")
        elif report.failed:
            entry.update(outcome="failed", reason=getattr(report, "grading_reason", None) or _reason(report))
        elif report.skipped and entry["outcome"] == "not run":
            entry.update(outcome="skipped", reason=_reason(report))
        self.write()


def pytest_configure(config):
    path = config.getoption("--grading-json")
    if path:
        config.pluginmanager.register(GradingRecorder(path), "grading-recorder")
