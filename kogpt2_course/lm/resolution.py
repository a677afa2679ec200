"""Decide which Korean GPT-2 the course uses: the real KoGPT2 from the hub or the bundled one.

Order of precedence: an explicit choice (the ``--model`` flag of every step), then the
environment variable ``KOGPT2_MODEL``, then automatic detection:
  1. ``skt/kogpt2-base-v2`` is already in the local Hugging Face cache  -> hub name;
  2. the hub answers within a short timeout (never with HF_HUB_OFFLINE=1) -> hub name;
  3. otherwise the bundled model folder ``models/kogpt2-tiny``.
The choice is printed as one Korean line. Offline the decision takes at most a few seconds.
"""

from __future__ import annotations

import argparse
import os
import threading
import urllib.request
from pathlib import Path

HUB_MODEL_NAME = "skt/kogpt2-base-v2"
BUNDLED_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "kogpt2-tiny"
ENV_VAR = "KOGPT2_MODEL"
HUB_CHECK_URL = f"https://huggingface.co/api/models/{HUB_MODEL_NAME}"
HUB_CHECK_TIMEOUT_S = 2.5

_ALIASES = {"bundled": "bundled", "tiny": "bundled", "local": "bundled", "hub": "hub", "kogpt2": "hub"}


def hub_model_in_cache(cache_dir: str | None = None) -> bool:
    """True when the hub model's config is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(HUB_MODEL_NAME, "config.json", cache_dir=cache_dir)
    return isinstance(config, str) and os.path.exists(config)


def hub_reachable(timeout_s: float = HUB_CHECK_TIMEOUT_S, url: str | None = None) -> bool:
    """Ask the hub once; give up after ``timeout_s`` seconds, DNS look-up included."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    answer: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(url or HUB_CHECK_URL, timeout=timeout_s) as response:
                answer.append(response.status == 200)
        except Exception:
            answer.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)  # a hanging DNS look-up does not block us
    return bool(answer and answer[0])


def resolve_model_name(choice: str | None = None, verbose: bool = True) -> str:
    """Return the model name or folder to pass to ``from_pretrained``.

    ``choice``: ``"hub"``, ``"bundled"``, any hub name or local folder, or None for automatic.
    """
    source = "--model 옵션" if choice else None
    if not choice and os.environ.get(ENV_VAR):
        choice, source = os.environ[ENV_VAR], f"환경 변수 {ENV_VAR}"
    if choice:
        kind = _ALIASES.get(choice.strip().lower())
        if kind == "bundled":
            name, why = str(BUNDLED_MODEL_DIR), f"{source}에서 번들 모델을 지정했습니다"
        elif kind == "hub":
            name, why = HUB_MODEL_NAME, f"{source}에서 허브 모델을 지정했습니다"
        else:
            name, why = choice, f"{source}에서 지정한 모델입니다"
    elif hub_model_in_cache():
        name, why = HUB_MODEL_NAME, "로컬 Hugging Face 캐시에 KoGPT2가 있습니다"
    elif hub_reachable():
        name, why = HUB_MODEL_NAME, "Hugging Face 허브에 연결되어 KoGPT2를 내려받을 수 있습니다"
    else:
        name = str(BUNDLED_MODEL_DIR)
        why = "KoGPT2가 캐시에 없고 허브에도 연결할 수 없어 강의에 포함된 작은 모델을 씁니다"
    if verbose:
        print(f"[모델 선택] {name} — {why}.", flush=True)
    return name


def add_model_argument(parser: argparse.ArgumentParser, default: str | None = None) -> argparse.ArgumentParser:
    """Add the ``--model`` flag every step script shares (``default``: what to use when it is omitted)."""
    omitted = (f"생략하면 {default!r}." if default else
               f"생략하면 환경 변수 {ENV_VAR}, 그다음 자동 선택(캐시/허브 → 번들).")
    parser.add_argument(
        "--model", default=default,
        help=f"사용할 모델: 'hub'({HUB_MODEL_NAME}), 'bundled'(models/kogpt2-tiny), 다른 허브 이름 또는 "
             f"로컬 폴더. {omitted}",
    )
    return parser
