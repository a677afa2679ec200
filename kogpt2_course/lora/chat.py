"""Replies from a (LoRA) chat model and the interactive chat loop of Step 8's ``chat`` subcommand."""

from __future__ import annotations

import torch

from kogpt2_course.lora.data import EMOTION_CLASSES, SYSTEM, USER, Turn

EXIT_WORDS = {"quit", "exit", "q", "종료", "그만"}
GOODBYE = "대화를 마칩니다. 이야기 나눠 주셔서 고마워요. 안녕히 가세요!"
EMOTION_COMMAND = "/감정"
GREEDY = dict(do_sample=False, repetition_penalty=1.2, no_repeat_ngram_size=3)


def stop_token_ids(tokenizer) -> list[int]:
    """eos, and ``<usr>`` where the vocabulary has it (the model would start the person's next turn)."""
    ids = [tokenizer.eos_token_id]
    if "<usr>" in tokenizer.get_vocab():
        ids.append(tokenizer.convert_tokens_to_ids("<usr>"))
    return ids


def generate_reply(model, tokenizer, prompt_ids: list[int], max_new_tokens: int = 40, **options) -> str:
    """The reply ``model.generate`` writes after ``prompt_ids`` (special tokens removed).

    Default decoding is greedy with a repetition penalty (``GREEDY``); ``options`` override it.
    The model's train/eval mode is restored afterwards (it may be called in the middle of training).
    """
    settings = dict(GREEDY, **options)
    was_training = model.training
    model.eval()
    input_ids = torch.tensor([prompt_ids], device=model.device)
    with torch.no_grad():
        output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                eos_token_id=stop_token_ids(tokenizer), **settings)
    model.train(was_training)
    return tokenizer.decode(output[0, input_ids.shape[1]:], skip_special_tokens=True).strip()


def chat_loop(reply_fn, emotion: str | None = None, max_history_turns: int = 4, read=input, write=print) -> list[Turn]:
    """Talk until an empty line, ``quit``/``종료``, EOF or Ctrl+C; returns the whole conversation.

    ``reply_fn(history, emotion) -> str`` gets the person's last utterance and at most
    ``max_history_turns`` turns before it. ``/감정 슬픔`` sets the control word (``/감정 없음`` removes it).
    """
    history: list[Turn] = []
    write(f"대화를 시작합니다 (감정: {emotion or '없음'}). 빈 줄, quit 또는 Ctrl+D로 끝냅니다. "
          f"감정 바꾸기: {EMOTION_COMMAND} {'/'.join(EMOTION_CLASSES)}/없음")
    while True:
        try:
            text = read("나> ").strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            break
        if not text or text.lower() in EXIT_WORDS:
            break
        if text.startswith(EMOTION_COMMAND):
            word = text[len(EMOTION_COMMAND):].strip()
            if word in EMOTION_CLASSES or word == "없음":
                emotion = None if word == "없음" else word
                write(f"(감정을 '{word}'(으)로 바꿨습니다)")
            else:
                write(f"(감정은 {', '.join(EMOTION_CLASSES)} 또는 없음 중 하나입니다)")
            continue
        history.append(Turn(USER, text))
        reply = reply_fn(tuple(history[-(max_history_turns + 1):]), emotion)
        write(f"챗봇> {reply}")
        history.append(Turn(SYSTEM, reply))
    write(GOODBYE)
    return history


def scripted_input(lines, write=print):
    """A ``read`` for :func:`chat_loop` that types ``lines`` (echoed after the prompt), then EOF."""
    remaining = list(lines)

    def read(prompt: str) -> str:
        if not remaining:
            raise EOFError
        line = remaining.pop(0)
        write(f"{prompt}{line}")
        return line

    return read
