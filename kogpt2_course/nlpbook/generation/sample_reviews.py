"""The course's own small NSMC-format sample, so Step 4 runs offline on a fresh clone.

Every review is composed here from the course's own short phrases (what was liked or disliked +
a verdict + an optional closing remark) — nothing is taken from NSMC or any other corpus. The
result is deterministic (fixed seed), has both labels in equal numbers, and the test split
shares no review text with the train split. Tiny and repetitive by design: it shows the
mechanics of fine-tuning in a few minutes on a CPU, not the variety of real reviews.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

SAMPLE_CORPUS_NAME = "nsmc-sample"

# 무엇에 대한 평인지 (the aspect the review talks about)
ASPECTS = [
    "이 영화", "배우들 연기", "스토리", "영상미", "음악", "결말", "감독의 연출", "주인공",
    "액션 장면", "대사", "캐릭터", "전개", "분위기", "후반부", "시나리오", "연출",
]
POSITIVE_VERDICTS = [
    "정말 좋았어요", "최고였다", "감동적이었다", "기대 이상이었어요", "너무 재밌었다",
    "훌륭했습니다", "완벽했다", "마음에 쏙 들었다", "인상 깊었다", "오래 기억에 남는다",
    "신선했어요", "따뜻했다", "긴장감이 넘쳤다", "멋있었다",
]
NEGATIVE_VERDICTS = [
    "너무 지루했다", "최악이었다", "실망스러웠어요", "별로였다", "시간 낭비였다",
    "어색했다", "엉망이었다", "너무 뻔했다", "이해가 안 됐다", "답답했다",
    "억지스러웠다", "유치했어요", "산만했다", "성의가 없었다",
]
POSITIVE_CLOSINGS = [
    "", "", "", "강력 추천합니다", "가족과 함께 보세요", "또 보고 싶네요", "10점 만점에 10점",
    "올해 최고의 영화", "눈물이 났어요", "시간 가는 줄 몰랐다", "꼭 극장에서 보세요", "ㅎㅎ 추천",
]
NEGATIVE_CLOSINGS = [
    "", "", "", "추천하지 않습니다", "보지 마세요", "중간에 나왔어요", "1점도 아깝다",
    "잠만 잤네요", "기대했는데 아쉽다", "돈이 아까웠다", "다시는 안 봅니다", "ㅡㅡ 비추",
]
# 두 가지를 비교하는 문장: 앞은 반대 평, 뒤가 결론 (contrast: the second half decides the label)
CONTRAST = "{a1}{j1} {v1} {a2}{j2} {v2}."
ENDINGS = ["", "!", "!!", "...", " ㅋㅋ"]


def _has_final_consonant(word: str) -> bool:
    last = word.strip()[-1]
    return "가" <= last <= "힣" and (ord(last) - ord("가")) % 28 != 0


def topic_particle(word: str) -> str:
    """은/는: '영화' -> '는', '연기' -> '는', '결말' -> '은'."""
    return "은" if _has_final_consonant(word) else "는"


def subject_particle(word: str) -> str:
    """이/가: '스토리' -> '가', '결말' -> '이'."""
    return "이" if _has_final_consonant(word) else "가"


def _review(rng: random.Random, label: int) -> str:
    verdicts = POSITIVE_VERDICTS if label == 1 else NEGATIVE_VERDICTS
    closings = POSITIVE_CLOSINGS if label == 1 else NEGATIVE_CLOSINGS
    if rng.random() < 0.25:  # "A는 좋았지만 B는 별로였다" style: the final clause carries the label
        other = NEGATIVE_VERDICTS if label == 1 else POSITIVE_VERDICTS
        a1, a2 = rng.sample(ASPECTS, 2)
        text = CONTRAST.format(a1=a1, j1=topic_particle(a1), v1=_but(rng.choice(other)),
                               a2=a2, j2=subject_particle(a2), v2=rng.choice(verdicts))
    else:
        aspect = rng.choice(ASPECTS)
        text = f"{aspect}{subject_particle(aspect)} {rng.choice(verdicts)}{rng.choice(ENDINGS)}"
    closing = rng.choice(closings)
    return f"{text} {closing}".strip() if closing else text


def _but(verdict: str) -> str:
    """'지루했다' -> '지루했지만', '좋았어요' -> '좋았지만', '훌륭했습니다' -> '훌륭했지만'."""
    for ending in ("습니다", "어요", "네요", "다"):
        if verdict.endswith(ending):
            return verdict[: -len(ending)] + "지만"
    return verdict + "지만"


def sample_reviews(n_per_label: int = 1000, seed: int = 20240) -> list[tuple[str, int]]:
    """``n_per_label`` distinct positive and negative reviews, shuffled: ``[(text, label), ...]``."""
    rng = random.Random(seed)
    reviews: list[tuple[str, int]] = []
    for label in (1, 0):
        seen: set[str] = set()
        attempts = 0
        while len(seen) < n_per_label:
            attempts += 1
            if attempts > 200 * n_per_label:
                raise ValueError(f"서로 다른 리뷰를 {n_per_label}개까지 만들 수 없습니다")
            text = _review(rng, label)
            if text not in seen:
                seen.add(text)
                reviews.append((text, label))
    rng.shuffle(reviews)
    return reviews


def write_sample_corpus(folder: str | Path, n_train: int = 1200, n_test: int = 240, seed: int = 20240) -> Path:
    """Write ``ratings_train.txt`` and ``ratings_test.txt`` (NSMC format) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    reviews = sample_reviews((n_train + n_test) // 2, seed)
    splits = {"ratings_train.txt": reviews[:n_train], "ratings_test.txt": reviews[n_train:n_train + n_test]}
    next_id = 1
    for name, rows in splits.items():
        # a temporary file renamed when complete (atomic): processes started together (torchrun) that find the
        # folder empty all write, and none of them reads a half-written file
        partial = folder / f".{name}.{os.getpid()}.partial"
        with open(partial, "w", encoding="utf-8", newline="\n") as f:
            f.write("id\tdocument\tlabel\n")
            for text, label in rows:
                f.write(f"{next_id}\t{text}\t{label}\n")
                next_id += 1
        os.replace(partial, folder / name)
    return folder
