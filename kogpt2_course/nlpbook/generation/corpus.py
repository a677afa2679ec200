"""NSMC (Naver sentiment movie corpus) files: reading with bad-row handling, and downloading.

Format of ``ratings_train.txt`` / ``ratings_test.txt`` (UTF-8, one header line)::

    id<TAB>document<TAB>label        label: 1 = positive, 0 = negative

A bad row (missing label, empty document, extra tabs, label other than 0/1, bytes that are not
UTF-8) is either skipped and counted (``on_bad_row="skip"``, a one-line Korean report is printed)
or rejected with :class:`NsmcFormatError` naming the file and line (``on_bad_row="raise"``).

:func:`download_nsmc` fetches the two files from the public e9t/nsmc repository (progress bar);
:func:`prepare_corpus` decides between the bundled sample, a local folder and the download.
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from kogpt2_course.nlpbook.generation.dataset import GenerationExample, training_text
from kogpt2_course.nlpbook.generation.sample_reviews import SAMPLE_CORPUS_NAME, write_sample_corpus

NSMC_BASE_URL = "https://raw.githubusercontent.com/e9t/nsmc/master"
NSMC_FILES = {"train": "ratings_train.txt", "test": "ratings_test.txt"}
HEADER = ("id", "document", "label")


class NsmcFormatError(ValueError):
    """A bad row in an NSMC file (``on_bad_row="raise"``); the message names the file and line."""


@dataclass(frozen=True)
class NsmcRow:
    id: str
    document: str
    label: int
    line: int


@dataclass(frozen=True)
class BadRow:
    path: str
    line: int
    reason: str


@dataclass
class NsmcReadResult:
    rows: list[NsmcRow] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)


def _check_row(raw: bytes) -> tuple[list[str] | None, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "UTF-8이 아닌 바이트가 있습니다"
    parts = text.rstrip("\r\n").split("\t")
    if len(parts) < 3:
        return None, f"열이 {len(parts)}개입니다 (id, document, label 3개여야 함 — 레이블 없음?)"
    if len(parts) > 3:
        return None, f"열이 {len(parts)}개입니다 (탭이 더 들어 있음)"
    _, document, label = parts
    if not document.strip():
        return None, "리뷰(document)가 비어 있습니다"
    if label.strip() not in ("0", "1"):
        return None, f"레이블이 0/1이 아닙니다: {label!r}"
    return parts, ""


def read_nsmc_file(path: str | Path, on_bad_row: str = "skip") -> NsmcReadResult:
    """Read one NSMC-format file. ``on_bad_row``: ``"skip"`` (count them) or ``"raise"``."""
    if on_bad_row not in ("skip", "raise"):
        raise ValueError(f"on_bad_row는 'skip' 또는 'raise'여야 합니다: {on_bad_row!r}")
    path = Path(path)
    result = NsmcReadResult()
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue  # blank line (e.g. at the end of the file)
            if number == 1 and tuple(raw.decode("utf-8", "replace").strip().split("\t")) == HEADER:
                continue  # header line
            parts, reason = _check_row(raw)
            if parts is None:
                if on_bad_row == "raise":
                    raise NsmcFormatError(f"{path}:{number}행: {reason}")
                result.bad_rows.append(BadRow(str(path), number, reason))
                continue
            result.rows.append(NsmcRow(parts[0].strip(), parts[1].strip(), int(parts[2]), number))
    return result


class NsmcCorpus:
    """ratsnlp-style corpus: ``get_examples(data_root_path, mode)`` -> ``[GenerationExample]``.

    Each example's text is ``"긍정 <review>"`` (label 1) or ``"부정 <review>"`` (label 0).
    ``bad_rows[mode]`` keeps the rows that were skipped in the last read of that split.
    """

    def __init__(self, on_bad_row: str = "skip", verbose: bool = True):
        self.on_bad_row = on_bad_row
        self.verbose = verbose
        self.bad_rows: dict[str, list[BadRow]] = {}

    @staticmethod
    def file_path(data_root_path: str | Path, mode: str) -> Path:
        if mode not in NSMC_FILES:
            raise ValueError(f"mode는 'train' 또는 'test'여야 합니다: {mode!r}")
        path = Path(data_root_path) / NSMC_FILES[mode]
        if not path.exists():
            raise FileNotFoundError(f"NSMC 파일이 없습니다: {path} (prepare_corpus(args)로 준비하세요)")
        return path

    def get_rows(self, data_root_path: str | Path, mode: str) -> list[NsmcRow]:
        path = self.file_path(data_root_path, mode)
        result = read_nsmc_file(path, self.on_bad_row)
        self.bad_rows[mode] = result.bad_rows
        if result.bad_rows and self.verbose:
            first = result.bad_rows[0]
            print(f"[NSMC] {path}: 잘못된 행 {len(result.bad_rows)}개를 건너뛰었습니다 "
                  f"(예: {first.line}행 — {first.reason}). 읽은 행: {len(result.rows)}개", flush=True)
        return result.rows

    def get_examples(self, data_root_path: str | Path, mode: str) -> list[GenerationExample]:
        return [GenerationExample(training_text(row.label, row.document))
                for row in self.get_rows(data_root_path, mode)]


def download_nsmc(root_dir: str | Path, corpus_name: str = "nsmc", force: bool = False,
                  base_url: str = NSMC_BASE_URL, timeout_s: float = 30.0) -> Path:
    """Download ratings_{train,test}.txt into ``root_dir/corpus_name/`` (needs internet; progress bar).

    Files already present are kept unless ``force``. Raises a Korean ``RuntimeError`` when offline.
    """
    from tqdm.auto import tqdm

    folder = Path(root_dir) / corpus_name
    folder.mkdir(parents=True, exist_ok=True)
    for name in NSMC_FILES.values():
        target = folder / name
        if target.exists() and not force:
            continue
        url = f"{base_url}/{name}"
        tmp = target.with_suffix(".part")
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=f"NSMC {name} 내려받는 중") as bar:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        bar.update(len(chunk))
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(
                f"NSMC를 내려받지 못했습니다 ({url}: {exc}). 인터넷 연결을 확인하거나, 이미 받아 둔 "
                f"ratings_train.txt / ratings_test.txt를 {folder}/ 에 넣으세요.") from exc
        os.replace(tmp, target)
    return folder


def prepare_corpus(args) -> Path:
    """Make sure ``<downstream_corpus_root_dir>/<downstream_corpus_name>/ratings_{train,test}.txt`` exist.

    - ``nsmc-sample`` (the default): the course's own small sample is written there if missing;
    - a folder that already holds both files: used as is (works offline);
    - ``nsmc``: downloaded from e9t/nsmc (``args.force_download`` fetches again).
    """
    folder = Path(args.downstream_corpus_root_dir) / args.downstream_corpus_name
    present = all((folder / name).exists() for name in NSMC_FILES.values())
    if args.downstream_corpus_name == SAMPLE_CORPUS_NAME:
        if not present or args.force_download:
            write_sample_corpus(folder)
        return folder
    if present and not args.force_download:
        return folder
    if args.downstream_corpus_name == "nsmc":
        return download_nsmc(args.downstream_corpus_root_dir, "nsmc", force=args.force_download)
    raise FileNotFoundError(
        f"{folder}/ 에 ratings_train.txt와 ratings_test.txt가 없습니다. 말뭉치 이름을 "
        f"'{SAMPLE_CORPUS_NAME}'(내장 예제) 또는 'nsmc'(내려받기)로 하거나 파일을 넣으세요.")
