"""KoGPT2(또는 번들 모델)를 불러오는 도우미 — 학생 TODO가 아닌 코드(Steps 2–5, 벤치마크)용.

불러오기는 Step 1에서 배우고, 뒤 단계는 ``load_model_and_tokenizer(name)``만 부릅니다.
"""

from __future__ import annotations

from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS


def load_model_and_tokenizer(model_name: str):
    """``(model, tokenizer)``: 평가 모드의 모델과 KoGPT2 특수 토큰을 지정한 토크나이저."""
    tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name, **TOKENIZER_KWARGS)
    model = GPT2LMHeadModel.from_pretrained(model_name).eval()
    return model, tokenizer


def cached_hub_tokenizer():
    """실제 KoGPT2(``skt/kogpt2-base-v2``)의 토크나이저가 로컬 캐시에 있으면 그것을, 없으면 None (네트워크를 쓰지 않음)."""
    from kogpt2_course.lm.resolution import HUB_MODEL_NAME, hub_model_in_cache

    if not hub_model_in_cache():
        return None
    try:
        return PreTrainedTokenizerFast.from_pretrained(HUB_MODEL_NAME, local_files_only=True, **TOKENIZER_KWARGS)
    except (OSError, ValueError):
        return None
