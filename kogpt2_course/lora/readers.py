"""Readers into the Step 8 example format (:mod:`kogpt2_course.lora.data`).

- :func:`read_aihub`: AI Hub 감성 대화 말뭉치 JSON (``Training.json`` / ``Validation.json``): a list of
  records with ``profile.emotion.type`` (``E10``..``E69``; tens digit -> major class),
  ``profile.persona.human`` (age/sex codes) and ``talk.content`` (``HS01, SS01, HS02, SS02, HS03, SS03``:
  HS = person, SS = system; the later turns may be empty strings). The course's own sample in this
  schema is :data:`SAMPLE_TRAIN` / :data:`SAMPLE_VALID` (48 dialogues across the 6 classes, written for the course).
- :func:`read_xpersona`: ``xpersona_ko/valid.json`` (``[{"persona": [...], "dialogue": [[user, reply], ...]}]``),
  no emotion label.
- :func:`read_chatbot`: ``chatbot/ChatbotData.csv`` (``Q,A,label``; 0 daily, 1 break-up/negative,
  2 love/positive): single-turn pairs whose label becomes the control word ``슬픔`` (1) / ``기쁨`` (2), none for 0.

Each returns ``(dialogues, report)``; a bad record is skipped and listed in the report with its id.
A file that cannot be read at all raises :class:`~kogpt2_course.lora.data.DialogueDataError`.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from kogpt2_course.lora.data import (SYSTEM, USER, Dialogue, DialogueDataError, ReadReport, emotion_class,
                                         make_dialogue)

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_TRAIN = SAMPLE_DIR / "Training.json"
SAMPLE_VALID = SAMPLE_DIR / "Validation.json"
CHATBOT_EMOTIONS = {"0": None, "1": "슬픔", "2": "기쁨"}
_TURN_KEY = re.compile(r"^(HS|SS)(\d+)$")


def _load_json_list(path) -> list:
    path = Path(path)
    if not path.is_file():
        raise DialogueDataError(f"데이터 파일이 없습니다: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DialogueDataError(f"{path}: JSON으로 읽을 수 없습니다 ({exc})") from None
    if not isinstance(data, list):
        raise DialogueDataError(f"{path}: 맨 바깥이 레코드의 목록([...])이어야 합니다 (받은 것: {type(data).__name__})")
    return data


def _aihub_id(record, index: int) -> str:
    try:
        return str(record["talk"]["id"]["talk-id"])
    except (KeyError, TypeError):
        pass
    try:
        return str(record["profile"]["persona-id"])
    except (KeyError, TypeError):
        return f"#{index}"


def aihub_dialogue(record, record_id: str) -> Dialogue:
    """One AI Hub record -> Dialogue (ValueError with the Korean reason when the record is bad)."""
    try:
        code = record["profile"]["emotion"]["type"]
        content = record["talk"]["content"]
    except (KeyError, TypeError):
        raise ValueError("profile.emotion.type 또는 talk.content가 없습니다") from None
    if not isinstance(content, dict):
        raise ValueError("talk.content가 사전(HS01, SS01, ...)이 아닙니다")
    turns = []
    for key, text in content.items():
        match = _TURN_KEY.match(str(key))
        if not match:
            continue
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{key}의 값이 문자열이 아닙니다")
        turns.append((int(match[2]), 0 if match[1] == "HS" else 1, USER if match[1] == "HS" else SYSTEM, text or ""))
    turns.sort()
    return make_dialogue(record_id, emotion_class(code), [(speaker, text) for _, _, speaker, text in turns])


def read_aihub(path) -> tuple[list[Dialogue], ReadReport]:
    """Read an AI Hub 감성 대화 JSON file (or the course's sample in the same schema)."""
    report, dialogues = ReadReport(str(path)), []
    for index, record in enumerate(_load_json_list(path)):
        record_id = _aihub_id(record, index)
        try:
            dialogues.append(aihub_dialogue(record, record_id))
        except ValueError as exc:
            report.skip(record_id, str(exc))
    report.kept = len(dialogues)
    return dialogues, report


def read_xpersona(path) -> tuple[list[Dialogue], ReadReport]:
    """Read ``xpersona_ko/valid.json``: each ``[user, reply]`` pair is one exchange; the persona is not used."""
    report, dialogues = ReadReport(str(path)), []
    for index, record in enumerate(_load_json_list(path)):
        record_id = f"xpersona-{index}"
        try:
            pairs = record["dialogue"] if isinstance(record, dict) else None
            if not isinstance(pairs, list) or not all(
                    isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in pairs):
                raise ValueError("dialogue가 [사용자 발화, 응답] 쌍의 목록이 아닙니다")
            dialogues.append(make_dialogue(record_id, None, [(s, t) for p in pairs for s, t in zip((USER, SYSTEM), p)]))
        except ValueError as exc:
            report.skip(record_id, str(exc))
    report.kept = len(dialogues)
    return dialogues, report


def read_chatbot(path) -> tuple[list[Dialogue], ReadReport]:
    """Read ``ChatbotData.csv`` (``Q,A,label``): one single-turn dialogue per row, id ``chatbot-<line>``."""
    path = Path(path)
    if not path.is_file():
        raise DialogueDataError(f"데이터 파일이 없습니다: {path}")
    report, dialogues = ReadReport(str(path)), []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"Q", "A", "label"} <= set(reader.fieldnames):
            raise DialogueDataError(f"{path}: 첫 줄이 Q,A,label 열 이름이어야 합니다 (받은 것: {reader.fieldnames})")
        for row in reader:
            record_id = f"chatbot-{reader.line_num}"
            label = (row.get("label") or "").strip()
            try:
                if label not in CHATBOT_EMOTIONS:
                    raise ValueError(f"label {label!r}이(가) 0, 1, 2가 아닙니다")
                dialogues.append(make_dialogue(record_id, CHATBOT_EMOTIONS[label],
                                               [(USER, row.get("Q") or ""), (SYSTEM, row.get("A") or "")]))
            except ValueError as exc:
                report.skip(record_id, str(exc))
    report.kept = len(dialogues)
    return dialogues, report
