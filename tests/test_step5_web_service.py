"""Step 5 autograder: device choice, deploy arguments, checkpoint loading, inference_fn, the app."""

import pytest
import torch

from kogpt2_course.nlpbook.generation.arguments import GenerationDeployArguments
from kogpt2_course.web.content_filter import ContentFilter

STEP = 5
CHECKPOINT_NAME = "epoch=0-step=10-val_loss=1.2345.ckpt"
PROMPTS = ["이 영화", "배우들 연기가"]


def params(**overrides):
    """A full set of web parameters, as the app passes them to inference_fn."""
    base = dict(do_sample=False, num_beams=1, min_new_tokens=0, max_new_tokens=8, top_p=1.0, top_k=50,
                temperature=1.0, repetition_penalty=1.0, no_repeat_ngram_size=0)
    base.update(overrides)
    return base


def reference_text(model, tokenizer, prompt, p):
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    kwargs = dict(do_sample=p["do_sample"], num_beams=p["num_beams"], min_new_tokens=p["min_new_tokens"],
                  max_new_tokens=p["max_new_tokens"], repetition_penalty=p["repetition_penalty"],
                  no_repeat_ngram_size=p["no_repeat_ngram_size"], pad_token_id=tokenizer.pad_token_id)
    if p["do_sample"]:
        kwargs.update(top_p=p["top_p"], top_k=p["top_k"], temperature=p["temperature"])
    with torch.no_grad():
        output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
    return tokenizer.decode(output[0], skip_special_tokens=True)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fine_tuned_dir(tmp_path_factory, tiny_model):
    """A Step 4-style checkpoint folder: Lightning's {'state_dict': {'model.<key>': ...}} with changed weights."""
    folder = tmp_path_factory.mktemp("step4-checkpoints")
    torch.manual_seed(0)
    state = {f"model.{key}": value.clone() for key, value in tiny_model.state_dict().items()}
    state["model.lm_head.weight"] = state["model.lm_head.weight"] + 0.05 * torch.randn_like(state["model.lm_head.weight"])
    state["model.transformer.wte.weight"] = state["model.lm_head.weight"]  # tied embeddings stay tied
    torch.save({"state_dict": state, "epoch": 0, "global_step": 10}, folder / CHECKPOINT_NAME)
    return folder, state["model.lm_head.weight"]


def pretend_gpu(monkeypatch, present: bool):
    """Make every usual way of asking 'is there a GPU?' answer ``present``."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1 if present else 0)
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None:
        monkeypatch.setattr(accelerator, "is_available", lambda: present)
        monkeypatch.setattr(accelerator, "current_accelerator",
                            lambda *a, **k: torch.device("cuda") if present else None)
        monkeypatch.setattr(accelerator, "device_count", lambda: 1 if present else 0)


@pytest.mark.todo("5-1")
def test_choose_device(step, monkeypatch):
    """장치 고르기: GPU가 있으면 cuda, 없으면 cpu, 직접 고른 장치는 그대로"""
    assert torch.device(step.choose_device("cpu")) == torch.device("cpu"), "'cpu'를 주면 cpu 장치여야 합니다"
    pretend_gpu(monkeypatch, False)
    assert torch.device(step.choose_device("auto")) == torch.device("cpu"), "GPU가 없으면 cpu를 골라야 합니다"
    pretend_gpu(monkeypatch, True)
    assert torch.device(step.choose_device("auto")).type == "cuda", "GPU가 있으면 cuda를 골라야 합니다"
    assert torch.device(step.choose_device("cpu")) == torch.device("cpu"), "직접 고른 장치는 그대로 써야 합니다"
    assert torch.device(step.choose_device("cuda:1")) == torch.device("cuda:1"), \
        "직접 고른 장치('cuda:1')는 번호까지 그대로 써야 합니다"


@pytest.mark.todo("5-2")
def test_build_deploy_arguments(step, bundled_dir, tmp_path, fine_tuned_dir):
    """배포 인자: 모델 이름과 체크포인트 폴더"""
    empty = tmp_path / "empty"
    empty.mkdir()
    other_model = str(tmp_path / "다른-모델")  # not the default: the name must really be passed on
    args = step.build_deploy_arguments(other_model, str(empty))
    assert isinstance(args, GenerationDeployArguments), "GenerationDeployArguments를 돌려줘야 합니다"
    assert args.pretrained_model_name == other_model, "pretrained_model_name을 넘기세요"
    assert str(args.downstream_model_dir) == str(empty), "downstream_model_dir를 넘기세요"
    assert args.downstream_model_checkpoint_fpath is None, "빈 폴더에는 체크포인트가 없어야 합니다"
    args = step.build_deploy_arguments(bundled_dir, str(fine_tuned_dir[0]))
    assert str(args.downstream_model_checkpoint_fpath).endswith(CHECKPOINT_NAME), "폴더의 체크포인트를 찾아야 합니다"


# PyTorch's 'meta' device holds shapes without data: moving a model or a tensor there is instant, and a
# model or tensor that was not moved is still on the CPU, which tells a forgotten .to(device) apart.
META = torch.device("meta")


def assert_on_device(model, when):
    devices = {p.device.type for p in model.parameters()}
    assert devices == {"meta"}, f"{when}: 모델이 {sorted(devices)}에 있습니다 — 불러온 모델을 device로 옮기세요 (.to(device))"


@pytest.mark.todo("5-3", points=2)
def test_load_fine_tuned_checkpoint(step, bundled_dir, fine_tuned_dir):
    """체크포인트 불러오기: 미세 조정한 가중치"""
    folder, lm_head = fine_tuned_dir
    args = GenerationDeployArguments(pretrained_model_name=bundled_dir, downstream_model_dir=str(folder))
    model, notice = step.load_deploy_model(args, torch.device("cpu"))
    assert hasattr(model, "generate"), "GPT2LMHeadModel을 돌려줘야 합니다"
    assert not model.training, "평가 모드(model.eval())로 두세요"
    assert torch.allclose(model.lm_head.weight, lm_head), "체크포인트의 가중치가 아닙니다 (load_finetuned_model을 쓰세요)"
    assert notice == "", "체크포인트가 있으면 알림이 없어야 합니다"
    assert_on_device(step.load_deploy_model(args, META)[0], "체크포인트가 있을 때")


@pytest.mark.todo("5-3", points=1)
def test_fallback_without_checkpoint(step, bundled_dir, tiny_model, tmp_path):
    """체크포인트가 없을 때: 사전 학습 모델과 알림"""
    args = GenerationDeployArguments(pretrained_model_name=bundled_dir, downstream_model_dir=str(tmp_path / "none"))
    model, notice = step.load_deploy_model(args, torch.device("cpu"))
    assert not model.training, "평가 모드(model.eval())로 두세요"
    ids = torch.tensor([[1, 500, 600, 700]])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, tiny_model(ids).logits, atol=1e-5), "사전 학습 모델을 불러와야 합니다"
    assert notice, "체크포인트가 없다는 알림 문구가 있어야 합니다"
    assert_on_device(step.load_deploy_model(args, META)[0], "체크포인트가 없을 때")


@pytest.mark.todo("5-4", points=2)
def test_inference_fn_greedy_and_beam(step, tiny_model, full_length_model, tiny_tokenizer):
    """inference_fn: 그리디·빔 서치 결과가 generate와 같음 (최소·최대 새 토큰 수 포함)"""
    # the bundled model ends a review after 2-4 tokens: it shows min_new_tokens; full_length_model shows max_new_tokens
    cases = [(full_length_model, params()), (full_length_model, params(num_beams=2, max_new_tokens=5)),
             (full_length_model, params(max_new_tokens=7, repetition_penalty=1.5)),
             (full_length_model, params(max_new_tokens=16, no_repeat_ngram_size=2)),
             (tiny_model, params(min_new_tokens=6, max_new_tokens=9))]
    for model, p in cases:
        fn = step.make_inference_fn(model, tiny_tokenizer, torch.device("cpu"))
        for prompt in PROMPTS:
            got = fn(prompt, **p)
            assert isinstance(got, str), "생성한 문장(문자열)을 돌려줘야 합니다"
            assert got == reference_text(model, tiny_tokenizer, prompt, p), (
                f"{prompt!r}, {p}: 결과가 model.generate와 다릅니다 (min_new_tokens/max_new_tokens, "
                f"repetition_penalty, no_repeat_ngram_size, num_beams를 넘겼는지 확인)")


@pytest.mark.todo("5-4", points=2)
def test_inference_fn_sampling(step, full_length_model, tiny_tokenizer):
    """inference_fn: 샘플링 파라미터 전달"""
    fn = step.make_inference_fn(full_length_model, tiny_tokenizer, torch.device("cpu"))
    for p in (params(do_sample=True, top_k=5, temperature=0.7, max_new_tokens=8),
              params(do_sample=True, top_k=0, top_p=0.8, temperature=1.3, max_new_tokens=6)):
        for seed in (0, 1):
            torch.manual_seed(seed)
            got = fn("이 영화", **p)
            torch.manual_seed(seed)
            expected = reference_text(full_length_model, tiny_tokenizer, "이 영화", p)
            assert got == expected, f"{p}: 같은 시드에서 결과가 generate와 다릅니다 (top_k/top_p/temperature 확인)"


class DeviceProbe:
    """Stands in for a model that lives on ``device``: records the devices of the tensors ``generate``
    receives and answers with the real model's output for the prompt."""

    def __init__(self, model, output_ids, device):
        self.config = model.config
        self.generation_config = model.generation_config
        self.device = device
        self.output_ids = output_ids
        self.seen = []

    def generate(self, *args, **kwargs):
        self.seen += [value.device.type for value in (*args, *kwargs.values()) if torch.is_tensor(value)]
        return self.output_ids.clone()

    def __call__(self, *args, **kwargs):
        raise AssertionError("inference_fn에서는 model.generate를 부르세요")


@pytest.mark.todo("5-4", points=1)
def test_inference_fn_moves_inputs_to_the_device(step, tiny_model, tiny_tokenizer):
    """inference_fn: 입력 텐서를 모델의 장치로 옮김"""
    p = params()
    prompt = PROMPTS[0]
    expected = reference_text(tiny_model, tiny_tokenizer, prompt, p)
    probe = DeviceProbe(tiny_model, tiny_tokenizer(expected, return_tensors="pt")["input_ids"], META)
    got = step.make_inference_fn(probe, tiny_tokenizer, META)(prompt, **p)
    assert probe.seen, "model.generate에 입력 텐서(input_ids)를 넘기세요"
    assert set(probe.seen) == {"meta"}, (
        f"model.generate가 받은 텐서가 {sorted(set(probe.seen))} 장치에 있습니다 — 인코딩한 입력을 모델과 같은 "
        f"device로 옮기세요 (.to(device); GPU에서는 다른 장치면 오류가 납니다)")
    assert got == expected, "generate가 돌려준 첫 줄을 디코딩해 돌려주세요"


@pytest.mark.todo("5-5", points=2)
def test_build_app(step):
    """Flask 앱 만들기: /api가 inference_fn을 부름, 받은 설정(모델 이름·장치·알림·상한)을 그대로 씀"""
    calls = []

    def fake(prompt, **kwargs):
        calls.append((prompt, kwargs))
        return prompt + " 끝"

    def candidates(prompt, k):
        return [{"token": "끝", "probability": 1.0}][:k]

    app = step.build_app(fake, model_name="테스트 모델", device="cuda:0", notice="알림 문구", next_token_fn=candidates,
                         max_new_tokens_cap=12, content_filter=ContentFilter(["금지어"]))
    client = app.test_client()
    health = client.get("/health")
    assert health.status_code == 200, "GET /health가 200이어야 합니다 (create_app으로 만든 앱인지 확인)"
    info = health.get_json()
    assert (info["model"], info["device"]) == ("테스트 모델", "cuda:0"), "model_name과 device를 create_app에 넘기세요"
    assert info["next_tokens"], "next_token_fn을 create_app에 넘기세요"
    assert info["max_new_tokens_cap"] == 12, "max_new_tokens_cap을 create_app에 넘기세요 (서버가 만들 새 토큰 수의 상한)"
    page = client.get("/")
    assert page.status_code == 200 and "알림 문구" in page.get_data(as_text=True), "notice를 create_app에 넘기세요"
    response = client.post("/api", json={"prompt": "이 영화", "max_new_tokens": 7, "top_p": 0.5})
    assert response.status_code == 200, "create_app(inference_fn, ...)으로 만든 앱이어야 합니다"
    assert response.get_json()["text"] == "이 영화 끝" and calls[0][0] == "이 영화"
    assert calls[0][1]["max_new_tokens"] == 7 and calls[0][1]["top_p"] == 0.5
    assert client.post("/api", json={"prompt": "이 영화", "top_p": 3}).status_code == 400, "잘못된 값은 400이어야 합니다"
    blocked = client.post("/api", json={"prompt": "이 금지어 영화"})
    assert blocked.status_code == 400 and len(calls) == 1, \
        "실습 기능 묶음(features, 여기서는 content_filter)도 create_app에 넘기세요 (**features)"
    over_cap = client.post("/api", json={"prompt": "이 영화", "max_new_tokens": 13})
    assert over_cap.status_code == 400, "상한(max_new_tokens_cap=12)을 넘는 max_new_tokens는 400이어야 합니다 — 상한을 넘기세요"


@pytest.mark.todo("5-6")
def test_run_server(step, monkeypatch):
    """서버 실행: serve에 앱과 주소 전달"""
    seen = {}

    def fake_serve(app, host="127.0.0.1", port=9001, development=False, threads=8):
        seen.update(app=app, host=host, port=port, development=development, threads=threads)

    monkeypatch.setattr(step, "serve", fake_serve)
    app = object()
    step.run_server(app, host="0.0.0.0", port=9123, development=True, threads=3)  # none of them serve's default
    assert seen.get("app") is app, "serve(app, ...)로 앱을 실행하세요"
    assert (seen["host"], seen["port"], seen["threads"]) == ("0.0.0.0", 9123, 3), "host/port/threads를 넘기세요"
    assert seen["development"] is True, "development를 넘기세요"

