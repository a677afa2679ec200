"""The grade-class command: grade every student's submission in a folder, resumably, in one warm worker.

    python -m kogpt2_course grade-class submissions/                  # all steps, every student
    python -m kogpt2_course grade-class submissions/ --step 1 --jobs 2 --out grades/
    python -m kogpt2_course grade-class submissions/ --regrade        # grade again from scratch

Every sub-folder of SUBMISSIONS (or ``.zip`` file) is one student, named by the folder (zip) name;
the step files may sit at its top or in a folder below. Written to ``--out``:
``gradebook.csv``, ``students/<id>/results.json`` (Gradescope), ``report.md`` (or ``.html``),
``heatmap.png``, and ``students/<id>/step<N>.json`` — the records of each graded step, which make
the run resumable: a rerun skips every step whose student file, course tests and limits are
unchanged, unless ``--regrade``. ``logs/<id>/step<N>.log`` keeps what the tests printed.

Each step is graded by the same pytest command as ``grade`` (``grader.pytest_args``) and scored by
the same function (``grader.results_from_records``), so the scores are those of ``grade``; only the
process running it differs (a child forked from the warm worker, see ``worker.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from kogpt2_course.cli.arguments import UserError
from kogpt2_course.grading import grader
from kogpt2_course.grading.exercises import ROOT, STEP_FILES

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
STATE_VERSION = 1


class GradeClassError(UserError):
    """A problem with the command itself (not with a student's submission): reported in Korean."""


@dataclass
class Submission:
    student: str
    source: Path
    course_dir: Path | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Task:
    student: str
    step: int
    course_dir: Path
    key: str

    @property
    def id(self) -> str:
        return f"{self.student}/{self.step}"


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --- submissions ------------------------------------------------------------------------------

def discover(submissions_dir: Path, out_dir: Path | None = None) -> list[Submission]:
    """One Submission per sub-folder or .zip file (hidden entries, __MACOSX and the output folder skipped)."""
    if not submissions_dir.is_dir():
        raise GradeClassError(f"제출물 폴더가 없습니다: {submissions_dir}")
    found: dict[str, Submission] = {}
    zips = []
    for entry in sorted(submissions_dir.iterdir()):
        if entry.name.startswith(".") or entry.name == "__MACOSX" or (
                out_dir is not None and entry.resolve() == out_dir.resolve()):
            continue
        if entry.is_dir():
            found[entry.name] = Submission(entry.name, entry)
        elif entry.suffix.lower() == ".zip" and entry.is_file():
            zips.append(entry)
    for entry in zips:
        student = entry.stem
        if student in found:
            found[student].problems.append(f"같은 이름의 {entry.name}도 있어 폴더 쪽을 채점했습니다")
        else:
            found[student] = Submission(student, entry)
    return [found[name] for name in sorted(found)]


def find_course_dir(root: Path, max_depth: int = 3) -> Path:
    """The folder holding the step files: ``root`` itself or the first folder below that has one."""
    names = set(STEP_FILES.values())
    for current, dirs, files in os.walk(root):
        depth = len(Path(current).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")) and depth < max_depth)
        if names & set(files):
            return Path(current)
    return root


def prepare(submission: Submission, out_dir: Path) -> Submission:
    """Unpack a zip (into ``out_dir/unzipped/<id>``) and locate the course folder."""
    root = submission.source
    if submission.source.is_file():
        root = out_dir / "unzipped" / submission.student
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        try:
            with zipfile.ZipFile(submission.source) as archive:
                if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                    raise zipfile.BadZipFile(f"압축을 풀면 {MAX_UNZIPPED_BYTES // 2**20}MB가 넘습니다")
                archive.extractall(root)  # zipfile drops absolute paths and '..' from member names
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            submission.problems.append(f"{submission.source.name}을(를) 풀 수 없습니다: {exc}")
    submission.course_dir = find_course_dir(root).resolve()
    missing = [name for step, name in sorted(STEP_FILES.items()) if not (submission.course_dir / name).is_file()]
    if len(missing) == len(STEP_FILES):
        submission.problems.append("단계 파일(stepN_*.py)이 하나도 없습니다")
    return submission


# --- resumable state ------------------------------------------------------------------------

def task_key(step: int, course_dir: Path, timeout_s: float, step_timeout_s: float) -> str:
    """Changes when the student's step file, the course's tests for that step or the limits change."""
    digest = hashlib.sha256(f"v{STATE_VERSION} step{step} {timeout_s:g} {step_timeout_s:g}".encode())
    student_file = course_dir / STEP_FILES[step]
    for path in [student_file, grader.TESTS_DIR / "conftest.py", *grader.step_test_files(step)]:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def state_path(out_dir: Path, student: str, step: int) -> Path:
    return out_dir / "students" / student / f"step{step}.json"


def load_state(out_dir: Path, student: str, step: int) -> dict | None:
    try:
        return json.loads(state_path(out_dir, student, step).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def plan(submissions: list[Submission], steps: list[int], out_dir: Path, timeout_s: float,
         step_timeout_s: float, regrade: bool = False) -> tuple[list[Task], int]:
    """The tasks still to do, student by student, and how many are already done (resumed)."""
    tasks, done = [], 0
    for sub in submissions:
        for step in steps:
            key = task_key(step, sub.course_dir, timeout_s, step_timeout_s)
            state = None if regrade else load_state(out_dir, sub.student, step)
            if state is not None and state.get("key") == key:
                done += 1
            else:
                tasks.append(Task(sub.student, step, sub.course_dir, key))
    return tasks, done


# --- running the tasks --------------------------------------------------------------------------

def _task_message(task: Task, out_dir: Path, timeout_s: float, step_timeout_s: float) -> dict:
    log = out_dir / "logs" / task.student / f"step{task.step}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return {"id": task.id, "step": task.step, "course_dir": str(task.course_dir), "timeout_s": timeout_s,
            "step_timeout_s": step_timeout_s, "log_path": str(log)}


class WarmWorker:
    """One ``python -m kogpt2_course.grading.worker`` process, warmed up once, grading ``jobs`` tasks at
    a time in children it forks. If it dies (a student's code can kill it), it is started again and
    the tasks it was running are graded again one at a time; the one that kills it alone counts as
    crashed."""

    WORKER_DIED = "채점 작업자 프로세스가 비정상 종료했습니다 (학생 코드가 채점 프로세스를 멈췄을 수 있습니다)"

    def __init__(self, jobs: int, steps: list[int], out_dir: Path):
        self.jobs, self.steps, self.out_dir = jobs, steps, out_dir
        self.proc: subprocess.Popen | None = None
        self.log = out_dir / "logs" / "worker.log"

    def _start(self) -> subprocess.Popen:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
                   PYTHONDONTWRITEBYTECODE="1")
        cmd = [sys.executable, "-m", "kogpt2_course.grading.worker", *[f"--step={s}" for s in self.steps]]
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=log, text=True, encoding="utf-8")
        self.proc = proc
        if not proc.stdout.readline().startswith('{"ready"'):
            self.close()
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise GradeClassError(f"채점 작업자를 시작하지 못했습니다 (로그: {self.log}):\n{tail}")
        return proc

    def run(self, messages: list[dict]) -> Iterator[tuple[str, dict]]:
        pending = list(reversed(messages))
        suspects: list[dict] = []  # were running when the worker died: retried one at a time
        inflight: dict[str, dict] = {}
        try:
            while pending or suspects or inflight:
                if self.proc is None:
                    self._start()
                try:
                    if suspects:
                        if not inflight:
                            message = suspects.pop()
                            inflight[message["id"]] = message
                            self.proc.stdin.write(json.dumps(message, ensure_ascii=False) + "\n")
                    else:
                        while pending and len(inflight) < self.jobs:
                            message = pending.pop()
                            inflight[message["id"]] = message
                            self.proc.stdin.write(json.dumps(message, ensure_ascii=False) + "\n")
                    self.proc.stdin.flush()
                    line = self.proc.stdout.readline()
                except OSError:  # a broken pipe: the worker is gone
                    line = ""
                if line:
                    answer = json.loads(line)
                    inflight.pop(answer["id"])
                    yield answer.pop("id"), answer
                    continue
                self.close()
                if len(inflight) == 1:  # it ran alone: this task's code ended the worker
                    yield next(iter(inflight)), {"records": [], "problem": self.WORKER_DIED, "seconds": 0.0}
                else:
                    suspects += inflight.values()
                inflight.clear()
        finally:
            self.close()

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()  # the worker kills the children it is running, then exits
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def run_tasks(tasks: list[Task], jobs: int, warm_worker: bool, steps: list[int], out_dir: Path,
              timeout_s: float, step_timeout_s: float) -> Iterator[tuple[Task, dict]]:
    """Grade ``tasks`` ``jobs`` at a time, yielding (task, answer) as each ends: in a warm worker
    process, or (``warm_worker=False``) in children of this process — for callers that have already
    imported the libraries, such as the tests."""
    from kogpt2_course.grading import worker

    by_id = {t.id: t for t in tasks}
    messages = []
    for task in tasks:
        if grader.step_test_files(task.step):
            messages.append(_task_message(task, out_dir, timeout_s, step_timeout_s))
        else:  # a step without tests: nothing to run, as in grade
            yield task, {"records": None, "problem": "", "seconds": 0.0}
    if not messages:
        return
    answers = WarmWorker(jobs, steps, out_dir).run(messages) if warm_worker else worker.run_tasks(messages, jobs)
    with closing(answers):
        for task_id, answer in answers:
            yield by_id[task_id], answer


# --- the command ---------------------------------------------------------------------------------

@dataclass
class ClassRun:
    out_dir: Path
    submissions: list[Submission]
    graded: int  # tasks run in this call
    resumed: int  # tasks already done by an earlier run
    outputs: dict[str, Path]


def grade_class(submissions_dir: str | Path, out_dir: str | Path, steps: list[int] | None = None,
                jobs: int | None = None, timeout_s: float = 60.0, step_timeout_s: float = 900.0,
                regrade: bool = False, report_format: str = "md", progress: bool = True,
                warm_worker: bool = True) -> ClassRun:
    """Grade every submission (``jobs`` steps at a time), then write the gradebook, per-student JSON,
    report and heat map. ``warm_worker=False``: see ``run_tasks``."""
    from tqdm.auto import tqdm

    from kogpt2_course.grading import gradebook

    if not hasattr(os, "fork"):
        raise GradeClassError("grade-class는 fork가 되는 운영체제(리눅스, WSL)에서 씁니다. "
                              "여기서는 학생마다 python -m kogpt2_course grade --course-dir 폴더 를 쓰세요")
    submissions_dir, out_dir = Path(submissions_dir).resolve(), Path(out_dir).resolve()
    steps = sorted(steps or STEP_FILES)
    unknown = [s for s in steps if s not in STEP_FILES]
    if unknown:
        raise GradeClassError(f"없는 단계입니다: {unknown} (가능한 단계: {sorted(STEP_FILES)})")
    submissions = [prepare(s, out_dir) for s in discover(submissions_dir, out_dir)]
    if not submissions:
        raise GradeClassError(f"{submissions_dir}에 학생 폴더나 .zip 파일이 없습니다")
    tasks, resumed = plan(submissions, steps, out_dir, timeout_s, step_timeout_s, regrade)
    if resumed:
        print(f"이전 실행에서 끝난 {resumed}개 (학생, 단계)는 건너뜁니다 — 다시 채점하려면 --regrade", file=sys.stderr)
    jobs = max(1, default_jobs() if jobs is None else jobs)
    by_student = {s.student: s for s in submissions}
    remaining = {s.student: sum(t.student == s.student for t in tasks) for s in submissions}
    runner = run_tasks(tasks, jobs, warm_worker, steps, out_dir, timeout_s, step_timeout_s)
    graded = 0
    with closing(runner), tqdm(total=len(tasks), desc="채점", unit="단계", disable=not progress or None,
                               file=sys.stderr) as bar:
        for task, answer in runner:
            write_json_atomic(state_path(out_dir, task.student, task.step),
                              {"key": task.key, "step": task.step, **answer})
            graded += 1
            remaining[task.student] -= 1
            if remaining[task.student] == 0:  # this student is complete: their results.json now
                gradebook.write_student_json(gradebook.load_student(out_dir, by_student[task.student], steps), out_dir)
            bar.set_postfix_str(f"{task.student} Step {task.step}")
            bar.update()
    outputs = gradebook.write_outputs(out_dir, submissions, steps, report_format)
    return ClassRun(out_dir, submissions, graded, resumed, outputs)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "grade-class", help="반 전체 제출물을 한 번에 채점하고 성적표·학급 보고서·히트맵을 만듭니다",
        description="SUBMISSIONS 안의 하위 폴더(또는 .zip) 하나가 학생 한 명입니다 (이름 = 학생 ID). "
                    "중단된 채점은 같은 명령을 다시 실행하면 이어서 합니다.")
    p.add_argument("submissions", metavar="SUBMISSIONS", help="학생별 제출 폴더나 .zip 파일이 들어 있는 폴더")
    p.add_argument("--step", type=int, action="append", choices=sorted(STEP_FILES),
                   help="채점할 단계 (여러 번 지정 가능, 생략하면 전체)")
    p.add_argument("--out", default=None, help="결과 폴더 (생략하면 SUBMISSIONS 옆의 <이름>_grades)")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="동시에 채점하는 (학생, 단계) 수 — 하나에 CPU 스레드 1개")
    p.add_argument("--timeout", type=float, default=60.0, help="테스트 하나의 시간 제한(초)")
    p.add_argument("--step-timeout", type=float, default=900.0, help="학생 한 명의 단계 하나 전체 시간 제한(초)")
    p.add_argument("--regrade", action="store_true", help="이미 채점한 학생도 처음부터 다시 채점")
    p.add_argument("--report-format", choices=["md", "html"], default="md", help="학급 보고서 형식")
    return p


def main(args) -> int:
    submissions = Path(args.submissions)
    out = Path(args.out) if args.out else submissions.resolve().parent / f"{submissions.resolve().name}_grades"
    if args.jobs < 1:
        raise GradeClassError(f"--jobs {args.jobs} : 1 이상이어야 합니다 (동시에 채점하는 수)")
    try:
        run = grade_class(submissions, out, args.step, args.jobs, args.timeout, args.step_timeout,
                          args.regrade, args.report_format)
    except KeyboardInterrupt:
        print("\n중단되었습니다. 같은 명령을 다시 실행하면 끝난 채점은 건너뛰고 이어서 합니다.", file=sys.stderr)
        return 130
    print(f"학생 {len(run.submissions)}명: 이번에 채점 {run.graded}개, 이전 결과 재사용 {run.resumed}개 (학생×단계)")
    for name, path in run.outputs.items():
        print(f"{name}: {path}")
    return 0
