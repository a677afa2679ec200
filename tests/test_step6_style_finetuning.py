"""Step 6 autograder: the hand-written training loop, exact resume and the interactive generator.

Judged by behaviour against references computed here: padding and -100 labels, the per-token loss,
bf16 autocast reaching the matrix products, one update (clipping, schedule, cleared gradients),
the learning-rate curve, generation with the KV cache, the periodic report leaving training
untouched, and training N steps + resume + M steps ending bitwise equal to N+M steps in one run
(on the CPU every operation is deterministic, so equality is exact). The loop and the generator run
through the seed project's command lines (``train --epoch ... --load_path ...``, ``generate
--tmp_sent ...``) in this process, on a 2-layer model with dropout (so the random-number state must
be restored too) built here; the rest uses the bundled model.
"""

import builtins
import copy
import io
import re

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from kogpt2_course.lm.decoding import drop_broken_tail
from kogpt2_course.nlpbook.generation.dataset import GenerationCollator
from kogpt2_course.style.checkpoint import TrainState, latest_checkpoint, load_checkpoint, save_checkpoint
from kogpt2_course.style.corpus import SAMPLE_PATH, read_style_csv
from kogpt2_course.style.generator import GOODBYE

STEP = 6
SENTENCES = [row.text for row in read_style_csv(SAMPLE_PATH).rows[:10]]


def small_model(dropout: float = 0.1, seed: int = 0) -> GPT2LMHeadModel:
    config = GPT2Config(vocab_size=12000, n_positions=64, n_embd=32, n_layer=2, n_head=2, resid_pdrop=dropout,
                        embd_pdrop=dropout, attn_pdrop=dropout, bos_token_id=1, eos_token_id=1, pad_token_id=3)
    torch.manual_seed(seed)
    return GPT2LMHeadModel(config)


@pytest.fixture(scope="module")
def style_model_dir(tmp_path_factory, tiny_tokenizer):
    """A 2-layer GPT-2 with dropout 0.1 and the course tokenizer, saved as a model folder for --model."""
    folder = tmp_path_factory.mktemp("style-model")
    small_model().save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def style_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("style-data") / "train.csv"
    path.write_text("score,genre,sent\n" + "".join(f"100,테스트,{s}\n" for s in SENTENCES), encoding="utf-8")
    return str(path)


def encode(tokenizer, text):
    return torch.tensor([tokenizer.bos_token_id, *tokenizer.encode(text), tokenizer.eos_token_id])


def reference_loss(model, tokenizer, texts):
    """Mean negative log-likelihood per predicted token, one sequence at a time (no padding at all)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = encode(tokenizer, text)[None]
            logits = model(ids).logits[0, :-1]
            total += torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum").item()
            count += ids.shape[1] - 1
    return total / count


def floats_in(text):
    return [float(x) for x in re.findall(r"-?\d+\.\d+", text)]


@pytest.mark.todo("6-1", points=2)
def test_collate_batch_pads_to_the_longest_and_masks_labels(step):
    """배치 만들기: 가장 긴 예제까지만 패딩, attention_mask, 패딩 자리 labels=-100"""
    generator = torch.Generator().manual_seed(0)
    lengths = [3, 7, 1, 5]
    examples = [{"input_ids": torch.randint(10, 8000, (n,), generator=generator)} for n in lengths]
    batch = step.collate_batch(examples, 3)
    assert isinstance(batch, dict) and {"input_ids", "attention_mask", "labels"} <= set(batch), \
        "input_ids, attention_mask, labels 세 텐서를 담은 사전을 돌려주세요"
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    for name, tensor in (("input_ids", ids), ("attention_mask", mask), ("labels", labels)):
        assert tensor.shape == (4, 7), f"{name}의 모양이 {tuple(tensor.shape)}입니다 (기대: (4, 7) — 배치의 가장 긴 예제 길이까지만)"
        assert tensor.dtype == torch.long, f"{name}은 정수(torch.long) 텐서여야 합니다"
    for row, (example, n) in enumerate(zip(examples, lengths)):
        assert ids[row, :n].tolist() == example["input_ids"].tolist(), f"{row}번 예제의 토큰이 앞에서부터 그대로 들어가야 합니다"
        assert mask[row].tolist() == [1] * n + [0] * (7 - n), f"{row}번 예제의 attention_mask는 진짜 토큰 1, 패딩 0이어야 합니다"
        assert ids[row, n:].tolist() == [3] * (7 - n), f"{row}번 예제의 빈자리는 pad_token_id로 채워야 합니다"
        assert labels[row, :n].tolist() == example["input_ids"].tolist(), \
            "패딩이 아닌 자리의 labels는 input_ids와 같아야 합니다 (모델이 한 칸씩 밀어 맞춥니다)"
        assert labels[row, n:].tolist() == [-100] * (7 - n), "패딩 자리의 labels는 -100이어야 합니다 (손실에서 제외)"
    single = step.collate_batch(examples[1:2], 3)
    assert single["input_ids"].shape == (1, 7) and int((single["labels"] == -100).sum()) == 0, \
        "예제 하나짜리 배치에는 패딩이 없어야 합니다"


@pytest.mark.todo("6-2", points=2)
def test_compute_loss_is_per_token_and_autocasts(step, tiny_model, tiny_tokenizer):
    """순전파와 손실: 패딩을 뺀 토큰당 평균, bf16=True면 행렬 곱이 bfloat16"""
    texts = SENTENCES[:4]
    batch = GenerationCollator(tiny_tokenizer.pad_token_id)([{"input_ids": encode(tiny_tokenizer, t)} for t in texts])
    expected = reference_loss(tiny_model, tiny_tokenizer, texts)
    dtypes = []
    hook = tiny_model.transformer.h[0].mlp.c_fc.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    try:
        loss = step.compute_loss(tiny_model, batch, False)
        assert torch.is_tensor(loss) and loss.dim() == 0, "손실은 스칼라 텐서여야 합니다 (.item()이나 float로 바꾸지 마세요)"
        assert loss.requires_grad, "손실에서 역전파할 수 있어야 합니다 (torch.no_grad() 안에서 계산하지 마세요)"
        assert loss.detach().item() == pytest.approx(expected, rel=1e-4), (
            f"손실 {loss.detach().item():.4f}가 패딩을 뺀 토큰당 평균 {expected:.4f}와 다릅니다 "
            f"(attention_mask와 -100인 labels를 모델에 넘기세요)")
        assert dtypes and dtypes[-1] == torch.float32, "bf16=False일 때는 float32로 계산해야 합니다"
        loss_bf16 = step.compute_loss(tiny_model, batch, True)
        assert dtypes[-1] == torch.bfloat16, \
            "bf16=True인데 행렬 곱이 bfloat16으로 돌지 않았습니다 (torch.autocast(..., dtype=torch.bfloat16))"
        assert loss_bf16.detach().item() == pytest.approx(expected, rel=0.05), "bf16 손실이 float32 손실과 너무 다릅니다"
    finally:
        hook.remove()


@pytest.mark.todo("6-3")
def test_build_optimizer_covers_all_weights_and_schedules_linearly(step):
    """옵티마이저와 스케줄: 모든 파라미터의 AdamW, 워밍업 후 선형으로 0까지"""
    model = small_model(dropout=0.0)
    optimizer, scheduler = step.build_optimizer(model, 0.002, 0.05, 4, 10)  # 0.05: not AdamW's default (0.01)
    assert isinstance(optimizer, torch.optim.AdamW), "torch.optim.AdamW를 쓰세요 (가중치 감쇠를 따로 적용하는 Adam)"
    in_groups = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_groups == {id(p) for p in model.parameters()}, "모델의 모든 파라미터를 옵티마이저에 넘겨야 합니다"
    weight = model.transformer.h[0].attn.c_attn.weight
    group = next(g for g in optimizer.param_groups if any(p is weight for p in g["params"]))
    assert group["weight_decay"] == pytest.approx(0.05), "weight_decay를 옵티마이저에 넘기세요"
    lrs = []
    for _ in range(11):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradients: nothing moves, only the order of calls matters
        scheduler.step()
    expected = [0.002 * f for f in (0, 0.25, 0.5, 0.75, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0)]
    assert lrs == pytest.approx(expected, abs=1e-9), (
        f"학습률이 스텝마다 {[round(x, 5) for x in lrs]}입니다 (기대: 워밍업 4스텝 동안 0→0.002, 10스텝째 0까지 선형 감소)")


@pytest.mark.todo("6-4", points=3)
def test_optimizer_step_clips_steps_schedules_and_clears(step, tiny_tokenizer):
    """한 스텝: 역전파, 기울기 자르기, optimizer.step, scheduler.step, 앞 스텝의 기울기가 섞이지 않음"""
    model = small_model(dropout=0.0).eval()
    reference = copy.deepcopy(model)
    collate = GenerationCollator(tiny_tokenizer.pad_token_id)
    batches = [collate([{"input_ids": encode(tiny_tokenizer, t)} for t in SENTENCES[i:i + 3]]) for i in (0, 3)]

    def sgd_with_halving(m):
        optimizer = torch.optim.SGD(m.parameters(), lr=1.0)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 ** s)

    optimizer, scheduler = sgd_with_halving(model)
    ref_optimizer, ref_scheduler = sgd_with_halving(reference)
    max_norm = 0.05
    for number, batch in enumerate(batches, start=1):
        reference(**batch).loss.backward()
        expected_norm = float(torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm))
        ref_optimizer.step()
        ref_scheduler.step()
        ref_optimizer.zero_grad(set_to_none=True)

        norm = step.optimizer_step(model(**batch).loss, model, optimizer, scheduler, max_norm)
        assert expected_norm > max_norm, "test setup: clipping must be active"
        cause = ("1번째 스텝은 맞았습니다 — 앞 스텝의 기울기를 비웠는지(기울기는 .grad에 더해집니다), 스케줄러를 진행했는지 "
                 "확인하세요" if number == 2 else
                 "역전파 → 기울기 자르기(max_grad_norm) → optimizer.step() 순서인지 확인하세요")
        for (name, p), q in zip(model.named_parameters(), reference.parameters()):
            assert torch.allclose(p, q, atol=1e-6), f"{number}번째 스텝 뒤 가중치 {name}이(가) 기대와 다릅니다 — {cause}"
        assert norm is not None and float(norm) == pytest.approx(expected_norm, rel=1e-4), (
            f"{number}번째 스텝: 돌려준 노름 {norm}이 자르기 전 전체 기울기 노름 {expected_norm:.4f}와 다릅니다 "
            f"(기울기 자르기 함수가 돌려주는 값)")
        assert scheduler.last_epoch == number, f"{number}번 부른 뒤 스케줄러도 {number}걸음 나아가야 합니다"


@pytest.mark.todo("6-5")
def test_choose_bf16_measures_only_when_asked(step):
    """bf16 결정: on/off는 그대로, auto는 쓸 수 있고 재 봐서 빠를 때만"""
    def timer(bf16_time, fp32_time):
        calls = []

        def measure(bf16):
            calls.append(bf16)
            return bf16_time if bf16 else fp32_time
        return measure, calls

    cases = [("off", True, 1.0, 2.0, False, False), ("on", True, 2.0, 1.0, True, False),
             ("auto", True, 1.0, 2.0, True, True), ("auto", True, 2.0, 1.0, False, True),
             ("auto", False, 1.0, 2.0, False, False)]
    for mode, supported, bf16_time, fp32_time, expected, measured in cases:
        measure, calls = timer(bf16_time, fp32_time)
        got = step.choose_bf16(mode, supported, measure)
        what = f"mode={mode!r}, supported={supported}, bf16 {bf16_time}초 / float32 {fp32_time}초"
        assert got is expected or got == expected, f"{what}: {expected}여야 합니다 (받은 값 {got!r})"
        if measured:
            assert sorted(set(calls)) == [False, True], f"{what}: bf16과 float32를 둘 다 재 봐야 합니다"
        else:
            assert not calls, f"{what}: 잴 필요가 없는데 measure를 불렀습니다 (한 번에 수백 ms씩 듭니다)"


@pytest.mark.todo("6-6", points=2)
def test_generate_text_uses_the_kv_cache(step, full_length_model, tiny_tokenizer):
    """생성: </s>로 시작, text_size개의 새 토큰, KV 캐시, 샘플링 설정 반영"""
    prompt, size = "오늘은", 12
    ids = torch.tensor([[tiny_tokenizer.bos_token_id, *tiny_tokenizer.encode(prompt)]])
    with torch.no_grad():
        greedy = full_length_model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                            max_new_tokens=size, pad_token_id=tiny_tokenizer.pad_token_id)
    expected = drop_broken_tail(tiny_tokenizer.decode(greedy[0], skip_special_tokens=True))
    widths = []
    hook = full_length_model.register_forward_pre_hook(
        lambda m, args, kwargs: widths.append((kwargs.get("input_ids") if "input_ids" in kwargs else args[0]).shape[1]),
        with_kwargs=True)
    try:
        text = step.generate_text(full_length_model, tiny_tokenizer, prompt, size, 1.0, 1, 1.0)
    finally:
        hook.remove()
    assert isinstance(text, str), "생성한 글(문자열)을 돌려주세요"
    assert text == expected, (
        f"top_k=1이면 그리디와 같아야 합니다: {text!r} (기대: {expected!r}) — 프롬프트 앞에 </s>(bos)를 붙이고, "
        f"max_new_tokens=text_size, 프롬프트를 포함해 skip_special_tokens=True로 디코딩하세요")
    assert widths and widths[0] == ids.shape[1], "첫 순전파에는 </s>와 프롬프트 전체가 들어가야 합니다"
    assert len(widths) <= size and all(w == 1 for w in widths[1:]), (
        f"순전파마다 넣은 토큰 수가 {widths}입니다 — KV 캐시를 쓰면 두 번째부터는 새 토큰 하나만 넣습니다 (model.generate)")
    samples = set()
    for seed in range(4):
        torch.manual_seed(seed)
        samples.add(step.generate_text(full_length_model, tiny_tokenizer, prompt, 6, 1.5, 0, 1.0))
    assert len(samples) > 1, "do_sample=True로 샘플링해야 합니다 (시드마다 다른 글)"
    assert all(s.startswith(prompt) for s in samples), "돌려주는 글은 프롬프트로 시작해야 합니다"


@pytest.mark.todo("6-6", points=2)
def test_generator_runs_interactively_and_saves_samples(step, style_model_dir, tiny_tokenizer, tmp_path,
                                                        monkeypatch, capsys):
    """대화형 생성기: --tmp_sent 다음 입력을 차례로, quit·EOF·Ctrl+C에 인사하고 끝, samples에 설정과 함께 저장"""
    model = GPT2LMHeadModel.from_pretrained(style_model_dir)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    checkpoint = save_checkpoint(tmp_path / "ckpt", model, optimizer, scheduler, TrainState(step=7),
                                 {"model_name": style_model_dir})
    samples = tmp_path / "samples"  # does not exist yet
    base = ["generate", "--model", style_model_dir, "--load_path", str(checkpoint), "--text_size", "6",
            "--samples", str(samples), "--seed", "0"]

    monkeypatch.setattr("sys.stdin", io.StringIO("내일은\nquit\n그 뒤는 읽지 않음\n"))
    step.main(base + ["--tmp_sent", "오늘은"])
    out = capsys.readouterr().out
    files = sorted(samples.glob("*.txt"))
    assert [f.name for f in files] == ["1.txt", "2.txt"], \
        f"--tmp_sent와 입력 한 줄로 결과 2개(1.txt, 2.txt)를 저장해야 합니다: {[f.name for f in files]}"
    for file, prompt in zip(files, ["오늘은", "내일은"]):
        header, text = file.read_text(encoding="utf-8").split("\n", 1)
        for setting in ("text_size=6", "temperature=0.7", "top_k=40", "top_p=0.9", repr(prompt), str(checkpoint)):
            assert setting in header, f"{file.name}의 첫 줄에 설정 {setting}이(가) 없습니다: {header}"
        assert text.startswith(prompt) and text.strip() in out, f"{file.name}: '{prompt}'를 이어 쓴 글을 출력하고 저장해야 합니다"
    assert GOODBYE in out, "quit를 입력하면 인사하고 끝나야 합니다"

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # Ctrl+D right away
    step.main(base + ["--tmp_sent", ""])
    assert GOODBYE in capsys.readouterr().out and len(list(samples.glob("*.txt"))) == 2, "EOF(Ctrl+D)에서 인사하고 끝나야 합니다"

    def ctrl_c(prompt=""):
        raise KeyboardInterrupt
    monkeypatch.setattr(builtins, "input", ctrl_c)
    step.main(base + ["--tmp_sent", "주말에는"])
    assert GOODBYE in capsys.readouterr().out, "Ctrl+C에서도 오류 없이 인사하고 끝나야 합니다"
    assert (samples / "3.txt").exists(), "번호는 폴더에 있는 마지막 번호 다음부터 이어져야 합니다"

    step.main(base + ["--tmp_sent", "저녁에는", "--loops", "1"])  # would raise if it asked for input
    assert (samples / "4.txt").exists() and not (samples / "5.txt").exists(), "--loops 1이면 결과 하나로 끝나야 합니다"


@pytest.mark.todo("6-7", points=2)
def test_report_prints_mean_and_sample_without_disturbing_training(step, tiny_model, tiny_tokenizer, capsys):
    """주기적인 기록: 평균 손실과 샘플 한 줄, 생성은 평가 모드, 학습 모드와 난수 상태는 그대로"""
    model = copy.deepcopy(tiny_model).train()
    modes = []
    hook = model.register_forward_pre_hook(lambda m, args, kwargs: modes.append(m.training), with_kwargs=True)
    torch.manual_seed(3)
    before = torch.get_rng_state()
    try:
        line = step.report(17, [2.0, 3.0, 4.5], model, tiny_tokenizer, "오늘은", 8)
    finally:
        hook.remove()
    out = capsys.readouterr().out
    assert isinstance(line, str) and line.strip() and line.strip() in out, "출력한 한 줄을 그대로 돌려주세요"
    assert "17" in line, "몇 번째 스텝인지 적어 주세요"
    assert any(abs(x - 3.1667) < 0.01 for x in floats_in(line)), f"최근 손실의 평균 3.167이 줄에 없습니다: {line}"
    assert modes, "샘플을 생성해야 합니다 (generate_text)"
    assert not any(modes), "샘플은 평가 모드(model.eval())에서 생성해야 합니다 (드롭아웃 끔)"
    assert model.training, "샘플을 만든 뒤 학습 모드(model.train())로 되돌려야 합니다"
    assert "오늘은" in line, "샘플은 주어진 프롬프트를 이어 써야 합니다"
    assert torch.equal(torch.get_rng_state(), before), (
        "샘플링이 학습의 난수 상태를 바꿨습니다 — torch.random.fork_rng() 안에서 생성하면 이후 드롭아웃이 "
        "샘플을 찍든 안 찍든 같습니다")


def check_loop_bookkeeping(step, monkeypatch):
    """run_epoch alone, with compute_loss/optimizer_step replaced by recorders: what it calls, in which order."""
    calls = []

    def fake_loss(model, batch, bf16):
        calls.append(("loss", int(batch["id"]), bf16))
        return torch.tensor(float(batch["id"]))

    def fake_step(loss, *args):
        calls.append(("step", float(loss)))
        return 1.0

    monkeypatch.setattr(step, "compute_loss", fake_loss)
    monkeypatch.setattr(step, "optimizer_step", fake_step)
    batches = [{"id": torch.tensor(i)} for i in range(5)]
    state = TrainState(epoch=1, step=7, batch_in_epoch=2, bf16=True)
    seen = []

    def after_step(current):
        seen.append((current.step, current.batch_in_epoch))
        return current.step < 9

    finished = step.run_epoch(torch.nn.Linear(1, 1), batches, None, None, state, 3, 1.0, after_step)
    assert calls[:2] == [("loss", 2, True), ("step", 2.0)], (
        f"이어 학습: 이번 에폭에서 이미 학습한 배치 2개(state.batch_in_epoch)를 건너뛰고 세 번째 배치부터 "
        f"compute_loss(…, state.bf16) → optimizer_step 순서로 학습해야 합니다 (부른 순서: {calls[:4]})")
    assert seen[:1] == [(8, 3)], (f"배치를 하나 학습하면 state.step은 8, state.batch_in_epoch은 3이 된 뒤 after_step을 "
                                  f"불러야 합니다 (받은 값: {seen[:1]})")
    assert seen == [(8, 3), (9, 4)] and finished is False, "after_step이 False를 돌려주면 그 자리에서 멈추고 False를 돌려주세요"
    assert state.history == [(8, 2.0), (9, 3.0)], f"history에는 (스텝, 손실 값)을 스텝마다 하나씩: {state.history}"
    state, seen[:] = TrainState(), []
    assert step.run_epoch(torch.nn.Linear(1, 1), batches, None, None, state, 3, 1.0, lambda s: True) is True, \
        "에폭을 끝까지 학습하면 True를 돌려주세요"
    assert (state.step, state.batch_in_epoch) == (5, 5), "처음부터면 다섯 배치를 모두 학습해야 합니다"
    monkeypatch.undo()


@pytest.mark.todo("6-8", points=3)
def test_training_resumes_exactly(step, style_model_dir, style_csv, tmp_path, capsys, monkeypatch):
    """학습 루프와 정확한 이어 학습: N스텝 + 이어서 M스텝 = 한 번에 N+M스텝 (가중치가 비트 단위로 같음)"""
    check_loop_bookkeeping(step, monkeypatch)
    capsys.readouterr()
    common = ["train", "--model", style_model_dir, "--data_file_path", style_csv, "--epoch", "3", "--batch_size", "4",
              "--log_every", "2", "--sample_tokens", "4", "--save_every", "0", "--bf16", "off",
              "--max_seq_length", "24", "--no_plot"]
    step.main(common + ["--save_path", str(tmp_path / "once")])
    once = load_checkpoint(latest_checkpoint(tmp_path / "once"))
    err = capsys.readouterr().err
    assert re.search(r"\d+/3 \[", err), "tqdm 진행 막대(에폭마다 배치 3개)가 보이지 않습니다"
    assert once["state"]["step"] == 9, f"3 에폭 × 배치 3개 = 9스텝이어야 하는데 {once['state']['step']}스텝입니다"

    step.main(common + ["--save_path", str(tmp_path / "split"), "--max_steps", "4"])
    first = latest_checkpoint(tmp_path / "split")
    assert load_checkpoint(first)["state"]["step"] == 4, \
        "--max_steps 4에서 멈추지 않았습니다 — 배치마다 after_step(state)를 부르고, False를 돌려주면 멈추세요"
    capsys.readouterr()
    step.main(common + ["--save_path", str(tmp_path / "split"), "--load_path", str(first)])
    assert "이어 학습" in capsys.readouterr().out, "--load_path의 체크포인트에서 이어서 학습해야 합니다"
    resumed = load_checkpoint(latest_checkpoint(tmp_path / "split"))
    assert resumed["state"]["step"] == 9, (
        f"이어서 학습한 뒤 스텝이 {resumed['state']['step']}입니다 (기대: 9) — 이번 에폭에서 이미 학습한 배치 "
        f"(state.batch_in_epoch개)는 건너뛰고 state.step, state.batch_in_epoch을 배치마다 고치세요")
    assert [s for s, _ in resumed["state"]["history"]] == list(range(1, 10)), "history에는 스텝마다 (스텝, 손실)이 한 번씩"
    assert resumed["state"]["history"] == once["state"]["history"], \
        "이어 학습한 스텝들의 손실이 한 번에 학습한 것과 다릅니다 — 같은 배치를 같은 순서로 학습해야 합니다"
    for name, tensor in once["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), \
            f"이어 학습한 가중치 {name}이(가) 한 번에 학습한 것과 비트 단위로 같지 않습니다"
