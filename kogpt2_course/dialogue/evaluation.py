"""Scores for generated answers and the side-by-side table of Step 7's label variants.

Text overlap: **chrF** (``sacrebleu``), not ROUGE-L. chrF is an F-score over character n-grams
(1–6 characters, spaces ignored, recall weighted twice as much as precision: β = 2), so a Korean
answer that differs only in a particle or ending (``쉬세요`` / ``쉬어요``) still gets partial credit.
ROUGE-L works on word tokens: Korean words carry their particles and endings, so one changed
ending makes the whole word a miss, and the reference implementation (``rouge-score``) even
deletes every character outside ``a-z0-9`` before it tokenizes — a Korean sentence becomes empty
and scores 0 unless one plugs in a tokenizer of one's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def chrf(hypotheses: list[str], references: list[str]) -> float:
    """Corpus-level chrF (0–100) of generated answers against one reference each."""
    from sacrebleu.metrics import CHRF

    if len(hypotheses) != len(references):
        raise ValueError(f"생성 답 {len(hypotheses)}개와 참조 답 {len(references)}개의 수가 다릅니다")
    if not hypotheses:
        return float("nan")
    return float(CHRF().corpus_score(list(hypotheses), [list(references)]).score)


@dataclass
class VariantResult:
    """What one training variant (or the model before training) scores on the held-out pairs."""

    name: str
    description: str
    answer_perplexity: float            # exp(eval_loss) with answer-only labels, the same for every variant
    reported_perplexity: float | None   # exp(eval_loss) with the variant's own labels (what its run would report)
    chrf: float
    stopped: int                        # generations that ended with </s>
    generations: int
    samples: list[tuple[str, str, str]] = field(default_factory=list)  # (question, reference, generated)
    last_train_loss: float | None = None
    train_seconds: float | None = None

    @property
    def stop_rate(self) -> float:
        return self.stopped / self.generations if self.generations else float("nan")


def _number(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def format_comparison(results: list[VariantResult], heldout_pairs: int, steps: int) -> str:
    """The comparison as a Markdown table plus three sample answers per row."""
    lines = [
        f"held-out 질문 {heldout_pairs}개 (학습에 없는 질문), 변형마다 같은 데이터·같은 {steps} 스텝",
        "",
        "| 변형 | 답 퍼플렉서티 ↓ | 자기 레이블로 잰 퍼플렉서티 | 마지막 학습 손실 | chrF ↑ | </s>로 끝남 | 학습 시간 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        stop = f"{r.stopped}/{r.generations} ({r.stop_rate:.0%})"
        seconds = "—" if r.train_seconds is None else f"{r.train_seconds:.0f}초"
        lines.append(f"| {r.name} {r.description} | {r.answer_perplexity:.2f} | {_number(r.reported_perplexity, '.2f')} "
                     f"| {_number(r.last_train_loss, '.3f')} | {r.chrf:.1f} | {stop} | {seconds} |")
    for r in results:
        lines.append("")
        lines.append(f"{r.name} {r.description} — 답 예시")
        for question, reference, generated in r.samples:
            lines.append(f"  질문: {question}\n    참조: {reference}\n    생성: {generated or '(빈 답)'}")
    return "\n".join(lines)
