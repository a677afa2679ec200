"""Small wrappers around ``model.generate`` and one forward pass, shared by Steps 2–3 and bench/.

They only hide the bookkeeping Step 1 already taught (encoding, attention mask, pad id,
``torch.no_grad``), so the steps can focus on the decoding options themselves.
"""

from __future__ import annotations

import torch


def generate_ids(model, tokenizer, prompt: str, max_new_tokens: int = 30, **generate_kwargs) -> torch.Tensor:
    """``model.generate`` on one prompt; returns the (rows, length) ids of prompt + new tokens.

    ``generate_kwargs`` are the decoding options (``do_sample``, ``num_beams``, ``top_k``, ...).
    """
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    with torch.no_grad():
        return model.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                              max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                              **generate_kwargs)


def new_token_ids(tokenizer, prompt: str, output_ids: torch.Tensor) -> list[int]:
    """The ids ``generate`` added after the prompt (first row)."""
    prompt_length = len(tokenizer.encode(prompt))
    return output_ids[0, prompt_length:].tolist()


def next_token_logits(model, tokenizer, prompt: str) -> torch.Tensor:
    """The model's logits for the token after ``prompt``: a 1-D tensor of vocabulary size."""
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    with torch.no_grad():
        return model(input_ids).logits[0, -1, :]


def token_labels(tokenizer, token_ids) -> list[str]:
    """Readable labels for single tokens: the decoded text with spaces shown as '_'.

    A token that is only part of a character (a byte piece) is shown by its id, e.g. '[1234]'.
    """
    labels = []
    for token_id in token_ids:
        text = tokenizer.decode([int(token_id)])
        labels.append(f"[{int(token_id)}]" if "\ufffd" in text or not text else text.replace(" ", "_"))
    return labels


def drop_broken_tail(text: str) -> str:
    """``text`` without the U+FFFD (�) that ``decode`` leaves when generation stopped inside a character.

    KoGPT2's byte-level pieces can split one Hangul syllable over several tokens; a length limit that
    falls between them leaves a replacement character at the end. Text shown to a person drops it.
    """
    return text.rstrip("\ufffd")
