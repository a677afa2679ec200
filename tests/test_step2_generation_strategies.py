"""Step 2 autograder: decoding strategies and hand-written filters, checked against transformers itself."""

import pytest
import torch
from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

from generation_reference import make_reference

STEP = 2
PROMPTS = ["이 영화", "배우들 연기가"]
NEW_TOKENS = 8


reference = make_reference(NEW_TOKENS)


def assert_same_ids(got, expected, what):
    assert torch.is_tensor(got) and got.dim() == 2, f"{what}: generate가 돌려준 (1, 길이) 텐서를 그대로 돌려주세요"
    assert got.tolist() == expected.tolist(), what


def random_logits(count=24, seed=0):
    """Random logit vectors of varied size; every second one is rounded so that it has many ties."""
    generator = torch.Generator().manual_seed(seed)
    cases = []
    for i in range(count):
        logits = torch.randn(40 + 3 * i, generator=generator) * 3
        cases.append((logits * 2).round() / 2 if i % 2 else logits)
    return cases


def hf_kept(warper, logits):
    """The tokens a transformers warper keeps: for one logit vector, or row by row for a (batch, vocabulary) batch."""
    if logits.dim() == 2:
        return torch.isfinite(warper(torch.zeros(len(logits), 1, dtype=torch.long), logits))
    return torch.isfinite(warper(torch.zeros(1, 1, dtype=torch.long), logits[None])[0])


def random_batches(count=3, rows=3, vocabulary=50, seed=1):
    """(rows, vocabulary) logit batches whose rows differ in spread, as one generate step sees them."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(rows, vocabulary, generator=generator) * torch.tensor([[1.0], [3.0], [6.0]])
            for _ in range(count)]


def check_filter(result, logits, original, expected_kept, what):
    assert torch.is_tensor(result) and result.shape == logits.shape, f"{what}: 입력과 같은 모양의 텐서를 돌려주세요"
    assert torch.equal(logits, original), f"{what}: 입력 로짓을 바꾸지 말고 새 텐서를 돌려주세요"
    kept = torch.isfinite(result)
    assert torch.equal(kept, expected_kept), (
        f"{what}: 남긴 토큰 집합이 transformers와 다릅니다 (남긴 수 {int(kept.sum())}, 정답 {int(expected_kept.sum())})")
    assert torch.equal(result[kept], logits[kept]), f"{what}: 남긴 토큰의 로짓 값은 그대로 두세요"
    assert torch.all(result[~kept] == float("-inf")), f"{what}: 버린 토큰의 로짓은 -inf여야 합니다"


@pytest.mark.todo("2-1", points=2)
@pytest.mark.parametrize("num_beams", [3, 2])
def test_beam_search_matches_transformers(step, sampling_by_default, tiny_tokenizer, num_beams):
    """빔 서치: transformers와 같은 결과 (모델의 기본 설정이 샘플링이어도)"""
    for prompt in PROMPTS:
        expected = reference(sampling_by_default, tiny_tokenizer, prompt, num_beams=num_beams, do_sample=False)
        torch.manual_seed(0)
        got = step.beam_search(sampling_by_default, tiny_tokenizer, prompt, NEW_TOKENS, num_beams=num_beams)
        assert_same_ids(got, expected, f"{prompt!r}: num_beams={num_beams} 빔 서치 결과가 다릅니다 "
                                       f"(이 모델은 기본 생성 설정이 샘플링입니다 — 무작위성 없는 빔 서치로 하라고 직접 알려 주세요)")


@pytest.mark.todo("2-2", points=2)
@pytest.mark.parametrize("top_k", [50, 5])
def test_top_k_sampling_matches_transformers(step, full_length_model, tiny_tokenizer, top_k):
    """top-k 샘플링: 같은 시드에서 transformers와 같은 결과"""
    for seed, prompt in enumerate(PROMPTS):
        expected = reference(full_length_model, tiny_tokenizer, prompt, seed, do_sample=True, top_k=top_k)
        torch.manual_seed(seed)
        got = step.top_k_sampling(full_length_model, tiny_tokenizer, prompt, NEW_TOKENS, top_k=top_k)
        assert_same_ids(got, expected, f"{prompt!r}: 같은 시드인데 do_sample=True, top_k={top_k} 결과와 다릅니다 "
                                       f"(함수 안에서 시드를 다시 고정하지 마세요)")


@pytest.mark.todo("2-3", points=2)
@pytest.mark.parametrize("top_p", [0.92, 0.5])
def test_top_p_sampling_matches_transformers(step, full_length_model, tiny_tokenizer, top_p):
    """top-p 샘플링: 같은 시드에서 transformers와 같은 결과"""
    for seed, prompt in enumerate(PROMPTS):
        expected = reference(full_length_model, tiny_tokenizer, prompt, seed, do_sample=True, top_p=top_p, top_k=0)
        torch.manual_seed(seed)
        got = step.top_p_sampling(full_length_model, tiny_tokenizer, prompt, NEW_TOKENS, top_p=top_p)
        assert_same_ids(got, expected, f"{prompt!r}: 같은 시드인데 do_sample=True, top_p={top_p} 결과와 다릅니다 "
                                       f"(top_k=0으로 기본 top-k 50을 껐는지 확인하세요)")


@pytest.mark.todo("2-4", points=2)
def test_top_k_filter_matches_transformers(step):
    """top-k 필터: TopKLogitsWarper와 같은 토큰을 남김 (동점, min_tokens_to_keep 포함)"""
    for logits in random_logits():
        for top_k in (1, 3, 10, logits.numel() + 5):
            for min_keep in (1, 5):
                original = logits.clone()
                expected = hf_kept(TopKLogitsWarper(top_k, min_tokens_to_keep=min_keep), logits)
                result = step.top_k_filter(logits, top_k, min_tokens_to_keep=min_keep)
                check_filter(result, logits, original, expected,
                             f"top_k={top_k}, min_tokens_to_keep={min_keep}, 어휘 {logits.numel()}개 "
                             f"(k번째와 같은 값인 동점 토큰은 모두 남겨야 합니다)")
    for batch in random_batches():
        for top_k in (1, 4):
            original = batch.clone()
            expected = hf_kept(TopKLogitsWarper(top_k), batch)
            check_filter(step.top_k_filter(batch, top_k), batch, original, expected,
                         f"배치 {tuple(batch.shape)}, top_k={top_k}: 줄마다 따로, 마지막 차원(어휘) 기준으로 거르세요")


def unambiguous_top_p(logits, top_p, min_keep):
    """True when the kept set is well defined: no group of tied tokens is split between kept and removed
    (which ones of a split group survive depends on how a sort orders ties), and float rounding at the
    top_p boundary does not matter."""
    def kept(p):
        return hf_kept(TopPLogitsWarper(p, min_tokens_to_keep=min_keep), logits)

    base = kept(top_p)
    split_tie = bool(set(logits[base].tolist()) & set(logits[~base].tolist()))
    return not split_tie and all(torch.equal(kept(top_p + d), base) for d in (-1e-4, 1e-4))


@pytest.mark.todo("2-5", points=2)
def test_top_p_filter_matches_transformers(step):
    """top-p 필터: TopPLogitsWarper와 같은 토큰을 남김 (동점, min_tokens_to_keep 포함)"""
    checked = with_ties = 0
    for logits in random_logits():
        for top_p in (0.1, 0.5, 0.8, 0.92, 0.99):
            for min_keep in (1, 5):
                if not unambiguous_top_p(logits, top_p, min_keep):
                    continue
                original = logits.clone()
                expected = hf_kept(TopPLogitsWarper(top_p, min_tokens_to_keep=min_keep), logits)
                result = step.top_p_filter(logits, top_p, min_tokens_to_keep=min_keep)
                check_filter(result, logits, original, expected,
                             f"top_p={top_p}, min_tokens_to_keep={min_keep}, 어휘 {logits.numel()}개")
                checked += 1
                with_ties += int(logits.unique().numel() < logits.numel())
    assert checked >= 150 and with_ties >= 50, "테스트 자체의 문제: 비교할 경우가 너무 적습니다"
    batches = 0
    for batch in random_batches():
        for top_p in (0.5, 0.9):
            if not all(unambiguous_top_p(row, top_p, 1) for row in batch):
                continue
            original = batch.clone()
            expected = hf_kept(TopPLogitsWarper(top_p), batch)
            check_filter(step.top_p_filter(batch, top_p), batch, original, expected,
                         f"배치 {tuple(batch.shape)}, top_p={top_p}: 줄마다 따로, 마지막 차원(어휘) 기준으로 거르세요")
            batches += 1
    assert batches >= 4, "테스트 자체의 문제: 비교할 배치가 너무 적습니다"


@pytest.mark.todo("2-5")
def test_kept_sets_figure(step, tiny_model, tiny_tokenizer, tmp_path):
    """그림: top-k와 top-p가 남긴 토큰 (PNG 저장)"""
    path = step.draw_kept_sets(tiny_model, tiny_tokenizer, PROMPTS[0], top_k=10, top_p=0.5, output_dir=tmp_path)
    assert path.exists() and path.parent == tmp_path, "그림을 output_dir 안에 저장해야 합니다"
    assert path.read_bytes()[:4] == b"\x89PNG", "PNG 파일이 아닙니다"


def random_ids(prompt=""):
    """A stand-in for one sampled generation: 8 token ids drawn from torch's global random generator,
    exactly what seeding controls (a real generate call would only make the test slower)."""
    return torch.randint(0, 8000, (1, 8)) + len(prompt)


@pytest.mark.todo("2-6", points=2)
def test_repeated_samples_seed(step):
    """반복 실행: 같은 시드는 같은 결과, 다른 시드는 다른 결과"""
    calls = []

    def once():
        calls.append(1)
        return random_ids()

    runs = step.repeated_samples(once, 3, seed=7)
    assert isinstance(runs, list) and len(runs) == 3 and len(calls) == 3, "generate_once()를 n_runs번 불러 리스트로 돌려주세요"
    assert len(step.repeated_samples(once, 2, seed=7)) == 2, "n_runs만큼 실행하세요"
    again = step.repeated_samples(once, 3, seed=7)
    assert [r.tolist() for r in again] == [r.tolist() for r in runs], "같은 시드인데 결과가 다릅니다: 시드를 고정하세요"
    torch.manual_seed(7)
    expected = [once() for _ in range(3)]
    assert [r.tolist() for r in runs] == [r.tolist() for r in expected], \
        "시드 고정은 torch.manual_seed(seed) 한 번과 같은 효과여야 합니다"
    assert len({tuple(r[0].tolist()) for r in runs}) > 1, \
        "반복 실행 결과가 모두 같습니다: 시드는 반복 전에 한 번만 고정하세요"
    other = step.repeated_samples(once, 3, seed=8)
    assert [r.tolist() for r in other] != [r.tolist() for r in runs], "다른 시드인데 결과가 같습니다"


@pytest.mark.todo("2-7")
def test_distinct_n(step):
    """distinct-n: 서로 다른 n-gram의 비율"""
    assert step.distinct_n([[1, 2, 3, 4]], 1) == pytest.approx(1.0), "모두 다른 토큰이면 distinct-1은 1.0"
    assert step.distinct_n([[1, 2, 3, 4]] * 3, 1) == pytest.approx(4 / 12), "같은 열 3번: 서로 다른 1-gram 4개 / 전체 12개"
    assert step.distinct_n([[1, 2, 3, 4]] * 3, 2) == pytest.approx(3 / 9), "같은 열 3번: 서로 다른 2-gram 3개 / 전체 9개"
    assert step.distinct_n([[1, 1, 1, 1]], 2) == pytest.approx(1 / 3), "[1,1,1,1]의 2-gram은 3개, 서로 다른 것은 1개"
    assert step.distinct_n([[1, 2], [1, 2]], 2) == pytest.approx(1 / 2), "n-gram은 열마다 따로 세고, 열 경계를 넘지 않습니다"
    assert step.distinct_n([[5], [6]], 2) == 0.0, "n-gram이 하나도 없으면 0.0"
    assert step.distinct_n([], 1) == 0.0, "빈 입력이면 0.0"


@pytest.mark.todo("2-7")
def test_diversity_figure(step, tmp_path):
    """그림: 전략별 distinct-1/2 막대그래프 (PNG 저장)"""
    path = step.draw_diversity({"그리디": [[1, 2, 3]] * 3, "top-k": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}, tmp_path)
    assert path.exists() and path.parent == tmp_path, "그림을 output_dir 안에 저장해야 합니다"
    assert path.read_bytes()[:4] == b"\x89PNG", "PNG 파일이 아닙니다"


@pytest.mark.todo("2-8", points=2)
def test_compare_strategies_same_seed(step):
    """나란히 비교: 모든 전략, 모든 프롬프트에 같은 시드"""
    sample = random_ids

    def greedy(prompt):
        return torch.full((1, 8), len(prompt))

    table = step.compare_strategies({"샘플링 A": sample, "그리디": greedy, "샘플링 B": sample}, PROMPTS, seed=3)
    assert isinstance(table, dict) and list(table) == ["샘플링 A", "그리디", "샘플링 B"], "전략 이름마다 결과를 담으세요"
    for name, outputs in table.items():
        assert len(outputs) == len(PROMPTS), f"{name}: 프롬프트마다 결과가 하나씩 있어야 합니다"
    for i, prompt in enumerate(PROMPTS):
        assert table["그리디"][i].tolist() == greedy(prompt).tolist(), f"{prompt!r}: 프롬프트 순서대로 담으세요"
        torch.manual_seed(3)
        expected = sample(prompt)
        assert table["샘플링 A"][i].tolist() == table["샘플링 B"][i].tolist() == expected.tolist(), (
            f"{prompt!r}: 같은 전략이 다른 결과를 냈습니다 — 전략을 부르기 직전마다 같은 시드를 고정하세요")


@pytest.mark.solution_only
def test_contrastive_search(step, tiny_model, tiny_tokenizer):
    """확장: 대조 탐색 (α=0이면 그리디와 같음, 결정적)"""
    for prompt in PROMPTS:
        input_ids = tiny_tokenizer.encode(prompt, return_tensors="pt")
        greedy = reference(tiny_model, tiny_tokenizer, prompt, do_sample=False)
        plain = step.contrastive_search(tiny_model, input_ids, NEW_TOKENS, penalty_alpha=0.0, top_k=4,
                                        eos_token_id=tiny_tokenizer.eos_token_id)
        assert plain.tolist() == greedy.tolist(), "penalty_alpha=0이면 그리디와 같아야 합니다"
        first = step.contrastive_search(tiny_model, input_ids, NEW_TOKENS, penalty_alpha=0.6, top_k=4)
        second = step.contrastive_search(tiny_model, input_ids, NEW_TOKENS, penalty_alpha=0.6, top_k=4)
        assert first.tolist() == second.tolist(), "대조 탐색은 결정적이어야 합니다"
        assert first.shape == (1, input_ids.shape[1] + NEW_TOKENS)
        assert first[0, :input_ids.shape[1]].tolist() == input_ids[0].tolist()
