"""Step 1 autograder: behaviour of the student's functions, checked against transformers itself."""

import copy

import pytest
import torch

STEP = 1
PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서 본", "정말"]


def reference_greedy(model, input_ids, max_new_tokens, eos_token_id):
    with torch.no_grad():
        return model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                              max_new_tokens=max_new_tokens, pad_token_id=3, eos_token_id=eos_token_id)


class CallRecorder(torch.nn.Module):
    """Wraps a model and records what each forward call received."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.calls = []

    def forward(self, *args, **kwargs):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        self.calls.append({"length": input_ids.shape[-1], "past": kwargs.get("past_key_values")})
        return self.model(*args, **kwargs)


@pytest.mark.todo("1-1")
def test_load_tokenizer(step, bundled_dir, kogpt2_like_dir):
    """토크나이저 불러오기: KoGPT2 특수 토큰"""
    for folder, where in ((bundled_dir, "번들 모델"), (kogpt2_like_dir, "KoGPT2처럼 설정에 특수 토큰이 없는 모델")):
        tokenizer = step.load_tokenizer(folder)
        assert tokenizer.bos_token == "</s>" and tokenizer.eos_token == "</s>", \
            f"{where}: bos/eos 토큰이 {tokenizer.bos_token!r}/{tokenizer.eos_token!r}입니다 — 불러올 때 '</s>'로 직접 알려 주세요"
        assert tokenizer.pad_token == "<pad>" and tokenizer.unk_token == "<unk>", f"{where}: pad/unk 토큰을 지정하세요"
        assert tokenizer.mask_token == "<mask>", f"{where}: mask 토큰은 '<mask>'여야 합니다"
        assert (tokenizer.eos_token_id, tokenizer.pad_token_id) == (1, 3), f"{where}: 특수 토큰 id가 KoGPT2와 다릅니다"
        text = "이 영화 정말 재미있어요!"
        assert tokenizer.decode(tokenizer.encode(text)) == text, "인코딩 후 디코딩하면 원래 문장이 나와야 합니다"


@pytest.mark.todo("1-2")
def test_load_model(step, bundled_dir, tiny_model):
    """모델 불러오기: 같은 가중치, 평가 모드"""
    model = step.load_model(bundled_dir)
    assert hasattr(model, "generate"), "언어 모델(GPT2LMHeadModel)을 돌려줘야 합니다"
    assert not model.training, "model.eval()로 평가 모드로 바꾸세요 (드롭아웃이 꺼져야 합니다)"
    ids = torch.tensor([[1, 500, 600, 700]])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, tiny_model(ids).logits, atol=1e-5), \
            "불러온 모델의 출력이 번들 모델과 다릅니다"


@pytest.mark.todo("1-3")
def test_encode_prompt(step, tiny_tokenizer):
    """프롬프트 인코딩: (1, 길이) 텐서"""
    for prompt in PROMPTS:
        ids = step.encode_prompt(tiny_tokenizer, prompt)
        assert isinstance(ids, torch.Tensor), "torch 텐서를 돌려줘야 합니다 (return_tensors='pt')"
        assert ids.dim() == 2 and ids.shape[0] == 1, f"모양이 (1, 길이)여야 합니다: {tuple(ids.shape)}"
        assert ids[0].tolist() == tiny_tokenizer.encode(prompt), "토큰 id가 토크나이저 결과와 다릅니다"


@pytest.mark.todo("1-4", points=2)
@pytest.mark.parametrize("max_new_tokens", [5, 20])
def test_generate_greedy_matches_transformers(step, sampling_by_default, tiny_tokenizer, max_new_tokens):
    """generate 호출: 그리디 생성 결과"""
    model = sampling_by_default
    for prompt in PROMPTS[1:3]:
        input_ids = tiny_tokenizer.encode(prompt, return_tensors="pt")
        expected = reference_greedy(model, input_ids, max_new_tokens, tiny_tokenizer.eos_token_id)
        torch.manual_seed(0)
        got = step.generate_greedy(model, tiny_tokenizer, prompt, max_new_tokens)
        assert torch.is_tensor(got) and got.dim() == 2, "generate가 돌려준 (1, 길이) 텐서를 그대로 돌려주세요"
        assert got[0, :input_ids.shape[1]].tolist() == input_ids[0].tolist(), \
            f"{prompt!r}: 결과가 프롬프트 토큰으로 시작하지 않습니다 — 인코딩한 input_ids를 generate에 넘기고 그 결과를 그대로 돌려주세요"
        new_tokens = got.shape[1] - input_ids.shape[1]
        assert new_tokens == max_new_tokens, (
            f"{prompt!r}: 새 토큰이 {new_tokens}개입니다 (기대: {max_new_tokens}개) — max_new_tokens를 generate에 넘기세요")
        assert got[0].tolist() == expected[0].tolist(), (
            f"{prompt!r}: 그리디 생성 결과가 다릅니다 — 이 모델은 기본 생성 설정이 샘플링이니, 그리디로 하라고 직접 알려 주세요")


@pytest.mark.todo("1-5")
def test_decode_tokens(step, tiny_tokenizer):
    """디코딩: 특수 토큰 없는 문자열"""
    ids = [1] + tiny_tokenizer.encode("배우들 연기가 좋았다") + [1, 3]
    for given in (ids, torch.tensor([ids])):
        text = step.decode_tokens(tiny_tokenizer, given)
        assert isinstance(text, str), "문자열을 돌려줘야 합니다"
        assert text == "배우들 연기가 좋았다", f"특수 토큰을 빼고 디코딩하세요: {text!r}"


class FirstPositionTrap(torch.nn.Module):
    """Wraps a model: on a call with several positions, every position but the last points at TRAP_TOKEN,
    so a loop that reads any position but the last picks it as its first new token."""

    TRAP_TOKEN = 5  # <unk>: never the greedy choice of the bundled model

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        outputs = self.model(*args, **kwargs)
        if outputs.logits.shape[1] > 1:
            logits = outputs.logits.clone()
            logits[:, :-1, :] = -1e4
            logits[:, :-1, self.TRAP_TOKEN] = 1e4
            outputs.logits = logits
        return outputs


def reads_other_position(step, model, tokenizer) -> bool:
    """True when the loop took its first token from a position other than the last."""
    input_ids = tokenizer.encode("배우들 연기가", return_tensors="pt")
    got = step.greedy_decode_loop(FirstPositionTrap(model), input_ids, 2)
    return got.shape[1] > input_ids.shape[1] and int(got[0, input_ids.shape[1]]) == FirstPositionTrap.TRAP_TOKEN


LAST_POSITION = ("다음 토큰의 점수는 로짓의 마지막 위치에 있습니다 — 첫 위치 등 다른 위치를 읽고 있습니다 "
                 "(logits의 모양은 (배치, 길이, 어휘))")


@pytest.mark.todo("1-6", points=2)
def test_loop_uses_kv_cache(step, tiny_model, tiny_tokenizer):
    """직접 만든 루프: KV 캐시 사용, 마지막 위치의 로짓"""
    no_cache_by_default = copy.deepcopy(tiny_model)  # as after training with gradient checkpointing
    no_cache_by_default.config.use_cache = False
    recorder = CallRecorder(no_cache_by_default)
    input_ids = tiny_tokenizer.encode("배우들 연기가", return_tensors="pt")
    step.greedy_decode_loop(recorder, input_ids, 6)
    assert recorder.calls, "루프 안에서 model(...)을 호출해야 합니다"
    assert recorder.calls[0]["length"] == input_ids.shape[1], "첫 호출에는 프롬프트 전체를 넣어야 합니다"
    later = recorder.calls[1:]
    assert len(later) == 5, f"새 토큰 6개에는 모델 호출 6번이 필요합니다 (실제 {len(recorder.calls)}번)"
    assert all(c["length"] == 1 for c in later), "두 번째 호출부터는 새 토큰 하나만 넣으세요 (KV 캐시)"
    assert all(c["past"] is not None for c in later), \
        "past_key_values로 이전 캐시를 넘기세요 (이 모델은 기본 설정이 캐시를 쓰지 않으니 캐시를 쓰겠다고 알려야 합니다)"
    assert not reads_other_position(step, tiny_model, tiny_tokenizer), LAST_POSITION


@pytest.mark.todo("1-7", points=3)
@pytest.mark.parametrize("max_new_tokens", [1, 8, 25])
def test_loop_equals_generate(step, tiny_model, tiny_tokenizer, max_new_tokens):
    """직접 만든 루프: generate와 같은 토큰 id"""
    for prompt in PROMPTS:
        input_ids = tiny_tokenizer.encode(prompt, return_tensors="pt")
        expected = reference_greedy(tiny_model, input_ids, max_new_tokens, tiny_tokenizer.eos_token_id)
        got = step.greedy_decode_loop(tiny_model, input_ids, max_new_tokens, tiny_tokenizer.eos_token_id)
        if got[0].tolist() != expected[0].tolist():
            assert not reads_other_position(step, tiny_model, tiny_tokenizer), f"TODO 1-6: {LAST_POSITION}"
        assert got[0].tolist() == expected[0].tolist(), f"{prompt!r}: 루프 결과가 model.generate와 다릅니다"


@pytest.mark.todo("1-7", points=1)
def test_loop_stops_at_eos(step, tiny_model, tiny_tokenizer):
    """직접 만든 루프: eos에서 멈춤"""
    input_ids = tiny_tokenizer.encode("이 영화", return_tensors="pt")
    free = reference_greedy(tiny_model, input_ids, 10, None)[0].tolist()
    stop_token = free[input_ids.shape[1] + 3]  # pretend the 4th generated token is eos
    expected = reference_greedy(tiny_model, input_ids, 10, stop_token)[0].tolist()
    got = step.greedy_decode_loop(tiny_model, input_ids, 10, stop_token)[0].tolist()
    assert got == expected, "eos_token_id가 나오면 그 토큰까지 붙이고 멈춰야 합니다"


@pytest.mark.todo("1-8")
def test_find_repetition(step):
    """반복 찾기: 처음 다시 나온 n-gram 위치"""
    assert step.find_repetition([1, 2, 3, 4, 5, 6], n=3) == -1, "반복이 없으면 -1"
    assert step.find_repetition([7, 8, 9, 1, 7, 8, 9], n=3) == 4, "[7, 8, 9]가 위치 4에서 다시 나옵니다"
    assert step.find_repetition([5, 5, 5, 5], n=2) == 1, "겹치는 n-gram도 반복입니다"
    assert step.find_repetition(torch.tensor([3, 4, 3, 4]), n=2) == 2, "텐서도 받을 수 있어야 합니다"
    assert step.find_repetition([1, 2], n=3) == -1, "n보다 짧으면 -1"
