"""The class report's figure: a heat map of students × TODOs (share of each TODO's points earned)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from kogpt2_course.plots.figure import OUTPUT_DIR, plt, save_figure


def plot_score_heatmap(students: Sequence[str], todos: Sequence[str], shares: Sequence[Sequence[float | None]],
                       filename: str, output_dir: str | Path = OUTPUT_DIR, title: str = "",
                       separators: Sequence[int] = ()) -> Path:
    """``shares[i][j]``: the share (0–1) of TODO ``todos[j]``'s points that student ``students[i]``
    earned; None (grey) where it was not graded. A vertical line before each column in
    ``separators`` (e.g. where a new step starts)."""
    values = [[math.nan if v is None else float(v) for v in row] for row in shares]
    fig, ax = plt.subplots(figsize=(min(40, max(6, 0.32 * len(todos) + 3)), min(60, max(3, 0.3 * len(students) + 1.6))))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#d0d0d0")
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(todos)), todos, rotation=90, fontsize=8)
    ax.set_yticks(range(len(students)), students, fontsize=8)
    ax.set_xticks([x - 0.5 for x in range(1, len(todos))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(students))], minor=True)
    ax.grid(which="minor", color="white", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("TODO")
    ax.set_ylabel("학생")
    for column in separators:
        ax.axvline(column - 0.5, color="black", linewidth=1)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02).set_label("얻은 점수 비율")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, filename, output_dir)
