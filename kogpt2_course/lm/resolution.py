"""Decide which Korean GPT-2 the course uses: the real KoGPT2 from the hub or the bundled one.

Order of precedence: an explicit choice (the ``--model`` flag of every step), then the
environment variable ``KOGPT2_MODEL``, then automatic detection:
  1. ``skt/kogpt2-base-v2`` is already in the local Hugging Face cache  -> hub name;
  2. the hub answers within a short timeout (never with HF_HUB_OFFLINE=1) -> hub name;
  3. otherwise the bundled model folder ``models/kogpt2-tiny``.
The choice is printed as one Korean line. Offline the decision takes at most a few seconds.

The choice is checked before anything is loaded: a missing folder, a folder without a model, or a
hub name that is neither cached nor on a hub that answers raises ``ModelChoiceError`` (a Korean
message, printed by ``run_main`` without a traceback). A cached hub model is loaded in offline
mode when the hub does not answer.
"""

from __future__ import annotations

import argparse
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

from kogpt2_course.cli.arguments import UserError

HUB_MODEL_NAME = "skt/kogpt2-base-v2"
BUNDLED_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "kogpt2-tiny"
ENV_VAR = "KOGPT2_MODEL"
HUB_API_URL = "https://huggingface.co/api/models/{name}"
HUB_CHECK_URL = HUB_API_URL.format(name=HUB_MODEL_NAME)
HUB_CHECK_TIMEOUT_S = 2.5
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
OFFLINE_ADVICE = "인터넷 없이 쓰려면 --model bundled (강의에 포함된 작은 모델)"

_ALIASES = {"bundled": "bundled", "tiny": "bundled", "local": "bundled", "hub": "hub", "kogpt2": "hub"}


class ModelChoiceError(UserError):
    """The chosen model cannot be loaded: a missing folder, a folder without a model, an unknown or unreachable hub name."""


def model_in_cache(name: str, cache_dir: str | None = None) -> bool:
    """True when the hub model ``name``'s config is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(name, "config.json", cache_dir=cache_dir)
    return isinstance(config, str) and os.path.exists(config)


def hub_model_in_cache(cache_dir: str | None = None) -> bool:
    """True when the hub model's config is in the local Hugging Face cache."""
    return model_in_cache(HUB_MODEL_NAME, cache_dir=cache_dir)


def offline_mode_set() -> bool:
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def use_offline_mode() -> None:
    """Load hub models from the local cache only: without a network, the hub client would retry for minutes."""
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"  # for child processes
    constants.HF_HUB_OFFLINE = True     # read at import time; transformers asks huggingface_hub at each call


def probe_status(url: str, timeout_s: float = HUB_CHECK_TIMEOUT_S) -> int | None:
    """HTTP status of one GET of ``url``, or None without an answer within ``timeout_s`` (DNS look-up included)."""
    answer: list[int | None] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                answer.append(response.status)
        except urllib.error.HTTPError as exc:
            answer.append(exc.code)
        except Exception:
            answer.append(None)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)  # a hanging DNS look-up does not block us
    return answer[0] if answer else None


def hub_reachable(timeout_s: float = HUB_CHECK_TIMEOUT_S, url: str | None = None) -> bool:
    """Ask the hub once; give up after ``timeout_s`` seconds, DNS look-up included."""
    if offline_mode_set():
        return False
    return probe_status(url or HUB_CHECK_URL, timeout_s) == 200


def hub_model_status(name: str, timeout_s: float = HUB_CHECK_TIMEOUT_S) -> str:
    """``"found"``, ``"missing"`` (the hub answers that there is no such public model) or ``"unreachable"``."""
    if offline_mode_set():
        return "unreachable"
    url = HUB_CHECK_URL if name == HUB_MODEL_NAME else HUB_API_URL.format(name=name)
    status = probe_status(url, timeout_s)
    if status == 200:
        return "found"
    return "missing" if status in (401, 403, 404) else "unreachable"  # 401: unknown and private repos alike


def check_model_folder(folder: Path, shown: str, source: str) -> None:
    """Raise ModelChoiceError unless ``folder`` holds a saved model (config, weights, tokenizer.json)."""
    if not folder.is_dir():
        raise ModelChoiceError(f"{source}의 '{shown}'은(는) 폴더가 아니라 파일입니다. "
                               f"save_pretrained로 저장한 모델 폴더를 지정하세요.")
    missing = [] if (folder / "config.json").is_file() else ["config.json"]
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        missing.append("가중치 model.safetensors 또는 pytorch_model.bin")
    if not (folder / "tokenizer.json").is_file():
        missing.append("tokenizer.json")
    if missing:
        inside = sorted(str(Path(shown) / p.parent.name) for p in folder.glob("*/config.json"))
        hint = f" 이 폴더 안의 모델 폴더: {', '.join(inside)}." if inside else ""
        raise ModelChoiceError(f"{source}의 폴더 '{shown}'에 모델이 없습니다 ({', '.join(missing)} 없음).{hint} "
                               f"save_pretrained로 저장한 모델 폴더를 지정하세요.")


def check_hub_model(name: str, source: str, folder_possible: bool = True) -> None:
    """Raise ModelChoiceError unless the hub model can be loaded: cached, or on a hub that answers.

    A cached model is loaded in offline mode when the hub does not answer (no minutes of retries).
    """
    cached = model_in_cache(name)
    status = hub_model_status(name)
    if status == "found":
        return
    if cached:
        use_offline_mode()
        return
    what = f"{source}의 '{name}': " + ("이 이름의 폴더가 없고, " if folder_possible else "")
    folder_hint = f" 폴더라면 경로를 확인하세요 (현재 폴더: {os.getcwd()})." if folder_possible else ""
    if status == "missing":
        raise ModelChoiceError(f"{what}Hugging Face 허브에도 이 이름의 공개 모델이 없습니다. 이름(사용자/모델)을 "
                               f"확인하세요.{folder_hint}")
    why = "오프라인 모드(HF_HUB_OFFLINE)여서" if offline_mode_set() else "허브에 연결할 수 없어"
    raise ModelChoiceError(f"{what}{why} 내려받을 수 없으며 로컬 Hugging Face 캐시에도 없습니다.{folder_hint} "
                           f"{OFFLINE_ADVICE}를 쓰세요.")


def check_model(name: str, source: str) -> None:
    """Check before loading that ``name`` (a folder or a hub name) can be loaded; ModelChoiceError if not."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    folder = Path(name).expanduser()
    if folder.exists():
        check_model_folder(folder, name, source)
        return
    try:
        validate_repo_id(name)
        hub_like = not name.startswith((".", "~")) and not name.endswith("/")
    except HFValidationError:
        hub_like = False
    if not hub_like:
        raise ModelChoiceError(f"{source}의 폴더 '{name}'이(가) 없습니다 (현재 폴더: {os.getcwd()}). 경로를 "
                               f"확인하세요. 강의에 포함된 모델은 --model bundled, KoGPT2는 --model hub.")
    check_hub_model(name, source)


def resolve_model_name(choice: str | None = None, verbose: bool = True) -> str:
    """Return the model name or folder to pass to ``from_pretrained``, checked that it can be loaded.

    ``choice``: ``"hub"``, ``"bundled"``, any hub name or local folder, or None for automatic.
    Raises ModelChoiceError (a Korean message) for a missing folder, a folder without a model, or a
    hub name that is neither cached nor on a hub that answers — within a few seconds.
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
            check_hub_model(name, source, folder_possible=False)
        else:
            name, why = choice.strip(), f"{source}에서 지정한 모델입니다"
        if kind != "hub":
            check_model(name, source)
    elif hub_model_in_cache():
        name, why = HUB_MODEL_NAME, "로컬 Hugging Face 캐시에 KoGPT2가 있습니다"
        if not hub_reachable():
            use_offline_mode()
    elif hub_reachable():
        name, why = HUB_MODEL_NAME, "Hugging Face 허브에 연결되어 KoGPT2를 내려받을 수 있습니다"
    else:
        name = str(BUNDLED_MODEL_DIR)
        why = "KoGPT2가 캐시에 없고 허브에도 연결할 수 없어 강의에 포함된 작은 모델을 씁니다"
        check_model(name, "번들 모델")
    if verbose:
        print(f"[모델 선택] {name} — {why}.", flush=True)
    return name


def add_model_argument(parser: argparse.ArgumentParser, default: str | None = None) -> argparse.ArgumentParser:
    """Add the ``--model`` flag every step script shares (``default``: what to use when it is omitted)."""
    omitted = "" if default else f" 생략하면 환경 변수 {ENV_VAR}, 그다음 자동 선택(캐시/허브 → 번들)."
    parser.add_argument(
        "--model", default=default,
        help=f"사용할 모델: 'hub'({HUB_MODEL_NAME}), 'bundled'(models/kogpt2-tiny), 다른 허브 이름 또는 "
             f"로컬 폴더.{omitted}",
    )
    return parser
