"""웹 데모의 생성 엔진: 여러 요청을 한 번에 만드는 배치 생성, 토큰이 나오는 대로 보내는 스트리밍, Step 4의 제어 코드.

    engine = GenerationEngine(model, tokenizer, content_filter=ContentFilter.from_file())
    ids, shown_from = engine.prompt_ids("이 영화", control="긍정")     # [</s>, 긍정, 이, 영화], 1
    engine.generate([(ids, shown_from)], applied_params(params))      # ["이 영화 ..."]
    for piece in engine.stream(ids, shown_from, options, stop_event, timeout_s): ...

- **배치**: 같은 디코딩 설정의 요청들을 왼쪽 패딩(``padding_side="left"``, 진짜 ``<pad>`` id)으로 한 텐서에 모아
  ``generate``를 한 번 부릅니다. GPT-2는 다음 토큰을 맨 오른쪽에서 이어 쓰므로 패딩은 왼쪽에 두고, 어텐션 마스크가
  패딩을 가립니다(위치 번호도 마스크에서 셉니다).
- **스트리밍**: transformers의 ``TextIteratorStreamer``(를 조금 고친 :class:`ContinuationStreamer`)가 생성 스레드에서 받은 토큰을 글자로 풀어 큐에 넣고, 요청을
  처리하는 스레드가 그것을 꺼내 보냅니다. 요청에 묶인 ``threading.Event``를 보는 ``StoppingCriteria``가 있어
  클라이언트가 떠나거나 [멈춤]을 누르면 다음 토큰에서 멈추고, 큐 대기에는 시간 제한(``timeout``)이 있어 생성
  스레드가 죽어도 멈춰 서지 않습니다. 끝나면 언제나 생성 스레드를 ``join``합니다.
- **제어 코드**: Step 4의 학습 글은 ``</s>긍정 <리뷰></s>``입니다. 같은 시작(:func:`sentiment_prompt_ids`) 뒤에
  프롬프트를 붙입니다.
"""

from __future__ import annotations

import threading
from typing import Iterator, Sequence

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from kogpt2_course.lm.special_tokens import pad_token_id_of
from kogpt2_course.nlpbook.generation.dataset import SENTIMENT_PREFIXES
from kogpt2_course.nlpbook.generation.inference import sentiment_prompt_ids
from kogpt2_course.web.params import check_prompt_tokens

JOIN_GRACE_S = 10.0  # how long the reader waits for a stopped generation thread to finish its current step
NO_CONTROL = "없음"
CONTROLS = (NO_CONTROL, *SENTIMENT_PREFIXES.values())  # 없음, 긍정, 부정


class StopOnEvent(StoppingCriteria):
    """``event``가 켜지면 모든 줄의 생성을 멈춥니다 (요청마다 하나: 연결 끊김, [멈춤] 버튼)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class ContinuationStreamer(TextIteratorStreamer):
    """``TextIteratorStreamer``인데, 새 토큰을 보이는 프롬프트와 **함께** 디코딩해서 새로 생긴 글만 내놓습니다.

    sentencepiece식 디코더는 디코딩하는 글의 맨 앞 공백을 지우므로, 새 토큰만 디코딩하면 첫 낱말(``▁보고``)의
    공백이 사라집니다 (:func:`~kogpt2_course.lm.decoding.continuation_text`와 같은 이유). 줄바꿈에서 캐시를 비울
    때도 마지막 토큰 하나를 문맥으로 남겨, 다음 낱말의 공백이 살아 있게 합니다. 조각을 모두 이으면 한 번에 디코딩한
    새 글과 같습니다.
    """

    def __init__(self, tokenizer, context_ids: Sequence[int], **kwargs):
        super().__init__(tokenizer, skip_prompt=True, **kwargs)
        self.context_ids = [int(i) for i in context_ids]

    def _start_from(self, ids: list[int]) -> None:
        self.token_cache = list(ids)
        self.print_len = len(self.tokenizer.decode(self.token_cache, **self.decode_kwargs))

    def put(self, value):
        if self.next_tokens_are_prompt:  # the prompt itself: not shown again, kept as decoding context
            self.next_tokens_are_prompt = False
            self._start_from(self.context_ids)
            return
        last = value.reshape(-1).tolist()[-1:]
        super().put(value)
        if not self.token_cache:  # flushed after a newline: keep one token of context
            self._start_from(last)


class GenerationEngine:
    """모델 하나와 토크나이저: 제어 코드를 붙인 입력, 배치 생성, 스트리밍. 금지어는 ``bad_words_ids``로 막습니다."""

    def __init__(self, model, tokenizer, *, content_filter=None, label: str = ""):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.label = label
        self.pad_token_id = pad_token_id_of(tokenizer, model.config)
        self.n_positions = model.config.n_positions
        self._blocked = content_filter.generate_kwargs(tokenizer) if content_filter is not None else {}

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def prompt_ids(self, prompt: str, control: str = NO_CONTROL, max_new_tokens: int = 0) -> tuple[list[int], int]:
        """(모델에 넣을 id, 화면에 보일 부분이 시작하는 위치). 제어 코드가 있으면 ``[</s>, 긍정] + 프롬프트``.

        프롬프트와 새 토큰이 문맥 길이를 넘으면 ``prompt`` 항목의 ParameterError.
        """
        if control not in CONTROLS:
            raise ValueError(f"control은 {', '.join(CONTROLS)} 중 하나여야 합니다: {control!r}")
        if control == NO_CONTROL:
            ids, shown_from = self.tokenizer.encode(prompt), 0
        else:
            prefix = sentiment_prompt_ids(self.tokenizer, control)[0].tolist()
            ids, shown_from = prefix + self.tokenizer.encode(" " + prompt), len(prefix)
        check_prompt_tokens(len(ids), max_new_tokens, self.n_positions)
        return ids, shown_from

    def model_input(self, ids: Sequence[int]) -> str:
        """모델이 실제로 받은 글 (특수 토큰 포함, 예: ``</s>긍정 이 영화``)."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def _options(self, options: dict) -> dict:
        return {**options, **self._blocked, "pad_token_id": self.pad_token_id}

    def generate(self, requests: Sequence[tuple[list[int], int]], options: dict) -> list[str]:
        """같은 설정(``options``: ``generate``의 인자)의 요청들을 왼쪽 패딩으로 한 번에 생성.

        요청마다 (id, 보일 부분의 시작) → 보일 부분부터의 글(특수 토큰 제외)을 같은 순서로 돌려줍니다.
        """
        batch = self.tokenizer.pad({"input_ids": [list(ids) for ids, _ in requests]}, padding=True,
                                   padding_side="left", return_tensors="pt").to(self.device)
        with torch.no_grad():
            output = self.model.generate(**batch, **self._options(options))
        width = batch["input_ids"].shape[1]
        texts = []
        for row, (ids, shown_from) in zip(output, requests):
            start = width - len(ids) + shown_from  # skip the left padding and the control prefix
            texts.append(self.tokenizer.decode(row[start:], skip_special_tokens=True).strip())
        return texts

    def stream(self, ids: list[int], shown_from: int, options: dict, stop: threading.Event, timeout_s: float,
               result: dict | None = None) -> Iterator[str]:
        """새 글 조각을 나오는 대로 내놓습니다. 다 쓰거나 ``stop``이 켜지면 끝나고, 조각 사이가 ``timeout_s``초를
        넘으면 ``queue.Empty``, 생성 스레드의 오류는 그대로 올립니다. 어느 경우든 생성 스레드를 멈추고 기다립니다.

        끝까지 돌면 ``result["text"]``에 보일 부분부터의 전체 글(한 번에 디코딩한 것)을 넣습니다. 조각을 모두 이으면
        그 글에서 프롬프트를 뺀 나머지와 같습니다 (:class:`ContinuationStreamer`)."""
        result = {} if result is None else result
        streamer = ContinuationStreamer(self.tokenizer, ids[shown_from:], timeout=timeout_s, skip_special_tokens=True)
        input_ids = torch.tensor([list(ids)], device=self.device)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.no_grad():
                    output = self.model.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                                                 streamer=streamer,
                                                 stopping_criteria=StoppingCriteriaList([StopOnEvent(stop)]),
                                                 **self._options(options))
                result["text"] = self.tokenizer.decode(output[0, shown_from:], skip_special_tokens=True).strip()
            except BaseException as exc:  # handed to the reading thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="web-stream-generate", daemon=True)
        thread.start()
        finished = False
        try:
            for piece in streamer:
                if piece:
                    yield piece
            finished = True
        finally:
            if not finished:  # the reader left early or timed out: stop generating at the next token
                stop.set()
            thread.join(max(timeout_s, JOIN_GRACE_S))
        if errors:
            raise errors[0]
