"""Step 7 autograder: the Q/A text, tokenization, labels, the collator, TrainingArguments, the Trainer
with checkpoints and resume, perplexity, and answer generation.

Every test builds what it needs with the reference code below (not with the student's other
TODOs), so one unfinished TODO fails only its own test. Training runs a few steps of the bundled
model on a dozen pairs written here.
"""

import argparse
import json
import copy
import gc
import math

import pytest
import torch
from datasets import Dataset
from transformers import (DataCollatorForSeq2Seq, GPT2LMHeadModel, LogitsProcessor, LogitsProcessorList, Trainer,
                          TrainingArguments)

STEP = 7
PAIRS = [("오늘 너무 피곤해", "푹 쉬세요."), ("배고파", "따뜻한 밥 드세요."), ("심심해", "산책 어때요?"),
         ("비 온대", "우산 챙기세요."), ("내일 시험이야", "차근차근 준비해요."), ("헤어졌어", "많이 힘들었겠어요."),
         ("고백할까", "용기 내 보세요."), ("생일이야", "생일 축하해요!"), ("잠이 안 와", "따뜻한 우유 어때요?"),
         ("돈이 없어", "조금씩 아껴 봐요."), ("퇴근했다", "오늘도 수고했어요."), ("합격했어", "축하해요! 노력한 보람이 있네요.")]
IGNORE = -100


def ref_prompt(question, history=()):
    return "".join(f"질문: {q.strip()}\n답변: {a.strip()}\n" for q, a in history) + f"질문: {question.strip()}\n답변:"


def ref_features(tokenizer, question, answer, answer_only=True, max_length=64):
    prompt = [tokenizer.bos_token_id] + tokenizer.encode(ref_prompt(question))
    ids = (prompt + tokenizer.encode(" " + answer) + [tokenizer.eos_token_id])[:max_length]
    n = min(len(prompt), len(ids))
    labels = [IGNORE] * n + ids[n:] if answer_only else list(ids)
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def ref_dataset(tokenizer, pairs, answer_only=True):
    return Dataset.from_list([ref_features(tokenizer, q, a, answer_only) for q, a in pairs])


def ref_collator(tokenizer):
    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE)


def tiny_args(tmp_path, **overrides):
    options = dict(output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, per_device_eval_batch_size=64,
                   learning_rate=1e-3, max_steps=3, save_steps=3, use_cpu=True, report_to="none", disable_tqdm=True,
                   logging_strategy="no", seed=0)
    options.update(overrides)
    return TrainingArguments(**options)


@pytest.fixture
def no_gc_collect(monkeypatch):
    """The Trainer calls gc.collect() after every train() to free memory; with torch, transformers and pytest
    loaded that walks millions of objects (about a second each time on a shared CPU). Skipped in these tests;
    nothing they check depends on it."""
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)


@pytest.mark.todo("7-1")
def test_build_prompt(step):
    """프롬프트: '질문: …\\n답변:' 형식, 앞뒤 공백 제거, 앞선 대화(history)"""
    got = step.build_prompt("오늘 너무 피곤해")
    assert got == "질문: 오늘 너무 피곤해\n답변:", f"프롬프트가 {got!r}입니다 (기대: '질문: 오늘 너무 피곤해\\n답변:')"
    got = step.build_prompt("  배고파 \n")
    assert got == "질문: 배고파\n답변:", f"질문의 앞뒤 공백을 지워야 합니다: {got!r}"
    history = [("배고파", " 밥 드세요. "), ("심심해", "산책 어때요?")]
    got = step.build_prompt("뭐 먹지", history)
    expected = ref_prompt("뭐 먹지", history)
    assert got == expected, f"앞선 대화는 (질문, 답)마다 '질문: q\\n답변: a\\n'으로 앞에 붙습니다: {got!r} (기대: {expected!r})"


@pytest.mark.todo("7-2", points=2)
def test_tokenize_example(step, tiny_tokenizer):
    """토큰화: [</s>] + 프롬프트 + 답 + [</s>], prompt_length, max_length에서 자르기"""
    tok = tiny_tokenizer
    example = {"prompt": ref_prompt("오늘 너무 피곤해"), "completion": " 푹 쉬세요."}
    prompt_ids = [tok.bos_token_id] + tok.encode(example["prompt"])
    full = prompt_ids + tok.encode(example["completion"]) + [tok.eos_token_id]
    got = step.tokenize_example(dict(example), tok, 64)
    assert isinstance(got, dict) and "input_ids" in got, "input_ids가 든 사전을 돌려줘야 합니다"
    ids = list(got["input_ids"])
    assert ids[0] == tok.bos_token_id, "맨 앞은 </s>(bos) 토큰이어야 합니다 (사전 학습 때의 문서 경계)"
    assert ids[-1] == tok.eos_token_id, "맨 끝은 </s>(eos) 토큰이어야 합니다 — 그래야 모델이 답을 끝내는 법을 배웁니다"
    assert ids == full, f"input_ids가 [</s>] + 프롬프트 토큰 + 답 토큰 + [</s>]와 다릅니다: {ids} (기대: {full})"
    assert list(got.get("attention_mask", [])) == [1] * len(full), "attention_mask는 input_ids와 같은 길이의 1 목록이어야 합니다"
    assert got.get("prompt_length") == len(prompt_ids), \
        f"prompt_length가 {got.get('prompt_length')}입니다 (기대: 앞의 </s>를 포함한 프롬프트 토큰 수 {len(prompt_ids)})"

    short = step.tokenize_example(dict(example), tok, len(prompt_ids) + 2)
    assert list(short["input_ids"]) == full[:len(prompt_ids) + 2], "max_length보다 길면 앞에서부터 max_length개만 남겨야 합니다"
    assert short["prompt_length"] == len(prompt_ids)
    tiny = step.tokenize_example(dict(example), tok, 5)
    assert list(tiny["input_ids"]) == full[:5] and tiny["prompt_length"] == 5, \
        "프롬프트까지 잘리면 prompt_length는 남은 길이(max_length)여야 합니다"


@pytest.mark.todo("7-3", points=2)
def test_add_labels(step):
    """레이블: 답만 학습이면 프롬프트 자리가 -100, 아니면 input_ids 그대로"""
    example = {"input_ids": [1, 10, 11, 12, 20, 21, 1], "attention_mask": [1] * 7, "prompt_length": 4}
    before = copy.deepcopy(example)
    got = step.add_labels(example, answer_only=True)
    assert list(got["labels"]) == [IGNORE] * 4 + [20, 21, 1], \
        f"답만 학습할 때 labels가 {list(got['labels'])}입니다 (기대: 앞의 prompt_length개는 -100, 나머지는 input_ids)"
    assert example == before, "example의 input_ids를 바꾸면 안 됩니다 — 복사한 목록을 고치세요"
    assert list(step.add_labels(example)["labels"]) == [IGNORE] * 4 + [20, 21, 1], "answer_only의 기본값은 True입니다"
    full = step.add_labels(example, answer_only=False)
    assert list(full["labels"]) == example["input_ids"], "answer_only=False면 labels는 input_ids와 같아야 합니다 (전체 문장 학습)"
    other = step.add_labels({"input_ids": [1, 5, 6, 1], "attention_mask": [1] * 4, "prompt_length": 2})
    assert list(other["labels"]) == [IGNORE, IGNORE, 6, 1], "prompt_length는 예제마다 example['prompt_length']를 쓰세요"


@pytest.mark.todo("7-4", points=2)
def test_build_collator(step, tiny_tokenizer):
    """배치: 동적 패딩(오른쪽 <pad>), 패딩 자리 labels -100, 질문 자리 -100 유지, max_length 패딩"""
    tok = tiny_tokenizer
    features = [ref_features(tok, q, a) for q, a in PAIRS[:4]]
    collate = step.build_collator(tok)
    batch = collate(copy.deepcopy(features))
    lengths = [len(f["input_ids"]) for f in features]
    assert tuple(batch["input_ids"].shape) == (4, max(lengths)), \
        f"배치 폭이 {tuple(batch['input_ids'].shape)}입니다 — 그 배치의 가장 긴 예제 길이 {max(lengths)}까지만 채워야 합니다"
    for i, (f, n) in enumerate(zip(features, lengths)):
        assert batch["input_ids"][i, :n].tolist() == f["input_ids"], "예제의 토큰은 왼쪽부터 그대로, <pad>는 오른쪽에"
        assert (batch["input_ids"][i, n:] == tok.pad_token_id).all(), "패딩 자리는 <pad> id여야 합니다"
        assert batch["attention_mask"][i].tolist() == [1] * n + [0] * (max(lengths) - n), "패딩 자리의 attention_mask는 0"
        labels = batch["labels"][i].tolist()
        assert labels[n:] == [IGNORE] * (max(lengths) - n), "패딩 자리의 labels는 -100이어야 합니다 (<pad>를 배우지 않도록)"
        assert labels[:n] == f["labels"], (
            "3절에서 -100으로 가린 질문 자리의 labels가 바뀌었습니다 — 레이블을 input_ids로 새로 만드는 collator"
            "(DataCollatorForLanguageModeling 등)가 아니라, 이미 있는 labels를 -100으로 채우는 것을 쓰세요")
    fixed = step.build_collator(tok, pad_to_max_length=True, max_length=40)(copy.deepcopy(features[:2]))
    assert tuple(fixed["input_ids"].shape) == (2, 40) and tuple(fixed["labels"].shape) == (2, 40), \
        "pad_to_max_length=True면 모든 배치를 max_length(40)까지 채워야 합니다"
    assert (fixed["labels"][fixed["attention_mask"] == 0] == IGNORE).all(), "max_length 패딩에서도 패딩 자리의 labels는 -100"


@pytest.mark.todo("7-5", points=2)
def test_build_training_arguments(step, tmp_path):
    """TrainingArguments: 명령행 옵션과 정밀도 설정이 그대로 들어감, 외부 로그 전송 없음"""
    values = dict(output_dir=str(tmp_path / "run"), per_device_train_batch_size=3, per_device_eval_batch_size=5,
                  num_train_epochs=2.5, max_steps=7, learning_rate=3e-4, weight_decay=0.02, adam_epsilon=1e-7,
                  max_grad_norm=0.5, warmup_steps=2, save_steps=6, save_total_limit=3, prediction_loss_only=True,
                  logging_steps=4, eval_strategy="steps", seed=123)
    cli = argparse.Namespace(**values, fp16=True, bf16=False, overwrite_output_dir=False, max_length=64)
    args = step.build_training_arguments(cli, {"use_cpu": True, "bf16": True})
    assert isinstance(args, TrainingArguments), "TrainingArguments를 돌려줘야 합니다"
    for name, value in values.items():
        got = getattr(args, name)
        got = getattr(got, "value", got)  # enums such as eval_strategy
        assert got == value, f"{name}이(가) {got!r}입니다 (기대: cli.{name} = {value!r})"
    assert args.use_cpu is True and args.bf16 is True and args.fp16 is False, \
        "정밀도는 cli.fp16이 아니라 precision 사전(resolve_precision의 결과)을 그대로 넘겨야 합니다 (**precision)"
    assert not args.report_to or args.report_to == ["none"], f"report_to={args.report_to!r}: 외부 로그 전송을 끄세요 (\"none\")"
    plain = step.build_training_arguments(cli, {"use_cpu": True})
    assert plain.bf16 is False, "precision에 bf16이 없으면 bf16을 켜지 마세요"


@pytest.mark.todo("7-6", points=3)
def test_train_checkpoints_and_resume(step, tiny_tokenizer, tiny_model, tmp_path, one_torch_thread,
                                      no_gc_collect):
    """Trainer 학습: 체크포인트 저장, 다시 실행하면 이어서 학습, resume=False면 처음부터"""
    train = ref_dataset(tiny_tokenizer, PAIRS)
    evaluation = ref_dataset(tiny_tokenizer, PAIRS[:4])
    calls = []
    base = ref_collator(tiny_tokenizer)

    def collator(features):
        calls.append(len(features))
        return base(features)

    def counting_model():
        model = copy.deepcopy(tiny_model).train()
        steps = []
        model.register_forward_hook(lambda module, inputs, output: steps.append(1) if module.training else None)
        return model, steps

    model, steps = counting_model()
    trainer = step.train_with_trainer(model, tiny_args(tmp_path, max_steps=2, save_steps=2), train, evaluation, collator,
                                      resume=True)
    assert isinstance(trainer, Trainer), "만든 Trainer를 돌려줘야 합니다"
    assert trainer.state.global_step == 2 and len(steps) == 2, \
        f"max_steps=2인데 학습 스텝이 {trainer.state.global_step}개입니다 — trainer.train()을 호출하세요"
    assert calls, "data_collator로 collator를 넘겨야 합니다"
    assert trainer.eval_dataset is evaluation, "검증 데이터를 eval_dataset으로 넘겨야 합니다"
    assert (tmp_path / "out" / "checkpoint-2").is_dir(), "output_dir/checkpoint-2가 없습니다 (args를 Trainer에 넘기세요)"
    ids = torch.tensor([train[0]["input_ids"]])
    with torch.no_grad():
        assert not torch.allclose(trainer.model.eval()(ids).logits, tiny_model.eval()(ids).logits), "가중치가 학습되지 않았습니다"

    model, steps = counting_model()
    trainer = step.train_with_trainer(model, tiny_args(tmp_path, max_steps=3, save_strategy="no"), train, None, collator)
    assert trainer.state.global_step == 3, f"이어서 학습한 뒤의 스텝이 {trainer.state.global_step}입니다 (기대: 3)"
    assert len(steps) == 1, (
        f"checkpoint-2에서 이어서 1스텝만 학습해야 하는데 {len(steps)}스텝을 학습했습니다 — resume이면 "
        f"trainer.train(resume_from_checkpoint=...)에 output_dir의 마지막 체크포인트를 넘기세요 (기본값 resume=True)")

    model, steps = counting_model()
    trainer = step.train_with_trainer(model, tiny_args(tmp_path, max_steps=1, save_strategy="no"), train, None, collator,
                                      resume=False)
    assert len(steps) == 1 and trainer.state.global_step == 1, \
        "resume=False면 체크포인트가 있어도 처음부터 학습해야 합니다 (resume_from_checkpoint=None)"


def reference_nll(model, tokenizer, pairs, answer_only):
    """Mean negative log-likelihood per labelled token, one sequence at a time (no padding at all)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for q, a in pairs:
            f = ref_features(tokenizer, q, a, answer_only)
            logits = model(torch.tensor([f["input_ids"]])).logits[0, :-1]
            labels = torch.tensor(f["labels"][1:])
            total += torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE, reduction="sum").item()
            count += int((labels != IGNORE).sum())
    return total / count


@pytest.mark.todo("7-7", points=2)
def test_evaluate_perplexity(step, tiny_model, tiny_tokenizer, tmp_path, one_torch_thread, no_gc_collect):
    """퍼플렉서티: trainer.evaluate의 eval_loss와 exp(eval_loss), 주어진 검증 데이터로"""
    model = copy.deepcopy(tiny_model)
    answers = ref_dataset(tiny_tokenizer, PAIRS[:6], answer_only=True)
    trainer = Trainer(model=model, args=tiny_args(tmp_path), data_collator=ref_collator(tiny_tokenizer),
                      eval_dataset=answers)
    loss, perplexity = step.evaluate_perplexity(trainer)
    expected = reference_nll(model, tiny_tokenizer, PAIRS[:6], answer_only=True)
    assert isinstance(loss, float) and isinstance(perplexity, float), "두 값 모두 float로 돌려주세요"
    assert loss == pytest.approx(expected, rel=1e-4), f"eval_loss {loss:.4f}가 답 토큰의 평균 손실 {expected:.4f}와 다릅니다"
    assert perplexity == pytest.approx(math.exp(expected), rel=1e-3), "perplexity = math.exp(eval_loss)여야 합니다"
    other_loss, _ = step.evaluate_perplexity(trainer, ref_dataset(tiny_tokenizer, PAIRS[6:], answer_only=True))
    expected_other = reference_nll(model, tiny_tokenizer, PAIRS[6:], answer_only=True)
    assert other_loss == pytest.approx(expected_other, rel=1e-4), \
        "eval_dataset을 주면 그 데이터로 평가해야 합니다 (trainer.evaluate(eval_dataset))"


class ForceTokens(LogitsProcessor):
    """Makes generate emit ``tokens`` one by one (then eos); remembers the input it first saw."""

    def __init__(self, tokens, eos):
        self.tokens, self.eos, self.first_input, self.start = tokens, eos, None, None

    def __call__(self, input_ids, scores):
        if self.first_input is None:
            self.first_input, self.start = input_ids[0].tolist(), input_ids.shape[1]
        position = input_ids.shape[1] - self.start
        forced = self.tokens[position] if position < len(self.tokens) else self.eos
        scores = torch.full_like(scores, -float("inf"))
        scores[:, forced] = 0.0
        return scores


@pytest.mark.todo("7-8", points=2)
def test_generate_answer(step, tiny_model, tiny_tokenizer, one_torch_thread):
    """답 생성: 학습 때와 같은 입력, 새 토큰만, 첫 줄까지, </s>로 끝났는지"""
    tok = tiny_tokenizer
    history = [("안녕", "반가워요")]
    said = tok.encode(" 네 알겠어요\n질문: 또 물어볼게")
    force = ForceTokens(said, tok.eos_token_id)
    result = step.generate_answer(tiny_model, tok, " 뭐 해? ", history, 30,
                                  logits_processor=LogitsProcessorList([force]))
    assert isinstance(result, tuple) and len(result) == 2, "(답, </s>로 끝났는지) 두 값을 돌려주세요"
    answer, stopped = result
    assert force.first_input is not None, "generate_kwargs(여기서는 logits_processor)를 model.generate에 그대로 넘기세요"
    expected_input = [tok.bos_token_id] + tok.encode(ref_prompt("뭐 해?", history))
    assert force.first_input == expected_input, \
        "생성 입력은 학습 때와 같은 [</s>] + build_prompt(question, history)의 토큰이어야 합니다"
    assert answer == "네 알겠어요", f"답이 {answer!r}입니다 — 새 토큰만 디코딩해 첫 줄까지, 앞뒤 공백 없이 (기대: '네 알겠어요')"
    assert stopped is True, "모델이 </s>를 냈으면 두 번째 값은 True"

    endless = tok.encode(" 끝없이 이어지는 말")
    answer, stopped = step.generate_answer(tiny_model, tok, "뭐 해?", (), len(endless),
                                           logits_processor=LogitsProcessorList([ForceTokens(endless, tok.eos_token_id)]))
    assert answer == "끝없이 이어지는 말", f"답이 {answer!r}입니다 (max_new_tokens만큼 생성)"
    assert stopped is False, "길이 제한에 걸려 </s> 없이 끝났으면 두 번째 값은 False"

    prompt = torch.tensor([[tok.bos_token_id] + tok.encode(ref_prompt("심심해"))])
    with torch.no_grad():
        reference = tiny_model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=12,
                                        do_sample=False, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    new = reference[0, prompt.shape[1]:].tolist()
    expected = tok.decode(new, skip_special_tokens=True).strip().split("\n")[0].strip()
    answer, stopped = step.generate_answer(tiny_model, tok, "심심해", max_new_tokens=12, do_sample=False)
    assert (answer, stopped) == (expected, tok.eos_token_id in new), \
        f"그리디 생성 결과가 {answer!r}입니다 (기대: {expected!r}; max_new_tokens를 넘기세요)"


@pytest.mark.solution_only
def test_seed_commands_run_with_their_flags(step, tmp_path, monkeypatch, capsys, one_torch_thread, no_gc_collect):
    """preprocess → train (the seed's flags) → generate → chat, on a dozen pairs (solution only)"""
    from kogpt2_course.dialogue.data import QAFormatError, QAPair, pairs_to_dialogues, read_qa_file, write_utterance_file

    monkeypatch.chdir(tmp_path)
    pairs = [QAPair(q, a) for q, a in PAIRS]
    write_utterance_file("data/train.txt", pairs_to_dialogues(pairs[:8]))
    write_utterance_file("data/validation.txt", pairs_to_dialogues(pairs[8:]))
    step.main(["preprocess", "--input_dir", "data/", "--tokenized_dir", "tokenized/", "--model_type", "gpt2",
               "--max_length", "128"])
    lines = (tmp_path / "tokenized" / "train.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8 and "prompt_length" in lines[0]
    step.main(["train", "--model_name_or_path", "bundled", "--train_file", "tokenized/train.txt",
               "--validation_file", "tokenized/validation.txt", "--output_dir", "./gpt2_finetuned",
               "--overwrite_output_dir", "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4",
               "--num_train_epochs", "3", "--save_steps", "10000", "--save_total_limit", "2", "--prediction_loss_only",
               "--learning_rate", "5e-5", "--weight_decay", "0.01", "--adam_epsilon", "1e-8", "--max_grad_norm", "1.0",
               "--warmup_steps", "500", "--fp16", "--max_steps", "2"])
    out = capsys.readouterr().out
    assert "--overwrite_output_dir" in out and "[정밀도] --fp16" in out and "검증 퍼플렉서티" in out
    assert (tmp_path / "gpt2_finetuned" / "config.json").is_file() and (tmp_path / "gpt2_finetuned" / "checkpoint-2").is_dir()
    step.main(["generate", "--model_name_or_path", "./gpt2_finetuned", "--prompt", "안녕하세요", "--length", "5",
               "--top_k", "50", "--top_p", "0.95", "--temperature", "0.7"])
    assert "질문: 안녕하세요\n답변:" in capsys.readouterr().out
    feed = iter(["배고파", "또 배고파", ""])
    said = []
    cli = step.parse_args(["chat", "--model_name_or_path", "./gpt2_finetuned", "--max_new_tokens", "5",
                           "--transcript", "chat.txt"])
    assert len(step.run_chat(cli, read=lambda prompt: next(feed), write=said.append)) == 2
    assert [p.question for p in read_qa_file("chat.txt").pairs] == ["배고파", "또 배고파"]

    config = tmp_path / "tokenized" / "preprocess_config.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    settings["vocab_size"] = 51200  # tokenized for KoGPT2, trained on the bundled model: must stop
    config.write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(QAFormatError, match="어휘 51200개"):
        step.main(["train", "--train_file", "tokenized/train.txt", "--validation_file", ""])
