"""The example format every Step 8 reader produces, and the (history, response) examples built from it.

A :class:`Dialogue` is a list of turns that alternate between the person (``"usr"``) and the
system (``"sys"``), starting with the person, plus an optional emotion class (one of
:data:`EMOTION_CLASSES`, or None for data without an emotion label). Every system turn becomes
one :class:`DialogueExample`: the turns before it (at most ``max_history_turns`` earlier turns
plus the person's last utterance) and the response to learn.

Readers never stop at a bad record: they count it in a :class:`ReadReport` with the record id
and the Korean reason, and go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kogpt2_course.cli.arguments import UserError

USER, SYSTEM = "usr", "sys"

# AI Hub 감성 대화 말뭉치: emotion codes E10..E69, the tens digit is the major class.
EMOTION_CLASSES = ("분노", "슬픔", "불안", "상처", "당황", "기쁨")


class DialogueDataError(UserError):
    """A data file that cannot be read at all (missing, not JSON/CSV, wrong top-level shape): a Korean message."""


@dataclass(frozen=True)
class Turn:
    speaker: str  # USER or SYSTEM
    text: str


@dataclass(frozen=True)
class Dialogue:
    dialogue_id: str
    emotion: str | None
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class DialogueExample:
    """One training example: ``history`` ends with the person's utterance, ``response`` is the system's answer."""

    dialogue_id: str
    emotion: str | None
    history: tuple[Turn, ...]
    response: str


@dataclass
class ReadReport:
    """What a reader did with a file: how many records it kept and which it skipped, and why."""

    source: str
    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (record id, Korean reason)

    def skip(self, record_id: str, reason: str) -> None:
        self.skipped.append((record_id, reason))

    def summary(self, show: int = 5) -> str:
        line = f"{self.source}: 대화 {self.kept}개를 읽었습니다"
        if not self.skipped:
            return line + "."
        shown = "; ".join(f"{rid} ({why})" for rid, why in self.skipped[:show])
        more = f" 외 {len(self.skipped) - show}개" if len(self.skipped) > show else ""
        return f"{line}, 잘못된 레코드 {len(self.skipped)}개는 건너뛰었습니다: {shown}{more}"


def emotion_class(code: str) -> str:
    """``"E18"`` -> ``"분노"``: the tens digit of an AI Hub emotion code E10..E69 picks the major class."""
    text = str(code).strip().upper()
    if len(text) != 3 or text[0] != "E" or not text[1:].isdigit() or not 10 <= int(text[1:]) <= 69:
        raise ValueError(f"감정 코드 {code!r}는 E10~E69가 아닙니다")
    return EMOTION_CLASSES[int(text[1]) - 1]


def make_dialogue(dialogue_id: str, emotion: str | None, utterances: list[tuple[str, str]]) -> Dialogue:
    """Build a Dialogue from ``(speaker, text)`` pairs: empty texts are skipped; what is left must
    alternate person/system starting with the person and hold at least one answer (else ValueError
    with the Korean reason). A final utterance of the person with no answer is dropped."""
    turns = [Turn(speaker, text.strip()) for speaker, text in utterances if text and text.strip()]
    for i, turn in enumerate(turns):
        expected = USER if i % 2 == 0 else SYSTEM
        if turn.speaker != expected:
            raise ValueError(f"{i + 1}번째 발화가 {'사람' if expected == USER else '시스템'}의 차례가 아닙니다 "
                             f"(빈 발화를 빼면 사람과 시스템이 번갈아 말해야 합니다)")
    if len(turns) % 2:
        turns = turns[:-1]
    if not turns:
        raise ValueError("사람의 발화와 시스템의 응답이 한 쌍도 없습니다")
    return Dialogue(dialogue_id, emotion, tuple(turns))


def dialogue_examples(dialogues, max_history_turns: int = 4) -> list[DialogueExample]:
    """One example per system turn: the person's utterance before it plus at most ``max_history_turns``
    earlier turns (the oldest are dropped first), and the system turn as the response."""
    if max_history_turns < 0:
        raise ValueError(f"max_history_turns는 0 이상이어야 합니다: {max_history_turns}")
    examples = []
    for dialogue in dialogues:
        for i, turn in enumerate(dialogue.turns):
            if turn.speaker != SYSTEM:
                continue
            start = max(0, i - 1 - max_history_turns)
            examples.append(DialogueExample(dialogue.dialogue_id, dialogue.emotion, dialogue.turns[start:i], turn.text))
    return examples
