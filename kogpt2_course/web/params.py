"""웹 데모의 생성 파라미터 검사 (ratsnlp의 ``/api`` 요청 형식).

클라이언트가 보낼 수 있는 항목마다 형식, 기본값, 허용 범위, 한국어 이름과 한 줄 설명을 여기 한 곳에 적습니다.
같은 설명이 ``POST /api``의 검사와 페이지의 슬라이더를 함께 만들므로, 화면과 서버가 서로 다를 수 없습니다.
기본값과 프리셋 버튼은 강의 전체가 쓰는 용도별 프리셋(:mod:`kogpt2_course.lm.presets`)에서 옵니다.

항목 이름은 ``model.generate``의 인자 이름 그대로입니다. 길이는 *새* 토큰 수(프롬프트 제외)이므로
``max_new_tokens`` / ``min_new_tokens``이고, ratsnlp의 ``/api`` 계약이 쓰던 ``max_length`` / ``min_length``도
같은 뜻의 옛 이름(별칭)으로 받습니다(둘을 함께 보내면 400). 문제가 있으면 항목 이름(클라이언트가 보낸 이름)과
한국어 설명을 담은 :class:`ParameterError`를 던지고, 웹 앱이 이를 HTTP 400으로 바꿉니다.

응답에는 실제로 쓰인 값만 돌려줍니다(:func:`applied_params`): 샘플링을 끄면 온도·top-k·top-p는 ``generate``가
쓰지 않으므로 빠집니다.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from kogpt2_course.lm.presets import DEFAULT_PRESET, PRESETS as GENERATION_PRESETS

DEFAULT_MAX_NEW_TOKENS_CAP = 128
DEFAULT_MAX_PROMPT_CHARS = 300
DEFAULT_MAX_BODY_BYTES = 16 * 1024
MAX_NUM_BEAMS = 4
BODY_FIELD = "body"  # the name used for problems with the request body as a whole


class ParameterError(ValueError):
    """잘못된 요청 항목. ``field``는 항목 이름, ``message``는 한국어 설명입니다."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = f"{field}: {message}"


@dataclass(frozen=True)
class ParamSpec:
    """생성 파라미터 하나: 형식, 기본값, 허용 범위, 화면에 보일 한국어 이름과 설명."""

    name: str
    kind: str  # "int", "float" or "bool"
    default: Any
    label: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    step: float = 1
    slider_min: float | None = None  # where the slider starts when ``minimum`` is excluded

    def range_text(self) -> str:
        if self.kind == "bool":
            return "true 또는 false"
        low = f"{_fmt(self.minimum)} 초과" if self.exclusive_minimum else f"{_fmt(self.minimum)} 이상"
        return f"{low} {_fmt(self.maximum)} 이하"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["range_text"] = self.range_text()
        data["slider_min"] = self.minimum if self.slider_min is None else self.slider_min
        return data


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def param_specs(max_new_tokens_cap: int = DEFAULT_MAX_NEW_TOKENS_CAP) -> list[ParamSpec]:
    """``POST /api``의 ``prompt`` 밖의 항목들, 페이지에 보이는 순서대로. 기본값은 기본 프리셋(리뷰 생성)의 값입니다."""
    cap = int(max_new_tokens_cap)
    default = GENERATION_PRESETS[DEFAULT_PRESET].values
    return [
        ParamSpec("do_sample", "bool", default["do_sample"], "샘플링 사용",
                  "켜면 다음 토큰을 확률에 따라 뽑습니다(온도·top-k·top-p는 켰을 때만 쓰입니다). 끄면 무작위 없이 고릅니다: "
                  "빔 개수가 1이면 그리디(매 단계 가장 확률이 높은 토큰), 2 이상이면 빔 서치(로그 확률 합이 높은 후보 문장 여러 개를 키움)."),
        ParamSpec("max_new_tokens", "int", min(40, cap), "최대 새 토큰 수",
                  "프롬프트 뒤에 새로 만들 토큰 수의 상한입니다(옛 이름 max_length도 받습니다). 길수록 오래 걸립니다.", 1, cap),
        ParamSpec("min_new_tokens", "int", min(10, cap), "최소 새 토큰 수",
                  "이만큼 만들기 전에는 문장 끝(</s>)이 나오지 않게 막습니다(옛 이름 min_length도 받습니다).", 0, cap),
        ParamSpec("temperature", "float", default["temperature"], "온도(temperature)",
                  "로짓을 온도로 나눕니다. 1보다 작으면 확률 높은 토큰에 더 몰리고, 크면 분포가 평평해져 엉뚱한 토큰도 나옵니다.",
                  0, 5.0, exclusive_minimum=True, step=0.05, slider_min=0.05),
        ParamSpec("top_k", "int", default["top_k"], "top-k",
                  "확률이 높은 k개 토큰 중에서만 뽑습니다. 0이면 끔(제한 없음).", 0, 500),
        ParamSpec("top_p", "float", default["top_p"], "top-p (누적 확률)",
                  "확률을 높은 순으로 더해 p에 이를 때까지의 토큰 중에서만 뽑습니다(top-k 뒤에 적용). 1이면 끔(제한 없음).",
                  0, 1.0, exclusive_minimum=True, step=0.01, slider_min=0.01),
        ParamSpec("repetition_penalty", "float", default["repetition_penalty"], "반복 벌점",
                  "프롬프트를 포함해 이미 나온 토큰의 로짓을 토큰 종류마다 한 번, 양수면 나누고 음수면 곱합니다. 효과는 로짓의 크기에 "
                  "따라 다르고 어미·조사도 깎입니다. 1이면 끔, 1보다 작으면 거꾸로 반복을 부추깁니다.",
                  0.5, 3.0, step=0.05),
        ParamSpec("no_repeat_ngram_size", "int", default["no_repeat_ngram_size"], "n-gram 반복 금지",
                  "같은 n개 토큰 묶음(프롬프트 포함)이 두 번 나오지 않게 합니다. 0이면 끔. 1·2처럼 작으면 '너무 좋았다.' 같은 "
                  "흔한 낱말 묶음까지 다시 못 써서 문장이 어색해집니다.", 0, 10),
        ParamSpec("num_beams", "int", default["num_beams"], "빔 개수",
                  "샘플링을 끄고 2 이상으로 두면 빔 서치: 후보 문장 여러 개를 키워 토큰당 평균 로그 확률이 높은 것을 고릅니다"
                  "(근사, 흔하고 밋밋한 문장으로 쏠림). 1이면 끔. 클수록 느립니다.",
                  1, MAX_NUM_BEAMS),
    ]


# ratsnlp의 ``/api`` 요청이 쓰던 옛 이름 -> 지금 이름 (같은 뜻: 새 토큰 수)
ALIASES = {"max_length": "max_new_tokens", "min_length": "min_new_tokens"}
SAMPLING_ONLY = ("temperature", "top_k", "top_p")  # do_sample=False이면 generate가 쓰지 않는 값


# 페이지의 프리셋 버튼: 강의의 용도별 프리셋 그대로 (이름, 값, 버튼에 마우스를 올리면 보이는 이유)
PRESETS: dict[str, dict] = {key: {"label": preset.label, "values": dict(preset.values), "reason": preset.describe()}
                            for key, preset in GENERATION_PRESETS.items()}


def _shown(value: Any) -> str:
    """오류 문구에 넣을, 받은 값의 짧은 JSON 같은 표현."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "숫자"
    if isinstance(value, str):
        return "문자열"
    if isinstance(value, list):
        return "배열"
    if isinstance(value, dict):
        return "객체"
    return type(value).__name__


def _check_value(spec: ParamSpec, value: Any, name: str | None = None):
    name = name or spec.name
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ParameterError(name, f"true 또는 false여야 합니다 (받은 값: {_shown(value)}, 형식: {_type_name(value)}).")
        return value
    # bool is a subclass of int in Python: true/false is never a number here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "정수" if spec.kind == "int" else "숫자"
        raise ParameterError(name, f"{kind}여야 합니다 (받은 값: {_shown(value)}, 형식: {_type_name(value)}).")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(name, f"유한한 숫자여야 합니다 (NaN/Infinity는 쓸 수 없습니다, 받은 값: {value}).")
    if spec.kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise ParameterError(name, f"정수여야 합니다 (받은 값: {_shown(value)}).")
            value = int(value)
    else:
        value = float(value)
    too_low = value <= spec.minimum if spec.exclusive_minimum else value < spec.minimum
    if too_low or value > spec.maximum:
        raise ParameterError(name, f"{spec.range_text()}여야 합니다 (받은 값: {_shown(value)}).")
    return value


def validate_prompt(value: Any, max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS) -> str:
    if value is None:
        raise ParameterError("prompt", "프롬프트를 입력하세요 (필수 항목입니다).")
    if not isinstance(value, str):
        raise ParameterError("prompt", f"문자열이어야 합니다 (받은 형식: {_type_name(value)}).")
    if not value.strip():
        raise ParameterError("prompt", "빈 프롬프트로는 생성할 수 없습니다. 문장을 입력하세요.")
    if len(value) > max_prompt_chars:
        raise ParameterError("prompt", f"최대 {max_prompt_chars}자까지 입력할 수 있습니다 (받은 길이: {len(value)}자).")
    bad = next((ch for ch in value if unicodedata.category(ch) in {"Cc", "Cs"} and ch not in "\n\t\r"), None)
    if bad is not None:
        raise ParameterError("prompt", f"제어 문자(U+{ord(bad):04X})는 쓸 수 없습니다.")
    return value


def validate_params(data: Any, max_new_tokens_cap: int = DEFAULT_MAX_NEW_TOKENS_CAP,
                    max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS, extra: tuple[str, ...] = ()) -> dict:
    """해석한 JSON 요청을 검사해 ``prompt``와 모든 파라미터(빠진 것은 기본값, 옛 이름은 지금 이름으로)를 돌려줍니다.

    ``extra``: 이 검사가 모르는 척 넘어갈 항목 이름들(부르는 쪽이 따로 검사하는 것, 예: ``control``). 결과에는 없습니다.
    """
    if not isinstance(data, Mapping):
        raise ParameterError(BODY_FIELD, f"JSON 객체({{...}})여야 합니다 (받은 형식: {_type_name(data)}).")
    specs = {spec.name: spec for spec in param_specs(max_new_tokens_cap)}
    unknown = [key for key in data if key not in ("prompt", *extra) and key not in specs and key not in ALIASES]
    if unknown:
        allowed = ", ".join(["prompt", *specs, *ALIASES, *extra])
        raise ParameterError(str(unknown[0])[:40], f"알 수 없는 항목입니다. 쓸 수 있는 항목: {allowed}.")
    sent = {}  # canonical name -> the name the client used
    for key in data:
        if key in ALIASES:
            if ALIASES[key] in data:
                raise ParameterError(key, f"{ALIASES[key]}의 옛 이름입니다. 둘 중 하나만 보내세요.")
            sent[ALIASES[key]] = key
        elif key in specs:
            sent[key] = key
    result = {"prompt": validate_prompt(data.get("prompt"), max_prompt_chars)}
    for name, spec in specs.items():
        result[name] = _check_value(spec, data[sent[name]], sent[name]) if name in sent else spec.default
    if "min_new_tokens" not in sent:  # the default must not clash with a small max_new_tokens the client chose
        result["min_new_tokens"] = min(result["min_new_tokens"], result["max_new_tokens"])
    if result["min_new_tokens"] > result["max_new_tokens"]:
        shown_min = sent.get("min_new_tokens", "min_new_tokens")
        shown_max = sent.get("max_new_tokens", "max_new_tokens")
        raise ParameterError(shown_min, f"{shown_max}({result['max_new_tokens']}) 이하여야 합니다 "
                                        f"(받은 값: {result['min_new_tokens']}).")
    return result


def applied_params(params: Mapping) -> dict:
    """``generate``가 실제로 쓰는 값만: 샘플링을 끄면 온도·top-k·top-p를 뺍니다 (응답에 돌려주는 값, ``generate``의 인자)."""
    return {name: value for name, value in params.items()
            if name != "prompt" and (params["do_sample"] or name not in SAMPLING_ONLY)}


def parse_json_body(raw: bytes, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Any:
    """요청 본문을 UTF-8 JSON으로 해석합니다. 문제가 있으면 ``body`` 항목의 ParameterError."""
    if len(raw) > max_body_bytes:
        raise ParameterError(BODY_FIELD, f"요청 본문이 너무 큽니다 (최대 {max_body_bytes:,}바이트).")
    if not raw.strip():
        raise ParameterError(BODY_FIELD, "요청 본문이 비어 있습니다. JSON 객체를 보내세요.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError(BODY_FIELD, "UTF-8로 인코딩된 JSON이어야 합니다.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(BODY_FIELD, f"JSON 형식이 잘못되었습니다 ({exc.lineno}번째 줄 {exc.colno}번째 글자 근처).") from None
    except (ValueError, RecursionError):  # e.g. an integer with thousands of digits, deep nesting
        raise ParameterError(BODY_FIELD, "JSON을 해석할 수 없습니다 (너무 큰 숫자나 너무 깊은 중첩).") from None


def check_prompt_tokens(num_prompt_tokens: int, max_new_tokens: int, n_positions: int) -> None:
    """프롬프트 토큰 + 새 토큰이 모델의 문맥 길이(n_positions)를 넘으면 ``prompt`` 항목의 ParameterError."""
    if num_prompt_tokens + max_new_tokens > n_positions:
        room = max(n_positions - max_new_tokens, 0)
        raise ParameterError("prompt", f"프롬프트가 너무 깁니다: 토큰 {num_prompt_tokens}개 + 생성 {max_new_tokens}개가 "
                                       f"모델의 문맥 길이 {n_positions}을(를) 넘습니다 (프롬프트는 토큰 {room}개까지).")


def validate_choice(data: Mapping, field: str, choices, default: str) -> str:
    """``data[field]``가 ``choices`` 중 하나인지 (없으면 ``default``). 아니면 ``field`` 항목의 ParameterError."""
    value = data.get(field, default)
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(field, f"{', '.join(choices)} 중 하나여야 합니다 (받은 값: {_shown(value)}).")
    return value
