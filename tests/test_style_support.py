"""Step 6's support package (kogpt2_course/style/): the CSV reader and its Korean errors, the bundled sample,
checkpoint files, the style marker, the generator's helpers, and the step's error paths on the command line."""

from pathlib import Path

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from kogpt2_course.grading.script_runner import run_main
from kogpt2_course.lm.decoding import drop_broken_tail
from kogpt2_course.style.checkpoint import (CheckpointError, TrainState, checkpoint_path, latest_checkpoint,
                                            load_checkpoint, load_model_weights, prune_checkpoints, restore_training,
                                            save_checkpoint)
from kogpt2_course.style.corpus import (SAMPLE_ENDINGS, SAMPLE_PATH, StyleDataError, control_text, encode_rows,
                                        read_style_csv)
from kogpt2_course.style.generator import GeneratorSettings, PromptError, new_token_budget, next_sample_path, save_sample
from kogpt2_course.style.marker import ending_share, first_sentence, has_ending


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_bundled_sample_is_one_style_with_ten_topics():
    data = read_style_csv(SAMPLE_PATH, condition_column="genre")
    assert len(data.rows) == 300 and not data.bad_rows
    assert ending_share([row.text for row in data.rows], SAMPLE_ENDINGS) == 1.0
    assert len(data.conditions()) == 10
    assert len({row.text for row in data.rows}) == 300


def test_text_column_flag_condition_prefix_and_tsv(tmp_path):
    path = write(tmp_path, 'score,genre,lyrics\n1,봄,"꽃이 피었네, 너도 피었네"\n2,겨울,눈이 온다\n')
    data = read_style_csv(path, text_column="lyrics", condition_column="genre")
    assert data.texts() == ["봄 꽃이 피었네, 너도 피었네", "겨울 눈이 온다"]
    assert [row.line for row in data.rows] == [2, 3]
    tsv = write(tmp_path, "sent\tgenre\n안녕하십니까\t인사\n", name="data.tsv")
    assert read_style_csv(tsv).texts() == ["안녕하십니까"]
    assert control_text(None, " 오늘은 ") == "오늘은" and control_text("날씨", "") == "날씨"


def test_bad_rows_are_counted_or_rejected_with_file_and_line(tmp_path):
    raw = ("score,genre,sent\n"
           "1,a,좋은 문장입니다.\n"
           "2,b,\n"                      # empty text
           "3\n"                         # the text field is missing
           "4,c,쉼표가, 따옴표 없이\n"      # more fields than the header
           "\n").encode() + b"5,d,\xff\xfe broken\n" + "6,e,마지막 문장입니다.\n".encode()
    path = write(tmp_path, raw)
    data = read_style_csv(path)
    assert [row.text for row in data.rows] == ["좋은 문장입니다.", "마지막 문장입니다."]
    assert [(bad.line, bad.reason[:6]) for bad in data.bad_rows] == [
        (3, "글('sen"), (4, "칸이 1개뿐"), (5, "칸이 4개로"), (7, "UTF-8이")]
    assert "잘못된 행 4개" in data.summary()
    with pytest.raises(StyleDataError, match=r"data\.csv:3행: 글\('sent'\)이 비어 있습니다"):
        read_style_csv(path, on_bad_row="raise")
    with pytest.raises(StyleDataError, match="조건\\('genre'\\)이 비어"):
        read_style_csv(write(tmp_path, "genre,sent\n,문장입니다\n"), condition_column="genre", on_bad_row="raise")


@pytest.mark.parametrize("content,message", [
    (None, "데이터 파일이 없습니다"),
    ("", "비어 있"),
    ("score,genre,text\n1,a,b\n", "'sent' 열이 없습니다.*'score', 'genre', 'text'.*--text_column"),
    ('sent\n"닫히지 않은 따옴표\n', "CSV 형식이 잘못"),
    ("sent\n\n  \n", "학습에 쓸 행이 하나도 없습니다"),
])
def test_user_mistakes_are_korean_errors(tmp_path, content, message):
    path = tmp_path / "missing.csv" if content is None else write(tmp_path, content)
    with pytest.raises(StyleDataError, match=message):
        read_style_csv(path)
    with pytest.raises(StyleDataError, match="폴더입니다"):
        read_style_csv(tmp_path)


def test_encode_rows_adds_document_boundaries(tiny_tokenizer):
    data = read_style_csv(SAMPLE_PATH)
    first = encode_rows(data, tiny_tokenizer, 64)[0]["input_ids"].tolist()
    assert first == [1, *tiny_tokenizer.encode(data.rows[0].text), 1]
    assert len(encode_rows(data, tiny_tokenizer, 5)[0]["input_ids"]) == 5


def tiny_gpt2():
    config = GPT2Config(vocab_size=50, n_positions=16, n_embd=8, n_layer=1, n_head=2)
    torch.manual_seed(0)
    return GPT2LMHeadModel(config)


def optimizer_and_scheduler(model):
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (s + 1))


def test_checkpoint_round_trip_restores_everything(tmp_path):
    model = tiny_gpt2()
    optimizer, scheduler = optimizer_and_scheduler(model)
    model(torch.tensor([[1, 2, 3]]), labels=torch.tensor([[1, 2, 3]])).loss.backward()
    optimizer.step()
    scheduler.step()
    state = TrainState(epoch=1, step=5, batch_in_epoch=2, history=[(1, 2.5), (5, 1.5)], bf16=False)
    torch.manual_seed(123)
    path = save_checkpoint(tmp_path, model, optimizer, scheduler, state, {"model_name": "x", "seed": 1})
    expected_next = torch.rand(3)
    assert path == checkpoint_path(tmp_path, 5) and not list(tmp_path.glob("*.part"))

    other = tiny_gpt2()
    torch.nn.init.zeros_(other.lm_head.weight)
    other_optimizer, other_scheduler = optimizer_and_scheduler(other)
    restored = restore_training(load_checkpoint(path), other, other_optimizer, other_scheduler)
    assert restored == state
    assert torch.equal(torch.rand(3), expected_next), "the random-number state must be restored"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    assert other_scheduler.last_epoch == 1 and other_optimizer.state_dict()["state"][0]["step"] == 1


def test_latest_and_pruning_and_load_errors(tmp_path):
    model = tiny_gpt2()
    optimizer, scheduler = optimizer_and_scheduler(model)
    for step in (30, 4, 12):  # written in this order: the newest is step 12, not the largest number
        save_checkpoint(tmp_path, model, optimizer, scheduler, TrainState(step=step), {})
    assert latest_checkpoint(tmp_path).name == "KoGPT2_checkpoint_12.tar"
    assert load_checkpoint(tmp_path)["state"]["step"] == 12  # a folder means its newest checkpoint
    assert [p.name for p in prune_checkpoints(tmp_path, 2)] == ["KoGPT2_checkpoint_30.tar"]
    assert latest_checkpoint(tmp_path / "nothing") is None
    with pytest.raises(CheckpointError, match="체크포인트 파일이 없습니다"):
        load_checkpoint(tmp_path / "KoGPT2_checkpoint_999.tar")
    with pytest.raises(CheckpointError, match="읽을 수 없습니다"):
        load_checkpoint(write(tmp_path, "not a checkpoint", name="broken.tar"))
    torch.save({"model_state_dict": {}}, tmp_path / "seed_format.tar")  # the sibling project's own format
    with pytest.raises(CheckpointError, match="형식이 아닙니다"):
        load_checkpoint(tmp_path / "seed_format.tar")
    bigger = GPT2LMHeadModel(GPT2Config(vocab_size=60, n_positions=16, n_embd=8, n_layer=1, n_head=2))
    with pytest.raises(CheckpointError, match="모양이 맞지 않습니다"):
        load_model_weights(load_checkpoint(tmp_path), bigger)


def test_style_marker_reads_the_first_sentence():
    assert first_sentence("좋았습니다. 또 봐요") == "좋았습니다"
    assert has_ending("감사합니다!! ㅎㅎ", ["니다"]) and has_ending("정말요~ 다음에", ["요"]) is False
    assert has_ending("그렇군요 ㅋㅋ", ["요"])
    assert ending_share(["갑니다.", "간다.", "갑니까?", "갑니다"], ["니다"]) == 0.5
    assert ending_share([], ["니다"]) == 0.0


def test_generator_helpers(tmp_path, tiny_model, tiny_tokenizer):
    assert next_sample_path(tmp_path / "new") == tmp_path / "new" / "1.txt"
    (tmp_path / "7").write_text("seed project sample")
    (tmp_path / "notes.txt").write_text("")
    settings = GeneratorSettings(10, 0.7, 40, 0.9, load_path="ck.tar", model="m", condition="날씨")
    path = save_sample(tmp_path, settings.header("오늘은"), "오늘은 맑습니다.")
    assert path.name == "8.txt"
    header, text = path.read_text(encoding="utf-8").splitlines()
    assert header.startswith("# load_path=ck.tar") and "condition='날씨'" in header and text == "오늘은 맑습니다."
    assert new_token_budget(tiny_model, tiny_tokenizer, "오늘은", 1000) == 256 - 1 - len(tiny_tokenizer.encode("오늘은"))
    with pytest.raises(PromptError, match="너무 깁니다"):
        new_token_budget(tiny_model, tiny_tokenizer, "가 " * 400, 10)
    assert drop_broken_tail("좋아\ufffd") == "좋아" and drop_broken_tail("좋아") == "좋아"


@pytest.fixture(scope="module")
def solution():
    from conftest import ROOT, load_step_module

    return load_step_module(6, "solution", ROOT)


@pytest.mark.parametrize("argv,message", [
    (["train", "--data_file_path", "no/such/file.csv", "--model", "bundled"], "데이터 파일이 없습니다"),
    (["train", "--text_column", "lyrics", "--model", "bundled"], "'lyrics' 열이 없습니다"),
    (["generate", "--load_path", "no/such/KoGPT2_checkpoint_1.tar", "--model", "bundled"], "체크포인트 파일이 없습니다"),
    (["ddp", "--model", "bundled"], "ddp 명령은 torchrun으로 실행하세요"),  # the solution-only DDP extension
])
def test_step6_command_line_mistakes_end_in_korean(solution, argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:  # as `python step6_style_finetuning.py ...` runs it
        run_main(solution.main, [*argv, *(["--save_path", str(tmp_path)] if argv[0] == "train" else [])])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"[오류] " in err and message in err and "Traceback" not in err


def test_step6_argument_checks(solution, capsys):
    for argv in (["generate", "--top_p", "1.5"], ["generate", "--loops", "0"], ["train", "--epoch", "0"]):
        with pytest.raises(SystemExit):
            solution.parse_args(argv)
        assert "오류" in capsys.readouterr().err
    assert solution.parse_args([]).command == "demo"
    assert solution.parse_args(["--epoch", "2"]).epoch == 2
    cli = solution.parse_args(["train", "--epoch=200", "--data_file_path=./train.csv", "--save_path=./checkpoint/",
                               "--load_path=./checkpoint/KoGPT2_checkpoint_80000.tar", "--batch_size=1"])
    assert (cli.epoch, cli.batch_size, cli.load_path) == (200, 1, "./checkpoint/KoGPT2_checkpoint_80000.tar")
    cli = solution.parse_args(["generate", "--temperature=1.0", "--text_size=1000", "--tmp_sent=내가 항상",
                               "--load_path=./checkpoint/KoGPT2_checkpoint_80000.tar", "--top_k", "0", "--loops", "3"])
    assert (cli.temperature, cli.text_size, cli.tmp_sent, cli.top_k, cli.loops) == (1.0, 1000, "내가 항상", 0, 3)


def test_first_ctrl_c_finishes_the_step_saves_and_stops(solution, tmp_path, tiny_tokenizer, monkeypatch, capsys):
    import os
    import signal

    folder = tmp_path / "model"
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=12000, n_positions=64, n_embd=16, n_layer=1, n_head=2)).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    data = write(tmp_path, "sent\n" + "".join(f"{i}번째 문장입니다.\n" for i in range(8)))

    def press_ctrl_c_at_step_2(step, *args):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return ""

    monkeypatch.setattr(solution, "report", press_ctrl_c_at_step_2)
    before = signal.getsignal(signal.SIGINT)
    solution.main(["train", "--model", str(folder), "--data_file_path", str(data), "--batch_size", "2",
                   "--log_every", "1", "--save_every", "0", "--bf16", "off", "--no_plot",
                   "--save_path", str(tmp_path / "ck")])
    out = capsys.readouterr().out
    assert "[Ctrl+C]" in out and "Ctrl+C: 스텝 2에서 멈췄습니다" in out
    assert load_checkpoint(latest_checkpoint(tmp_path / "ck"))["state"]["step"] == 2
    assert signal.getsignal(signal.SIGINT) is before
