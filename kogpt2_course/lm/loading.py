"""Load KoGPT2 (or the bundled model) for code that is not a student TODO (Steps 2–5, benchmarks).

Step 1 teaches loading; later steps just call ``load_model_and_tokenizer(name)``.
"""

from __future__ import annotations

from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS


def load_model_and_tokenizer(model_name: str):
    """Return ``(model, tokenizer)``: the model in eval mode and the tokenizer with KoGPT2's special tokens."""
    tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name, **TOKENIZER_KWARGS)
    model = GPT2LMHeadModel.from_pretrained(model_name).eval()
    return model, tokenizer
