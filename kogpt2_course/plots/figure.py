"""한글 글꼴을 설정한 matplotlib — 모든 단계의 PNG 그림용.

matplotlib의 기본 글꼴에는 한글이 없어(네모로 보임) ``koreanize-matplotlib``이 휠 안에 담은 나눔고딕을 씁니다.
그래서 인터넷 없이 새로 설치한 환경에서도 됩니다.
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
    """``fig``를 ``output_dir``(없으면 만듦) 아래 PNG로 저장합니다. Jupyter에서는 바로 보여 줍니다."""
    path = Path(output_dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    if in_notebook():
        plt.show()
    plt.close(fig)
    return path
