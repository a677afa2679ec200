"""Step 7's support package: Q/A readers and writers with bad-row handling, the bundled sample, precision
flags, the notebook-bug collator, chrF, the chat loop — and the step's commands run end to end."""

import json
from pathlib import Path

import pytest
import torch

from kogpt2_course.dialogue import training
from kogpt2_course.dialogue.chat import chat_loop
from kogpt2_course.dialogue.data import (QAFormatError, QAPair, find_split_file, is_tokenized_file,
                                         pairs_to_dialogues, read_prompt_completion, read_qa_csv, read_qa_file,
                                         read_tokenized_file, read_utterance_file, write_prompt_completion,
                                         write_qa_csv, write_utterance_file)
from kogpt2_course.dialogue.evaluation import chrf
from kogpt2_course.dialogue.sample import TOPICS, sample_split, write_sample

CHATBOT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chatbot" / "ChatbotData.csv"


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_jsonl_bad_rows_are_counted_or_rejected_with_file_and_line(tmp_path):
    path = write(tmp_path / "qa.jsonl", "\n".join([
        json.dumps({"prompt": "안녕하세요?", "completion": " 안녕하세요! 무엇을 도와드릴까요?"}, ensure_ascii=False),
        '{"prompt": "깨진 줄", ',
        json.dumps({"prompt": "답 없음"}, ensure_ascii=False),
        "",
        json.dumps({"prompt": "  ", "completion": "빈 질문"}, ensure_ascii=False),
        json.dumps({"prompt": "라벨", "completion": "정수 아님", "label": "x"}, ensure_ascii=False),
        json.dumps({"prompt": "배고파", "completion": " 밥 드세요.", "label": 0}, ensure_ascii=False),
    ]) + "\n")
    result = read_prompt_completion(path)
    assert [(p.question, p.answer, p.label) for p in result.pairs] == [
        ("안녕하세요?", "안녕하세요! 무엇을 도와드릴까요?", None), ("배고파", "밥 드세요.", 0)]
    assert [b.line for b in result.bad_rows] == [2, 3, 5, 6]
    assert "completion" in result.bad_rows[1].reason and "잘못된 행 4개" in result.report(path)
    with pytest.raises(QAFormatError, match=r"qa\.jsonl:2: JSON"):
        read_prompt_completion(path, on_bad_row="raise")


def test_json_array_reports_the_line_of_each_item(tmp_path):
    path = write(tmp_path / "qa.json", '[\n  {"prompt": "a", "completion": "b"},\n  {"prompt": "c"},\n'
                                       '  {"prompt": "d", "completion": "e"}\n]\n')
    result = read_qa_file(path)
    assert [p.question for p in result.pairs] == ["a", "d"] and [b.line for b in result.bad_rows] == [3]
    write(path, '[{"prompt": "a", "completion": "b"},\n {"prompt": oops}]')
    with pytest.raises(QAFormatError, match=r"qa\.json:2: JSON"):
        read_qa_file(path)
    write(path, '{"prompt": "a", "completion": "b"}')
    with pytest.raises(QAFormatError, match=r"\.jsonl"):
        read_qa_file(path)


def test_csv_like_chatbotdata(tmp_path):
    path = write(tmp_path / "qa.csv", 'Q,A,label\n12시 땡!,하루가 또 가네요.,0\n"쉼표, 있는 질문","여러\n줄 답",2\n'
                                      '빈 답,,1\n열이,너무,많다,0\n라벨,이상,x\n공백 라벨,괜찮아요,2   \n')
    result = read_qa_csv(path)
    assert [(p.question, p.answer, p.label) for p in result.pairs] == [
        ("12시 땡!", "하루가 또 가네요.", 0), ("쉼표, 있는 질문", "여러\n줄 답", 2), ("공백 라벨", "괜찮아요", 2)]
    assert [b.line for b in result.bad_rows] == [5, 6, 7]
    assert ["답이 비어" in b.reason or "열이 4개" in b.reason or "label이 정수" in b.reason for b in result.bad_rows] == [True] * 3
    write(path, "question,answer\n가,나\n")
    with pytest.raises(QAFormatError, match=r"qa\.csv:1: 머리글"):
        read_qa_csv(path)
    write(path, b"Q,A\n\xff\xfe,ok\n\xea\xb0\x80,\xeb\x82\x98\n")
    result = read_qa_csv(path)
    assert [(p.question, p.answer) for p in result.pairs] == [("가", "나")] and "UTF-8" in result.bad_rows[0].reason


def test_utterance_format_pairs_history_and_bad_dialogues(tmp_path):
    path = write(tmp_path / "train.txt", "[UTTERANCE] 안녕\n[UTTERANCE] 반가워요\n[UTTERANCE] 뭐 해?\n[UTTERANCE] 공부해요\n"
                                         "[UTTERANCE] 무슨 공부?\n[UTTERANCE] 영어요\n\n"
                                         "[UTTERANCE] 질문 [UTTERANCE] 한 줄에 둘\n\n"
                                         "태그 없는 줄\n[UTTERANCE] 버려짐\n\n"
                                         "[UTTERANCE] 혼자\n")
    result = read_utterance_file(path, history_turns=1)
    assert [(p.question, p.answer, p.history) for p in result.pairs] == [
        ("안녕", "반가워요", ()), ("뭐 해?", "공부해요", (("안녕", "반가워요"),)),
        ("무슨 공부?", "영어요", (("뭐 해?", "공부해요"),)), ("질문", "한 줄에 둘", ())]
    assert [b.line for b in result.bad_rows] == [10, 13]
    with pytest.raises(QAFormatError, match=r"train\.txt:10:"):
        read_utterance_file(path, on_bad_row="raise")


def test_writers_round_trip(tmp_path):
    pairs = [QAPair("오늘 피곤해", "푹 쉬세요.", 0), QAPair("고백할까", "용기 내 보세요.", 2)]
    back = read_qa_file(write_utterance_file(tmp_path / "d.txt", pairs_to_dialogues(pairs))).pairs
    assert [(p.question, p.answer) for p in back] == [(p.question, p.answer) for p in pairs]
    for path in (write_prompt_completion(tmp_path / "d.jsonl", pairs), write_qa_csv(tmp_path / "d.csv", pairs)):
        assert read_qa_file(path).pairs == [QAPair(p.question, p.answer, p.label, source=f"{path}:{i}")
                                            for i, p in zip((1, 2) if path.suffix == ".jsonl" else (2, 3), pairs)]
    write_utterance_file(tmp_path / "d.txt", [["또", "와요"]], append=True)
    assert len(read_qa_file(tmp_path / "d.txt").pairs) == 3
    with pytest.raises(ValueError, match="UTTERANCE"):
        write_utterance_file(tmp_path / "bad.txt", [["[UTTERANCE] 섞임", "답"]])
    with pytest.raises(QAFormatError, match="지원하지 않는"):
        read_qa_file(write(tmp_path / "d.tsv", "a\tb\n"))


def test_tokenized_files_are_checked(tmp_path):
    path = write(tmp_path / "train.txt", '{"input_ids": [1, 5, 6, 1], "prompt_length": 2}\n'
                                         '{"input_ids": [1, 5], "prompt_length": 2}\nnot json\n')
    assert is_tokenized_file(path) and not is_tokenized_file(write(tmp_path / "u.txt", "[UTTERANCE] 가\n"))
    rows, bad = read_tokenized_file(path, vocab_size=8000)
    assert rows == [{"input_ids": [1, 5, 6, 1], "prompt_length": 2}] and [b.line for b in bad] == [2, 3]
    with pytest.raises(QAFormatError, match=r"train\.txt:1: 토큰 id 6"):
        read_tokenized_file(path, vocab_size=6)


def test_sample_is_a_few_hundred_pairs_with_an_unseen_heldout_split(tmp_path):
    train, heldout = sample_split()
    assert 250 <= len(train) + len(heldout) <= 400 and 40 <= len(heldout) <= 60
    assert {p.label for p in train + heldout} == {0, 1, 2}
    assert not {p.question for p in heldout} & {p.question for p in train}, "held-out 질문은 학습에 없어야 합니다"
    assert {p.answer for p in heldout} <= {p.answer for p in train}, "held-out의 답(의도)은 학습에 있습니다 (문서의 약속)"
    assert len({q for _, _, qs in TOPICS for q in qs}) == sum(len(qs) for _, _, qs in TOPICS), "질문이 중복됩니다"
    written = write_sample(tmp_path, "utterance")
    assert find_split_file(tmp_path, "train") == written["train"]
    assert [p.question for p in read_qa_file(written["validation"]).pairs] == [p.question for p in heldout]


@pytest.mark.skipif(not CHATBOT_DATA.exists(), reason="../shared/data/chatbot/ChatbotData.csv가 없습니다 (새 클론)")
def test_reads_chatbotdata():
    result = read_qa_file(CHATBOT_DATA)
    assert len(result.pairs) == 11823 and not result.bad_rows
    assert {p.label for p in result.pairs} == {0, 1, 2}


def test_precision_flags(monkeypatch):
    assert training.resolve_precision(fp16=True, cuda=True)[0] == {"fp16": True, "bf16": False}
    assert training.resolve_precision(cuda=False)[0] == {"use_cpu": True}
    monkeypatch.setattr(training, "cpu_supports_bf16", lambda: True)
    flags, note = training.resolve_precision(fp16=True, cuda=False)
    assert flags == {"use_cpu": True, "bf16": True} and "bf16" in note and "fp32" in note
    monkeypatch.setattr(training, "cpu_supports_bf16", lambda: False)
    flags, note = training.resolve_precision(fp16=True, cuda=False)
    assert flags == {"use_cpu": True} and "fp32로 학습" in note


def test_pad_in_loss_collator_and_checkpoint_helpers(tmp_path):
    def base(features):
        ids = torch.tensor([[1, 5, 3, 3]])
        return {"input_ids": ids, "attention_mask": torch.tensor([[1, 1, 0, 0]]), "labels": torch.tensor([[-100, 5, -100, -100]])}

    batch = training.PadInLossCollator(base)([{}])
    assert batch["labels"].tolist() == [[1, 5, 3, 3]], "노트북의 버그: 패딩과 질문까지 labels에 들어감"
    assert training.last_checkpoint(tmp_path / "none") is None and training.saved_model_dir(tmp_path) is None
    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-10" / "config.json").write_text("{}")
    assert training.last_checkpoint(tmp_path).endswith("checkpoint-10")
    assert training.saved_model_dir(tmp_path).endswith("checkpoint-10")
    assert training.remove_checkpoints(tmp_path) == 2 and not list(tmp_path.iterdir())


def test_chrf_gives_partial_credit_to_korean_endings():
    assert chrf(["푹 쉬세요."], ["푹 쉬세요."]) == pytest.approx(100.0)
    assert 0 < chrf(["푹 쉬어요."], ["푹 쉬세요."]) < 100
    assert chrf(["전혀 다른 말"], ["푹 쉬세요."]) < chrf(["푹 쉬어요."], ["푹 쉬세요."])
    with pytest.raises(ValueError):
        chrf(["a"], [])


def test_chat_loop_keeps_history_and_ends_on_empty_line_quit_or_eof(tmp_path):
    seen = []

    def reply(question, history):
        seen.append(list(history))
        return f"{question}!"

    def script(*lines):
        feed = iter(lines)

        def read(prompt):
            value = next(feed)
            if isinstance(value, BaseException):
                raise value
            return value
        return read

    out = []
    transcript = tmp_path / "chat.txt"
    exchanges = chat_loop(reply, script("안녕", "  뭐 해 ", "또", "quit", "안 읽힘"), out.append, history_turns=2,
                          transcript_path=transcript)
    assert exchanges == [("안녕", "안녕!"), ("뭐 해", "뭐 해!"), ("또", "또!")]
    assert seen == [[], [("안녕", "안녕!")], [("안녕", "안녕!"), ("뭐 해", "뭐 해!")]]
    assert "봇: 뭐 해!" in out
    assert [(p.question, p.answer, p.history) for p in read_qa_file(transcript, history_turns=1).pairs][2] == \
        ("또", "또!", (("뭐 해", "뭐 해!"),))
    assert chat_loop(reply, script("하나", ""), out.append) == [("하나", "하나!")]
    assert chat_loop(reply, script("둘", EOFError()), out.append) == [("둘", "둘!")]
    assert chat_loop(reply, script(KeyboardInterrupt()), out.append) == []
