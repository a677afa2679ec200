"""Training curves: the loss of every optimizer step with its moving average (Step 6's hand-written loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from kogpt2_course.plots.figure import OUTPUT_DIR, plt, save_figure


def plot_loss_history(history: Sequence[tuple[int, float]], filename: str, output_dir: str | Path = OUTPUT_DIR,
                      title: str = "학습 손실", marks: Sequence[tuple[int, str]] = ()) -> Path:
    """``history``: (step, loss) pairs. ``marks``: (step, label) vertical lines, e.g. where a run resumed."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if history:
        steps = np.array([s for s, _ in history])
        losses = np.array([x for _, x in history], dtype=float)
        window = max(1, len(losses) // 20)
        # trailing mean over the last `window` steps (shorter at the start)
        cumulative = np.cumsum(np.insert(losses, 0, 0.0))
        starts = np.maximum(np.arange(1, len(losses) + 1) - window, 0)
        smooth = (cumulative[1:] - cumulative[starts]) / (np.arange(1, len(losses) + 1) - starts)
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, label="스텝마다")
        ax.plot(steps, smooth, color="tab:blue", label=f"이동 평균 ({window}스텝)")
    for step, label in marks:
        ax.axvline(step, color="tab:gray", linestyle="--", linewidth=1)
        ax.annotate(label, (step, 1), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                    fontsize=8, color="tab:gray")
    ax.set_xlabel("학습 스텝 (optimizer.step 횟수)")
    ax.set_ylabel("손실 (토큰당 음의 로그 가능도)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, filename, output_dir)
