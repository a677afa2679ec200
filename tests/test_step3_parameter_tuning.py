"""Step 3 autograder: temperature, repetition control and presets, checked against transformers itself."""

import math

import pytest
import torch
from transformers.generation.logits_process import TemperatureLogitsWarper

from generation_reference import make_reference

STEP = 3
PROMPTS = ["이 영화", "배우들 연기가"]
NEW_TOKENS = 16


reference = make_reference(NEW_TOKENS)


def repeated_ngrams(ids, n):
    """The n-grams of ``ids`` that occur more than once."""
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    return {g for g in grams if grams.count(g) > 1}


def assert_png(path, directory):
    assert path.exists() and path.parent == directory, "그림을 output_dir 안에 저장해야 합니다"
    assert path.read_bytes()[:4] == b"\x89PNG", "PNG 파일이 아닙니다"


@pytest.mark.todo("3-1", points=2)
@pytest.mark.parametrize("size", [3, 2])
def test_no_repeat_ngram(step, full_length_model, tiny_tokenizer, size):
    """n-gram 반복 막기: transformers와 같은 결과, 출력에 반복 n-gram 없음"""
    for prompt in PROMPTS:
        got = step.generate_no_repeat(full_length_model, tiny_tokenizer, prompt, NEW_TOKENS, no_repeat_ngram_size=size)
        assert torch.is_tensor(got) and got.dim() == 2, "generate가 돌려준 (1, 길이) 텐서를 그대로 돌려주세요"
        ids = got[0].tolist()
        assert not repeated_ngrams(ids, size), \
            f"{prompt!r}: 출력에 같은 {size}-gram이 두 번 이상 나옵니다: {sorted(repeated_ngrams(ids, size))[:3]}"
        expected = reference(full_length_model, tiny_tokenizer, prompt, do_sample=False, no_repeat_ngram_size=size)
        assert ids == expected[0].tolist(), f"{prompt!r}: 그리디 + no_repeat_ngram_size={size} 결과와 다릅니다"


@pytest.mark.todo("3-2", points=2)
def test_repeated_ngram_share(step):
    """반복 비율: 앞에서 이미 나온 n-gram의 비율"""
    assert step.repeated_ngram_share([1, 2, 3, 4, 5], 3) == 0.0, "반복이 없으면 0.0"
    assert step.repeated_ngram_share([1, 2, 3, 1, 2, 3], 3) == pytest.approx(1 / 4), \
        "[1,2,3,1,2,3]: 3-gram 4개 중 마지막 (1,2,3) 하나가 반복 → 1/4"
    assert step.repeated_ngram_share([7, 7, 7, 7], 1) == pytest.approx(3 / 4), "첫 번째 뒤의 7 세 개가 반복 → 3/4"
    assert step.repeated_ngram_share([1, 2], 3) == 0.0, "n-gram이 없으면 0.0"
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        ids = torch.randint(0, 4, (30,), generator=generator).tolist()
        grams = [tuple(ids[i:i + 2]) for i in range(len(ids) - 1)]
        expected = sum(g in grams[:i] for i, g in enumerate(grams)) / len(grams)
        assert step.repeated_ngram_share(ids, 2) == pytest.approx(expected), f"{ids}: 2-gram 반복 비율이 다릅니다"


@pytest.mark.todo("3-2")
def test_repetition_figure(step, tmp_path):
    """그림: 설정별 반복 비율 막대그래프 (PNG 저장)"""
    assert_png(step.draw_repetition({"그리디": [1, 2, 3, 1, 2, 3], "샘플링": [1, 2, 3, 4]}, tmp_path), tmp_path)


@pytest.mark.todo("3-3", points=2)
def test_apply_temperature(step):
    """온도 적용: TemperatureLogitsWarper + softmax와 같음, T→0이면 그리디"""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 300, generator=generator) * 3
    logits[torch.arange(2), logits.argmax(-1)] += 1.0  # a clear largest logit in each row
    original = logits.clone()
    for t in (0.3, 0.7, 1.0, 1.5):
        probs = step.apply_temperature(logits, t)
        expected = TemperatureLogitsWarper(t)(None, logits).softmax(dim=-1)
        assert torch.equal(logits, original), "입력 로짓을 바꾸지 마세요"
        assert torch.allclose(probs, expected, atol=1e-6), f"T={t}: softmax(logits / T)와 다릅니다"
    probs = step.apply_temperature(logits, 1e-3)
    one_hot = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).float()
    assert torch.allclose(probs, one_hot, atol=1e-3), "온도가 0에 가까우면 가장 큰 로짓에 확률이 몰려야 합니다 (그리디)"


@pytest.mark.todo("3-4", points=2)
def test_entropy(step, tiny_model, tiny_tokenizer):
    """엔트로피: 균등 분포 log V, 한 점 0, 온도가 오르면 커짐"""
    assert step.entropy(torch.full((8000,), 1 / 8000)) == pytest.approx(math.log(8000), rel=1e-4), \
        "어휘 V개가 고른 분포의 엔트로피는 log V입니다 (자연로그)"
    one_point = torch.zeros(50)
    one_point[7] = 1.0
    value = step.entropy(one_point)
    assert not math.isnan(value) and value == pytest.approx(0.0, abs=1e-6), "한 토큰에 몰린 분포는 0 (0·log 0 = 0)"
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        probs = (torch.randn(100, generator=generator) * 2).softmax(-1)
        expected = float(torch.distributions.Categorical(probs=probs).entropy())
        assert step.entropy(probs) == pytest.approx(expected, rel=1e-4), "-Σ p·log p와 다릅니다"
    with torch.no_grad():
        logits = tiny_model(tiny_tokenizer.encode(PROMPTS[0], return_tensors="pt")).logits[0, -1]
    values = [step.entropy((logits / t).softmax(-1)) for t in (0.01, 0.3, 0.7, 1.0, 1.5, 3.0)]
    assert all(a < b for a, b in zip(values, values[1:])), f"온도가 오를수록 엔트로피가 커져야 합니다: {values}"
    clear_winner = torch.randn(500, generator=generator)
    clear_winner[3] = clear_winner.max() + 1.0
    assert step.entropy((clear_winner / 0.01).softmax(-1)) < 1e-3, "T→0이면 엔트로피가 0에 가까워야 합니다 (그리디)"


@pytest.mark.todo("3-4")
def test_temperature_figure(step, tiny_model, tiny_tokenizer, tmp_path):
    """그림: 온도별 다음-토큰 분포 (PNG 저장)"""
    path = step.draw_temperature_distributions(tiny_model, tiny_tokenizer, PROMPTS[0], (0.5, 1.0), tmp_path, top_n=10)
    assert_png(path, tmp_path)


@pytest.mark.todo("3-5", points=2)
def test_temperature_sweep(step, full_length_model, tiny_tokenizer):
    """온도 바꿔 생성: 온도마다 같은 시드, top_k=0 샘플링"""
    temperatures = (0.3, 1.5)
    results = step.temperature_sweep(full_length_model, tiny_tokenizer, PROMPTS[0], temperatures, NEW_TOKENS, seed=5)
    assert isinstance(results, dict) and list(results) == list(temperatures), "{온도: 결과} dict를 돌려주세요"
    for t in temperatures:
        expected = reference(full_length_model, tiny_tokenizer, PROMPTS[0], 5, do_sample=True, temperature=t, top_k=0)
        assert results[t].tolist() == expected.tolist(), (
            f"T={t}: do_sample=True, temperature={t}, top_k=0 결과와 다릅니다 (온도마다 같은 시드로 다시 고정했나요?)")


@pytest.mark.todo("3-6", points=2)
def test_repetition_penalty_sweep(step, full_length_model, tiny_tokenizer):
    """반복 벌점 바꿔 생성: transformers와 같은 결과"""
    penalties = (1.0, 1.5)
    results = step.repetition_penalty_sweep(full_length_model, tiny_tokenizer, PROMPTS[1], penalties, NEW_TOKENS)
    assert isinstance(results, dict) and list(results) == list(penalties), "{벌점: 결과} dict를 돌려주세요"
    for penalty in penalties:
        expected = reference(full_length_model, tiny_tokenizer, PROMPTS[1], do_sample=False, repetition_penalty=penalty)
        assert results[penalty].tolist() == expected.tolist(), \
            f"repetition_penalty={penalty}: 그리디 + repetition_penalty 결과와 다릅니다"


@pytest.mark.todo("3-7")
def test_recommended_preset(step, full_length_model, tiny_tokenizer):
    """추천 설정: 권장 범위 안의 샘플링 설정"""
    preset = step.recommended_preset()
    assert isinstance(preset, dict), "generate에 넘길 키워드 인자 dict를 돌려주세요"
    assert preset.get("do_sample") is True, "샘플링 설정이어야 합니다 (do_sample=True)"
    assert 40 <= preset.get("top_k", -1) <= 50, "top_k는 40~50 사이로 정하세요"
    assert 0.85 <= preset.get("top_p", -1) <= 0.95, "top_p는 0.85~0.95 사이로 정하세요"
    assert 0.5 <= preset.get("temperature", -1) <= 1.0, "temperature는 0.5~1.0 사이로 정하세요"
    assert preset.get("repetition_penalty", 1.0) >= 1.0, "repetition_penalty는 1.0 이상이어야 반복을 줄입니다"
    output = reference(full_length_model, tiny_tokenizer, PROMPTS[0], seed=0, **preset)[0].tolist()
    size = preset.get("no_repeat_ngram_size", 0)
    if size:
        assert not repeated_ngrams(output, size), f"no_repeat_ngram_size={size}인데 반복 n-gram이 나왔습니다"


@pytest.mark.solution_only
def test_bad_words_filter(step, full_length_model, tiny_tokenizer):
    """확장: 금지어(bad_words_ids)가 출력에 나오지 않음"""
    free = reference(full_length_model, tiny_tokenizer, PROMPTS[0], do_sample=False)[0].tolist()
    prompt_length = len(tiny_tokenizer.encode(PROMPTS[0]))
    words = {tiny_tokenizer.decode([t], skip_special_tokens=True).strip() for t in free[prompt_length:prompt_length + 3]}
    words = sorted(w for w in words if w)
    assert words, "테스트 준비: 막을 단어를 고르지 못했습니다"
    banned = step.bad_words_to_ids(tiny_tokenizer, words)
    assert all(tiny_tokenizer.encode(w) in banned for w in words), "각 금지어의 토큰 id 열이 들어 있어야 합니다"
    for sampling in (dict(do_sample=False), dict(do_sample=True, top_k=50)):
        torch.manual_seed(0)
        ids = step.generate_without_bad_words(full_length_model, tiny_tokenizer, PROMPTS[0], words, NEW_TOKENS, **sampling)[0].tolist()
        new = ids[prompt_length:]
        for seq in banned:
            assert not any(new[i:i + len(seq)] == seq for i in range(len(new))), f"금지어 토큰 열 {seq}이 나왔습니다"
