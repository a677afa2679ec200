"""Step 8 autograder: prompt format, response-only labels, LoRA target layers and config, weight-decay
groups, per-epoch adapter save + sample, merge, before/after with the adapter disabled.

Everything runs on the bundled model (and a 1-layer random Llama built here); adapters that "look trained"
are random LoRA weights (``init_lora_weights=False``), so no test needs to train for long.
"""

import copy
import io
import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, PeftModel, PeftModelForCausalLM, get_peft_model
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.pytorch_utils import Conv1D

from aihub_reference import write_aihub
from kogpt2_course.lora.chat import GOODBYE
from kogpt2_course.lora.data import SYSTEM, USER, DialogueExample, Turn

STEP = 8
pytestmark = pytest.mark.usefixtures("one_torch_thread")

HISTORY = (Turn(USER, "시험에 떨어졌어"), Turn(SYSTEM, "많이 속상하시겠어요"), Turn(USER, "다시 할 수 있을까?"))
EXAMPLE = DialogueExample("t-1", "슬픔", HISTORY, "그럼요, 충분히 다시 할 수 있어요.")
USR_ID, SYS_ID = 2, 4


def simple_prompt(history, emotion):
    """A prompt format for the tests of later TODOs, so they do not depend on TODO 8-1."""
    return (emotion or "") + "".join(("<usr>" if t.speaker == USER else "<sys>") + t.text for t in history) + "<sys>"


@pytest.fixture
def cli(step, tmp_path):
    return step.parse_args(["--output_dir", str(tmp_path / "adapters"), "--lora_name", "empathy", "--lora_rank", "4",
                            "--max_new_tokens", "10", "--max_length", "128"])


def trained_looking_adapter(model, rank=4, seed=0):
    """A LoRA model on a copy of ``model`` whose adapter changes the output (random A and B)."""
    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["c_attn", "c_proj", "c_fc"], fan_in_fan_out=True,
                        lora_dropout=0.0, init_lora_weights=False, task_type="CAUSAL_LM")
    peft_model = get_peft_model(copy.deepcopy(model), config)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.mul_(0.2)
    return peft_model.eval()


def adapted_layers(peft_model) -> dict[str, nn.Module]:
    """{module name: base layer} of every layer that got an adapter."""
    return {name: module.get_base_layer() for name, module in peft_model.named_modules()
            if isinstance(module, BaseTunerLayer)}


def tiny_llama():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False)
    return LlamaForCausalLM(config).eval()


@pytest.mark.todo("8-1", points=2)
def test_format_prompt(step, tiny_tokenizer):
    """프롬프트 형식: 감정 단어, 발화마다 <usr>/<sys>, 끝에 <sys>"""
    prompt = step.format_prompt(HISTORY, "슬픔")
    assert isinstance(prompt, str), "프롬프트는 문자열이어야 합니다"
    for history, emotion in ((HISTORY, "슬픔"), (HISTORY[-1:], None), (HISTORY[1:], "기쁨")):
        ids = tiny_tokenizer.encode(step.format_prompt(history, emotion))
        speakers = [i for i in ids if i in (USR_ID, SYS_ID)]
        expected = [USR_ID if t.speaker == USER else SYS_ID for t in history] + [SYS_ID]
        assert speakers == expected, (
            f"화자 토큰 순서가 {tiny_tokenizer.convert_ids_to_tokens(speakers)}입니다 "
            f"(기대: {tiny_tokenizer.convert_ids_to_tokens(expected)}): 발화마다 말한 사람의 토큰을 앞에 붙이고 끝에 <sys>")
        assert ids[-1] == SYS_ID, "프롬프트는 <sys>로 끝나야 합니다 (모델이 답할 차례)"
        cuts = [k for k, i in enumerate(ids) if i in (USR_ID, SYS_ID)]
        prefix = tiny_tokenizer.decode(ids[:cuts[0]]).strip()
        assert prefix == (emotion or ""), (
            f"첫 화자 토큰 앞이 {prefix!r}입니다 (기대: {emotion or ''!r}): 감정 단어는 맨 앞에, 없으면 아무것도 없이")
        for turn, start, end in zip(history, cuts, cuts[1:]):
            text = tiny_tokenizer.decode(ids[start + 1:end]).strip()
            assert text == turn.text, f"화자 토큰 뒤의 발화가 {text!r}입니다 (기대: {turn.text!r})"


@pytest.mark.todo("8-2", points=2)
def test_build_features_masks_the_prompt(step, tiny_model, tiny_tokenizer):
    """정답(labels): 프롬프트 자리는 -100, 응답 자리만 학습 — 손실이 응답 토큰의 손실과 같음"""
    prompt_ids = [tiny_tokenizer.bos_token_id, *tiny_tokenizer.encode(simple_prompt(HISTORY, "슬픔"))]
    response_ids = [*tiny_tokenizer.encode(EXAMPLE.response), tiny_tokenizer.eos_token_id]
    features = step.build_features(prompt_ids, response_ids)
    assert isinstance(features, dict) and {"input_ids", "labels"} <= set(features), \
        '{"input_ids": ..., "labels": ...} 사전을 돌려줘야 합니다'
    input_ids = torch.as_tensor(features["input_ids"]).tolist()
    labels = torch.as_tensor(features["labels"]).tolist()
    assert input_ids == prompt_ids + response_ids, "input_ids는 프롬프트 뒤에 응답을 이어 붙인 것이어야 합니다"
    assert len(labels) == len(input_ids), "labels는 input_ids와 길이가 같아야 합니다 (모델이 한 칸씩 밀어 씁니다)"
    assert labels[:len(prompt_ids)] == [-100] * len(prompt_ids), "프롬프트 자리의 labels는 -100이어야 합니다 (손실에서 제외)"
    assert labels[len(prompt_ids):] == response_ids, "응답 자리의 labels는 응답 토큰 그대로여야 합니다"
    ids = torch.tensor([input_ids])
    with torch.no_grad():
        loss = tiny_model(input_ids=ids, labels=torch.tensor([labels])).loss
        logits = tiny_model(ids).logits[0, len(prompt_ids) - 1:-1]
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor(response_ids))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5), "손실이 응답 토큰만의 평균 손실과 달라야 할 이유가 없습니다"


@pytest.mark.todo("8-3", points=2)
def test_lora_targets_by_architecture(step, tiny_model):
    """LoRA를 붙일 층: GPT-2는 모든 Conv1D(fan_in_fan_out=True), Llama는 모든 nn.Linear, 출력층은 빼고"""
    for model, kind, conv in ((copy.deepcopy(tiny_model), Conv1D, True), (tiny_llama(), nn.Linear, False)):
        arch = type(model).__name__
        head = model.get_output_embeddings()
        expected = {name for name, m in model.named_modules() if isinstance(m, kind) and m is not head}
        names, fan_in_fan_out = step.lora_targets(model)
        assert fan_in_fan_out is conv, (
            f"{arch}: fan_in_fan_out은 {conv}여야 합니다 (GPT-2의 Conv1D는 가중치를 (입력, 출력)으로 저장합니다)")
        try:
            peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=names, fan_in_fan_out=fan_in_fan_out))
        except ValueError as exc:
            pytest.fail(f"{arch}에서 {names!r} 층을 찾지 못했습니다 — 모델 구조에 있는 층을 고르세요 ({exc})"[:300], pytrace=False)
        adapted = adapted_layers(peft_model)
        got = {name.removeprefix("base_model.model.") for name in adapted}
        assert not expected - got, f"{arch}: 어댑터가 붙지 않은 선형 층이 있습니다: {sorted(expected - got)[:4]}"
        assert all(layer is not head and isinstance(layer, kind) for layer in adapted.values()), \
            f"{arch}: 선형 층({kind.__name__})에만, 출력층(lm_head)은 빼고 붙여야 합니다"


@pytest.mark.todo("8-4", points=2)
def test_build_lora_model(step, tiny_model, tiny_tokenizer, capsys, monkeypatch):
    """LoRA 모델: 고른 층에 랭크 r, alpha/r 배율, 학습할 것은 어댑터뿐, 학습 전 출력은 원래 모델과 같음"""
    monkeypatch.setattr(step, "lora_targets", lambda model: (["c_attn", "c_fc"], True))
    peft_model = step.build_lora_model(copy.deepcopy(tiny_model), 4, 16, 0.1)
    assert isinstance(peft_model, PeftModelForCausalLM), \
        "get_peft_model이 돌려준 PeftModelForCausalLM이어야 합니다 (task_type='CAUSAL_LM')"
    assert "trainable params" in capsys.readouterr().out, "print_trainable_parameters()로 학습할 파라미터 수를 출력하세요"
    layers = {name.rsplit(".", 1)[-1] for name in adapted_layers(peft_model)}
    assert layers == {"c_attn", "c_fc"}, f"lora_targets(model)가 고른 층에 붙여야 합니다 (붙은 층: {sorted(layers)})"
    config = peft_model.peft_config["default"]
    assert config.fan_in_fan_out is True, "lora_targets가 돌려준 fan_in_fan_out을 LoraConfig에 넘기세요"
    trainable = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable), "학습할 파라미터는 LoRA 어댑터(lora_A, lora_B)뿐이어야 합니다"
    for module in peft_model.modules():
        if isinstance(module, BaseTunerLayer):
            assert module.r["default"] == 4, f"랭크가 {module.r['default']}입니다 (기대: 4)"
            assert module.scaling["default"] == pytest.approx(16 / 4), "배율 alpha/r이 16/4여야 합니다 (lora_alpha=alpha)"
            assert module.lora_dropout["default"].p == pytest.approx(0.1), "lora_dropout=dropout을 넘기세요"
    ids = torch.tensor([tiny_tokenizer.encode(simple_prompt(HISTORY, "슬픔"))])
    peft_model.eval()
    with torch.no_grad():
        assert torch.allclose(peft_model(input_ids=ids).logits, tiny_model(ids).logits, atol=1e-5), \
            "학습 전 어댑터는 출력을 바꾸지 않아야 합니다 (B를 0으로 시작하는 기본 초기화)"


@pytest.mark.todo("8-5", points=2)
def test_optimizer_groups_exclude_bias_and_layernorm(step, tiny_model):
    """weight decay 그룹: 학습하는 파라미터마다 한 번, bias와 LayerNorm(ln_1/ln_2/ln_f)은 0"""
    full = copy.deepcopy(tiny_model).train()
    custom = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2, bias=False))
    lora = trained_looking_adapter(tiny_model)
    for model in (full, custom, lora):
        groups = step.optimizer_groups(model, 0.05)
        try:
            optimizer = torch.optim.AdamW(groups, lr=1e-3)
        except (ValueError, TypeError) as exc:
            pytest.fail(f"AdamW가 그룹을 받지 못합니다: {exc} — 같은 파라미터(공유된 임베딩)를 두 번 넣지 않았는지 보세요"[:300],
                        pytrace=False)
        listed = [id(p) for g in groups for p in g["params"]]
        assert len(listed) == len(set(listed)), ("같은 파라미터가 두 번 들어 있습니다 — 입력 임베딩과 출력층이 공유하는 가중치처럼 "
                                                 "여러 모듈에 걸린 파라미터는 한 번만 넣으세요 (AdamW는 한 그룹 안의 중복을 경고만 합니다)")
        decay_of = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
        trainable = {id(p) for p in model.parameters() if p.requires_grad}
        assert set(decay_of) == trainable, "학습하는(requires_grad) 파라미터가 모두, 그리고 그것만 들어 있어야 합니다"
        for module_name, module in model.named_modules():
            for name, param in module.named_parameters(recurse=False):
                if not param.requires_grad:
                    continue
                no_decay = name == "bias" or isinstance(module, nn.LayerNorm)
                assert decay_of[id(param)] == (0.0 if no_decay else 0.05), (
                    f"{module_name}.{name}의 weight_decay가 {decay_of[id(param)]}입니다 — bias와 LayerNorm(모듈의 종류로 판단)은 0, "
                    f"나머지는 weight_decay")


@pytest.mark.todo("8-6", points=2)
def test_save_adapter_and_sample(step, cli, tiny_model, tiny_tokenizer, monkeypatch):
    """에폭마다: {lora_name}_{rank}_epoch{k} 폴더에 어댑터만 저장, 검증 대화의 답 하나"""
    monkeypatch.setattr(step, "format_prompt", simple_prompt)
    model = trained_looking_adapter(tiny_model)
    path, answer = step.save_adapter_and_sample(model, tiny_tokenizer, 3, cli, EXAMPLE)
    expected_dir = Path(cli.output_dir) / "empathy_4_epoch3"
    assert str(path) == str(expected_dir), f"저장 폴더가 {path}입니다 (기대: {expected_dir})"
    assert (expected_dir / "adapter_config.json").is_file(), "peft 모델의 save_pretrained로 어댑터를 저장하세요"
    size = sum(f.stat().st_size for f in expected_dir.iterdir())
    assert size < 2_000_000, f"폴더가 {size:,} 바이트입니다 — 어댑터만 저장해야 합니다 (base 모델 가중치 제외)"
    reloaded = PeftModel.from_pretrained(copy.deepcopy(tiny_model), str(expected_dir)).eval()
    ids = torch.tensor([tiny_tokenizer.encode("오늘 너무 힘들었어")])
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5), \
            "다시 불러온 어댑터의 출력이 저장한 모델과 다릅니다"
    assert isinstance(answer, str) and answer, "검증 대화에 대한 답(문자열)을 돌려주세요"
    assert answer == step.reply(model, tiny_tokenizer, EXAMPLE.history, EXAMPLE.emotion, cli), \
        "답은 reply(model, tokenizer, sample.history, sample.emotion, cli)로 만드세요 (어댑터가 켜진 모델로)"


@pytest.mark.todo("8-6")
def test_training_run_saves_an_adapter_per_epoch(step, tmp_path, capsys, monkeypatch):
    """학습 전체: 학습할 파라미터 줄, 에폭마다 어댑터와 검증 대화, 학습 전후, 병합, chat 명령"""
    write_aihub(tmp_path / "train.json", [("E21", ["시험에 떨어졌어.", "많이 속상하시겠어요.", "다시 할 수 있을까?",
                                                  "그럼요, 다시 할 수 있어요."]),
                                          ("E61", ["합격했어!", "정말 축하드려요!"])])
    write_aihub(tmp_path / "val.json", [("E35", ["내일 면접이라 떨려.", "긴장되시는 게 당연해요."])])
    out = tmp_path / "adapters"
    step.main(["--model", "bundled", "--train_file", str(tmp_path / "train.json"), "--val_file",
               str(tmp_path / "val.json"), "--output_dir", str(out), "--max_new_tokens", "6", "--num_samples", "1",
               "--max_length", "64", "--plots_dir", str(tmp_path / "plots")])
    printed = capsys.readouterr().out
    assert "trainable params" in printed, "학습할 파라미터 수 줄이 출력되지 않았습니다 (print_trainable_parameters)"
    saved = sorted(p.name for p in out.iterdir())
    assert saved == ["lora_2_epoch1", "lora_2_epoch2"], f"에폭마다 어댑터 하나씩 저장해야 합니다 (저장된 것: {saved})"
    for name in saved:
        config = json.loads((out / name / "adapter_config.json").read_text(encoding="utf-8"))
        assert config["r"] == 2 and set(config["target_modules"]) >= {"c_attn"}, f"{name}: 랭크 2 LoRA 어댑터가 아닙니다"
    assert printed.count("[에폭 ") == 2 and "학습 후" in printed and "로짓 최대 차이" in printed
    assert (tmp_path / "plots" / "step8_loss_curve.png").is_file(), "손실 곡선 PNG가 없습니다"
    for typed in ("괜찮아?\nquit\n", ""):  # the chat subcommand: the last adapter, until quit / EOF
        monkeypatch.setattr("sys.stdin", io.StringIO(typed))
        step.main(["chat", "--output_dir", str(out), "--max_new_tokens", "4", "--greedy"])
        printed = capsys.readouterr().out
        assert "lora_2_epoch2" in printed and printed.count("챗봇>") == bool(typed) and GOODBYE in printed


@pytest.mark.todo("8-7")
def test_merge_gives_the_same_logits(step, tiny_model, tiny_tokenizer):
    """병합: merge_and_unload가 돌려준 보통 모델, 로짓은 base + 어댑터와 같음"""
    model = trained_looking_adapter(tiny_model)
    ids = torch.tensor([tiny_tokenizer.encode(simple_prompt(HISTORY, "슬픔"))])
    with torch.no_grad():
        adapter_logits = model(input_ids=ids).logits
        base_logits = tiny_model(ids).logits
    assert not torch.allclose(adapter_logits, base_logits, atol=1e-3)  # the adapter really changes the model
    merged = step.merge_adapter(model)
    assert not isinstance(merged, PeftModel), "peft 포장을 벗긴 모델을 돌려줘야 합니다 (merge_and_unload의 반환값)"
    assert not any(isinstance(m, BaseTunerLayer) for m in merged.modules()), "LoRA 층이 남아 있습니다 — merge_and_unload()"
    assert sum(p.numel() for p in merged.parameters()) == sum(p.numel() for p in tiny_model.parameters()), \
        "병합한 모델의 파라미터 수는 원래 모델과 같아야 합니다"
    with torch.no_grad():
        merged_logits = merged(input_ids=ids).logits
    difference = (merged_logits - adapter_logits).abs().max().item()
    assert difference < 1e-3, f"병합한 모델의 로짓이 base + 어댑터와 {difference:.2e}만큼 다릅니다"


@pytest.mark.todo("8-8")
def test_before_after_disables_the_adapter(step, cli, tiny_model, tiny_tokenizer, monkeypatch):
    """학습 전후: 어댑터를 끈 답은 원래 모델의 답, 켠 답은 어댑터의 답, 그 뒤 어댑터는 다시 켜짐"""
    monkeypatch.setattr(step, "format_prompt", simple_prompt)
    # the bundled model, never trained on <sys>, often ends at once; without stopping at </s> both replies have text
    import kogpt2_course.lora.chat as chat_module
    monkeypatch.setattr(chat_module, "stop_token_ids", lambda tokenizer: [tokenizer.mask_token_id])
    model = trained_looking_adapter(tiny_model, seed=1)
    with torch.no_grad():  # a strong adapter, so that it surely changes the reply
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.mul_(10)
    base_answer = step.reply(copy.deepcopy(tiny_model), tiny_tokenizer, EXAMPLE.history, EXAMPLE.emotion, cli)
    adapter_answer = step.reply(model, tiny_tokenizer, EXAMPLE.history, EXAMPLE.emotion, cli)
    assert base_answer != adapter_answer  # the test needs an adapter that changes the reply
    before, after = step.before_after(model, tiny_tokenizer, EXAMPLE, cli)
    assert before == base_answer, (
        f"학습 전 답 {before!r}이(가) 원래 모델의 답 {base_answer!r}과 다릅니다 — with peft_model.disable_adapter(): "
        f"(base_model이나 get_base_model()에는 어댑터가 끼워져 있습니다)")
    assert after == adapter_answer, f"학습 후 답 {after!r}이(가) 어댑터를 켠 모델의 답 {adapter_answer!r}과 다릅니다"
    assert step.reply(model, tiny_tokenizer, EXAMPLE.history, EXAMPLE.emotion, cli) == adapter_answer, \
        "before_after 뒤에는 어댑터가 다시 켜져 있어야 합니다"
