"""A public catalogue of student answers: correct alternatives the grader must accept and plausible
mistakes it must reject, blamed on the right TODO. Each entry replaces one TODO's answer in the
solution and reruns the step's tests (the machinery of tools/mutation_test.py: one process per step,
a forked child per answer).

    nice -n 10 python tools/answer_catalogue.py            # every entry
    nice -n 10 python tools/answer_catalogue.py --step 4   # one step

Add an entry when a student's answer surprised you; the hidden catalogue of the course review grows the same way.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mutation_test  # noqa: E402
from mutation_test import list_todos, solution_path  # noqa: E402


@dataclass(frozen=True)
class Answer:
    todo: str
    name: str
    accept: bool   # True: a correct alternative (all tests pass); False: a mistake (a test of this TODO fails)
    code: str


ANSWERS = [
    # Step 1
    Answer("1-1", "AutoTokenizer와 특수 토큰", True, """
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(model_name, bos_token="</s>", eos_token="</s>", unk_token="<unk>",
                                                  pad_token="<pad>", mask_token="<mask>")
    """),
    Answer("1-1", "특수 토큰 없이 불러오기", False, """
        tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name)
    """),
    Answer("1-3", "tokenizer(...)['input_ids']", True, """
        input_ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    """),
    Answer("1-4", "max_length = 프롬프트 + 새 토큰", True, """
        with torch.no_grad():
            output_ids = model.generate(input_ids, do_sample=False, max_length=input_ids.shape[1] + max_new_tokens,
                                        pad_token_id=tokenizer.pad_token_id)
    """),
    Answer("1-4", "max_new_tokens를 넘기지 않음", False, """
        output_ids = model.generate(input_ids, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    """),
    Answer("1-6", "outputs[0]과 위치 -1", True, """
        outputs = model(next_input, past_key_values=past_key_values, use_cache=True)
        next_token_logits = outputs[0][:, -1]
        past_key_values = outputs.past_key_values
    """),
    Answer("1-6", "첫 위치의 로짓", False, """
        outputs = model(input_ids=next_input, past_key_values=past_key_values, use_cache=True)
        next_token_logits = outputs.logits[:, 0, :]
        past_key_values = outputs.past_key_values
    """),
    Answer("1-7", "torch.argmax + unsqueeze, 원소 비교", True, """
        next_token = torch.argmax(next_token_logits, dim=-1).unsqueeze(0)
        generated = torch.cat((generated, next_token), dim=1)
        next_input = next_token
        if eos_token_id is not None and int(next_token[0, 0]) == eos_token_id:
            break
    """),
    # Step 2
    Answer("2-3", "top_k=None (transformers 5에서는 0처럼 top-k를 끔)", True, """
        output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, top_p=top_p, top_k=None)
    """),
    Answer("2-3", "top_k를 생략 (기본 top-k 50이 함께 적용됨)", False, """
        output_ids = generate_ids(model, tokenizer, prompt, max_new_tokens, do_sample=True, top_p=top_p)
    """),
    Answer("2-4", "torch.where와 [..., -1, None]", True, """
        if top_k <= 0:
            return logits.clone()
        k = min(max(top_k, min_tokens_to_keep), logits.shape[-1])
        kth = torch.topk(logits, k).values[..., -1, None]
        filtered = torch.where(logits < kth, torch.full_like(logits, float("-inf")), logits)
    """),
    Answer("2-4", "정확히 k개만 남김 (동점 버림)", False, """
        k = min(max(top_k, min_tokens_to_keep), logits.shape[-1])
        keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, k).indices, True)
        filtered = logits.masked_fill(~keep, float("-inf"))
    """),
    Answer("2-5", "transformers식: 자기까지의 누적 > p를 한 칸 밀기", True, """
        sorted_logits, sorted_indices = torch.sort(logits, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        remove_sorted = torch.zeros_like(cumulative, dtype=torch.bool)
        remove_sorted[..., 1:] = cumulative[..., :-1] >= top_p
        remove_sorted[..., :min_tokens_to_keep] = False
        remove = torch.zeros_like(remove_sorted).scatter(-1, sorted_indices, remove_sorted)
        filtered = logits.masked_fill(remove, float("-inf"))
    """),
    Answer("2-5", "배치에서 dim=0으로 되돌림", False, """
        sorted_logits, sorted_indices = torch.sort(logits, descending=True, dim=-1)
        sorted_probs = sorted_logits.softmax(dim=-1)
        remove_sorted = sorted_probs.cumsum(dim=-1) - sorted_probs >= top_p
        remove_sorted[..., :min_tokens_to_keep] = False
        filtered = logits.masked_fill(remove_sorted.scatter(0, sorted_indices, remove_sorted), float("-inf"))
    """),
    # Step 3
    Answer("3-4", "torch.special.entr", True, """
        return float(torch.special.entr(probs).sum())
    """),
    Answer("3-4", "0·log 0을 처리하지 않음", False, """
        return float(-(probs * probs.log()).sum())
    """),
    Answer("3-7", "top-p만 + n-gram 반복 금지", True, """
        return {"do_sample": True, "top_p": 0.9, "temperature": 0.7, "no_repeat_ngram_size": 3}
    """),
    Answer("3-7", "반복 벌점만", False, """
        return dict(do_sample=True, top_k=50, top_p=0.92, temperature=0.8, repetition_penalty=1.2)
    """),
    Answer("3-7", "빔 서치", False, """
        return dict(do_sample=False, num_beams=4, no_repeat_ngram_size=3)
    """),
    # Step 4
    Answer("4-1", "학습률에 cli 값(생략하면 None)", False, """
        args = GenerationTrainArguments(
            pretrained_model_name=model_name, downstream_corpus_name=cli.downstream_corpus_name,
            downstream_corpus_root_dir=cli.downstream_corpus_root_dir, downstream_model_dir=cli.downstream_model_dir,
            max_seq_length=cli.max_seq_length, batch_size=cli.batch_size, learning_rate=cli.learning_rate,
            epochs=cli.epochs, max_train_samples=cli.max_train_samples, max_eval_samples=cli.max_eval_samples,
            seed=cli.seed, val_check_interval=cli.val_check_interval, resume=not cli.no_resume)
    """),
    Answer("4-5", "ckpt_path='last' (Lightning이 last와 중단 체크포인트를 찾음)", True, """
        trainer = get_trainer(args)
        trainer.fit(task, train_dataloader, val_dataloader, ckpt_path="last")
    """),
    Answer("4-5", "last.ckpt만 (더 새로운 중단 체크포인트를 건너뜀)", False, """
        from kogpt2_course.nlpbook.checkpoints import last_checkpoint_path
        trainer = get_trainer(args)
        last = last_checkpoint_path(args.downstream_model_dir)
        trainer.fit(task, train_dataloaders=train_dataloader, val_dataloaders=val_dataloader,
                    ckpt_path=str(last) if last else None)
    """),
    Answer("4-6", "토큰 수로 가중한 직접 계산", True, """
        import torch
        total, count = 0.0, 0
        task.model.eval()
        with torch.no_grad():
            for batch in val_dataloader:
                tokens = int((batch["labels"][:, 1:] != -100).sum())
                total += float(task.model(**batch).loss) * tokens
                count += tokens
        val_loss = total / count
        perplexity = math.exp(val_loss)
    """),
    Answer("4-6", "배치 손실의 평균", False, """
        import torch
        task.model.eval()
        with torch.no_grad():
            losses = [float(task.model(**batch).loss) for batch in val_dataloader]
        val_loss = sum(losses) / len(losses)
        perplexity = math.exp(val_loss)
    """),
    # Step 5
    Answer("5-1", "device_count", True, """
        if requested == "auto":
            return torch.device("cuda" if torch.cuda.device_count() > 0 else "cpu")
        return torch.device(requested)
    """),
    Answer("5-3", "장치로 옮기지 않음", False, """
        if checkpoint_path is None:
            model = GPT2LMHeadModel.from_pretrained(deploy_args.pretrained_model_name)
        else:
            model = load_finetuned_model(deploy_args)
        model.eval()
    """),
    Answer("5-4", "tokenizer(...)를 model.device로, 샘플링 값을 늘 넘김", True, """
        inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
        with torch.no_grad():
            output_ids = model.generate(**inputs, do_sample=params["do_sample"], num_beams=params["num_beams"],
                                        min_new_tokens=params["min_length"], max_new_tokens=params["max_length"],
                                        top_p=params["top_p"], top_k=params["top_k"], temperature=params["temperature"],
                                        repetition_penalty=params["repetition_penalty"],
                                        no_repeat_ngram_size=params["no_repeat_ngram_size"],
                                        pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(output_ids[0], skip_special_tokens=True)
    """),
    Answer("5-4", "입력을 장치로 옮기지 않음", False, """
        input_ids = tokenizer.encode(prompt, return_tensors="pt")
        with torch.no_grad():
            output_ids = model.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                                        do_sample=params["do_sample"], num_beams=params["num_beams"],
                                        min_new_tokens=params["min_length"], max_new_tokens=params["max_length"],
                                        repetition_penalty=params["repetition_penalty"],
                                        no_repeat_ngram_size=params["no_repeat_ngram_size"],
                                        pad_token_id=tokenizer.pad_token_id,
                                        **({k: params[k] for k in ("top_p", "top_k", "temperature")}
                                           if params["do_sample"] else {}))
        text = tokenizer.decode(output_ids[0], skip_special_tokens=True)
    """),
    Answer("5-5", "상한을 넘기지 않음", False, """
        app = create_app(inference_fn, model_name=model_name, device=device, notice=notice, next_token_fn=next_token_fn)
    """),
]


def replace_answer(source: str, step: int, answer: Answer) -> str:
    """The solution with the answer code of ``answer.todo`` replaced (markers and hints kept)."""
    todo = next(t for t in list_todos(step) if t.todo_id == answer.todo)
    lines = source.splitlines(keepends=True)
    indent = lines[todo.line - 1][:len(lines[todo.line - 1]) - len(lines[todo.line - 1].lstrip())]
    hints = 1 + sum(1 for line in lines[todo.line:todo.end_line - 1] if line.lstrip().startswith("# HINT"))
    body = textwrap.indent(textwrap.dedent(answer.code).strip("\n") + "\n", indent)
    return "".join(lines[:todo.line - 1 + hints]) + body + "".join(lines[todo.end_line - 1:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="정답의 다른 모양은 통과하고 흔한 실수는 그 TODO에서 떨어지는지 확인합니다",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--step", type=int, default=None, help="이 단계의 항목만")
    args = parser.parse_args(argv)
    steps = sorted({int(a.todo.split("-")[0]) for a in ANSWERS if args.step in (None, int(a.todo.split("-")[0]))})
    wrong = 0
    for step in steps:
        mutation_test.warm_up(step)
        original = solution_path(step).read_text(encoding="utf-8")
        for answer in (a for a in ANSWERS if a.todo.startswith(f"{step}-")):
            status, failure, seconds = mutation_test.run_tests(step, replace_answer(original, step, answer), answer.todo,
                                                               60.0, 600.0)
            passed = status == "survived"
            blamed = failure.get("todo") == answer.todo or failure.get("reason", "").startswith(f"TODO {answer.todo}")
            ok = passed if answer.accept else (not passed and blamed)
            wrong += not ok
            verdict = "통과" if passed else f"실패 ← {failure.get('todo', '?')}: {failure.get('reason', status)[:110]}"
            print(f"{'✓' if ok else '✗'} {answer.todo} {'정답' if answer.accept else '실수'} {answer.name}: {verdict} "
                  f"({seconds:.0f}초)", flush=True)
    print(f"기대와 다른 항목: {wrong}개 / {sum(1 for a in ANSWERS if args.step in (None, int(a.todo.split('-')[0])))}개")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
