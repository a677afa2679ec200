"""A made-up class of submissions, to try grade-class on (and to benchmark and test it).

    python -m kogpt2_course.grading.sample_class demo_class/ --students 6
    python -m kogpt2_course grade-class demo_class/

Each student folder holds the step files of one kind of student (``KINDS``), made from the
course's own files: ``solution`` (every TODO done), ``untouched`` (the files as handed out),
``mistakes`` (typical wrong answers, written by editing a copy of the solution), ``partial``
(Steps 1–2 done, the rest untouched) and ``broken`` (a submission that crashes in every way the
grader must survive: sys.exit at import, a syntax error, os._exit and a segfault inside a TODO,
a missing file). Steps without an entry below get the solution (``mistakes``) or the
untouched file (``broken``).
"""

from __future__ import annotations

from pathlib import Path

from kogpt2_course.cli.arguments import KoreanArgumentParser
from kogpt2_course.grading.exercises import STEP_FILES, solution_path, student_path
from kogpt2_course.grading.script_runner import run_main

# Plausible wrong answers: (text of the solution, replacement). Each text occurs once in its file.
MISTAKES = {
    1: [("    text = tokenizer.decode(token_ids, skip_special_tokens=True)\n",
         "    text = tokenizer.decode(token_ids)\n"),  # TODO 1-5: special tokens left in
        ("            return i\n", "            return i + 1\n")],  # TODO 1-8: off by one
    2: [("do_sample=True, top_p=top_p, top_k=0)\n", "do_sample=True, top_p=top_p)\n"),  # TODO 2-3: default top-k 50 still on
        ("logits < kth_largest", "logits <= kth_largest")],  # TODO 2-4: drops the k-th token too
    3: [("return (logits / temperature).softmax", "return (logits * temperature).softmax"),  # TODO 3-3
        ("nonzero.log()", "nonzero.log2()")],  # TODO 3-4: bits instead of nats
    4: [("    perplexity = math.exp(val_loss)\n", "    perplexity = 2 ** val_loss\n")],  # TODO 4-6
    5: [('    return torch.device("cuda" if torch.cuda.is_available() else "cpu")\n',
         '    return torch.device("cpu")\n')],  # TODO 5-1: never uses the GPU
}

# Crashes: replacements of the solution text ("" = add at the end), or None for "no file at all".
BREAKAGES = {
    1: [("", "\nimport sys\n\nsys.exit(1)\n")],  # sys.exit while the file is imported
    2: [("", "\n\ndef broken(:\n    pass\n")],  # a syntax error
    3: [("    return (logits / temperature).softmax(dim=-1)\n",
         "    import os\n    os._exit(3)\n")],  # the interpreter ends in the middle of the tests
    4: [("    corpus = NsmcCorpus()\n",
         "    import ctypes\n    ctypes.string_at(0)\n")],  # a segmentation fault
    5: None,  # the file is missing
}

KINDS = ("solution", "untouched", "mistakes", "partial", "broken")


def patched(source: str, patches: list[tuple[str, str]], what: str) -> str:
    for old, new in patches:
        if not old:
            source += new
            continue
        if source.count(old) != 1:
            raise ValueError(f"{what}: 바꿀 부분이 정확히 한 번 나오지 않습니다: {old!r}")
        source = source.replace(old, new)
    return source


def step_source(kind: str, step: int) -> str | None:
    """The text of Step ``step``'s file for a student of this kind (None: no file)."""
    solution = solution_path(step).read_text(encoding="utf-8")
    untouched = student_path(step).read_text(encoding="utf-8")
    if kind == "solution" or (kind == "partial" and step <= 2):
        return solution
    if kind in ("untouched", "partial"):
        return untouched
    if kind == "mistakes":
        return patched(solution, MISTAKES.get(step, []), f"mistakes step {step}")
    if kind == "broken":
        if step not in BREAKAGES:
            return untouched
        return None if BREAKAGES[step] is None else patched(solution, BREAKAGES[step], f"broken step {step}")
    raise ValueError(f"알 수 없는 학생 종류: {kind} (가능: {', '.join(KINDS)})")


def make_submission(folder: str | Path, kind: str, steps: list[int] | None = None) -> Path:
    """Write the step files of one student of ``kind`` into ``folder`` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for step in steps or sorted(STEP_FILES):
        source = step_source(kind, step)
        if source is not None:
            (folder / STEP_FILES[step]).write_text(source, encoding="utf-8")
    return folder


def class_kinds(students: int) -> list[str]:
    """A mix for ``students`` students: a third solution, the rest spread over the other kinds."""
    pattern = ["solution", "untouched", "mistakes", "solution", "partial", "untouched", "solution",
               "mistakes", "untouched", "broken"]
    return [pattern[i % len(pattern)] for i in range(students)]


def make_class(folder: str | Path, students: int = 30, steps: list[int] | None = None) -> list[Path]:
    """``folder/student01`` … one folder per student (kinds from ``class_kinds``)."""
    return [make_submission(Path(folder) / f"student{i + 1:02d}_{kind}", kind, steps)
            for i, kind in enumerate(class_kinds(students))]


def main(argv=None) -> int:
    parser = KoreanArgumentParser(description="grade-class를 시험해 볼 가상의 학급 제출물을 만듭니다")
    parser.add_argument("folder", help="학생 폴더를 만들 곳")
    parser.add_argument("--students", type=int, default=10, help="학생 수")
    args = parser.parse_args(argv)
    for path in make_class(args.folder, args.students):
        print(path)
    return 0


if __name__ == "__main__":
    run_main(main)
