"""교실 웹 데모를 만드는 Flask 앱 공장 (서버 없이 ``app.test_client()``로 시험할 수 있음).

    app = create_app(inference_fn)              # inference_fn(prompt, **params) -> str
    app.test_client().post("/api", json={"prompt": "이 영화"})

주소: ``GET /``(한국어 페이지), ``GET /health``, ``POST /api``(생성),
``POST /api/next-tokens``(다음 토큰 후보 상위 k개 — 모델의 원래 확률, ``next_token_fn``을 줄 때).
``GET /fonts/NanumGothicLight.ttf``(한글 웹 글꼴 — 한국어 시스템 글꼴이 없는 PC에서도 페이지가 보이도록:
koreanize-matplotlib이 설치하는 NanumGothic Light 원본, SIL OFL 1.1, 라이선스는 ``static/fonts/NanumGothic-OFL.txt``.
Regular는 빈 TSI3 테이블 때문에 Chrome의 글꼴 검사에서 거부되고, 고치려면 OFL에 따라 새 이름이 필요합니다).

안전: 모든 항목을 검사하고(:mod:`kogpt2_course.web.params`) 잘못된 입력에는 항목 이름을 담은 한국어 JSON 400으로
답합니다. 본문 크기에 상한이 있고, 오류에 스택 트레이스를 담지 않습니다. 생성은 잠금으로 한 번에 하나씩, 길이가 정해진
대기열과 대기 시간 제한을 두어 몰리면 멈추는 대신 503으로 답합니다. 디버그 모드는 여기서 켜지 않습니다.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from flask import Flask, jsonify, render_template, request, send_from_directory
from werkzeug.exceptions import HTTPException

from kogpt2_course.web.params import (BODY_FIELD, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_NEW_TOKENS_CAP,
                         DEFAULT_MAX_PROMPT_CHARS, PRESETS, SAMPLING_ONLY, ParameterError, applied_params,
                         param_specs, parse_json_body, validate_params, validate_prompt)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
DEFAULT_MAX_WAITING = 32       # a class of about thirty students pressing the button at once
DEFAULT_WAIT_TIMEOUT_S = 60.0  # how long a request may wait for its turn before a 503
MAX_CANDIDATES = 20
HANGUL_FONT_FILE = "NanumGothicLight.ttf"
FONT_MAX_AGE_S = 7 * 24 * 3600  # browsers download the 1.5 MB font once a week at most

logger = logging.getLogger(__name__)

InferenceFn = Callable[..., str]
NextTokenFn = Callable[[str, int], list]


class Overloaded(Exception):
    """대기열이 가득 찼거나 정한 시간 안에 차례가 오지 않음 (HTTP 503)."""


class GenerationGate:
    """생성은 한 번에 하나. 많아야 ``max_waiting``개의 요청이 기다리고, 각각 많아야 ``timeout_s``초."""

    def __init__(self, max_waiting: int = DEFAULT_MAX_WAITING, timeout_s: float = DEFAULT_WAIT_TIMEOUT_S):
        if max_waiting < 0 or timeout_s <= 0:
            raise ValueError("max_waiting >= 0, timeout_s > 0 이어야 합니다")
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._run_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_waiting + 1)  # the running one + the waiting ones
        self._count_lock = threading.Lock()
        self._inside = 0

    @property
    def waiting(self) -> int:
        """들어왔지만 아직 돌지 않는 요청 수 (대략, /health용)."""
        with self._count_lock:
            return max(self._inside - (1 if self._run_lock.locked() else 0), 0)

    @contextmanager
    def turn(self):
        if not self._slots.acquire(blocking=False):
            raise Overloaded(f"대기열이 가득 찼습니다 (최대 {self.max_waiting}명 대기)")
        with self._count_lock:
            self._inside += 1
        try:
            if not self._run_lock.acquire(timeout=self.timeout_s):
                raise Overloaded(f"{self.timeout_s:g}초를 기다려도 차례가 오지 않았습니다")
            try:
                yield
            finally:
                self._run_lock.release()
        finally:
            with self._count_lock:
                self._inside -= 1
            self._slots.release()


def hangul_font_dir() -> Path | None:
    """The folder holding koreanize-matplotlib's NanumGothic TTFs, or None (package missing: system fonts only)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    return folder if (folder / HANGUL_FONT_FILE).is_file() else None


def error_response(message: str, status: int, field: str | None = None):
    response = jsonify({"ok": False, "error": message, "field": field})
    response.status_code = status
    return response


def create_app(inference_fn: InferenceFn, *, model_name: str = "", device: str = "cpu",
               next_token_fn: NextTokenFn | None = None, notice: str = "",
               max_new_tokens_cap: int = DEFAULT_MAX_NEW_TOKENS_CAP,
               max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               max_waiting: int = DEFAULT_MAX_WAITING,
               wait_timeout_s: float = DEFAULT_WAIT_TIMEOUT_S) -> Flask:
    """``inference_fn(prompt, **params) -> str``(프롬프트를 포함한 전체 글)을 부르는 데모 앱을 만듭니다.

    ``params``는 :func:`kogpt2_course.web.params.param_specs`의 항목들(``max_new_tokens``, ``min_new_tokens``, ...)로,
    검사를 마친 값입니다. 응답의 ``params``에는 실제로 쓰인 값만 담깁니다(:func:`~kogpt2_course.web.params.applied_params`).
    ``next_token_fn(prompt, k)``(선택)는 ``[{"token": str, "probability": float}, ...]``를 돌려줍니다.
    ``notice``는 페이지 위에 보일 한국어 한 줄입니다(예: "미세 조정 체크포인트가 없습니다").
    """
    if not callable(inference_fn):
        raise TypeError("inference_fn은 호출할 수 있는 함수여야 합니다")
    app = Flask(__name__, template_folder=str(TEMPLATE_DIR), static_folder=str(STATIC_DIR))
    app.config.update(DEBUG=False, PROPAGATE_EXCEPTIONS=False, JSON_AS_ASCII=False,
                      MAX_CONTENT_LENGTH=max_body_bytes)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    gate = GenerationGate(max_waiting, wait_timeout_s)
    specs = param_specs(max_new_tokens_cap)
    font_dir = hangul_font_dir()
    app.extensions["generation_gate"] = gate

    def read_json():
        if request.mimetype != "application/json":
            raise ParameterError("Content-Type", "application/json이어야 합니다 "
                                                 f"(받은 값: {request.mimetype or '없음'}).")
        if request.content_length is not None and request.content_length > max_body_bytes:
            raise ParameterError(BODY_FIELD, f"요청 본문이 너무 큽니다 (최대 {max_body_bytes:,}바이트).")
        raw = request.stream.read(max_body_bytes + 1)
        return parse_json_body(raw, max_body_bytes)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        if request.path.startswith("/api"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(ParameterError)
    def bad_parameter(exc: ParameterError):
        return error_response(exc.message, 400, exc.field)

    @app.errorhandler(Overloaded)
    def overloaded(exc: Overloaded):
        response = error_response(f"서버가 바쁩니다: {exc}. 잠시 후 다시 시도하세요.", 503)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code == 413:  # Flask's own body-size check (MAX_CONTENT_LENGTH): bad input, so 400
            return error_response(f"{BODY_FIELD}: 요청 본문이 너무 큽니다 (최대 {max_body_bytes:,}바이트).",
                                  400, BODY_FIELD)
        messages = {404: "없는 주소입니다.", 405: "이 주소에서 허용되지 않는 방식(HTTP 메서드)입니다.",
                    400: "잘못된 요청입니다."}
        return error_response(messages.get(code, f"요청을 처리할 수 없습니다 (HTTP {code})."), code)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        logger.exception("웹 데모 처리 중 예기치 못한 오류")
        return error_response("서버 내부 오류가 발생했습니다. 서버 콘솔의 로그를 확인하세요.", 500)

    @app.get("/")
    def index():
        return render_template("index.html", specs=[s.as_dict() for s in specs], presets=PRESETS,
                               sampling_only=SAMPLING_ONLY,
                               model_name=Path(model_name).name or model_name, device=device, notice=notice,
                               max_prompt_chars=max_prompt_chars, candidates=next_token_fn is not None)

    @app.get(f"/fonts/{HANGUL_FONT_FILE}")
    def hangul_font():
        if font_dir is None:
            return error_response("한글 웹 글꼴이 없습니다 (koreanize-matplotlib를 설치하세요).", 404)
        return send_from_directory(font_dir, HANGUL_FONT_FILE, mimetype="font/ttf", max_age=FONT_MAX_AGE_S)

    @app.get("/health")
    def health():
        return jsonify({"status": "ok", "model": model_name, "device": device,
                        "queue": {"waiting": gate.waiting, "max_waiting": gate.max_waiting,
                                  "timeout_s": gate.timeout_s},
                        "max_new_tokens_cap": max_new_tokens_cap, "max_length_cap": max_new_tokens_cap,
                        "next_tokens": next_token_fn is not None})

    @app.post("/api")
    def api():
        params = validate_params(read_json(), max_new_tokens_cap, max_prompt_chars)
        prompt = params.pop("prompt")
        with gate.turn():
            started = time.perf_counter()
            text = inference_fn(prompt, **params)
            elapsed = time.perf_counter() - started
        if not isinstance(text, str):
            raise TypeError(f"inference_fn은 문자열을 돌려줘야 합니다 (받은 형식: {type(text).__name__})")
        return jsonify({"ok": True, "prompt": prompt, "text": text, "params": applied_params(params),
                        "elapsed_s": round(elapsed, 4)})

    @app.post("/api/next-tokens")
    def next_tokens():
        if next_token_fn is None:
            return error_response("이 서버는 다음 토큰 후보 보기를 지원하지 않습니다.", 404)
        data = read_json()
        if not isinstance(data, dict):
            raise ParameterError(BODY_FIELD, "JSON 객체({...})여야 합니다.")
        unknown = [key for key in data if key not in ("prompt", "k")]
        if unknown:
            raise ParameterError(str(unknown[0])[:40], "알 수 없는 항목입니다. 쓸 수 있는 항목: prompt, k.")
        prompt = validate_prompt(data.get("prompt"), max_prompt_chars)
        k = data.get("k", 10)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_CANDIDATES:
            raise ParameterError("k", f"1 이상 {MAX_CANDIDATES} 이하의 정수여야 합니다.")
        with gate.turn():
            candidates = next_token_fn(prompt, k)
        return jsonify({"ok": True, "prompt": prompt,
                        "candidates": [{"token": str(c["token"]), "probability": float(c["probability"])}
                                       for c in candidates]})

    return app
