"""Matplotlib with a Hangul font, for the PNG figures of every step.

matplotlib's default font has no Hangul glyphs (labels would be boxes); ``koreanize-matplotlib``
ships NanumGothic inside its wheel, so this works offline on a fresh install.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from kogpt2_course.grading.script_runner import in_notebook

if not in_notebook():
    matplotlib.use("Agg")  # scripts and tests write PNG files; notebooks show figures inline

import koreanize_matplotlib  # noqa: E402,F401  (sets the Korean font on import)
import matplotlib.pyplot as plt  # noqa: E402

matplotlib.rcParams["axes.unicode_minus"] = False

OUTPUT_DIR = Path("outputs")


def save_figure(fig, filename: str, output_dir: str | Path = OUTPUT_DIR) -> Path:
    """Save ``fig`` as PNG under ``output_dir`` (created if needed); show it inline in Jupyter."""
    path = Path(output_dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    if in_notebook():
        plt.show()
    plt.close(fig)
    return path
