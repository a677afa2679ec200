"""Step 3 autograder, the machinery behind the knobs: repetition penalty on real logits, the order of the logits
processors, per-call options that leave the shared model's generation config alone, the top-k / top-p sweeps."""

import copy

import pytest
import torch
from transformers import RepetitionPenaltyLogitsProcessor

from generation_reference import make_reference

STEP = 3
NEW_TOKENS = 8
PROMPT = "배우들 연기가"
pytestmark = pytest.mark.usefixtures("one_torch_thread")

reference = make_reference(NEW_TOKENS)


def library_penalty(logits, previous_ids, penalty):
    return RepetitionPenaltyLogitsProcessor(penalty)(torch.tensor([list(previous_ids)]), logits[None].clone())[0]


@pytest.mark.todo("3-8", points=2)
def test_apply_repetition_penalty_matches_transformers(step):
    """반복 벌점: RepetitionPenaltyLogitsProcessor와 같음 (부호, 토큰 종류마다 한 번, r<1은 보상)"""
    generator = torch.Generator().manual_seed(0)
    for trial in range(6):
        logits = torch.randn(60, generator=generator) * 4  # positive and negative logits
        previous = torch.randint(0, 60, (12,), generator=generator).tolist() + [5, 5, 5]  # repeats included
        original = logits.clone()
        for penalty in (1.2, 2.0, 0.5):
            expected = library_penalty(logits, previous, penalty)
            for given in (previous, torch.tensor(previous)):
                got = step.apply_repetition_penalty(logits, given, penalty)
                assert torch.equal(logits, original), "입력 로짓을 바꾸지 말고 새 텐서를 돌려주세요"
                assert got.shape == logits.shape, "입력과 같은 모양의 텐서를 돌려주세요"
                assert torch.allclose(got, expected, atol=1e-6), (
                    f"r={penalty}: transformers와 다릅니다 — 나온 토큰 종류마다 한 번만, 양수 로짓은 ÷r, 음수 로짓은 ×r, "
                    f"나오지 않은 토큰은 그대로 (다른 위치 {int((~torch.isclose(got, expected)).sum())}곳)")
    logits = torch.tensor([2.0, -2.0, 1.0])
    rewarded = step.apply_repetition_penalty(logits, [0, 1], 0.5)
    assert rewarded[0] > logits[0] and rewarded[1] > logits[1], "r < 1이면 이미 나온 토큰의 로짓이 오히려 커집니다"


def one_step_scores(model, tokenizer, prompt, **settings):
    """transformers' own answer: the processed scores generate samples the first new token from."""
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=True, max_new_tokens=1,
                             pad_token_id=3, output_scores=True, return_dict_in_generate=True, **settings)
    return out.scores[0][0]


SETTINGS = [
    dict(repetition_penalty=1.3, temperature=0.5, top_k=20, top_p=0.6),
    dict(repetition_penalty=1.0, temperature=1.5, top_k=0, top_p=0.5),
    dict(repetition_penalty=2.0, temperature=1.0, top_k=7, top_p=1.0),
    dict(repetition_penalty=0.7, temperature=2.0, top_k=100, top_p=0.3),
    dict(repetition_penalty=1.0, temperature=1.0, top_k=1, top_p=1.0),  # top_k=1 filters too (it is not "off")
]


@pytest.mark.todo("3-9", points=3)
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(f"{v:g}" for v in s.values()))
def test_staged_distributions_match_generate(step, tiny_model, tiny_tokenizer, settings):
    """처리 순서: 마지막 단계 = generate가 실제로 뽑는 분포 (반복 벌점 → 온도 → top-k → top-p)"""
    text = "이 영화. 이 영화는 정말 최고다. 이 영화"
    input_ids = tiny_tokenizer.encode(text)
    with torch.no_grad():
        logits = tiny_model(torch.tensor([input_ids])).logits[0, -1]
    stages = step.staged_distributions(logits, input_ids, **settings)
    assert list(stages) == list(step.STAGES), f"단계 이름과 순서는 {step.STAGES}여야 합니다"
    expected = one_step_scores(tiny_model, tiny_tokenizer, text, **settings).softmax(-1)
    final = stages["top-p 뒤"]
    assert torch.equal(final > 0, expected > 0), (
        f"{settings}: 마지막 단계에서 남은 토큰 {int((final > 0).sum())}개가 generate의 {int((expected > 0).sum())}개와 다릅니다 "
        "(순서: 반복 벌점 → 온도 → top-k → top-p, 각 단계는 앞 단계의 결과에 적용)")
    assert torch.allclose(final, expected, atol=1e-5), f"{settings}: 마지막 분포가 generate가 뽑는 분포와 다릅니다"
    penalized = library_penalty(logits, input_ids, settings["repetition_penalty"])
    assert torch.allclose(stages["반복 벌점 뒤"], penalized.softmax(-1), atol=1e-6), "반복 벌점 뒤 단계가 다릅니다"
    assert torch.allclose(stages["온도 뒤"], (penalized / settings["temperature"]).softmax(-1), atol=1e-6), \
        "온도 뒤 단계: 반복 벌점을 준 로짓을 온도로 나눈 분포여야 합니다"
    kept = int((stages["top-k 뒤"] > 0).sum())
    if settings["top_k"] == 0:
        assert torch.allclose(stages["top-k 뒤"], stages["온도 뒤"]), "top_k=0은 끔: top-k 단계는 온도 단계와 같아야 합니다"
    else:
        assert kept == settings["top_k"], f"top-k 뒤에는 토큰 {settings['top_k']}개만 남아야 합니다 ({kept}개)"


def assert_config_untouched(model, before):
    assert model.generation_config.to_dict() == before, \
        "model.generation_config가 바뀌었습니다: 옵션은 generate를 부를 때마다 넘기고 모델의 설정은 바꾸지 마세요"


@pytest.fixture
def fresh_model(tiny_model):
    return copy.deepcopy(tiny_model)


@pytest.mark.todo("3-1")
def test_no_repeat_passes_per_call_options(step, fresh_model, tiny_tokenizer):
    """호출마다 넘기는 옵션: generate_no_repeat가 min_new_tokens를 generate에 전달, 모델 설정은 그대로"""
    before = fresh_model.generation_config.to_dict()
    got = step.generate_no_repeat(fresh_model, tiny_tokenizer, "이 영화", NEW_TOKENS, 3, min_new_tokens=NEW_TOKENS)
    expected = reference(fresh_model, tiny_tokenizer, "이 영화", do_sample=False, no_repeat_ngram_size=3,
                         min_new_tokens=NEW_TOKENS)
    assert got.tolist() == expected.tolist(), "generate_kwargs(min_new_tokens)를 generate_ids에 그대로 넘기세요"
    assert_config_untouched(fresh_model, before)


@pytest.mark.todo("3-5")
def test_temperature_sweep_passes_per_call_options(step, fresh_model, tiny_tokenizer):
    """호출마다 넘기는 옵션: temperature_sweep이 min_new_tokens를 전달, 모델 설정은 그대로"""
    before = fresh_model.generation_config.to_dict()
    got = step.temperature_sweep(fresh_model, tiny_tokenizer, "이 영화", (0.7,), NEW_TOKENS, seed=3,
                                 min_new_tokens=NEW_TOKENS)
    expected = reference(fresh_model, tiny_tokenizer, "이 영화", 3, do_sample=True, temperature=0.7, top_k=0,
                         min_new_tokens=NEW_TOKENS)
    assert got[0.7].tolist() == expected.tolist(), "generate_kwargs(min_new_tokens)를 generate_ids에 그대로 넘기세요"
    assert_config_untouched(fresh_model, before)


@pytest.mark.todo("3-6")
def test_penalty_sweep_passes_per_call_options(step, fresh_model, tiny_tokenizer):
    """호출마다 넘기는 옵션: repetition_penalty_sweep이 min_new_tokens를 전달, 모델 설정은 그대로"""
    before = fresh_model.generation_config.to_dict()
    got = step.repetition_penalty_sweep(fresh_model, tiny_tokenizer, "이 영화", (1.3,), NEW_TOKENS,
                                        min_new_tokens=NEW_TOKENS)
    expected = reference(fresh_model, tiny_tokenizer, "이 영화", do_sample=False, repetition_penalty=1.3,
                         min_new_tokens=NEW_TOKENS)
    assert got[1.3].tolist() == expected.tolist(), "generate_kwargs(min_new_tokens)를 generate_ids에 그대로 넘기세요"
    assert_config_untouched(fresh_model, before)


@pytest.mark.solution_only
def test_sweep_trades_diversity_for_quality(step, tiny_model, tiny_tokenizer):
    """스윕: top_k=1은 다양성이 낮고 로그 확률이 높음, top_k=0(끔)은 그 반대"""
    points = step.sampling_sweep(tiny_model, tiny_tokenizer, ["이 영화"], "top_k", (1, 0), num_samples=4,
                                 max_new_tokens=8, seed=0)
    narrow, off = points
    assert narrow["distinct-2"] < off["distinct-2"] and narrow["로그 확률"] > off["로그 확률"], points


@pytest.mark.solution_only
def test_main_runs_without_changing_the_model_config(step, fresh_model, tiny_tokenizer, monkeypatch, tmp_path, capsys):
    """실행: 작은 설정으로 main 전체가 돌고, 그림 4개를 그리며, 모델의 generation_config를 바꾸지 않음"""
    before = fresh_model.generation_config.to_dict()
    monkeypatch.setattr(step, "load_model_and_tokenizer", lambda name: (fresh_model, tiny_tokenizer))
    drawn = []

    def fake_plot(*args, **kwargs):  # the plot helpers have their own test; here only what main asks for
        filename = next(a for a in args if isinstance(a, str) and a.endswith(".png"))
        drawn.append(filename)
        return tmp_path / filename

    for name in ("plot_token_distributions", "plot_metric_bars", "plot_tradeoff"):
        monkeypatch.setattr(step, name, fake_plot)
    step.main(["--model", "bundled", "--max_new_tokens", "4", "--temperatures", "1.0", "--penalties", "1.2",
               "--top_ks", "5", "--top_ps", "0.9", "--sweep_prompts", "이 영화", "--sweep_samples", "2",
               "--sweep_tokens", "3", "--output_dir", str(tmp_path)])
    assert_config_untouched(fresh_model, before)
    assert sorted(drawn) == sorted(["step3_temperature.png", "step3_repetition.png", "step3_stages.png",
                                    "step3_tradeoff.png"])
    assert "반복 벌점이 실제 로짓에 하는 일" in capsys.readouterr().out
