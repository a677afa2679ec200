"""The oracle of the decoding tests: transformers' own ``generate`` on one prompt."""

import torch

from kogpt2_course.lm.decoding import generate_ids


def make_reference(max_new_tokens: int):
    """Return ``reference(model, tokenizer, prompt, seed=None, **generate_kwargs)`` for a fixed length."""

    def reference(model, tokenizer, prompt, seed=None, **generate_kwargs):
        if seed is not None:
            torch.manual_seed(seed)
        return generate_ids(model, tokenizer, prompt, max_new_tokens, **generate_kwargs)

    return reference
