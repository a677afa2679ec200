"""grade-class's outputs, built from the saved step records: gradebook.csv, one Gradescope
results.json per student, the Korean class report (Markdown or HTML) and the students × TODOs heat map.

Scores come from ``grader.results_from_records`` — the function ``grade`` itself scores with.
A TODO counts as passed by a student when every one of its tests passed.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2

from kogpt2_course.grading import grader
from kogpt2_course.grading.classroom import Submission, load_state, write_json_atomic
from kogpt2_course.grading.exercises import STEP_FILES
from kogpt2_course.grading.grader import TestResult

TODO_PREFIX = re.compile(r"^TODO \d+-\d+: ")
# a student file's untouched TODO: "TODO 1-2 미완성 ..." (script_runner.todo_message)
UNFINISHED = re.compile(r"^TODO (\d+-\d+) 미완성")
TOP_REASONS = 3


@dataclass
class StudentGrade:
    student: str
    steps: list[int]
    results: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    graded_steps: list[int] = field(default_factory=list)

    @property
    def graded(self) -> list[TestResult]:
        return [r for r in self.results if not r.skipped]

    def step_score(self, step: int) -> tuple[float, float] | None:
        if step not in self.graded_steps:
            return None
        rows = [r for r in self.graded if r.step == step]
        return sum(r.score for r in rows), sum(r.points for r in rows)

    @property
    def total(self) -> float:
        return sum(r.score for r in self.graded)


def bare_reason(reason: str) -> str:
    return TODO_PREFIX.sub("", reason)


def reason_for_report(reason: str) -> str:
    """The reason as the class report counts it: an unfinished TODO without its (long) hint."""
    reason = bare_reason(reason)
    unfinished = UNFINISHED.match(reason)
    return f"TODO {unfinished[1]} 미완성 (raise NotImplementedError가 남아 있음)" if unfinished else reason


def step_problems(step: int, results: list[TestResult], problem: str) -> list[str]:
    """What went wrong with a step as a whole: the process-level problem and file-level errors
    (missing file, syntax error, sys.exit or a hang at import) — not the failed answers."""
    found = [f"Step {step}: {problem}"] if problem else []
    file_error = (f"{STEP_FILES[step]}:", f"Step {step} 파일이 없습니다")
    for r in results:
        reason = bare_reason(r.reason)
        if reason.startswith(file_error) and f"Step {step}: {reason}" not in found:
            found.append(f"Step {step}: {reason}")
    return found


def load_student(out_dir: Path, submission: Submission, steps: list[int]) -> StudentGrade:
    grade = StudentGrade(submission.student, steps, problems=list(submission.problems))
    for step in steps:
        state = load_state(out_dir, submission.student, step)
        if state is None:
            continue
        grade.graded_steps.append(step)
        if state["records"] is None:  # the step has no tests
            continue
        results = grader.results_from_records(step, state["records"], state["problem"])
        grade.results += results
        grade.seconds += state["seconds"]
        grade.problems += step_problems(step, results, state["problem"])
    return grade


def student_json_path(out_dir: Path, student: str) -> Path:
    return out_dir / "students" / student / "results.json"


def write_student_json(grade: StudentGrade, out_dir: Path) -> Path:
    """Gradescope's results.json (as ``grade --json`` writes it) plus execution_time and the problems."""
    doc = grader.gradescope_json(grade.results)
    doc["execution_time"] = round(grade.seconds)
    if grade.problems:
        doc["output"] = "\n".join(grade.problems)
    path = student_json_path(out_dir, grade.student)
    write_json_atomic(path, doc)
    return path


def step_maxima(grades: list[StudentGrade], steps: list[int]) -> dict[int, float]:
    """Each step's full marks: the largest maximum among the students (a step that could not be
    collected is scored 1 point per TODO, as ``grade`` does)."""
    return {step: max([s[1] for g in grades if (s := g.step_score(step))] or [0]) for step in steps}


def write_gradebook(grades: list[StudentGrade], steps: list[int], path: Path) -> Path:
    maxima = step_maxima(grades, steps)
    full = sum(maxima.values())
    with open(path, "w", newline="", encoding="utf-8-sig") as f:  # utf-8-sig: Excel reads the Hangul
        writer = csv.writer(f)
        writer.writerow(["학생", *[f"Step {s} (/{maxima[s]:g})" for s in steps], "총점", "만점", "채점 시간(초)", "문제"])
        for g in grades:
            scores = [g.step_score(s) for s in steps]
            writer.writerow([g.student, *["" if s is None else f"{s[0]:g}" for s in scores], f"{g.total:g}",
                             f"{full:g}", f"{g.seconds:.1f}", " | ".join(g.problems)])
    return path


def _todo_order(todo: str) -> tuple[int, ...]:
    return tuple(int(part) for part in todo.split("-"))


@dataclass
class TodoSummary:
    todo: str
    points: float
    passed: int
    graded: int
    reasons: list[tuple[str, int]]

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def todo_table(grades: list[StudentGrade]) -> tuple[list[str], dict[str, dict[str, tuple[float, float]]], list[TodoSummary]]:
    """TODO ids in course order; per student and TODO (score, points); per TODO its summary."""
    per_student: dict[str, dict[str, tuple[float, float]]] = {}
    reasons: dict[str, Counter] = {}
    whole_file: set[str] = set()  # reasons that are a submission's problem (no file, crash, ...)
    for g in grades:
        cells: dict[str, tuple[float, float]] = {}
        seen: dict[str, set] = {}
        for r in g.graded:
            got, pts = cells.get(r.todo, (0.0, 0.0))
            cells[r.todo] = (got + r.score, pts + r.points)
            if r.score < r.points:
                text = reason_for_report(r.reason)
                seen.setdefault(r.todo, set()).add(text)
                if f"Step {r.step}: {bare_reason(r.reason)}" in g.problems:
                    whole_file.add(text)
        per_student[g.student] = cells
        for todo, texts in seen.items():  # a reason counts once per student
            reasons.setdefault(todo, Counter()).update(texts)
    todos = sorted({t for cells in per_student.values() for t in cells}, key=_todo_order)
    summaries = []
    for todo in todos:
        cells = [c[todo] for c in per_student.values() if todo in c]
        # most students first; at equal counts a wrong answer before a broken file (listed apart anyway)
        ranked = sorted(reasons.get(todo, Counter()).items(), key=lambda item: (-item[1], item[0] in whole_file))
        summaries.append(TodoSummary(todo, max(p for _, p in cells), sum(p > 0 and got == p for got, p in cells),
                                     len(cells), ranked[:TOP_REASONS]))
    return todos, per_student, summaries


def write_heatmap(grades: list[StudentGrade], out_dir: Path) -> Path | None:
    from kogpt2_course.plots.grades import plot_score_heatmap

    todos, per_student, _ = todo_table(grades)
    if not todos:
        return None
    shares = [[(per_student[g.student][t][0] / per_student[g.student][t][1])
               if t in per_student[g.student] and per_student[g.student][t][1] else None for t in todos]
              for g in grades]
    separators = [i for i in range(1, len(todos)) if todos[i].split("-")[0] != todos[i - 1].split("-")[0]]
    return plot_score_heatmap([g.student for g in grades], todos, shares, "heatmap.png", out_dir,
                              title="학생 × TODO 득점 비율", separators=separators)


def _stats(values: list[float]) -> dict:
    if not values:
        return {"mean": 0, "median": 0, "max": 0, "min": 0}
    return {"mean": statistics.fmean(values), "median": statistics.median(values), "max": max(values), "min": min(values)}


def report_context(grades: list[StudentGrade], steps: list[int], heatmap: Path | None) -> dict:
    maxima = step_maxima(grades, steps)
    _, _, summaries = todo_table(grades)
    step_rows = []
    for step in steps:
        scores = [s[0] for g in grades if (s := g.step_score(step))]
        step_rows.append({"step": step, "max": maxima[step], **_stats(scores),
                          "full": sum(1 for g in grades if (s := g.step_score(step)) and s[1] and s[0] == maxima[step])})
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"), "count": len(grades), "steps": steps,
        "full": sum(maxima.values()), "total": _stats([g.total for g in grades]), "step_rows": step_rows,
        "todos": summaries, "grades": grades, "maxima": maxima,
        "hardest": sorted(summaries, key=lambda t: (t.rate, _todo_order(t.todo)))[:5],
        "problems": [g for g in grades if g.problems], "heatmap": heatmap.name if heatmap else None,
    }


MARKDOWN = """\
# 학급 채점 보고서

- 채점 시각: {{ date }} · 학생 {{ count }}명 · 단계: {{ steps | join(", ") }}
- 총점: 평균 {{ "%.1f" | format(total.mean) }} / {{ full | g }} (중앙값 {{ total.median | g }}, 최고 {{ total.max | g }}, 최저 {{ total.min | g }})

## 단계별 점수

| 단계 | 만점 | 평균 | 중앙값 | 최저 | 만점 받은 학생 |
| --- | ---: | ---: | ---: | ---: | ---: |
{% for r in step_rows -%}
| Step {{ r.step }} | {{ r.max | g }} | {{ "%.1f" | format(r.mean) }} | {{ r.median | g }} | {{ r.min | g }} | {{ r.full }}/{{ count }} |
{% endfor %}
## 다음 수업 전에 다시 볼 TODO (통과율이 낮은 순)

{% for t in hardest -%}
- **TODO {{ t.todo }}**: {{ t.passed }}/{{ t.graded }}명 통과{% if t.reasons %} — 가장 흔한 실패: {{ t.reasons[0][0] | md }} ({{ t.reasons[0][1] }}명){% endif %}
{% endfor %}
## TODO별 통과 현황과 흔한 실패 사유

TODO의 테스트를 모두 통과한 학생을 "통과"로 셉니다. 실패 사유 옆 숫자는 그 사유로 실패한 학생 수입니다.

| TODO | 배점 | 통과 | 통과율 | 흔한 실패 사유 |
| --- | ---: | ---: | ---: | --- |
{% for t in todos -%}
| {{ t.todo }} | {{ t.points | g }} | {{ t.passed }}/{{ t.graded }} | {{ "%.0f" | format(100 * t.rate) }}% | {% for text, n in t.reasons %}{{ text | md }} ({{ n }}명){% if not loop.last %}<br>{% endif %}{% else %}-{% endfor %} |
{% endfor %}
## 채점 중 문제가 있었던 제출물

{% for g in problems -%}
- **{{ g.student }}**: {{ g.problems | map("md") | join("; ") }}
{% else -%}
없음
{% endfor %}
{% if heatmap -%}
## 학생 × TODO 히트맵

초록은 그 TODO의 점수를 모두 받은 칸, 빨강은 0점, 회색은 채점하지 않은 칸입니다.

![학생 × TODO 히트맵]({{ heatmap }})
{% endif %}
## 학생별 점수

| 학생 | {% for s in steps %}Step {{ s }} | {% endfor %}총점 |
| --- | {% for s in steps %}---: | {% endfor %}---: |
{% for g in grades -%}
| {{ g.student | md }} | {% for s in steps %}{% set sc = g.step_score(s) %}{{ "-" if sc is none else sc[0] | g }} | {% endfor %}{{ g.total | g }} |
{% endfor %}"""

HTML = """\
<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>학급 채점 보고서</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}td.n{text-align:right}
img{max-width:100%}</style></head><body>
<h1>학급 채점 보고서</h1>
<p>채점 시각: {{ date }} · 학생 {{ count }}명 · 단계: {{ steps | join(", ") }}<br>
총점: 평균 {{ "%.1f" | format(total.mean) }} / {{ full | g }} (중앙값 {{ total.median | g }}, 최고 {{ total.max | g }}, 최저 {{ total.min | g }})</p>
<h2>단계별 점수</h2>
<table><tr><th>단계</th><th>만점</th><th>평균</th><th>중앙값</th><th>최저</th><th>만점 받은 학생</th></tr>
{% for r in step_rows %}<tr><td>Step {{ r.step }}</td><td class="n">{{ r.max | g }}</td><td class="n">{{ "%.1f" | format(r.mean) }}</td>
<td class="n">{{ r.median | g }}</td><td class="n">{{ r.min | g }}</td><td class="n">{{ r.full }}/{{ count }}</td></tr>
{% endfor %}</table>
<h2>다음 수업 전에 다시 볼 TODO (통과율이 낮은 순)</h2>
<ul>{% for t in hardest %}<li><b>TODO {{ t.todo }}</b>: {{ t.passed }}/{{ t.graded }}명 통과{% if t.reasons %} — 가장 흔한 실패: {{ t.reasons[0][0] }} ({{ t.reasons[0][1] }}명){% endif %}</li>
{% endfor %}</ul>
<h2>TODO별 통과 현황과 흔한 실패 사유</h2>
<p>TODO의 테스트를 모두 통과한 학생을 "통과"로 셉니다. 실패 사유 옆 숫자는 그 사유로 실패한 학생 수입니다.</p>
<table><tr><th>TODO</th><th>배점</th><th>통과</th><th>통과율</th><th>흔한 실패 사유</th></tr>
{% for t in todos %}<tr><td>{{ t.todo }}</td><td class="n">{{ t.points | g }}</td><td class="n">{{ t.passed }}/{{ t.graded }}</td>
<td class="n">{{ "%.0f" | format(100 * t.rate) }}%</td><td>{% for text, n in t.reasons %}{{ text }} ({{ n }}명){% if not loop.last %}<br>{% endif %}{% else %}-{% endfor %}</td></tr>
{% endfor %}</table>
<h2>채점 중 문제가 있었던 제출물</h2>
<ul>{% for g in problems %}<li><b>{{ g.student }}</b>: {{ g.problems | join("; ") }}</li>{% else %}<li>없음</li>{% endfor %}</ul>
{% if heatmap %}<h2>학생 × TODO 히트맵</h2>
<p>초록은 그 TODO의 점수를 모두 받은 칸, 빨강은 0점, 회색은 채점하지 않은 칸입니다.</p>
<img src="{{ heatmap }}" alt="학생 × TODO 히트맵">{% endif %}
<h2>학생별 점수</h2>
<table><tr><th>학생</th>{% for s in steps %}<th>Step {{ s }}</th>{% endfor %}<th>총점</th></tr>
{% for g in grades %}<tr><td>{{ g.student }}</td>{% for s in steps %}{% set sc = g.step_score(s) %}<td class="n">{{ "-" if sc is none else sc[0] | g }}</td>{% endfor %}<td class="n">{{ g.total | g }}</td></tr>
{% endfor %}</table>
</body></html>
"""


def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(autoescape=html, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["g"] = lambda value: f"{value:g}"
    # in a Markdown table: | ends a cell, <pad> would be read as an HTML tag, a newline ends the row
    env.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")
    return env


def write_report(grades: list[StudentGrade], steps: list[int], out_dir: Path, report_format: str,
                 heatmap: Path | None) -> Path:
    html = report_format == "html"
    text = _environment(html).from_string(HTML if html else MARKDOWN).render(report_context(grades, steps, heatmap))
    path = out_dir / ("report.html" if html else "report.md")
    path.write_text(text, encoding="utf-8")
    return path


def write_outputs(out_dir: Path, submissions: list[Submission], steps: list[int], report_format: str = "md"
                  ) -> dict[str, Path]:
    grades = [load_student(out_dir, s, steps) for s in submissions]
    for g in grades:
        write_student_json(g, out_dir)
    heatmap = write_heatmap(grades, out_dir)
    outputs = {"성적표": write_gradebook(grades, steps, out_dir / "gradebook.csv"),
               "학생별 결과": out_dir / "students" / "<학생>" / "results.json",
               "학급 보고서": write_report(grades, steps, out_dir, report_format, heatmap)}
    if heatmap:
        outputs["히트맵"] = heatmap
    return outputs

