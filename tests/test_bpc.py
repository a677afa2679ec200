"""Bits-per-character evaluation on sentences the test writes itself."""

import math

import pytest
import torch

from kogpt2_course import __main__ as cli
from kogpt2_course.cli.arguments import UserError
from kogpt2_course.lm.bpc import _segments, evaluate_bpc, read_documents

DOCS = ["정말 재미있는 영화였어요!", "배우들 연기가 너무 어색해서 몰입이 안 됐다",
        "ㅋㅋㅋ 최고", "음악이 좋았다. 다시 보고 싶다.", "별로"]


def manual_bits(model, tokenizer, doc):
    ids = torch.tensor([[1] + tokenizer.encode(doc) + [1]])
    with torch.no_grad():
        loss = model(ids, labels=ids).loss.item()  # mean nats over len - 1 predicted tokens
    return loss * (ids.shape[1] - 1) / math.log(2)


def test_bpc_matches_the_definition(tiny_model, tiny_tokenizer):
    result = evaluate_bpc(tiny_model, tiny_tokenizer, DOCS, batch_size=2)
    expected_bits = sum(manual_bits(tiny_model, tiny_tokenizer, d) for d in DOCS)
    assert result.characters == sum(len(d) + 1 for d in DOCS)
    assert result.tokens == sum(len(tiny_tokenizer.encode(d)) + 1 for d in DOCS)
    assert result.bits == pytest.approx(expected_bits, rel=1e-4)
    assert result.bpc == pytest.approx(expected_bits / result.characters, rel=1e-4)


def test_padding_and_batch_size_do_not_change_the_score(tiny_model, tiny_tokenizer):
    one = evaluate_bpc(tiny_model, tiny_tokenizer, DOCS, batch_size=1)
    many = evaluate_bpc(tiny_model, tiny_tokenizer, DOCS, batch_size=len(DOCS))
    assert many.bits == pytest.approx(one.bits, rel=1e-4)


def test_documents_longer_than_the_context_are_windowed(tiny_model, tiny_tokenizer):
    long_doc = " ".join(DOCS * 4)
    n_tokens = len(tiny_tokenizer.encode(long_doc)) + 1
    assert n_tokens > 40
    windowed = evaluate_bpc(tiny_model, tiny_tokenizer, [long_doc], context=16, stride=8)
    full = evaluate_bpc(tiny_model, tiny_tokenizer, [long_doc])
    assert windowed.tokens == full.tokens == n_tokens
    assert math.isfinite(windowed.bpc) and windowed.bpc > 0
    # less left context can only be a little worse on average, never a different kind of number
    assert 0.5 * full.bpc < windowed.bpc < 2 * full.bpc


@pytest.mark.parametrize("length", [2, 5, 16, 17, 40, 97])
@pytest.mark.parametrize("context,stride", [(16, 8), (16, 1), (16, 16), (8, 3)])
def test_windows_score_every_token_once_with_left_context(length, context, stride):
    ids = list(range(length))
    scored = []
    for window, first in _segments(ids, context, stride):
        assert 1 <= first < len(window) <= context
        start = ids.index(window[0])
        scored += [start + i for i in range(first, len(window))]
    assert sorted(scored) == list(range(1, length))


def test_empty_input_and_reader(tmp_path):
    nsmc = tmp_path / "ratings.txt"
    nsmc.write_text("id\tdocument\tlabel\n1\t좋아요\t1\n2\t\t0\n3\t별로\t0\nbroken-row\n", encoding="utf-8")
    plain = tmp_path / "plain.txt"
    plain.write_text("첫 문서\n\n둘째 문서\n", encoding="utf-8")
    assert read_documents(nsmc) == ["좋아요", "별로"]
    assert read_documents(plain) == ["첫 문서", "둘째 문서"]
    assert read_documents(nsmc, limit=1) == ["좋아요"]


def test_bpc_command(tmp_path, capsys):
    data = tmp_path / "docs.txt"
    data.write_text("\n".join(DOCS), encoding="utf-8")
    assert cli.main(["bpc", "--model", "bundled", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "bits per character" in out and f"문서 {len(DOCS)}개" in out
    assert "decode(encode(문서)) != 문서인 문서: 0개" in out
    with pytest.raises(UserError, match="--data"):  # run_main prints it in Korean, exit code 2
        cli.main(["bpc", "--model", "bundled", "--data", str(tmp_path / "missing.txt")])
