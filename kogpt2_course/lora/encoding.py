"""Token ids of a dialogue example: the prompt fitted into the length cap by dropping history from the left.

The prompt text comes from a ``format_prompt(history, emotion) -> str`` function (Step 8's TODO);
this module adds the model's bos token in front, tokenizes, and, while prompt + response is longer
than the cap, drops the oldest turn of the history. When only the person's last utterance is left
and it is still too long, its text is cut from the left (its end, next to the answer, is kept).
The response keeps at most 3/4 of the cap (a cut response has no final eos: it did not end there).
"""

from __future__ import annotations

from dataclasses import replace

from kogpt2_course.lora.data import DialogueDataError, DialogueExample

RESPONSE_SHARE = 0.75  # the response may use at most this share of max_length


def prompt_token_ids(tokenizer, prompt: str) -> list[int]:
    """``[bos] + tokens(prompt)`` (no bos for a tokenizer without one)."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    return bos + tokenizer.encode(prompt, add_special_tokens=False)


def fit_prompt_ids(history, emotion, tokenizer, format_prompt, budget: int) -> list[int]:
    """Prompt ids of ``format_prompt(history, emotion)`` in at most ``budget`` tokens, history cut from the left."""
    turns = list(history)
    ids = prompt_token_ids(tokenizer, format_prompt(turns, emotion))
    while len(ids) > budget and len(turns) > 1:
        turns.pop(0)
        ids = prompt_token_ids(tokenizer, format_prompt(turns, emotion))
    if len(ids) <= budget:
        return ids
    last = turns[0]

    def ids_without(n_chars: int) -> list[int]:
        return prompt_token_ids(tokenizer, format_prompt([replace(last, text=last.text[n_chars:])], emotion))

    if len(ids_without(len(last.text))) > budget:
        raise DialogueDataError(f"프롬프트에 남은 {budget}토큰에는 빈 발화의 프롬프트도 들어가지 않습니다 — "
                                f"--max_length를 늘리거나 --max_new_tokens를 줄이세요")
    low, high = 0, len(last.text)  # the smallest cut that fits: ids_without(high) always fits
    while low < high:
        middle = (low + high) // 2
        if len(ids_without(middle)) <= budget:
            high = middle
        else:
            low = middle + 1
    return ids_without(high)


def response_token_ids(tokenizer, response: str, max_length: int) -> list[int]:
    """``tokens(response) + [eos]``, cut to ``RESPONSE_SHARE`` of ``max_length``."""
    ids = tokenizer.encode(response, add_special_tokens=False) + [tokenizer.eos_token_id]
    return ids[:int(max_length * RESPONSE_SHARE)]


def example_token_ids(example: DialogueExample, tokenizer, format_prompt, max_length: int) -> tuple[list[int], list[int]]:
    """``(prompt_ids, response_ids)`` of one example; together at most ``max_length`` tokens."""
    response_ids = response_token_ids(tokenizer, example.response, max_length)
    prompt_ids = fit_prompt_ids(example.history, example.emotion, tokenizer, format_prompt,
                                max_length - len(response_ids))
    return prompt_ids, response_ids

