"""Course commands: ``python -m kogpt2_course {grade,grade-class,hint,make-exercises,bpc} --help``."""

from __future__ import annotations

import argparse
from pathlib import Path

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.grading.exercises import ROOT, STEP_FILES
from kogpt2_course.grading.script_runner import run_main
from kogpt2_course.lm.resolution import add_model_argument


def build_parser() -> argparse.ArgumentParser:
    parser = KoreanArgumentParser(prog="python -m kogpt2_course", description="KoGPT2 강의 도구")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="학생 파일을 채점하고 한국어 점수표를 출력합니다")
    g.add_argument("--step", type=int, action="append", choices=sorted(STEP_FILES),
                   help="채점할 단계 (여러 번 지정 가능, 생략하면 전체)")
    g.add_argument("--json", help="Gradescope 형식 results.json을 저장할 경로")
    g.add_argument("--course-dir", default=str(ROOT), help="학생 파일이 있는 폴더")
    g.add_argument("--target", choices=["student", "solution"], default="student", help="채점 대상")
    g.add_argument("--timeout", type=float, default=60.0, help="테스트 하나의 시간 제한(초)")
    g.add_argument("--step-timeout", type=float, default=900.0, help="단계 하나의 전체 시간 제한(초)")

    from kogpt2_course.grading.classroom import add_parser as add_grade_class_parser

    add_grade_class_parser(sub)

    h = sub.add_parser("hint", help="TODO의 다음 단계 힌트를 보여 줍니다 (부를 때마다 한 단계씩)")
    h.add_argument("todo", nargs="?", default=None, help="TODO 번호 (예: 2-4). 생략하면 TODO마다 본 단계를 보여 줍니다")
    h.add_argument("--level", type=int, default=None, help="이 단계의 힌트를 바로 봅니다 (1 = 파일의 주석)")
    h.add_argument("--course-dir", default=str(ROOT), help="본 단계를 기록할 학생 폴더")

    m = sub.add_parser("make-exercises", help="solutions/에서 학생용 stepN_*.py 파일을 다시 만듭니다")
    m.add_argument("--check", action="store_true", help="파일을 쓰지 않고, 다르면 종료 코드 1")

    b = sub.add_parser("bpc", help="문서 집합의 문자당 비트(bits per character)를 계산합니다")
    add_model_argument(b)
    b.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "nsmc" / "ratings_test.txt"),
                   help="NSMC 형식 파일(id<TAB>document<TAB>label) 또는 한 줄에 문서 하나인 텍스트 파일. "
                        "기본값은 NSMC 평가 문서로, 새로 받은 저장소에는 없으니 그때는 --data로 지정하세요")
    b.add_argument("--limit", type=int, default=0, help="앞에서부터 N개 문서만 (0 = 전체)")
    b.add_argument("--batch-size", type=int, default=32, help="배치 크기")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "grade":
        from kogpt2_course.grading.grader import main as grade_main

        return grade_main(args)
    if args.command == "grade-class":
        from kogpt2_course.grading.classroom import main as grade_class_main

        return grade_class_main(args)
    if args.command == "hint":
        from kogpt2_course.grading.hints import main as hint_main

        return hint_main(args)
    if args.command == "make-exercises":
        from kogpt2_course.grading.exercises import generate

        changed = generate(check=args.check)
        for path in changed:
            print(("다름: " if args.check else "생성: ") + str(Path(path).relative_to(ROOT)))
        if args.check and changed:
            print("학생 파일이 정답 파일과 맞지 않습니다. python -m kogpt2_course make-exercises 를 실행하세요.")
            return 1
        if not changed:
            print("모든 학생 파일이 최신입니다.")
        return 0
    if args.command == "bpc":
        from kogpt2_course.lm.bpc import main as bpc_main

        return bpc_main(args)
    return 2


if __name__ == "__main__":
    run_main(main)
