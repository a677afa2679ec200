"""Step 8's support package: the readers (bad records skipped with their id), the (history, response)
examples, left truncation to the length cap, the bundled sample, the chat loop."""

import json
from pathlib import Path

import pytest

from aihub_reference import aihub_record, write_aihub
from kogpt2_course.lora.chat import GOODBYE, chat_loop, scripted_input
from kogpt2_course.lora.data import (EMOTION_CLASSES, SYSTEM, USER, DialogueDataError, DialogueExample, Turn,
                                         dialogue_examples, emotion_class)
from kogpt2_course.lora.encoding import example_token_ids, fit_prompt_ids
from kogpt2_course.lora.readers import SAMPLE_TRAIN, SAMPLE_VALID, read_aihub, read_chatbot, read_xpersona

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def prompt(history, emotion):
    return (emotion or "") + "".join(("<usr>" if t.speaker == USER else "<sys>") + t.text for t in history) + "<sys>"


def test_emotion_codes_map_to_six_classes_by_tens_digit():
    assert [emotion_class(c) for c in ("E10", "E19", "E25", "E37", "E40", "E58", "E69")] == \
        ["분노", "분노", "슬픔", "불안", "상처", "당황", "기쁨"]
    for bad in ("E09", "E70", "X12", "E1", ""):
        with pytest.raises(ValueError, match="E10~E69"):
            emotion_class(bad)


def test_aihub_reader_skips_empty_turns_and_counts_bad_records(tmp_path):
    good = aihub_record("Pro_1_00001", "E18", ["회사에서 화가 났어.", "속상하셨겠어요.", "응.", "이야기해 주셔서 고마워요."])
    gap = aihub_record("Pro_2_00002", "E31", ["떨려.", "", "무서워.", "괜찮아요."])  # SS01 empty: two person turns in a row
    bad_code = aihub_record("Pro_3_00003", "E71", ["a", "b"])
    no_reply = aihub_record("Pro_4_00004", "E60", ["기뻐!"])
    no_content = {"profile": {"emotion": {"type": "E20"}}, "talk": {"id": {"talk-id": "Pro_5_00005"}}}
    (tmp_path / "t.json").write_text(json.dumps([good, gap, bad_code, no_reply, no_content, "oops"], ensure_ascii=False),
                                     encoding="utf-8")
    dialogues, report = read_aihub(tmp_path / "t.json")
    assert [d.dialogue_id for d in dialogues] == ["Pro_1_00001"] and report.kept == 1
    assert dialogues[0].emotion == "분노" and [t.speaker for t in dialogues[0].turns] == [USER, SYSTEM, USER, SYSTEM]
    assert [rid for rid, _ in report.skipped] == ["Pro_2_00002", "Pro_3_00003", "Pro_4_00004", "Pro_5_00005", "#5"]
    assert "E10~E69" in dict(report.skipped)["Pro_3_00003"] and "잘못된 레코드 5개" in report.summary()
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DialogueDataError, match="JSON"):
        read_aihub(tmp_path / "broken.json")
    with pytest.raises(DialogueDataError, match="없습니다"):
        read_aihub(tmp_path / "missing.json")


def test_examples_keep_at_most_max_history_turns_before_the_last_utterance(tmp_path):
    write_aihub(tmp_path / "t.json", [("E25", ["u1", "s1", "u2", "s2", "u3", "s3"])])
    dialogues, _ = read_aihub(tmp_path / "t.json")
    examples = dialogue_examples(dialogues, max_history_turns=2)
    assert [[t.text for t in e.history] for e in examples] == [["u1"], ["u1", "s1", "u2"], ["u2", "s2", "u3"]]
    assert [e.response for e in examples] == ["s1", "s2", "s3"] and {e.emotion for e in examples} == {"슬픔"}
    assert len(dialogue_examples(dialogues, max_history_turns=4)[-1].history) == 5


def test_bundled_sample_is_in_the_aihub_schema_across_six_classes():
    train, train_report = read_aihub(SAMPLE_TRAIN)
    valid, valid_report = read_aihub(SAMPLE_VALID)
    assert not train_report.skipped and not valid_report.skipped
    assert len(train) + len(valid) >= 36
    for dialogues in (train, valid):
        assert sorted({d.emotion for d in dialogues}) == sorted(EMOTION_CLASSES)
    record = json.loads(SAMPLE_TRAIN.read_text(encoding="utf-8"))[0]
    assert set(record["talk"]["content"]) == {"HS01", "SS01", "HS02", "SS02", "HS03", "SS03"}
    assert {"emotion", "persona"} <= set(record["profile"]) and len(record["profile"]["persona"]["human"]) == 2
    assert not {d.dialogue_id for d in train} & {d.dialogue_id for d in valid}


def test_history_is_truncated_from_the_left_to_the_cap(tiny_tokenizer):
    turns = tuple(Turn(USER if i % 2 == 0 else SYSTEM, (f"{i}번째 발화는 조금 긴 문장입니다 " * 3).strip()) for i in range(5))
    example = DialogueExample("x", "불안", turns, "괜찮아요. " * 5)
    for cap in (256, 96, 48):
        prompt_ids, response_ids = example_token_ids(example, tiny_tokenizer, prompt, cap)
        assert len(prompt_ids) + len(response_ids) <= cap
        assert response_ids[-1] == tiny_tokenizer.eos_token_id and prompt_ids[0] == tiny_tokenizer.bos_token_id
        text = tiny_tokenizer.decode(prompt_ids[1:])
        assert text.startswith("불안") and text.endswith(turns[-1].text[-10:] + "<sys>")
    kept = tiny_tokenizer.decode(example_token_ids(example, tiny_tokenizer, prompt, 96)[0])
    assert "0번째" not in kept and "4번째" in kept  # the oldest turns went first
    long_turn = (Turn(USER, "가나다라마바사 " * 200 + "끝부분"),)
    ids = fit_prompt_ids(long_turn, None, tiny_tokenizer, prompt, 40)
    assert len(ids) <= 40 and tiny_tokenizer.decode(ids).endswith("끝부분<sys>")


def test_xpersona_and_chatbot_readers(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps([
        {"persona": ["p"], "dialogue": [["안녕", "반가워"], ["뭐 해?", "책 읽어"]]},
        {"persona": ["p"], "dialogue": [["혼자 말함"]]},
    ], ensure_ascii=False), encoding="utf-8")
    dialogues, report = read_xpersona(tmp_path / "x.json")
    assert [len(d.turns) for d in dialogues] == [4] and dialogues[0].emotion is None
    assert [rid for rid, _ in report.skipped] == ["xpersona-1"]
    (tmp_path / "c.csv").write_text("Q,A,label\n헤어졌어,힘내요,1\n좋아해,멋져요,2\n밥 먹자,좋아요,0\n이상,한 줄,7\n,빈 질문,0\n",
                                    encoding="utf-8")
    dialogues, report = read_chatbot(tmp_path / "c.csv")
    assert [d.emotion for d in dialogues] == ["슬픔", "기쁨", None]
    assert [rid for rid, _ in report.skipped] == ["chatbot-5", "chatbot-6"]


@pytest.mark.skipif(not (SHARED / "xpersona_ko" / "valid.json").exists(), reason="../shared/data가 없습니다")
def test_shared_corpora_read_without_bad_records():
    dialogues, report = read_xpersona(SHARED / "xpersona_ko" / "valid.json")
    assert len(dialogues) == 299 and not report.skipped
    assert len(dialogue_examples(dialogues)) == sum(len(d.turns) // 2 for d in dialogues)
    dialogues, report = read_chatbot(SHARED / "chatbot" / "ChatbotData.csv")
    assert len(dialogues) + len(report.skipped) == 11823


@pytest.mark.parametrize("ending", [[""], ["quit"], ["종료"], []], ids=["empty-line", "quit", "korean-exit", "EOF"])
def test_chat_loop_keeps_history_and_exits_cleanly(ending):
    seen, written = [], []

    def reply_fn(history, emotion):
        seen.append(([t.text for t in history], emotion))
        return f"답{len(seen)}"

    lines = ["하나", "/감정 기쁨", "둘", "셋"] + ending + ["나오면 안 됨"] * bool(ending)
    history = chat_loop(reply_fn, emotion="슬픔", max_history_turns=2, read=scripted_input(lines, written.append),
                        write=written.append)
    assert seen == [(["하나"], "슬픔"), (["하나", "답1", "둘"], "기쁨"), (["둘", "답2", "셋"], "기쁨")]
    assert [t.text for t in history] == ["하나", "답1", "둘", "답2", "셋", "답3"]
    assert written[-1] == GOODBYE and not any("나오면 안 됨" in w for w in written)
