"""용도별 생성 프리셋 — 강의 전체(Step 3의 비교, Step 4의 리뷰 생성, Step 5 웹 데모의 기본값과 버튼)가 쓰는 단 하나의 정의.

프리셋은 ``model.generate``에 그대로 넘길 디코딩 옵션 묶음입니다. 값마다 왜 그 값인지(``reasons``)를 함께 적어 두었고,
근거가 된 측정은 Step 3(``python solutions/step3_solution.py``: top-k·top-p 스윕, 반복 벌점 표)과
안내서(README_stepwise_learning.md, Step 3)에 있습니다.

    from kogpt2_course.lm.presets import PRESETS, DEFAULT_PRESET, preset_values
    model.generate(input_ids, max_new_tokens=40, **preset_values("review"))

모든 프리셋은 웹 데모의 폼이 다루는 일곱 옵션(``do_sample``, ``num_beams``, ``temperature``, ``top_k``, ``top_p``,
``repetition_penalty``, ``no_repeat_ngram_size``)을 빠짐없이 정합니다. 쓰이지 않는 값은 "끔"으로 둡니다
(``top_k=0``, ``top_p=1.0``, ``temperature=1.0``): ``do_sample=False``이면 ``generate``는 온도·top-k·top-p를
쓰지 않기 때문입니다.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GENERATION_OPTIONS = ("do_sample", "num_beams", "temperature", "top_k", "top_p",
                      "repetition_penalty", "no_repeat_ngram_size")


@dataclass(frozen=True)
class GenerationPreset:
    """프리셋 하나: 화면에 보일 이름(``label``), 어디에 쓰는지(``use``), 값, 그리고 값마다의 이유."""

    key: str
    label: str
    use: str
    values: dict
    reasons: dict = field(default_factory=dict)

    def describe(self) -> str:
        """한 줄 요약: 쓰임과 값의 이유 (웹 버튼의 설명, Step 3의 표)."""
        return f"{self.use} " + " ".join(f"{name}={self.values[name]}: {why}" for name, why in self.reasons.items())


PRESETS: dict[str, GenerationPreset] = {p.key: p for p in [
    GenerationPreset(
        "greedy", "그리디 (항상 같은 결과)",
        "비교의 기준점. 무작위가 없어 같은 프롬프트에 늘 같은 글이 나옵니다.",
        dict(do_sample=False, num_beams=1, temperature=1.0, top_k=0, top_p=1.0,
             repetition_penalty=1.0, no_repeat_ngram_size=0),
        {"do_sample": "매 단계 가장 확률이 높은 토큰 하나. 길게 만들면 같은 구절로 되돌아가 반복합니다(Step 1)."},
    ),
    GenerationPreset(
        "review", "리뷰 생성",
        "영화 리뷰처럼 짧고 자연스러운 글. 강의의 기본값입니다(Step 4의 리뷰 생성, 웹 데모의 처음 값).",
        dict(do_sample=True, num_beams=1, temperature=0.8, top_k=50, top_p=0.92,
             repetition_penalty=1.2, no_repeat_ngram_size=3),
        {"temperature": "1보다 조금 낮춰 엉뚱한 토큰을 줄이되 샘플마다 다른 글이 나오게.",
         "top_k": "드문 토큰의 긴 꼬리를 잘라 깨진 낱말을 막습니다.",
         "top_p": "문맥이 확실할 때는 후보를 더 줄입니다(top-k 뒤에 적용).",
         "repetition_penalty": "CTRL 논문이 권한 1.2. 이미 나온 토큰의 로짓을 깎아 반복을 줄입니다 — '다', '.' 같은 "
                               "어미·문장부호도 함께 깎인다는 비용이 있습니다.",
         "no_repeat_ngram_size": "같은 3토큰 묶음을 다시 못 쓰게 해 되풀이 고리를 끊습니다. 대가: 사람이 쓴 40토큰 이상 "
                                 "NSMC 리뷰의 약 14%에도 반복 3-gram이 있습니다(2로 하면 약 36%)."},
    ),
    GenerationPreset(
        "dialogue", "대화 응답",
        "사용자의 말에 답하는 짧은 응답. 주제를 벗어나지 않는 것이 다양함보다 중요합니다. "
        "(대화용으로 미세 조정한 모델에서 의미가 있습니다 — 리뷰로 학습한 모델은 리뷰를 이어 씁니다.)",
        dict(do_sample=True, num_beams=1, temperature=0.7, top_k=50, top_p=0.9,
             repetition_penalty=1.2, no_repeat_ngram_size=3),
        {"temperature": "리뷰보다 낮춰 질문과 관계있는 흔한 표현을 고릅니다. 그래도 샘플링이라 같은 말에 늘 똑같이 답하지는 않습니다.",
         "top_p": "0.9: 확률이 낮은 꼬리 10%는 버립니다.",
         "repetition_penalty": "응답 안에서 같은 말을 되풀이하지 않게.",
         "no_repeat_ngram_size": "짧은 응답에서는 반복 3-gram 금지의 비용이 작습니다."},
    ),
    GenerationPreset(
        "factual", "사실에 가까운 설명",
        "설명문처럼 무작위로 지어내지 않아야 하는 글. 무작위성을 없애고 빔 서치로 전체 확률이 높은 문장을 고릅니다. "
        "주의: 디코딩은 모델이 모르는 사실을 알게 해 주지 못합니다 — 꾸며 낼 기회를 줄일 뿐입니다.",
        dict(do_sample=False, num_beams=3, temperature=1.0, top_k=0, top_p=1.0,
             repetition_penalty=1.0, no_repeat_ngram_size=3),
        {"do_sample": "끔: 드문 토큰을 우연히 뽑아 엉뚱한 내용을 만드는 일을 막습니다.",
         "num_beams": "후보 문장 3개를 키워 그리디보다 전체 로그 확률이 높은 문장을 찾습니다(근사).",
         "repetition_penalty": "1.0(끔): 설명에서는 주어·용어를 되풀이해야 하는데 반복 벌점은 그것까지 깎습니다.",
         "no_repeat_ngram_size": "빔 서치는 같은 문장을 되풀이하기 쉬워(Step 2) 3-gram 반복을 막습니다."},
    ),
    GenerationPreset(
        "creative", "창의적",
        "여러 번 눌러 서로 다른 글을 보고 싶을 때. 어색한 문장도 감수합니다.",
        dict(do_sample=True, num_beams=1, temperature=1.0, top_k=0, top_p=0.95,
             repetition_penalty=1.1, no_repeat_ngram_size=0),
        {"temperature": "1.0: 모델의 분포를 그대로. 더 올리면 번들 모델에서는 낱말이 깨집니다.",
         "top_k": "0(끔): 후보 수를 고정하지 않고 top-p만으로 꼬리를 자릅니다.",
         "top_p": "0.95: 꼬리 5%만 버립니다. Step 3 스윕에서 top-p 0.9–0.95 샘플의 토큰당 로그 확률(-4.8 ~ -5.1)이 "
                  "사람이 쓴 리뷰(-4.8)와 비슷했습니다.",
         "repetition_penalty": "약하게(1.1). 샘플링이 넓어 되풀이 고리에 잘 빠지지 않습니다.",
         "no_repeat_ngram_size": "0(끔): 2로 두면 '너무 좋았다.' 같은 흔한 낱말 묶음까지 두 번 못 써서 문장이 부자연스럽게 "
                                 "끝납니다(사람이 쓴 긴 리뷰의 약 36%가 반복 2-gram을 가짐)."},
    ),
]}

DEFAULT_PRESET = "review"


def preset_values(key: str = DEFAULT_PRESET) -> dict:
    """프리셋의 ``generate`` 옵션을 새 dict로 돌려줍니다 (바꿔도 원본은 그대로)."""
    if key not in PRESETS:
        raise KeyError(f"없는 프리셋입니다: {key!r} (있는 것: {', '.join(PRESETS)})")
    return dict(PRESETS[key].values)


def sampling_values(key: str = DEFAULT_PRESET) -> dict:
    """프리셋에서 실제로 쓰이는 옵션만: ``do_sample=False``이면 온도·top-k·top-p를 뺍니다 (경고 없이 ``generate``에 넘김)."""
    values = preset_values(key)
    if not values["do_sample"]:
        for name in ("temperature", "top_k", "top_p"):
            values.pop(name)
    return values
