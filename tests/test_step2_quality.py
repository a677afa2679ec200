"""Step 2 autograder, beyond the strategies: top_k=0 means "off", perplexity next to diversity, beam search's blandness."""

import math

import pytest
import torch

from kogpt2_course.lm.scoring import continuation_log_probs

STEP = 2
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.todo("2-4")
def test_top_k_zero_means_off(step):
    """top-k 필터: top_k=0은 generate처럼 '끔' (아무것도 버리지 않음)"""
    logits = torch.randn(2, 300, generator=torch.Generator().manual_seed(0)) * 3
    original = logits.clone()
    for top_k in (0, -1):
        result = step.top_k_filter(logits, top_k)
        assert torch.equal(logits, original), "입력 로짓을 바꾸지 마세요"
        assert torch.equal(result, logits), (
            f"top_k={top_k}: generate에서 top_k=0은 top-k를 쓰지 않는다는 뜻입니다 — 모든 토큰을 그대로 남기세요 "
            f"(남긴 토큰 {int(torch.isfinite(result).sum())}개 / {logits.numel()}개)")
        assert result is not logits, "입력과 같은 텐서가 아니라 새 텐서를 돌려주세요"


@pytest.mark.todo("2-4")
def test_kept_sets_figure_top_k_off(step, tiny_model, tiny_tokenizer, monkeypatch, tmp_path):
    """그림: top_k=0(끔)이면 top-k 막대가 모두 '남긴 토큰'"""
    captured = {}

    def fake_plot(labels, probs, kept, filename, output_dir, title="", notes=None):
        captured.update(kept)
        return tmp_path / filename

    monkeypatch.setattr(step, "plot_kept_sets", fake_plot)
    step.draw_kept_sets(tiny_model, tiny_tokenizer, "이 영화", top_k=0, top_p=0.5, output_dir=tmp_path)
    top_k_rows = [kept for name, kept in captured.items() if name.startswith("top-k")]
    assert top_k_rows and all(top_k_rows[0]), "top_k=0이면 top-k가 아무 토큰도 버리지 않아야 합니다"


@pytest.mark.todo("2-9", points=2)
def test_perplexity(step):
    """퍼플렉서티: 셀 토큰 전체의 exp(-평균 log p)"""
    log_probs = torch.tensor([[-1.0, -2.0, -3.0], [-4.0, -50.0, -50.0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    got = step.perplexity(log_probs, mask)
    assert isinstance(got, float), "파이썬 float을 돌려주세요"
    assert got == pytest.approx(math.exp(2.5)), (
        f"셀 토큰 4개의 평균 log p는 -2.5이므로 퍼플렉서티는 exp(2.5)≈{math.exp(2.5):.2f}인데 {got:.2f}입니다 "
        "(mask가 False인 토큰은 빼고, 줄마다가 아니라 토큰 전체로 평균을 내세요)")
    assert step.perplexity(torch.full((1, 5), math.log(0.25))) == pytest.approx(4.0), \
        "매 토큰 확률이 1/4이면 퍼플렉서티는 4입니다 (mask=None이면 모든 토큰)"


@pytest.mark.todo("2-9")
def test_perplexity_matches_the_model_loss(step, tiny_model, tiny_tokenizer):
    """퍼플렉서티: 새 토큰만 labels로 준 모델 손실의 exp와 같음"""
    prompt_ids = tiny_tokenizer.encode("배우들 연기가")
    output_ids = torch.tensor([prompt_ids + tiny_tokenizer.encode(" 정말 좋았다. 다시 보고 싶다")])
    labels = output_ids.clone()
    labels[:, :len(prompt_ids)] = -100
    with torch.no_grad():
        loss = float(tiny_model(output_ids, labels=labels).loss)
    log_probs, mask = continuation_log_probs(tiny_model, output_ids, len(prompt_ids))
    assert step.perplexity(log_probs, mask) == pytest.approx(math.exp(loss), rel=1e-4), \
        "exp(새 토큰에 대한 평균 교차 엔트로피 손실)과 같아야 합니다"


@pytest.mark.todo("2-9")
def test_beam_search_is_bland(step, tiny_model, tiny_tokenizer):
    """빔 서치의 밋밋함: 샘플링보다 퍼플렉서티가 훨씬 낮고, 프롬프트가 달라도 덜 다양함"""
    table = step.beam_blandness(tiny_model, tiny_tokenizer, ["이 영화", "감독이"], beam_sizes=(3,),
                                max_new_tokens=12, seed=0)
    beam, sampled = table["빔 서치(3)"], table["top-p(0.92) 샘플링"]
    assert beam["퍼플렉서티"] < sampled["퍼플렉서티"] / 3, table
    assert beam["프롬프트 사이 distinct-2"] < sampled["프롬프트 사이 distinct-2"], table
