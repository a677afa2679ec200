"""Generate reviews steered by a sentiment prefix (``긍정``/``부정``) — Step 4's before/after demo,
the benchmark's sentiment check and Step 5's service.

The prompt is ``</s>긍정``: the same start as every training text ``</s>긍정 <review></s>``
(see :mod:`kogpt2_course.nlpbook.generation.dataset`), and generation stops at the next ``</s>``.
"""

from __future__ import annotations

import torch

from kogpt2_course.lm.presets import sampling_values
from kogpt2_course.lm.special_tokens import document_boundary_id
from kogpt2_course.nlpbook.generation.dataset import SENTIMENT_PREFIXES
from kogpt2_course.nlpbook.quiet import quiet_library_output


def sentiment_prompt_ids(tokenizer, sentiment: str | int) -> torch.Tensor:
    """``[[</s>] + tokens("긍정")]``, shape (1, length). ``sentiment``: ``"긍정"``/``"부정"`` or label 1/0."""
    word = SENTIMENT_PREFIXES[int(sentiment)] if isinstance(sentiment, int) else str(sentiment).strip()
    return torch.tensor([[document_boundary_id(tokenizer), *tokenizer.encode(word)]])


def generate_reviews(model, tokenizer, sentiment: str | int, num_samples: int = 3, max_new_tokens: int = 40,
                     seed: int | None = None, with_prefix: bool = False, **generate_kwargs) -> list[str]:
    """``num_samples`` sampled reviews (text after the prefix, special tokens removed).

    ``with_prefix=True`` keeps the prefix word: ``"긍정적이고 ..."`` shows that an untrained model
    continues the word ``긍정`` itself, where the text after the prefix alone (``"적이고 ..."``) would
    look like a word fragment. Defaults: the course's "리뷰 생성" preset (:mod:`kogpt2_course.lm.presets`,
    the same values as Step 3 and the web demo); ``generate_kwargs`` override them.
    """
    quiet_library_output()
    prompt = sentiment_prompt_ids(tokenizer, sentiment).to(model.device)
    options = sampling_values("review")
    options.update(generate_kwargs)
    if seed is not None:
        torch.manual_seed(seed)
    model.eval()
    with torch.no_grad():
        output = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=max_new_tokens,
                                num_return_sequences=num_samples, pad_token_id=tokenizer.pad_token_id,
                                eos_token_id=tokenizer.eos_token_id, **options)
    start = 1 if with_prefix else prompt.shape[1]  # 1: after the leading </s>
    return [tokenizer.decode(seq[start:], skip_special_tokens=True).strip() for seq in output]
