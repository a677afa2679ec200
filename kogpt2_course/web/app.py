"""교실 웹 데모를 만드는 Flask 앱 공장 (서버 없이 ``app.test_client()``로 시험할 수 있음).

    app = create_app(inference_fn)              # inference_fn(prompt, **params) -> str
    app.test_client().post("/api", json={"prompt": "이 영화"})
    app = create_app(inference_fn, engine=GenerationEngine(model, tokenizer), votes=VoteStore(),
                     content_filter=ContentFilter.from_file(), control=True, baseline_engine=...)

주소:

- ``GET /``(한국어 페이지), ``GET /health``, ``GET /results``(A/B 투표 결과 페이지), ``GET /api/results``(같은 것, JSON)
- ``POST /api``(생성 — ratsnlp의 요청 형식; 길이 항목은 ``max_new_tokens``/``min_new_tokens``, 옛 이름도 받음)
- ``POST /api/stream``(같은 요청, 토큰이 나오는 대로 server-sent events: ``start`` → ``token``… → 끝에 언제나
  ``done`` 또는 ``error`` 하나), ``POST /api/stop``(``{"id": ...}``: 그 스트림을 멈춤)
- ``POST /api/ab``(한 프롬프트를 두 설정으로, 이름 없이 무작위 순서로), ``POST /api/vote``(``A``/``B``/``same``)
- ``POST /api/next-tokens``(다음 토큰 후보 상위 k개 — 모델의 원래 확률, ``next_token_fn``을 줄 때)
- ``GET /fonts/NanumGothicLight.ttf``(한글 웹 글꼴 — 한국어 시스템 글꼴이 없는 PC에서도 페이지가 보이도록:
  koreanize-matplotlib이 설치하는 NanumGothic Light 원본, SIL OFL 1.1, 라이선스는 ``static/fonts/NanumGothic-OFL.txt``.
  Regular는 빈 TSI3 테이블 때문에 Chrome의 글꼴 검사에서 거부되고, 고치려면 OFL에 따라 새 이름이 필요합니다).

생성: ``engine``(:class:`~kogpt2_course.web.engine.GenerationEngine`)이 없으면 ``inference_fn``을 잠금으로 한 번에
하나씩 부릅니다. 있으면 같은 설정의 동시 요청을 묶어(:class:`~kogpt2_course.web.batching.Batcher`) 한 번에 만들고,
혼자 온 요청(제어 코드 없음)은 그대로 ``inference_fn``이 만듭니다. 스트리밍·제어 코드·사전 학습 모델과 나란히 보기는
엔진이 있을 때만 됩니다.

안전: 모든 항목을 검사하고(:mod:`kogpt2_course.web.params`) 잘못된 입력에는 항목 이름을 담은 한국어 JSON 4xx로
답합니다. 금지어(:mod:`kogpt2_course.web.content_filter`)는 모든 주소에서 프롬프트를 거절하고 결과에서 가립니다.
본문 크기에 상한이 있고, 오류에 스택 트레이스를 담지 않습니다. 대기열의 길이와 대기 시간에 한도가 있어 몰리면
멈추는 대신 503으로 답합니다. 디버그 모드는 여기서 켜지 않습니다.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import queue
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from flask import Flask, Response, jsonify, render_template, request, send_from_directory, stream_with_context
from werkzeug.exceptions import HTTPException

from kogpt2_course.web.batching import Batcher, Overloaded
from kogpt2_course.web.engine import CONTROLS, NO_CONTROL
from kogpt2_course.web.params import (BODY_FIELD, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_NEW_TOKENS_CAP,
                                      DEFAULT_MAX_PROMPT_CHARS, PRESETS, SAMPLING_ONLY, ParameterError,
                                      applied_params, param_specs, parse_json_body, validate_choice,
                                      validate_params, validate_prompt)
from kogpt2_course.web.votes import CHOICES, VoteError

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
DEFAULT_MAX_WAITING = 32       # a class of about thirty students pressing the button at once
DEFAULT_WAIT_TIMEOUT_S = 60.0  # how long a request may wait for its turn before a 503
DEFAULT_STREAM_TIMEOUT_S = 30.0  # the longest gap between two streamed pieces before the stream ends with an error
DEFAULT_MAX_BATCH = 32
MODELS = ("main", "pretrained")  # the served model / the pretrained model beside it (side-by-side view)
REQUEST_FIELDS = ("control", "model")  # fields of /api and /api/stream beyond the generation parameters
MAX_CANDIDATES = 20
HANGUL_FONT_FILE = "NanumGothicLight.ttf"
FONT_MAX_AGE_S = 7 * 24 * 3600  # browsers download the 1.5 MB font once a week at most

logger = logging.getLogger(__name__)

InferenceFn = Callable[..., str]
NextTokenFn = Callable[[str, int], list]


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


def sse_event(name: str, data: dict) -> str:
    """server-sent events 형식의 사건 하나: ``event: 이름`` 줄과 JSON 한 줄의 ``data:``."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_app(inference_fn: InferenceFn, *, model_name: str = "", device: str = "cpu",
               next_token_fn: NextTokenFn | None = None, notice: str = "",
               max_new_tokens_cap: int = DEFAULT_MAX_NEW_TOKENS_CAP,
               max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               max_waiting: int = DEFAULT_MAX_WAITING,
               wait_timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
               engine=None, baseline_engine=None, control: bool = False, content_filter=None, votes=None,
               max_batch: int = DEFAULT_MAX_BATCH, stream_timeout_s: float = DEFAULT_STREAM_TIMEOUT_S) -> Flask:
    """``inference_fn(prompt, **params) -> str``(프롬프트를 포함한 전체 글)을 부르는 데모 앱을 만듭니다.

    ``params``는 :func:`kogpt2_course.web.params.param_specs`의 항목들(``max_new_tokens``, ``min_new_tokens``, ...)로,
    검사를 마친 값입니다. 응답의 ``params``에는 실제로 쓰인 값만 담깁니다(:func:`~kogpt2_course.web.params.applied_params`).
    ``next_token_fn(prompt, k)``(선택)는 ``[{"token": str, "probability": float}, ...]``를 돌려줍니다.
    ``notice``는 페이지 위에 보일 한국어 한 줄입니다(예: "미세 조정 체크포인트가 없습니다").

    선택: ``engine``(배치 생성·스트리밍), ``baseline_engine``(나란히 볼 사전 학습 모델), ``control``(Step 4의
    긍정/부정 제어 코드를 고르게 함 — 엔진의 모델이 Step 4 체크포인트일 때), ``content_filter``(금지어: 모든 주소의
    프롬프트 검사와 결과 가리기; ``bad_words_ids``는 엔진이 ``generate``에 넘기고, ``inference_fn``이 쓰는 모델에는
    :meth:`~kogpt2_course.web.content_filter.ContentFilter.apply_to`로 넣습니다),
    ``votes``(:class:`~kogpt2_course.web.votes.VoteStore`: A/B 비교와 투표).
    """
    if not callable(inference_fn):
        raise TypeError("inference_fn은 호출할 수 있는 함수여야 합니다")
    if engine is None and (control or baseline_engine is not None):
        raise ValueError("control과 baseline_engine은 engine이 있을 때만 쓸 수 있습니다")
    app = Flask(__name__, template_folder=str(TEMPLATE_DIR), static_folder=str(STATIC_DIR))
    app.config.update(DEBUG=False, PROPAGATE_EXCEPTIONS=False, JSON_AS_ASCII=False,
                      MAX_CONTENT_LENGTH=max_body_bytes)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    gate = GenerationGate(max_waiting, wait_timeout_s)
    specs = param_specs(max_new_tokens_cap)
    font_dir = hangul_font_dir()
    engines = {"main": engine, "pretrained": baseline_engine}
    streams: dict[str, threading.Event] = {}  # running streams by id, for /api/stop
    streams_lock = threading.Lock()
    app.extensions["generation_gate"] = gate

    def mask(text: str) -> str:
        return content_filter.mask(text) if content_filter is not None else text

    def checked_text(text) -> str:
        if not isinstance(text, str):
            raise TypeError(f"inference_fn은 문자열을 돌려줘야 합니다 (받은 형식: {type(text).__name__})")
        return text

    def run_batch(key, jobs: list[dict]) -> list[str]:
        which, options = key
        if len(jobs) == 1 and which == "main" and jobs[0]["control"] == NO_CONTROL:
            return [checked_text(inference_fn(jobs[0]["prompt"], **jobs[0]["params"]))]  # alone: the Step 5 function
        return engines[which].generate([(job["ids"], job["shown_from"]) for job in jobs], dict(options))

    batcher = (Batcher(run_batch, max_batch=max_batch, max_waiting=max_waiting, timeout_s=wait_timeout_s,
                       turn=gate.turn) if engine is not None else None)
    app.extensions["batcher"] = batcher

    def read_json():
        if request.mimetype != "application/json":
            raise ParameterError("Content-Type", "application/json이어야 합니다 "
                                                 f"(받은 값: {request.mimetype or '없음'}).")
        if request.content_length is not None and request.content_length > max_body_bytes:
            raise ParameterError(BODY_FIELD, f"요청 본문이 너무 큽니다 (최대 {max_body_bytes:,}바이트).")
        raw = request.stream.read(max_body_bytes + 1)
        return parse_json_body(raw, max_body_bytes)

    def read_object(allowed: tuple[str, ...]) -> dict:
        data = read_json()
        if not isinstance(data, dict):
            raise ParameterError(BODY_FIELD, "JSON 객체({...})여야 합니다.")
        unknown = [key for key in data if key not in allowed]
        if unknown:
            raise ParameterError(str(unknown[0])[:40], f"알 수 없는 항목입니다. 쓸 수 있는 항목: {', '.join(allowed)}.")
        return data

    def checked_prompt(value) -> str:
        prompt = validate_prompt(value, max_prompt_chars)
        if content_filter is not None:
            content_filter.check_prompt(prompt)
        return prompt

    def read_control(data: dict) -> str:
        chosen = validate_choice(data, "control", CONTROLS, NO_CONTROL)
        if chosen != NO_CONTROL and not control:
            raise ParameterError("control", "이 서버는 Step 4 체크포인트 없이 돌고 있어 감성 제어(긍정/부정)를 쓸 수 "
                                            "없습니다. Step 4를 먼저 실행하세요.")
        return chosen

    def read_generation_request() -> tuple[str, dict, str, str]:
        """(prompt, params, control, model) of a /api or /api/stream request."""
        data = read_json()
        params = validate_params(data, max_new_tokens_cap, max_prompt_chars, extra=REQUEST_FIELDS)
        prompt = checked_prompt(params.pop("prompt"))
        which = validate_choice(data, "model", MODELS, "main")
        if engines[which] is None and which != "main":
            raise ParameterError("model", "이 서버에는 나란히 볼 사전 학습 모델이 없습니다 "
                                          "(Step 4 체크포인트를 쓸 때만 있습니다).")
        return prompt, params, read_control(data), which

    def generate_text(prompt: str, params: dict, chosen_control: str = NO_CONTROL,
                      which: str = "main") -> tuple[str, str]:
        """(결과 글, 모델이 받은 입력). 엔진이 없으면 inference_fn을 차례대로, 있으면 같은 설정끼리 묶어서."""
        if batcher is None:
            with gate.turn():
                text = checked_text(inference_fn(prompt, **params))
            return mask(text), prompt
        chosen = engines[which]
        ids, shown_from = chosen.prompt_ids(prompt, chosen_control, params["max_new_tokens"])
        options = tuple(sorted(applied_params(params).items()))
        job = {"prompt": prompt, "params": params, "control": chosen_control, "ids": ids, "shown_from": shown_from}
        return mask(batcher.submit((which, options), job)), chosen.model_input(ids)

    def read_setting(value, side: str, prompt: str) -> tuple[str, dict]:
        """A/B의 한 쪽: 프리셋 이름 또는 설정 객체 → (설정 이름, 검사한 파라미터)."""
        if isinstance(value, str) and value in PRESETS:
            body, label = dict(PRESETS[value]["values"]), PRESETS[value]["label"]
        elif isinstance(value, dict) and "prompt" not in value:
            body, label = value, None
        else:
            raise ParameterError(side, f"프리셋 이름({', '.join(PRESETS)}) 또는 프롬프트를 뺀 설정 객체({{...}})여야 "
                                       f"합니다.")
        try:
            params = validate_params({**body, "prompt": prompt}, max_new_tokens_cap, max_prompt_chars)
        except ParameterError as exc:
            raise ParameterError(f"{side}.{exc.field}", exc.message[len(exc.field) + 2:]) from None
        params.pop("prompt")
        if label is None:
            label = "직접 설정 " + json.dumps(applied_params(params), ensure_ascii=False, sort_keys=True,
                                          separators=(",", ":"))
        return label, params

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

    @app.errorhandler(VoteError)
    def bad_vote(exc: VoteError):
        return error_response(exc.message, exc.status, exc.field)

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
                               max_prompt_chars=max_prompt_chars, candidates=next_token_fn is not None,
                               streaming=engine is not None, control=control, controls=CONTROLS,
                               compare=baseline_engine is not None, ab=votes is not None)

    @app.get(f"/fonts/{HANGUL_FONT_FILE}")
    def hangul_font():
        if font_dir is None:
            return error_response("한글 웹 글꼴이 없습니다 (koreanize-matplotlib를 설치하세요).", 404)
        return send_from_directory(font_dir, HANGUL_FONT_FILE, mimetype="font/ttf", max_age=FONT_MAX_AGE_S)

    @app.get("/health")
    def health():
        queue_info = {"waiting": gate.waiting, "max_waiting": gate.max_waiting, "timeout_s": gate.timeout_s}
        if batcher is not None:
            queue_info.update(batched_waiting=batcher.waiting, max_batch=batcher.max_batch,
                              batch_sizes=dict(batcher.batch_sizes))
        return jsonify({"status": "ok", "model": model_name, "device": device, "queue": queue_info,
                        "max_new_tokens_cap": max_new_tokens_cap, "max_length_cap": max_new_tokens_cap,
                        "next_tokens": next_token_fn is not None, "streaming": engine is not None,
                        "control": control, "compare": baseline_engine is not None, "votes": votes is not None,
                        "blocked_words": len(content_filter.words) if content_filter is not None else 0})

    @app.post("/api")
    def api():
        prompt, params, chosen_control, which = read_generation_request()
        started = time.perf_counter()
        text, model_input = generate_text(prompt, params, chosen_control, which)
        reply = {"ok": True, "prompt": prompt, "text": text, "params": applied_params(params),
                 "elapsed_s": round(time.perf_counter() - started, 4)}
        if engine is not None:
            reply.update(control=chosen_control, model=which, model_input=model_input)
        return jsonify(reply)

    @app.post("/api/stream")
    def api_stream():
        if engine is None:
            return error_response("이 서버는 실시간 생성(스트리밍)을 지원하지 않습니다. /api를 쓰세요.", 404)
        prompt, params, chosen_control, which = read_generation_request()
        chosen = engines[which]
        ids, shown_from = chosen.prompt_ids(prompt, chosen_control, params["max_new_tokens"])
        options = applied_params(params)
        turn = gate.turn()
        turn.__enter__()  # a full queue is a 503 before the stream starts
        stream_id = secrets.token_urlsafe(9)
        stop = threading.Event()
        with streams_lock:
            streams[stream_id] = stop

        def release() -> None:  # once, whichever comes first: the end of the events or the response's close
            with streams_lock:
                if streams.pop(stream_id, None) is None:
                    return
            stop.set()
            turn.__exit__(None, None, None)

        def events():
            started = time.perf_counter()
            result: dict = {}
            pieces = chosen.stream(ids, shown_from, options, stop, stream_timeout_s, result)
            first_piece_s = None
            try:
                yield sse_event("start", {"id": stream_id, "prompt": prompt, "model_input": chosen.model_input(ids),
                                          "control": chosen_control, "model": which, "params": options})
                for piece in pieces:
                    if first_piece_s is None:
                        first_piece_s = round(time.perf_counter() - started, 4)
                    yield sse_event("token", {"text": mask(piece)})
                yield sse_event("done", {"text": mask(result.get("text", prompt)), "stopped": stop.is_set(),
                                         "first_token_s": first_piece_s,
                                         "elapsed_s": round(time.perf_counter() - started, 4)})
            except queue.Empty:
                yield sse_event("error", {"error": f"{stream_timeout_s:g}초 동안 새 토큰이 없어 생성을 멈췄습니다. "
                                                   f"다시 시도하세요."})
            except ParameterError as exc:
                yield sse_event("error", {"error": exc.message, "field": exc.field})
            except Exception:
                logger.exception("스트리밍 생성 중 예기치 못한 오류")
                yield sse_event("error", {"error": "서버 내부 오류가 발생했습니다. 서버 콘솔의 로그를 확인하세요."})
            finally:
                pieces.close()  # stops and joins the generation thread if the client went away
                release()

        response = Response(events(), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events back
        response.call_on_close(release)
        return response

    @app.post("/api/stop")
    def api_stop():
        data = read_object(("id",))
        stream_id = data.get("id")
        if not isinstance(stream_id, str):
            raise ParameterError("id", "멈출 생성의 id(문자열)가 필요합니다 (스트림의 start 사건에 있음).")
        with streams_lock:
            stop = streams.get(stream_id)
        if stop is None:
            return error_response("id: 진행 중인 생성이 아닙니다 (이미 끝났거나 없는 id입니다).", 404, "id")
        stop.set()
        return jsonify({"ok": True, "id": stream_id})

    @app.post("/api/ab")
    def api_ab():
        if votes is None:
            return error_response("이 서버는 A/B 투표를 켜지 않았습니다.", 404)
        data = read_object(("prompt", "a", "b", "control"))
        prompt = checked_prompt(data.get("prompt"))
        chosen_control = read_control(data)
        label_a, params_a = read_setting(data.get("a"), "a", prompt)
        label_b, params_b = read_setting(data.get("b"), "b", prompt)
        if label_a == label_b:
            raise ParameterError("b", "a와 같은 설정입니다. 비교하려면 다른 설정을 고르세요.")
        sides = [(label, applied_params(params), generate_text(prompt, params, chosen_control)[0])
                 for label, params in ((label_a, params_a), (label_b, params_b))]
        if secrets.randbelow(2):  # unlabelled, in random order: the voter cannot know which setting is where
            sides.reverse()
        trial_id = votes.add_trial(prompt, *sides[0], *sides[1])
        return jsonify({"ok": True, "trial_id": trial_id, "prompt": prompt, "control": chosen_control,
                        "A": sides[0][2], "B": sides[1][2]})

    @app.post("/api/vote")
    def api_vote():
        if votes is None:
            return error_response("이 서버는 A/B 투표를 켜지 않았습니다.", 404)
        data = read_object(("trial_id", "choice"))
        trial_id = data.get("trial_id")
        if not isinstance(trial_id, str) or not 1 <= len(trial_id) <= 64:
            raise ParameterError("trial_id", "비교의 id(문자열)가 필요합니다 (/api/ab의 응답에 있음).")
        return jsonify({"ok": True, "choice": data.get("choice"), "revealed": votes.add_vote(trial_id, data.get("choice"))})

    @app.get("/api/results")
    def api_results():
        if votes is None:
            return error_response("이 서버는 A/B 투표를 켜지 않았습니다.", 404)
        return jsonify({"ok": True, "votes": votes.count_votes(), "pairs": votes.results()})

    @app.get("/results")
    def results_page():
        if votes is None:
            return error_response("이 서버는 A/B 투표를 켜지 않았습니다.", 404)
        return render_template("results.html", pairs=votes.results(), total=votes.count_votes(),
                               choices=CHOICES)

    @app.post("/api/next-tokens")
    def next_tokens():
        if next_token_fn is None:
            return error_response("이 서버는 다음 토큰 후보 보기를 지원하지 않습니다.", 404)
        data = read_object(("prompt", "k"))
        prompt = checked_prompt(data.get("prompt"))
        k = data.get("k", 10)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_CANDIDATES:
            raise ParameterError("k", f"1 이상 {MAX_CANDIDATES} 이하의 정수여야 합니다.")
        with gate.turn():
            candidates = next_token_fn(prompt, k)
        return jsonify({"ok": True, "prompt": prompt,
                        "candidates": [{"token": mask(str(c["token"])), "probability": float(c["probability"])}
                                       for c in candidates]})

    return app
