"""The web demo's API contract (kogpt2_course.web: app / params / server), with Flask's
test client and a fake inference_fn that echoes its parameters (fast, no model)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request

import pytest
from markupsafe import escape

from kogpt2_course.web import server as web_server
from kogpt2_course.web.app import create_app
from kogpt2_course.web.params import (PRESETS, ParameterError, check_prompt_tokens, param_specs,
                                      validate_params)

HANGUL = re.compile(r"[가-힣]")
PARAM_NAMES = ["prompt", "min_new_tokens", "max_new_tokens", "top_p", "top_k", "repetition_penalty",
               "no_repeat_ngram_size", "temperature", "do_sample", "num_beams"]
GOOD = {"prompt": "이 영화", "min_new_tokens": 5, "max_new_tokens": 20, "top_p": 0.9, "top_k": 40,
        "repetition_penalty": 1.3, "no_repeat_ngram_size": 2, "temperature": 0.7, "do_sample": True,
        "num_beams": 1}


class EchoInference:
    """inference_fn that records its calls and returns the prompt plus a marker."""

    def __init__(self):
        self.calls = []

    def __call__(self, prompt, **params):
        self.calls.append((prompt, params))
        return prompt + " …생성됨"


@pytest.fixture
def echo():
    return EchoInference()


@pytest.fixture
def client(echo):
    app = create_app(echo, model_name="fake-model", max_new_tokens_cap=64, max_prompt_chars=100)
    return app.test_client()


def post_json(client, body):
    return client.post("/api", data=json.dumps(body, ensure_ascii=False), content_type="application/json")


def test_page_lists_every_parameter_with_range_and_presets(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ko">' in html
    for name in PARAM_NAMES:
        assert f'id="{name}"' in html, f"{name} 입력 칸이 페이지에 없습니다"
    for spec in param_specs(64):
        assert str(escape(spec.help)) in html, f"{spec.name}의 설명이 페이지에 없습니다"
        assert spec.range_text() in html, f"{spec.name}의 범위가 페이지에 없습니다"
    for key in PRESETS:
        assert f'data-preset="{key}"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, "인라인 스크립트를 막는 CSP가 필요합니다"
    assert client.get("/static/app.js").status_code == 200


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "ok" and data["model"] == "fake-model" and data["max_new_tokens_cap"] == 64


def test_minimal_request_fills_defaults(client, echo):
    response = post_json(client, {"prompt": "배우들 연기가"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["ok"] and data["text"] == "배우들 연기가 …생성됨"
    defaults = {spec.name: spec.default for spec in param_specs(64)}
    assert data["params"] == defaults, "빠진 항목은 기본값으로 채워야 합니다"
    assert echo.calls == [("배우들 연기가", defaults)]


def test_full_request_passes_values_through(client, echo):
    response = post_json(client, GOOD)
    assert response.status_code == 200
    used = dict(GOOD)
    prompt = used.pop("prompt")
    assert response.get_json()["params"] == used
    assert echo.calls == [(prompt, used)]


def test_integral_float_is_accepted_for_integer_fields(client, echo):
    response = post_json(client, {"prompt": "정말", "top_k": 40.0, "max_new_tokens": 12})
    assert response.status_code == 200
    params = echo.calls[0][1]
    assert params["top_k"] == 40 and isinstance(params["top_k"], int)
    assert params["min_new_tokens"] <= params["max_new_tokens"] == 12, \
        "기본 min_new_tokens가 작은 max_new_tokens를 넘으면 안 됩니다"


def test_old_length_names_are_aliases(client, echo):
    """ratsnlp's /api contract: max_length/min_length (new tokens) still work and mean the new names."""
    response = post_json(client, {"prompt": "정말", "max_length": 12, "min_length": 3})
    assert response.status_code == 200
    params = echo.calls[0][1]
    assert (params["max_new_tokens"], params["min_new_tokens"]) == (12, 3)
    assert "max_length" not in params and "max_length" not in response.get_json()["params"]


def test_reply_echoes_only_applied_values(client, echo):
    response = post_json(client, {**GOOD, "do_sample": False})
    echoed = response.get_json()["params"]
    assert not {"temperature", "top_k", "top_p"} & set(echoed), f"샘플링을 끄면 쓰이지 않는 값은 돌려주지 않습니다: {echoed}"
    assert echoed["num_beams"] == 1 and echoed["max_new_tokens"] == 20
    assert {"temperature", "top_k", "top_p"} <= set(post_json(client, GOOD).get_json()["params"])


def test_script_prompt_is_returned_as_json_text(client):
    prompt = "<script>alert('x')</script> 영화"
    response = post_json(client, {"prompt": prompt})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["text"].startswith(prompt)


def _raw(text):
    return ("raw", text)


BAD_INPUTS = [
    # (설명, 본문(dict 또는 ("raw", 문자열)), 오류가 가리켜야 할 항목)
    ("prompt 없음", {"top_k": 5}, "prompt"),
    ("prompt null", {"prompt": None}, "prompt"),
    ("prompt 숫자", {"prompt": 3}, "prompt"),
    ("prompt 배열", {"prompt": ["이 영화"]}, "prompt"),
    ("prompt 빈 문자열", {"prompt": ""}, "prompt"),
    ("prompt 공백뿐", {"prompt": "   \n "}, "prompt"),
    ("prompt 너무 김", {"prompt": "가" * 101}, "prompt"),
    ("prompt 제어 문자", {"prompt": "이 영화\u0000"}, "prompt"),
    ("top_p 0", {"prompt": "a", "top_p": 0}, "top_p"),
    ("top_p 1 초과", {"prompt": "a", "top_p": 1.5}, "top_p"),
    ("top_p 음수", {"prompt": "a", "top_p": -0.1}, "top_p"),
    ("top_p 문자열", {"prompt": "a", "top_p": "0.9"}, "top_p"),
    ("top_p NaN", _raw('{"prompt": "a", "top_p": NaN}'), "top_p"),
    ("temperature 0", {"prompt": "a", "temperature": 0}, "temperature"),
    ("temperature 음수", {"prompt": "a", "temperature": -1.0}, "temperature"),
    ("temperature Infinity", _raw('{"prompt": "a", "temperature": Infinity}'), "temperature"),
    ("temperature 1e999(=inf)", _raw('{"prompt": "a", "temperature": 1e999}'), "temperature"),
    ("temperature 너무 큼", {"prompt": "a", "temperature": 50}, "temperature"),
    ("top_k 참/거짓", {"prompt": "a", "top_k": True}, "top_k"),
    ("top_k 소수", {"prompt": "a", "top_k": 5.5}, "top_k"),
    ("top_k 음수", {"prompt": "a", "top_k": -1}, "top_k"),
    ("top_k 객체", {"prompt": "a", "top_k": {"k": 5}}, "top_k"),
    ("max_length 서버 상한 초과", {"prompt": "a", "max_length": 65}, "max_length"),
    ("max_length 0", {"prompt": "a", "max_length": 0}, "max_length"),
    ("max_length null", {"prompt": "a", "max_length": None}, "max_length"),
    ("max_length 거대한 정수", {"prompt": "a", "max_length": 10 ** 30}, "max_length"),
    ("min_length 음수", {"prompt": "a", "min_length": -3}, "min_length"),
    ("min_length > max_length", {"prompt": "a", "min_length": 30, "max_length": 10}, "min_length"),
    ("max_new_tokens 서버 상한 초과", {"prompt": "a", "max_new_tokens": 65}, "max_new_tokens"),
    ("min_new_tokens > max_new_tokens", {"prompt": "a", "min_new_tokens": 30, "max_new_tokens": 10}, "min_new_tokens"),
    ("옛 이름과 새 이름을 함께", {"prompt": "a", "max_length": 10, "max_new_tokens": 10}, "max_length"),
    ("repetition_penalty 0", {"prompt": "a", "repetition_penalty": 0}, "repetition_penalty"),
    ("repetition_penalty -NaN", _raw('{"prompt": "a", "repetition_penalty": -NaN}'), "body"),
    ("no_repeat_ngram_size 소수", {"prompt": "a", "no_repeat_ngram_size": 2.5}, "no_repeat_ngram_size"),
    ("no_repeat_ngram_size 너무 큼", {"prompt": "a", "no_repeat_ngram_size": 11}, "no_repeat_ngram_size"),
    ("do_sample 문자열", {"prompt": "a", "do_sample": "true"}, "do_sample"),
    ("do_sample 숫자 1", {"prompt": "a", "do_sample": 1}, "do_sample"),
    ("num_beams 0", {"prompt": "a", "num_beams": 0}, "num_beams"),
    ("num_beams 너무 큼", {"prompt": "a", "num_beams": 64}, "num_beams"),
    ("num_beams 참/거짓", {"prompt": "a", "num_beams": False}, "num_beams"),
    ("알 수 없는 항목", {"prompt": "a", "top-p": 0.9}, "top-p"),
    ("JSON 배열", ["이 영화"], "body"),
    ("JSON 문자열", "이 영화", "body"),
    ("JSON 숫자", 42, "body"),
    ("JSON null", None, "body"),
    ("깨진 JSON", _raw('{"prompt": "이 영화",'), "body"),
    ("JSON 아님", _raw("prompt=이 영화"), "body"),
    ("빈 본문", _raw(""), "body"),
    ("엄청 긴 숫자(파이썬 자릿수 한도)", _raw('{"prompt": "a", "top_k": ' + "9" * 5000 + "}"), "body"),
    ("너무 깊은 중첩", _raw('{"prompt": ' + "[" * 5000 + "]" * 5000 + "}"), "body"),
    ("본문 크기 초과", {"prompt": "a", "padding": "x" * 20000}, "body"),
]


@pytest.mark.parametrize("body,field", [pytest.param(b, f, id=d) for d, b, f in BAD_INPUTS])
def test_bad_input_is_400_with_korean_message_naming_the_field(client, echo, body, field):
    if isinstance(body, tuple):
        raw = body[1].encode("utf-8")
    else:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = client.post("/api", data=raw, content_type="application/json")
    assert response.status_code == 400, f"400이어야 합니다: {response.status_code} {response.get_data(as_text=True)[:200]}"
    data = response.get_json()
    assert data is not None, "오류도 JSON으로 돌려줘야 합니다"
    assert data["ok"] is False and data["field"] == field, f"오류 항목이 {field}여야 합니다: {data}"
    assert field in data["error"] and HANGUL.search(data["error"]), f"한국어 메시지에 항목 이름이 있어야 합니다: {data}"
    assert "Traceback" not in data["error"]
    assert echo.calls == [], "잘못된 입력으로 생성을 하면 안 됩니다"


def test_at_least_25_bad_inputs():
    assert len(BAD_INPUTS) >= 25


def test_body_that_is_not_utf8(client, echo):
    response = client.post("/api", data='{"prompt": "이 영화"}'.encode("euc-kr"), content_type="application/json")
    assert response.status_code == 400 and response.get_json()["field"] == "body"
    assert echo.calls == []


def test_wrong_content_type(client, echo):
    response = client.post("/api", data='{"prompt": "a"}', content_type="text/plain")
    assert response.status_code == 400 and response.get_json()["field"] == "Content-Type"
    response = client.post("/api", data={"prompt": "a"})  # an HTML form
    assert response.status_code == 400
    assert echo.calls == []


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nope").get_json()["ok"] is False
    response = client.get("/api")
    assert response.status_code == 405 and HANGUL.search(response.get_json()["error"])


def test_parameter_error_from_inference_fn_is_400():
    def too_long(prompt, **params):
        check_prompt_tokens(300, params["max_new_tokens"], 256)

    response = post_json(create_app(too_long).test_client(), {"prompt": "a"})
    assert response.status_code == 400 and response.get_json()["field"] == "prompt"


def test_crash_in_inference_fn_is_json_without_stack_trace():
    def broken(prompt, **params):
        raise RuntimeError("secret internal detail")

    response = post_json(create_app(broken).test_client(), {"prompt": "a"})
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret" not in text and "Traceback" not in text and response.get_json()["ok"] is False


def test_non_string_result_is_an_error_not_a_crash():
    response = post_json(create_app(lambda prompt, **p: 42).test_client(), {"prompt": "a"})
    assert response.status_code == 500 and response.get_json()["ok"] is False


def _blocking_app(max_waiting, wait_timeout_s):
    started, release = threading.Event(), threading.Event()

    def slow(prompt, **params):
        started.set()
        release.wait(10)
        return prompt

    return create_app(slow, max_waiting=max_waiting, wait_timeout_s=wait_timeout_s), started, release


def _post_in_thread(app, results):
    def run():
        results.append(post_json(app.test_client(), {"prompt": "a"}).status_code)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_full_queue_answers_503_at_once():
    app, started, release = _blocking_app(max_waiting=0, wait_timeout_s=30)
    results = []
    first = _post_in_thread(app, results)
    assert started.wait(5)
    begin = time.perf_counter()
    response = post_json(app.test_client(), {"prompt": "b"})
    waited = time.perf_counter() - begin
    release.set()
    first.join(10)
    assert response.status_code == 503 and response.headers.get("Retry-After")
    assert HANGUL.search(response.get_json()["error"])
    assert waited < 5, "대기열이 가득 차면 기다리지 말고 바로 503을 돌려줘야 합니다"
    assert results == [200]


def test_waiting_too_long_answers_503():
    app, started, release = _blocking_app(max_waiting=4, wait_timeout_s=0.3)
    results = []
    first = _post_in_thread(app, results)
    assert started.wait(5)
    response = post_json(app.test_client(), {"prompt": "b"})
    release.set()
    first.join(10)
    assert response.status_code == 503 and results == [200]


def test_requests_are_serialized():
    active, overlap = [0], []
    lock = threading.Lock()

    def careful(prompt, **params):
        with lock:
            active[0] += 1
            overlap.append(active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return prompt

    app = create_app(careful)
    results = []
    threads = [_post_in_thread(app, results) for _ in range(6)]
    for thread in threads:
        thread.join(10)
    assert results == [200] * 6 and max(overlap) == 1, "생성은 한 번에 하나씩만 실행되어야 합니다"


def test_next_tokens_endpoint():
    def candidates(prompt, k):
        return [{"token": f"t{i}", "probability": 1 / (i + 2)} for i in range(k)]

    client = create_app(lambda p, **kw: p, next_token_fn=candidates).test_client()
    response = client.post("/api/next-tokens", json={"prompt": "이 영화", "k": 3})
    assert response.status_code == 200 and [c["token"] for c in response.get_json()["candidates"]] == ["t0", "t1", "t2"]
    for bad in ({"prompt": "a", "k": 0}, {"prompt": "a", "k": True}, {"prompt": "a", "k": 99}):
        response = client.post("/api/next-tokens", json=bad)
        assert response.status_code == 400 and response.get_json()["field"] == "k"
    assert client.post("/api/next-tokens", json={"k": 3}).get_json()["field"] == "prompt"
    assert create_app(lambda p, **kw: p).test_client().post("/api/next-tokens", json={"prompt": "a"}).status_code == 404


def test_validate_params_is_usable_without_flask():
    params = validate_params({"prompt": "이 영화", "top_p": 1})
    assert params["top_p"] == 1.0 and isinstance(params["top_p"], float)
    with pytest.raises(ParameterError) as info:
        validate_params({"prompt": "이 영화", "temperature": float("nan")})
    assert info.value.field == "temperature"


def test_presets_are_valid_requests():
    for key, preset in PRESETS.items():
        validate_params({"prompt": "a", **preset["values"]})


def test_server_defaults_are_safe():
    import argparse

    args = web_server.add_server_arguments(argparse.ArgumentParser()).parse_args([])
    assert (args.host, args.port, args.dev) == ("127.0.0.1", 9001, False)
    assert web_server.is_loopback("127.0.0.1") and web_server.is_loopback("localhost")
    assert not web_server.is_loopback("0.0.0.0")


def test_serve_uses_waitress_and_warns_on_public_host(monkeypatch, capsys):
    import waitress

    calls = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append(kw))
    monkeypatch.setattr(web_server, "check_port", lambda host, port: None)  # 9001 may be in use on this machine
    app = create_app(lambda p, **kw: p)
    web_server.serve(app)
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 9001
    assert "경고" not in capsys.readouterr().err
    web_server.serve(app, host="0.0.0.0", port=9100)
    assert calls[-1]["host"] == "0.0.0.0" and "경고" in capsys.readouterr().err


def test_development_server_never_debug(monkeypatch):
    app = create_app(lambda p, **kw: p)
    seen = {}
    monkeypatch.setattr(app, "run", lambda **kw: seen.update(kw))
    monkeypatch.setattr(web_server, "check_port", lambda host, port: None)
    web_server.serve(app, development=True)
    assert seen["debug"] is False and seen["use_reloader"] is False and not app.debug


def test_real_waitress_server_in_a_thread():
    app = create_app(lambda prompt, **p: prompt + "!")
    with web_server.BackgroundServer(app) as server:
        with urllib.request.urlopen(server.url + "/health", timeout=5) as response:
            assert json.load(response)["status"] == "ok"
        request = urllib.request.Request(server.url + "/api", data=json.dumps({"prompt": "이 영화"}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["text"] == "이 영화!"
        bad = urllib.request.Request(server.url + "/api", data=b'{"prompt": "a", "top_p": 2}',
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(bad, timeout=5)
        assert info.value.code == 400 and json.load(info.value)["field"] == "top_p"
