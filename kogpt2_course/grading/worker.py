"""The grading worker: pays the torch/transformers import and the bundled model's first load ONCE,
then grades each (student, step) in a child forked from it, several children at once.

    python -m kogpt2_course.grading.worker --step 1 --step 2     (started by grade-class, not by hand)

Each child runs ``pytest.main(grader.pytest_args(...))`` — the tests, plugin, options and per-test
time limit of ``grade`` — in its own process group, its output going to a log file. It starts
with every library already imported; the course's test modules and the student's files are
imported afresh in each child. The worker waits for a child at most the step's time limit, then
kills its group, so a hang, ``sys.exit``, ``os._exit`` or a segfault in a student's code ends that
child, never the worker.

Protocol: one JSON task per line on stdin (``{"id", "step", "course_dir", "timeout_s",
"step_timeout_s", "log_path"}``); one JSON answer per finished task on stdout, in the order they
finish (``{"id", "records", "problem", "seconds", "cpu_seconds"}``); ``{"ready": true}`` first, once warmed up.

The worker runs with ``OMP_NUM_THREADS=1`` (set before torch is imported): a child forked from a
process whose OpenMP pool already has threads hangs in its first parallel region, and with several
children grading at once one thread each is also the faster way to use the cores.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import random
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from kogpt2_course.grading import grader
from kogpt2_course.grading.exercises import ROOT, solution_path

TESTS_DIR = grader.TESTS_DIR
INTERNAL_ERROR = 3  # pytest's exit code for an internal error
POLL_S = 0.05  # where os.pidfd_open is missing (not Linux): how often to look at the children


def forget_test_modules() -> None:
    """Drop the course's test modules and any loaded step file, so that the next pytest imports them
    afresh (their heavy imports — torch, transformers, ... — stay loaded)."""
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if path.startswith(str(TESTS_DIR) + os.sep) or name.startswith("course_"):
            del sys.modules[name]


def _fresh_state() -> None:
    """Seed the random generators from the OS, as a newly started interpreter does, and keep torch to
    one thread (forked after its OpenMP pool has threads, more than one would hang)."""
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:
        sys.modules["torch"].seed()
        sys.modules["torch"].set_num_threads(1)


def _child(args: list[str], log_path: str | None, close_fds: list[int]) -> None:
    """Body of a forked child: run pytest as ``python -m pytest`` would, then exit. Never returns."""
    code = INTERNAL_ERROR
    try:
        # The inherited objects are never garbage: leave them out of every collection (pytest alone
        # runs gc.collect() several times; over the warm worker's heap that costs seconds and copies
        # every page of it into the child).
        gc.freeze()
        os.setpgid(0, 0)  # its own process group: a timeout kills whatever the student's code started
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in close_fds:
            os.close(fd)
        log = os.open(log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
        os.chdir(ROOT)
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        sys.dont_write_bytecode = True
        forget_test_modules()
        _fresh_state()
        import pytest

        code = int(pytest.main(args))
    except SystemExit as exc:  # as the interpreter would exit with it
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - shown in the log; the step counts as crashed
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001
                pass
        os._exit(code)


@dataclass
class _Running:
    task: dict
    pid: int
    pidfd: int | None
    started: float
    deadline: float
    tmp: str


class ChildPool:
    """Grading children forked from this process, running at the same time."""

    def __init__(self, close_fds: tuple[int, ...] = ()):
        self.close_fds = close_fds
        self.running: dict[int, _Running] = {}

    def __len__(self) -> int:
        return len(self.running)

    def start(self, task: dict) -> None:
        """Fork a child that grades ``task`` (see the module docstring for its keys)."""
        step = task["step"]
        tmp = tempfile.mkdtemp(prefix="grade-class-")
        args = grader.pytest_args(step, Path(task["course_dir"]), task.get("target", "student"),
                                  task["timeout_s"], Path(tmp) / "results.json")
        sys.stdout.flush()
        sys.stderr.flush()
        inherited = [*self.close_fds, *(r.pidfd for r in self.running.values() if r.pidfd is not None)]
        pid = os.fork()
        if pid == 0:
            _child(args, task.get("log_path"), inherited)
        try:  # also here, so that the group exists whichever process runs first
            os.setpgid(pid, pid)
        except OSError:
            pass
        pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
        now = time.monotonic()
        self.running[pid] = _Running(task, pid, pidfd, now, now + task["step_timeout_s"], tmp)

    def _exited(self, r: _Running) -> bool:
        """Whether the child has ended (it stays unreaped, so its process group still exists)."""
        if r.pidfd is not None:
            return bool(select.select([r.pidfd], [], [], 0)[0])
        return os.waitid(os.P_PID, r.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def _finish(self, r: _Running, exited: bool) -> tuple[str, dict]:
        """Kill the child's group (the child itself if it is still running, and whatever the student's
        code started), reap it, and read the records its pytest left."""
        del self.running[r.pid]
        for kill in (os.killpg, os.kill):
            try:
                kill(r.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _, status, usage = os.wait4(r.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if r.pidfd is not None:
            os.close(r.pidfd)
        step = r.task["step"]
        problem = grader.exit_problem(code) if exited else grader.step_timeout_problem(step, r.task["step_timeout_s"])
        try:
            records = json.loads((Path(r.tmp) / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent, or cut off mid-write by a crash
            records = []
        shutil.rmtree(r.tmp, ignore_errors=True)
        return r.task["id"], {"records": records, "problem": problem,
                              "seconds": round(time.monotonic() - r.started, 3),
                              "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3)}

    def wait(self, other_fds: tuple[int, ...] = (), timeout: float | None = None
             ) -> tuple[list[tuple[str, dict]], list[int]]:
        """Wait until a child ends, one passes its time limit, one of ``other_fds`` is readable or
        ``timeout`` passes. Returns the finished tasks' (id, answer) and the readable ``other_fds``."""
        now = time.monotonic()
        limits = [r.deadline - now for r in self.running.values()]
        if timeout is not None:
            limits.append(timeout)
        wait_s = max(0.0, min(limits)) if limits else None
        pidfds = [r.pidfd for r in self.running.values() if r.pidfd is not None]
        if len(pidfds) < len(self.running):
            wait_s = POLL_S if wait_s is None else min(wait_s, POLL_S)
        readable = select.select([*pidfds, *other_fds], [], [], wait_s)[0]
        done = []
        now = time.monotonic()
        for r in list(self.running.values()):
            if self._exited(r):
                done.append(self._finish(r, exited=True))
            elif now >= r.deadline:
                done.append(self._finish(r, exited=False))
        return done, [fd for fd in readable if fd in other_fds]

    def kill_all(self) -> None:
        for r in list(self.running.values()):
            self._finish(r, exited=False)


def run_tasks(tasks: list[dict], jobs: int) -> Iterator[tuple[str, dict]]:
    """Grade ``tasks`` in children of this process, ``jobs`` at a time; yield (id, answer) as they end."""
    pool = ChildPool()
    pending = list(reversed(tasks))
    try:
        while pending or pool:
            while pending and len(pool) < jobs:
                pool.start(pending.pop())
            yield from pool.wait()[0]
    finally:
        pool.kill_all()


def warm_up(steps: list[int]) -> None:
    """Import everything the steps' tests and files import, and load the bundled model once."""
    import pytest

    saved_path = list(sys.path)
    files = [str(p) for step in steps for p in grader.step_test_files(step)]
    if files:  # collecting imports the test modules, conftest and everything they import
        pytest.main(["--collect-only", "-q", *files, "-p", "kogpt2_course.grading.plugin", "--rootdir", str(ROOT),
                     "-p", "no:cacheprovider"])
    for step in steps:  # the course's own solution files import what the students' files import
        path = solution_path(step)
        if path.exists():
            spec = importlib.util.spec_from_file_location(f"course_warmup_step{step}", path)
            try:
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            except Exception:  # noqa: BLE001 - warming up is best effort
                traceback.print_exc()
    forget_test_modules()
    sys.path[:] = saved_path
    import torch
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

    from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR
    from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS

    model = GPT2LMHeadModel.from_pretrained(str(BUNDLED_MODEL_DIR)).eval()
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(BUNDLED_MODEL_DIR), **TOKENIZER_KWARGS)
    with torch.no_grad():  # the first generate imports and sets up the generation code
        ids = tokenizer("이 영화", return_tensors="pt").input_ids
        model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=2, do_sample=False,
                       pad_token_id=tokenizer.pad_token_id)


def serve(tasks_fd: int, answers) -> None:
    """Start a child for each task line read from ``tasks_fd`` (the sender decides how many run at
    once) and write each answer to ``answers`` when its child ends; until the end of the input."""
    pool = ChildPool(close_fds=(answers.fileno(),))
    buffer, eof = b"", False
    try:
        while not eof or pool:
            done, readable = pool.wait(() if eof else (tasks_fd,))
            for task_id, answer in done:
                answers.write(json.dumps({"id": task_id, **answer}, ensure_ascii=False) + "\n")
            answers.flush()
            if readable:
                chunk = os.read(tasks_fd, 65536)
                eof = not chunk
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        pool.start(json.loads(line))
    finally:
        pool.kill_all()


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # serve's finally kills the running children


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="grade-class의 채점 작업자 (직접 실행하지 않습니다)")
    parser.add_argument("--step", type=int, action="append", default=[], help="미리 준비할 단계")
    args = parser.parse_args(argv)
    # The answers go through a private copy of stdout; whatever else is printed (by the libraries or
    # the warm-up's pytest) lands on stderr and cannot garble them.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    # Ctrl+C reaches grade-class, which then stops the worker with SIGTERM (and the worker its children).
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up(args.step)
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    serve(sys.stdin.fileno(), answers)
    return 0


if __name__ == "__main__":
    os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported (see the module docstring)
    sys.exit(main())
