"""Question/answer pairs from three kinds of files, and the tokenized files of ``preprocess``.

Formats (UTF-8; a byte-order mark is allowed):

- **JSON / JSON Lines** (``.json`` / ``.jsonl``), the prompt/completion format of LLM fine-tuning
  notebooks: ``{"prompt": "안녕하세요?", "completion": " 안녕하세요! 무엇을 도와드릴까요?"}``,
  a list of such objects (``.json``) or one object a line (``.jsonl``); an optional ``"label"``.
- **CSV** (``.csv``) with a header ``Q,A`` or ``Q,A,label``, like ChatbotData
  (label 0 일상 / 1 이별 / 2 사랑).
- **[UTTERANCE] text** (``.txt``): every utterance on its own line after the tag ``[UTTERANCE]``,
  dialogues separated by a blank line; utterances alternate person / bot, so a dialogue of
  ``2k`` utterances gives ``k`` pairs, each with the exchanges before it as its history. Several
  tags on one line (``[UTTERANCE] 질문 [UTTERANCE] 답``) are read as well.

A bad row (invalid JSON, a missing or empty question or answer, a label that is not an integer,
a line without the tag, a question without an answer, bytes that are not UTF-8) is either
skipped and counted (``on_bad_row="skip"``) or rejected with :class:`QAFormatError`, whose
message names the file and line (``on_bad_row="raise"``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from kogpt2_course.cli.arguments import UserError

UTTERANCE_TAG = "[UTTERANCE]"
LABEL_NAMES = {0: "일상", 1: "이별", 2: "사랑"}  # ChatbotData's label column
QA_SUFFIXES = (".txt", ".jsonl", ".json", ".csv")
SPLIT_NAMES = ("train", "validation")


class QAFormatError(UserError, ValueError):
    """A bad row (``on_bad_row="raise"``) or an unreadable file; the message names the file and line
    (``run_main`` prints it as one Korean line, exit code 2)."""


@dataclass(frozen=True)
class QAPair:
    """One question and its answer; ``history`` holds the (question, answer) exchanges before it."""

    question: str
    answer: str
    label: int | None = None
    history: tuple[tuple[str, str], ...] = ()
    source: str = ""  # "file:line" of the answer, for messages


@dataclass(frozen=True)
class BadRow:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class ReadResult:
    pairs: list[QAPair] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)

    def report(self, path: str | Path) -> str:
        """One Korean line: how many pairs were read and how many rows were skipped (with the first)."""
        line = f"{path}: 질문/답 {len(self.pairs)}쌍"
        if self.bad_rows:
            line += f", 잘못된 행 {len(self.bad_rows)}개는 건너뜀 (첫 번째: {self.bad_rows[0]})"
        return line


class _Rows:
    """Collects pairs and bad rows; raises at the first bad row when ``on_bad_row="raise"``."""

    def __init__(self, path: Path, on_bad_row: str):
        if on_bad_row not in ("skip", "raise"):
            raise ValueError(f"on_bad_row는 'skip' 또는 'raise'여야 합니다: {on_bad_row!r}")
        self.path, self.on_bad_row, self.result = path, on_bad_row, ReadResult()

    def bad(self, line: int, reason: str) -> None:
        row = BadRow(str(self.path), line, reason)
        if self.on_bad_row == "raise":
            raise QAFormatError(str(row))
        self.result.bad_rows.append(row)

    def add(self, pair: QAPair) -> None:
        self.result.pairs.append(pair)


def _read_text(path: Path) -> str:
    """The file as text; undecodable bytes become U+FFFD so the row that holds them can be reported."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise QAFormatError(f"파일이 없습니다: {path}") from None
    except IsADirectoryError:
        raise QAFormatError(f"파일이 아니라 폴더입니다: {path}") from None
    return raw.decode("utf-8-sig", errors="replace")


NOT_UTF8 = "UTF-8이 아닌 바이트가 있습니다"


def _label(value, where: _Rows, line: int) -> tuple[bool, int | None]:
    """(ok, label): an integer label, or None when the value is empty/absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True, None
    try:
        number = int(str(value).strip())
    except ValueError:
        where.bad(line, f"label이 정수가 아닙니다: {value!r}")
        return False, None
    return True, number


def _pair(where: _Rows, line: int, question, answer, label=None, history=()) -> None:
    if not isinstance(question, str) or not isinstance(answer, str):
        where.bad(line, "질문과 답은 문자열이어야 합니다")
        return
    question, answer = question.strip(), answer.strip()
    if "\ufffd" in question + answer:
        where.bad(line, NOT_UTF8)
        return
    if not question:
        where.bad(line, "질문이 비어 있습니다")
        return
    if not answer:
        where.bad(line, "답이 비어 있습니다")
        return
    ok, number = _label(label, where, line)
    if ok:
        where.add(QAPair(question, answer, number, tuple(history), f"{where.path}:{line}"))


# --- JSON / JSON Lines ---------------------------------------------------------------------------

def _json_object(where: _Rows, line: int, obj) -> None:
    if not isinstance(obj, dict):
        where.bad(line, "JSON 객체({\"prompt\": ..., \"completion\": ...})가 아닙니다")
        return
    missing = [key for key in ("prompt", "completion") if key not in obj]
    if missing:
        where.bad(line, f"{', '.join(missing)} 키가 없습니다")
        return
    _pair(where, line, obj["prompt"], obj["completion"], obj.get("label"))


def _json_array_items(text: str, path: Path):
    """Yield (line, item) for every element of a top-level JSON array (json has no positions of its own)."""
    decoder = json.JSONDecoder()

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def skip_space(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    pos = skip_space(0)
    if pos >= len(text) or text[pos] != "[":
        raise QAFormatError(f"{path}:{line_of(pos)}: .json 파일은 객체들의 목록 [{{...}}, ...]이어야 합니다 "
                            f"(한 줄에 객체 하나면 .jsonl로 저장하세요)")
    pos = skip_space(pos + 1)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise QAFormatError(f"{path}:{exc.lineno}: JSON 문법 오류 — {exc.msg}") from None
        yield line_of(pos), item
        pos = skip_space(end)
        if pos < len(text) and text[pos] == ",":
            pos = skip_space(pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            return
        raise QAFormatError(f"{path}:{line_of(pos)}: JSON 목록에 ',' 또는 ']'가 와야 합니다")


def read_prompt_completion(path: str | Path, on_bad_row: str = "skip") -> ReadResult:
    """Read ``.json`` (a list of objects) or ``.jsonl`` (one object a line) prompt/completion pairs."""
    path = Path(path)
    where = _Rows(path, on_bad_row)
    text = _read_text(path)
    if path.suffix.lower() == ".json":
        for line, item in _json_array_items(text, path):
            _json_object(where, line, item)
        return where.result
    for number, obj in _json_lines(where, text):
        _json_object(where, number, obj)
    return where.result


def _json_lines(where: _Rows, text: str):
    """Yield (line, object) of every non-empty line that parses as JSON; the others are bad rows."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if "\ufffd" in raw:
            where.bad(number, NOT_UTF8)
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            where.bad(number, f"JSON 문법 오류 — {exc.msg}")


# --- CSV ---------------------------------------------------------------------------------------------

def read_qa_csv(path: str | Path, on_bad_row: str = "skip") -> ReadResult:
    """Read a ``Q,A[,label]`` CSV file (header required; quoted fields may contain commas and newlines)."""
    path = Path(path)
    where = _Rows(path, on_bad_row)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise QAFormatError(f"{path}:1: 빈 파일입니다 (머리글 Q,A[,label]이 필요합니다)") from None
    names = [name.strip() for name in header]
    if names[:2] != ["Q", "A"] or names[2:] not in ([], ["label"]):
        raise QAFormatError(f"{path}:1: 머리글이 Q,A 또는 Q,A,label이어야 합니다 (읽은 머리글: {','.join(names)})")
    start = reader.line_num + 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            where.bad(line, f"열이 {len(row)}개입니다 ({len(names)}개여야 함 — 쉼표가 든 문장은 큰따옴표로 감싸세요)")
            continue
        _pair(where, line, row[0], row[1], row[2] if len(names) == 3 else None)
    return where.result


# --- [UTTERANCE] text ----------------------------------------------------------------------------------

def _dialogue_pairs(where: _Rows, utterances: list[tuple[int, str]], history_turns: int) -> None:
    exchanges: list[tuple[str, str]] = []
    for i in range(0, len(utterances) - 1, 2):
        (q_line, question), (a_line, answer) = utterances[i], utterances[i + 1]
        history = exchanges[-history_turns:] if history_turns > 0 else []
        before = len(where.result.pairs)
        _pair(where, a_line, question, answer, history=history)
        if len(where.result.pairs) > before:
            exchanges.append((question.strip(), answer.strip()))
    if len(utterances) % 2:
        line, _ = utterances[-1]
        where.bad(line, "대화의 마지막 발화에 답이 없습니다 (발화 수가 홀수)")


def read_utterance_file(path: str | Path, on_bad_row: str = "skip", history_turns: int = 2) -> ReadResult:
    """Read ``[UTTERANCE]`` dialogues; each pair keeps up to ``history_turns`` exchanges before it."""
    path = Path(path)
    where = _Rows(path, on_bad_row)
    utterances: list[tuple[int, str]] = []
    broken = False
    for number, raw in enumerate(_read_text(path).splitlines() + [""], start=1):
        line = raw.strip()
        if not line:  # end of a dialogue
            if not broken:
                _dialogue_pairs(where, utterances, history_turns)
            utterances, broken = [], False
            continue
        if broken:
            continue
        if not line.startswith(UTTERANCE_TAG):
            where.bad(number, f"줄이 {UTTERANCE_TAG} 태그로 시작하지 않습니다 — 이 대화는 건너뜁니다")
            broken = True
            continue
        for piece in line.split(UTTERANCE_TAG)[1:]:
            if "\ufffd" in piece:
                where.bad(number, NOT_UTF8 + " — 이 대화는 건너뜁니다")
                broken = True
                break
            if not piece.strip():
                where.bad(number, "빈 발화가 있습니다 — 이 대화는 건너뜁니다")
                broken = True
                break
            utterances.append((number, piece.strip()))
    return where.result


def format_dialogue(dialogue: Sequence[str], number: int = 1) -> str:
    """One dialogue as ``[UTTERANCE]`` lines (newlines inside an utterance become spaces)."""
    lines = []
    for utterance in dialogue:
        text = " ".join(str(utterance).split())  # one line per utterance
        if not text:
            raise ValueError(f"{number}번째 대화에 빈 발화가 있습니다")
        if UTTERANCE_TAG in text:
            raise ValueError(f"{number}번째 대화의 발화에 {UTTERANCE_TAG} 태그가 들어 있습니다: {text!r}")
        lines.append(f"{UTTERANCE_TAG} {text}")
    return "\n".join(lines)


def write_utterance_file(path: str | Path, dialogues: Iterable[Sequence[str]], append: bool = False) -> Path:
    """Write dialogues (lists of utterances) in the ``[UTTERANCE]`` format, a blank line between
    dialogues; ``append`` adds them after what the file already holds. Returns the path."""
    path = Path(path)
    blocks = [format_dialogue(d, number) for number, d in enumerate(dialogues, start=1) if d]
    path.parent.mkdir(parents=True, exist_ok=True)
    separator = "\n" if append and path.exists() and path.stat().st_size else ""
    with open(path, "a" if append else "w", encoding="utf-8") as f:
        f.write(separator + "\n\n".join(blocks) + "\n")
    return path


def pairs_to_dialogues(pairs: Iterable[QAPair]) -> list[list[str]]:
    """Each pair as a dialogue: its history's utterances, then the question and the answer."""
    return [[u for exchange in pair.history for u in exchange] + [pair.question, pair.answer] for pair in pairs]


def write_prompt_completion(path: str | Path, pairs: Iterable[QAPair]) -> Path:
    """Write pairs as JSON Lines ``{"prompt", "completion", "label"}`` (the completion starts with a space)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for pair in pairs:
            row = {"prompt": pair.question, "completion": " " + pair.answer}
            if pair.label is not None:
                row["label"] = pair.label
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_qa_csv(path: str | Path, pairs: Iterable[QAPair]) -> Path:
    """Write pairs as a ``Q,A,label`` CSV (ChatbotData's columns)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Q", "A", "label"])
        for pair in pairs:
            writer.writerow([pair.question, pair.answer, "" if pair.label is None else pair.label])
    return path


# --- any of the three -----------------------------------------------------------------------------------

def read_qa_file(path: str | Path, on_bad_row: str = "skip", history_turns: int = 2) -> ReadResult:
    """Read Q/A pairs from a ``.json``/``.jsonl``, ``.csv`` or ``[UTTERANCE]`` ``.txt`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl"):
        return read_prompt_completion(path, on_bad_row)
    if suffix == ".csv":
        return read_qa_csv(path, on_bad_row)
    if suffix == ".txt":
        return read_utterance_file(path, on_bad_row, history_turns)
    raise QAFormatError(f"{path}: 지원하지 않는 형식입니다 — .jsonl/.json(prompt, completion), "
                        f".csv(Q,A[,label]) 또는 {UTTERANCE_TAG} 형식의 .txt여야 합니다")


def find_split_file(input_dir: str | Path, split: str) -> Path | None:
    """``<input_dir>/<split>.txt`` (or ``.jsonl``, ``.json``, ``.csv``), the first that exists."""
    for suffix in QA_SUFFIXES:
        candidate = Path(input_dir) / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None


# --- tokenized files (the output of preprocess) ----------------------------------------------------

def is_tokenized_file(path: str | Path) -> bool:
    """True when the first non-empty line is a JSON object with ``input_ids`` (a ``preprocess`` output)."""
    for raw in _read_text(Path(path)).splitlines():
        if raw.strip():
            try:
                first = json.loads(raw)
            except json.JSONDecodeError:
                return False
            return isinstance(first, dict) and "input_ids" in first
    return False


def read_tokenized_file(path: str | Path, vocab_size: int, on_bad_row: str = "skip") -> tuple[list[dict], list[BadRow]]:
    """Rows ``{"input_ids": [...], "prompt_length": n}`` of a ``preprocess`` output, checked against
    ``vocab_size`` (token ids made by another tokenizer are rejected with file:line)."""
    path = Path(path)
    where = _Rows(path, on_bad_row)
    rows = []
    for number, obj in _json_lines(where, _read_text(path)):
        ids, prompt_length = (obj.get("input_ids"), obj.get("prompt_length")) if isinstance(obj, dict) else (None, None)
        if not isinstance(ids, list) or not ids or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
            where.bad(number, "input_ids가 정수 목록이 아닙니다")
            continue
        if not isinstance(prompt_length, int) or not 0 < prompt_length < len(ids):
            where.bad(number, f"prompt_length가 1 이상 {len(ids) - 1} 이하의 정수가 아닙니다: {prompt_length!r}")
            continue
        if max(ids) >= vocab_size or min(ids) < 0:
            raise QAFormatError(f"{path}:{number}: 토큰 id {max(ids)}가 모델의 어휘 크기({vocab_size})를 넘습니다 — "
                                f"preprocess를 이 모델의 토크나이저로 다시 실행하세요 (--model_name_or_path)")
        rows.append({"input_ids": ids, "prompt_length": prompt_length})
    return rows, where.result.bad_rows
