"""pytest plugin used by the grader: records each test's TODO, points, outcome and a one-line
Korean reason into a JSON file, rewritten after every test (so a crash loses nothing)."""

from __future__ import annotations

import json
import re

import pytest

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

    def pytest_runtest_logreport(self, report):
        entry = self.tests.get(report.nodeid)
        if entry is None:
            return
        if report.when == "call" and report.passed:
            entry.update(outcome="passed", reason="")
        elif report.failed:
            entry.update(outcome="failed", reason=_reason(report))
        elif report.skipped and entry["outcome"] == "not run":
            entry.update(outcome="skipped", reason=_reason(report))
        self.write()


def pytest_configure(config):
    path = config.getoption("--grading-json")
    if path:
        config.pluginmanager.register(GradingRecorder(path), "grading-recorder")
