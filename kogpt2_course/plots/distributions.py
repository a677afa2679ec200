"""Steps 2–3의 그림: 다음 토큰 분포, top-k / top-p가 남긴 토큰, 지표 막대그래프, 다양성–품질 곡선.

모든 함수는 숫자와 한국어 이름을 받아 그림 하나를 그리고 ``kogpt2_course.plots.figure.save_figure``로 PNG를
저장합니다(노트북에서는 바로 보임). PNG 파일의 경로를 돌려줍니다.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.ticker import FuncFormatter, NullFormatter

from kogpt2_course.plots.figure import OUTPUT_DIR, plt, save_figure

KEPT_COLOR = "#1f77b4"
REMOVED_COLOR = "#d0d0d0"


def _as_floats(values) -> list[float]:
    return [float(v) for v in values]


def plot_token_distributions(labels: Sequence[str], distributions: Mapping[str, Sequence[float]],
                             filename: str, output_dir: str | Path = OUTPUT_DIR, title: str = "",
                             notes: Mapping[str, str] | None = None) -> Path:
    """분포마다(예: 온도마다) 같은 토큰들(``labels``) 위의 막대 그래프 한 칸."""
    names = list(distributions)
    fig, axes = plt.subplots(len(names), 1, figsize=(max(8, 0.45 * len(labels)), 2.2 * len(names)),
                             sharex=True, squeeze=False)
    x = range(len(labels))
    for ax, name in zip(axes[:, 0], names):
        probs = _as_floats(distributions[name])
        ax.bar(x, probs, color=KEPT_COLOR)
        ax.set_ylim(0, max(max(probs) * 1.15, 0.05))
        ax.set_ylabel("확률")
        note = f"   {notes[name]}" if notes and name in notes else ""
        ax.set_title(f"{name}{note}", loc="left", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xticks(list(x), labels, rotation=60, ha="right", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, filename, output_dir)


def plot_kept_sets(labels: Sequence[str], probs: Sequence[float], kept: Mapping[str, Sequence[bool]],
                   filename: str, output_dir: str | Path = OUTPUT_DIR, title: str = "",
                   notes: Mapping[str, str] | None = None) -> Path:
    """같은 분포를 필터마다 한 번씩: 남긴 토큰은 색으로, 버린 토큰은 회색으로."""
    probs = _as_floats(probs)
    names = list(kept)
    fig, axes = plt.subplots(len(names), 1, figsize=(max(8, 0.3 * len(labels)), 2.4 * len(names)),
                             sharex=True, squeeze=False)
    x = list(range(len(labels)))
    for ax, name in zip(axes[:, 0], names):
        colors = [KEPT_COLOR if k else REMOVED_COLOR for k in kept[name]]
        ax.bar(x, probs, color=colors)
        ax.set_yscale("log")  # so the small probabilities of the tail stay visible
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # no mathtext minus sign
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("확률 (로그 눈금)")
        note = f"   {notes[name]}" if notes and name in notes else ""
        ax.set_title(f"{name}{note}", loc="left", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(handles=[plt.Rectangle((0, 0), 1, 1, color=KEPT_COLOR),
                               plt.Rectangle((0, 0), 1, 1, color=REMOVED_COLOR)],
                      labels=["남긴 토큰", "버린 토큰"], loc="upper right")
    axes[-1, 0].set_xticks(x, labels, rotation=70, ha="right", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, filename, output_dir)


def plot_metric_bars(values: Mapping[str, Mapping[str, float]], filename: str,
                     output_dir: str | Path = OUTPUT_DIR, title: str = "", ylabel: str = "") -> Path:
    """묶은 막대: 설정(바깥 키)마다 한 묶음, 지표(안쪽 키)마다 막대 하나."""
    settings = list(values)
    metrics = list(dict.fromkeys(m for v in values.values() for m in v))
    width = 0.8 / max(1, len(metrics))
    fig, ax = plt.subplots(figsize=(min(16, max(6, 0.9 * len(settings) + 2)), 4.5))
    for i, metric in enumerate(metrics):
        xs = [s + (i - (len(metrics) - 1) / 2) * width for s in range(len(settings))]
        heights = [float(values[name].get(metric, 0.0)) for name in settings]
        bars = ax.bar(xs, heights, width=width, label=metric)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(settings)), settings, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max([1.0] + [float(v) * 1.15 for m in values.values() for v in m.values()]))
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, filename, output_dir)


def plot_tradeoff(curves: Mapping[str, Sequence[tuple[float, float, str]]], filename: str,
                  output_dir: str | Path = OUTPUT_DIR, title: str = "", xlabel: str = "", ylabel: str = "",
                  references: Mapping[str, float] | None = None) -> Path:
    """곡선마다 (x, y, 점 이름) 점들을 이어 그립니다 (예: 다양성–품질). ``references``는 {이름: y} 가로 점선."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, points in curves.items():
        xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
        ax.plot(xs, ys, marker="o", label=name)
        for x, y, label in points:
            ax.annotate(str(label), (float(x), float(y)), textcoords="offset points", xytext=(5, 5), fontsize=9)
    for name, y in (references or {}).items():
        ax.axhline(float(y), linestyle="--", color="gray")
        ax.annotate(name, (ax.get_xlim()[0], float(y)), textcoords="offset points", xytext=(4, 4), fontsize=9,
                    color="gray")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, filename, output_dir)
