"""Grade the same made-up class twice — today's one-student-at-a-time loop and grade-class — and
compare the time and every student's scores.

    nice -n 10 python bench/bench_grade_class.py                      # 30 students, all steps
    nice -n 10 python bench/bench_grade_class.py --students 10 --step 1 --step 5

The loop is what the instructors' guide used to give:
    for d in submissions/*/; do python -m kogpt2_course grade --course-dir "$d" --json ...; done
grade-class runs first, with --regrade (nothing reused) and --jobs (default: the cores); then the
loop. Wall and CPU seconds are reported (CPU: all descendant processes). The class comes
from kogpt2_course.grading.sample_class (solution, untouched, typical mistakes, partial, broken).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kogpt2_course.cli.arguments import KoreanArgumentParser  # noqa: E402
from kogpt2_course.grading.classroom import default_jobs  # noqa: E402
from kogpt2_course.grading.exercises import STEP_FILES  # noqa: E402
from kogpt2_course.grading.sample_class import make_class  # noqa: E402
from kogpt2_course.grading.script_runner import run_main  # noqa: E402


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def scores(doc: dict) -> list[tuple]:
    return [(t["name"], t["score"], t["max_score"], t["output"]) for t in doc["tests"]]


def main(argv=None) -> int:
    parser = KoreanArgumentParser(description="같은 가상 학급을 학생마다 grade로, 그리고 grade-class로 채점해 "
                                              "시간과 학생별 점수를 비교합니다")
    parser.add_argument("--students", type=int, default=30, help="학생 수")
    parser.add_argument("--step", type=int, action="append", choices=sorted(STEP_FILES),
                        help="채점할 단계 (생략하면 전체)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="grade-class의 작업자 수")
    parser.add_argument("--workdir", default=None, help="제출물과 결과를 둘 폴더 (생략하면 임시 폴더)")
    parser.add_argument("--json", default=None, help="측정 결과를 저장할 JSON 파일")
    args = parser.parse_args(argv)
    steps = sorted(args.step or STEP_FILES)
    step_flags = [f"--step={s}" for s in steps]
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        submissions = work / "submissions"
        folders = make_class(submissions, args.students, steps)
        kinds = Counter(folder.name.split("_", 1)[1] for folder in folders)
        print(f"학생 {len(folders)}명 ({dict(kinds)}), 단계 {steps}, CPU {os.cpu_count()}개", flush=True)

        def timed(commands) -> tuple[float, float]:
            """Wall and CPU seconds (all descendants: the pytest processes, the worker's children)."""
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            for cmd in commands:
                subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return time.perf_counter() - start, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

        out = work / "grades"
        print(f"[1/2] grade-class --jobs {args.jobs} (부하 {load()})", flush=True)
        class_s, class_cpu = timed([[sys.executable, "-m", "kogpt2_course", "grade-class", str(submissions),
                                     "--out", str(out), "--regrade", "--jobs", str(args.jobs), *step_flags]])
        print(f"      {class_s:.1f}초, CPU {class_cpu:.1f}초 (부하 {load()})", flush=True)

        loop_dir = work / "loop"
        loop_dir.mkdir(parents=True, exist_ok=True)
        print(f"[2/2] 기존 방식: 학생마다 grade (부하 {load()})", flush=True)
        loop_s, loop_cpu = timed([[sys.executable, "-m", "kogpt2_course", "grade", "--course-dir", str(folder),
                                   "--json", str(loop_dir / f"{folder.name}.json"), *step_flags] for folder in folders])
        print(f"      {loop_s:.1f}초, CPU {loop_cpu:.1f}초 (부하 {load()})", flush=True)

        differing = []
        totals = {}
        for folder in folders:
            loop_doc = json.loads((loop_dir / f"{folder.name}.json").read_text(encoding="utf-8"))
            class_doc = json.loads((out / "students" / folder.name / "results.json").read_text(encoding="utf-8"))
            totals[folder.name] = (loop_doc["score"], class_doc["score"], loop_doc["max_score"])
            if scores(loop_doc) != scores(class_doc) or loop_doc["score"] != class_doc["score"]:
                differing.append(folder.name)

    print()
    print(f"{'학생':<24}{'grade':>8}{'grade-class':>13}{'만점':>6}")
    for name, (a, b, full) in totals.items():
        print(f"{name:<24}{a:>8g}{b:>13g}{full:>6g}{'' if a == b else '  ← 다름'}")
    print()
    print(f"기존 방식 (학생마다 grade): {loop_s:.1f}초 = 학생당 {loop_s / len(folders):.1f}초, CPU {loop_cpu:.1f}초")
    print(f"grade-class --jobs {args.jobs}:      {class_s:.1f}초 = 학생당 {class_s / len(folders):.1f}초, CPU {class_cpu:.1f}초")
    print(f"속도: {loop_s / class_s:.1f}배 (CPU 시간 {loop_cpu / class_cpu:.1f}배 적게)")
    print(f"테스트별 점수와 사유가 같은 학생: {len(folders) - len(differing)}/{len(folders)}"
          + (f" — 다른 학생: {', '.join(differing)}" if differing else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "students": len(folders), "kinds": dict(kinds), "steps": steps, "jobs": args.jobs,
            "loop_s": round(loop_s, 1), "grade_class_s": round(class_s, 1), "speedup": round(loop_s / class_s, 2),
            "loop_cpu_s": round(loop_cpu, 1), "grade_class_cpu_s": round(class_cpu, 1),
            "identical": len(folders) - len(differing), "differing": differing}, ensure_ascii=False, indent=1),
            encoding="utf-8")
    return 1 if differing else 0


if __name__ == "__main__":
    run_main(main)
