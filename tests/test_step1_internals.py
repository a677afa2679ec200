"""Step 1 autograder, the model's insides: KV cache size, sequence log-probability, greedy's short-sightedness."""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

STEP = 1
pytestmark = pytest.mark.usefixtures("one_torch_thread")
PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서"]


def cache_numel(model, batch_size, seq_len):
    ids = torch.randint(7, model.config.vocab_size, (batch_size, seq_len), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    return sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)


@pytest.mark.todo("1-9", points=2)
def test_kv_cache_numel(step, tiny_model):
    """KV 캐시 크기: 층마다 키와 값, (배치, 헤드, 길이, head_dim)"""
    torch.manual_seed(0)
    other = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=3, n_embd=48, n_positions=32, vocab_size=50)).eval()
    for model, what in ((tiny_model, "번들 모델"), (other, "2층·3헤드·48차원 모델")):
        for batch_size, seq_len in ((1, 1), (1, 5), (2, 7)):
            got = step.kv_cache_numel(model.config, seq_len, batch_size)
            expected = cache_numel(model, batch_size, seq_len)
            assert got == expected, (
                f"{what}, 배치 {batch_size}, 길이 {seq_len}: 실제 캐시의 원소 수는 {expected:,}인데 {got!r}을(를) 돌려주었습니다 "
                f"(층마다 키와 값 두 개, 각각 (배치, 헤드 수, 길이, head_dim))")


def reference_log_probs(model, output_ids, prompt_length):
    """transformers' own bookkeeping: per-token log-probs of a sequence via compute_transition_scores."""
    with torch.no_grad():
        logits = model(output_ids).logits[:, prompt_length - 1:-1]
    scores = tuple(logits[:, i] for i in range(logits.shape[1]))
    return model.compute_transition_scores(output_ids, scores, normalize_logits=True)[0]


@pytest.mark.todo("1-10", points=2)
def test_sequence_log_prob(step, tiny_model, tiny_tokenizer):
    """문장의 로그 확률: 프롬프트 뒤 토큰들의 log p 합 (transformers 기준과 같음)"""
    generator = torch.Generator().manual_seed(1)
    for prompt in PROMPTS:
        prompt_ids = tiny_tokenizer.encode(prompt)
        new = torch.randint(7, tiny_model.config.vocab_size, (6,), generator=generator).tolist()
        output_ids = torch.tensor([prompt_ids + new])
        expected = float(reference_log_probs(tiny_model, output_ids, len(prompt_ids)).sum())
        got = step.sequence_log_prob(tiny_model, output_ids, len(prompt_ids))
        assert isinstance(got, float), "파이썬 float을 돌려주세요 (float(텐서))"
        assert got == pytest.approx(expected, abs=1e-3), (
            f"{prompt!r} + 새 토큰 6개: 로그 확률 합이 {expected:.3f}이어야 하는데 {got:.3f}입니다 "
            f"(위치 i-1의 분포에서 i번째 토큰을, 프롬프트 뒤 토큰만 더했나요? log_softmax를 썼나요?)")
    one = torch.tensor([tiny_tokenizer.encode("정말 재밌다")])
    assert step.sequence_log_prob(tiny_model, one, one.shape[1] - 1) == pytest.approx(
        float(reference_log_probs(tiny_model, one, one.shape[1] - 1).sum()), abs=1e-3), "새 토큰이 하나일 때도 맞아야 합니다"


@pytest.mark.todo("1-10")
def test_beam_search_score_is_the_mean_log_prob(step, tiny_model, tiny_tokenizer):
    """빔 서치가 매긴 점수 = 로그 확률 합 / 새 토큰 수 (length_penalty=1)"""
    input_ids = tiny_tokenizer.encode("배우들 연기가", return_tensors="pt")
    with torch.no_grad():
        out = tiny_model.generate(input_ids, attention_mask=torch.ones_like(input_ids), num_beams=3, do_sample=False,
                                  max_new_tokens=8, min_new_tokens=8, pad_token_id=3, output_scores=True,
                                  return_dict_in_generate=True)
    got = step.sequence_log_prob(tiny_model, out.sequences, input_ids.shape[1])
    assert got / 8 == pytest.approx(float(out.sequences_scores[0]), abs=2e-3), \
        "빔 서치가 고른 문장의 로그 확률 합 / 8이 generate의 sequences_scores와 같아야 합니다"


@pytest.mark.todo("1-10")
def test_greedy_is_short_sighted(step, tiny_model, tiny_tokenizer):
    """그리디의 근시안: 빔 서치가 로그 확률 합이 더 높은 문장을 찾는 프롬프트가 있음"""
    gains = {}
    for prompt in PROMPTS:  # for any trained model, some prompt shows it (bundled model: all three at 10 tokens, one at 6)
        results = step.compare_greedy_and_beam(tiny_model, tiny_tokenizer, prompt, max_new_tokens=10)
        (greedy_ids, greedy_lp), (beam_ids, beam_lp) = results.values()
        assert greedy_ids.shape == beam_ids.shape, "두 결과의 길이가 같아야 비교할 수 있습니다"
        gains[prompt] = beam_lp - greedy_lp
    assert max(gains.values()) > 0, f"빔 서치가 그리디보다 높은 로그 확률을 찾은 프롬프트가 없습니다: {gains}"


@pytest.mark.todo("1-8")
def test_repetition_message_counts_from_one(step, tiny_tokenizer):
    """반복 안내 문구: '몇 번째'는 1부터 셈"""
    ids = tiny_tokenizer.encode("정말 좋다 정말 좋다 정말 좋다")
    start = step.find_repetition(ids, n=2)
    message = step.describe_repetition(tiny_tokenizer, ids, n=2)
    assert f"{start + 1}번째" in message and f"위치 {start}" in message, message
    assert "없습니다" in step.describe_repetition(tiny_tokenizer, [10, 11, 12, 13], n=2)
