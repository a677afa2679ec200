"""Write small files in the AI Hub 감성 대화 schema for the Step 8 tests."""

import json


def aihub_record(talk_id: str, emotion: str, utterances: list[str], age: str = "A02", sex: str = "G01") -> dict:
    """One record: ``utterances`` alternate person/system from HS01; the rest of HS01..SS03 are empty strings."""
    content = {}
    for k in range(1, 4):
        content[f"HS0{k}"] = utterances[2 * k - 2] if 2 * k - 2 < len(utterances) else ""
        content[f"SS0{k}"] = utterances[2 * k - 1] if 2 * k - 1 < len(utterances) else ""
    return {"profile": {"persona-id": talk_id.rsplit("_", 1)[0],
                        "persona": {"persona-id": f"{age}_{sex}_C01", "human": [age, sex], "computer": ["C01"]},
                        "emotion": {"emotion-id": f"S01_D01_{emotion}", "type": emotion, "situation": ["S01", "D01"]}},
            "talk": {"id": {"profile-id": talk_id.rsplit("_", 1)[0], "talk-id": talk_id}, "content": content}}


def write_aihub(path, dialogues) -> None:
    """``dialogues``: ``[(emotion code, [utterances...]), ...]`` -> a JSON list of records."""
    records = [aihub_record(f"Pro_T{i:04d}_{i:05d}", emotion, utterances)
               for i, (emotion, utterances) in enumerate(dialogues, start=1)]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
