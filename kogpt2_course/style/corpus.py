"""Style corpora for Step 6: a CSV of sentences written in one style, read with bad-row handling.

The sibling project's format (only the text column is required, the others are optional)::

    score,genre,sent
    100,날씨,오늘은 아침부터 맑은 하늘이 펼쳐졌습니다.

- The text column is chosen by name: ``sent`` by default, ``lyrics`` for the sibling project's lyric
  files, ``A`` for the answers of ChatbotData. A tab-separated file (header with tabs, no commas)
  works too.
- An optional condition column (e.g. ``genre``) becomes a control word in front of the text, the way
  Step 4 puts ``긍정``/``부정`` in front of a review: ``</s>날씨 오늘은 ...</s>``. Generation starts
  from the same words (:func:`control_text`), so the word steers what is written.
- A bad row — empty text or condition, fewer fields than the header names (the column is missing in
  that row), more fields than the header (an unquoted comma?), bytes that are not UTF-8 — is skipped
  and counted (``on_bad_row="skip"``) or rejected with :class:`StyleDataError` naming the file and line
  (``on_bad_row="raise"``). A missing file, an empty file, a missing column or broken CSV quoting is
  always a :class:`StyleDataError` with a Korean message.

The course's own offline sample, :data:`SAMPLE_PATH`: 300 sentences written for this course in the
formal 합쇼체 (every sentence ends in ``~ㅂ니다/~습니다``), ten topics in the ``genre`` column.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from kogpt2_course.cli.arguments import UserError
from kogpt2_course.nlpbook.generation.corpus import BadRow
from kogpt2_course.nlpbook.generation.dataset import encode_training_text

SAMPLE_PATH = Path(__file__).resolve().with_name("formal_sample.csv")
SAMPLE_ENDINGS = ("니다",)  # what every sentence of the sample ends in (합쇼체: ~습니다, ~ㅂ니다, ~입니다)
DEFAULT_TEXT_COLUMN = "sent"
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (errors="surrogateescape")


class StyleDataError(UserError, ValueError):
    """A problem with the style data file; the message (Korean) names the file and, for a row, the line."""


@dataclass(frozen=True)
class StyleRow:
    text: str
    condition: str | None
    line: int


@dataclass
class StyleReadResult:
    path: Path
    text_column: str
    condition_column: str | None
    rows: list[StyleRow] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)

    def texts(self) -> list[str]:
        """The training texts: the control word (when there is a condition column) + the text."""
        return [control_text(row.condition, row.text) for row in self.rows]

    def conditions(self) -> list[str]:
        """The distinct condition values, in order of first appearance."""
        return list(dict.fromkeys(row.condition for row in self.rows if row.condition))

    def summary(self) -> str:
        columns = f"글 열 '{self.text_column}'" + (f", 조건 열 '{self.condition_column}'" if self.condition_column else "")
        line = f"[데이터] {self.path}: {len(self.rows)}행을 읽었습니다 ({columns})."
        if self.bad_rows:
            first = self.bad_rows[0]
            line += f" 잘못된 행 {len(self.bad_rows)}개를 건너뛰었습니다 (예: {first.line}행 — {first.reason})."
        return line


def control_text(condition: str | None, text: str) -> str:
    """``("날씨", "오늘은")`` -> ``"날씨 오늘은"``; without a condition just the text (both stripped)."""
    return " ".join(part for part in ((condition or "").strip(), text.strip()) if part)


def _delimiter(header_line: str) -> str:
    return "\t" if "\t" in header_line and "," not in header_line else ","


def _column_index(header: list[str], name: str, path: Path, option: str) -> int:
    if name not in header:
        shown = ", ".join(repr(h) for h in header)
        hint = " 예: --text_column lyrics" if option == "--text_column" else ""
        raise StyleDataError(f"{path}: '{name}' 열이 없습니다. 첫 줄(헤더)에 있는 열: {shown}. "
                             f"{option}으로 열 이름을 고르세요.{hint}")
    return header.index(name)


def _row_problem(row: list[str], width: int, text_at: int, condition_at: int | None, names: tuple[str, str | None]) -> str:
    needed = max(text_at, condition_at if condition_at is not None else -1)
    if len(row) <= needed:
        return f"칸이 {len(row)}개뿐입니다 (헤더는 {width}개, '{names[0] if len(row) <= text_at else names[1]}' 칸 없음)"
    if len(row) > width:
        return f"칸이 {len(row)}개로 헤더({width}개)보다 많습니다 (글에 따옴표 없는 쉼표가 있나요?)"
    used = [row[text_at]] + ([row[condition_at]] if condition_at is not None else [])
    if any(_UNDECODABLE.search(value) for value in used):
        return "UTF-8이 아닌 바이트가 있습니다"
    if not row[text_at].strip():
        return f"글('{names[0]}')이 비어 있습니다"
    if condition_at is not None and not row[condition_at].strip():
        return f"조건('{names[1]}')이 비어 있습니다"
    return ""


def read_style_csv(path: str | Path, text_column: str = DEFAULT_TEXT_COLUMN, condition_column: str | None = None,
                   on_bad_row: str = "skip") -> StyleReadResult:
    """Read a style CSV. ``on_bad_row``: ``"skip"`` (count them in ``bad_rows``) or ``"raise"``."""
    if on_bad_row not in ("skip", "raise"):
        raise ValueError(f"on_bad_row는 'skip' 또는 'raise'여야 합니다: {on_bad_row!r}")
    path = Path(path)
    if path.is_dir():
        raise StyleDataError(f"{path}: 파일이 아니라 폴더입니다. CSV 파일 경로를 주세요 (--data_file_path).")
    if not path.exists():
        raise StyleDataError(f"데이터 파일이 없습니다: {path} (--data_file_path를 확인하세요)")
    result = StyleReadResult(path, text_column, condition_column)
    # surrogateescape: undecodable bytes survive as lone surrogates, so one bad row does not stop the file
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        header_line = f.readline()
        if not header_line.strip():
            raise StyleDataError(f"{path}: 파일이 비어 있거나 첫 줄(헤더)이 비어 있습니다. "
                                 f"첫 줄에 열 이름(예: score,genre,sent)이 있어야 합니다.")
        if _UNDECODABLE.search(header_line):
            raise StyleDataError(f"{path}:1행: 헤더에 UTF-8이 아닌 바이트가 있습니다 (UTF-8로 저장하세요)")
        delimiter = _delimiter(header_line)
        header = [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter))]
        text_at = _column_index(header, text_column, path, "--text_column")
        condition_at = (_column_index(header, condition_column, path, "--condition_column")
                        if condition_column else None)
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        line = 1
        while True:
            start = line + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise StyleDataError(f"{path}:{reader.line_num + 1}행: CSV 형식이 잘못되었습니다 ({exc}). "
                                     f"따옴표(\")가 짝이 맞는지 확인하세요.") from None
            line = reader.line_num + 1  # + the header line read before the reader started
            if not any(value.strip() for value in row):
                continue  # blank line
            problem = _row_problem(row, len(header), text_at, condition_at, (text_column, condition_column))
            if problem:
                if on_bad_row == "raise":
                    raise StyleDataError(f"{path}:{start}행: {problem}")
                result.bad_rows.append(BadRow(str(path), start, problem))
                continue
            condition = row[condition_at].strip() if condition_at is not None else None
            result.rows.append(StyleRow(row[text_at].strip(), condition, start))
    if not result.rows:
        raise StyleDataError(f"{path}: 학습에 쓸 행이 하나도 없습니다"
                             + (f" (잘못된 행 {len(result.bad_rows)}개)" if result.bad_rows else ""))
    return result


def encode_rows(data: StyleReadResult, tokenizer, max_seq_length: int) -> list[dict[str, torch.Tensor]]:
    """Every training text as ``{"input_ids": LongTensor([</s>, ..., </s>])}`` (cut to ``max_seq_length``)."""
    return [{"input_ids": torch.tensor(encode_training_text(tokenizer, text, max_seq_length), dtype=torch.long)}
            for text in data.texts()]
