"""같은 설정의 동시 요청을 묶어 한 번에 생성하기 (교실 한 반이 동시에 누를 때의 처리량).

작업 스레드 하나가 대기열 맨 앞 요청의 설정(``key``)과 같은 설정인 요청을 ``max_batch``개까지 모아
``run_batch(key, payloads)``를 한 번 부릅니다. 일부러 기다리지 않습니다: 한가할 때 온 요청은 바로 혼자 돌고, 그동안
쌓인 요청이 다음 묶음이 됩니다. 대기열이 가득 차면 기다리게 하지 않고 :class:`Overloaded`(HTTP 503),
``timeout_s``초 안에 차례가 오지 않아도 503입니다. 생성 자체는 :class:`~kogpt2_course.web.app.GenerationGate`의
차례를 받아 돌므로 스트리밍과 번갈아 씁니다.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Callable, Hashable, Sequence


class Overloaded(Exception):
    """대기열이 가득 찼거나 정한 시간 안에 차례가 오지 않음 (HTTP 503)."""


class _Job:
    __slots__ = ("key", "payload", "done", "result", "error")

    def __init__(self, key: Hashable, payload: Any):
        self.key, self.payload = key, payload
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class Batcher:
    """``submit(key, payload)``는 같은 ``key``의 다른 요청과 묶여 계산된 결과를 돌려줍니다 (스레드 안전)."""

    def __init__(self, run_batch: Callable[[Hashable, Sequence[Any]], Sequence[Any]], *, max_batch: int = 32,
                 max_waiting: int = 32, timeout_s: float = 60.0, turn: Callable | None = None):
        if max_batch < 1 or max_waiting < 0 or timeout_s <= 0:
            raise ValueError("max_batch >= 1, max_waiting >= 0, timeout_s > 0 이어야 합니다")
        self.run_batch = run_batch
        self.max_batch, self.max_waiting, self.timeout_s = max_batch, max_waiting, timeout_s
        self._turn = turn  # context manager factory taken around each batch (the app's generation gate)
        self._pending: list[_Job] = []
        self._running = 0
        self._cond = threading.Condition()
        self.batch_sizes: Counter = Counter()  # batch size -> how many batches of that size ran (/health, benchmark)
        threading.Thread(target=self._work, name="web-batcher", daemon=True).start()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._pending)

    @property
    def running(self) -> int:
        """지금 생성 중인 묶음의 요청 수 (없으면 0)."""
        with self._cond:
            return self._running

    def submit(self, key: Hashable, payload: Any) -> Any:
        job = _Job(key, payload)
        with self._cond:
            if len(self._pending) >= self.max_waiting + (0 if self._running else 1):
                raise Overloaded(f"대기열이 가득 찼습니다 (최대 {self.max_waiting}명 대기)")
            self._pending.append(job)
            self._cond.notify()
        if not job.done.wait(self.timeout_s):
            with self._cond:
                if job in self._pending:  # still waiting (not running): give up its place
                    self._pending.remove(job)
                    raise Overloaded(f"{self.timeout_s:g}초를 기다려도 차례가 오지 않았습니다")
            job.done.wait()  # already running: its generation is bounded by max_new_tokens
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self) -> list[_Job]:
        with self._cond:
            while not self._pending:
                self._cond.wait()
            key = self._pending[0].key
            batch = [job for job in self._pending if job.key == key][:self.max_batch]
            for job in batch:
                self._pending.remove(job)
            self._running = len(batch)
            return batch

    def _work(self) -> None:
        while True:
            batch = self._take()
            try:
                if self._turn is None:
                    results = self.run_batch(batch[0].key, [job.payload for job in batch])
                else:
                    with self._turn():
                        results = self.run_batch(batch[0].key, [job.payload for job in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"run_batch가 {len(batch)}개가 아닌 {len(results)}개를 돌려주었습니다")
                for job, result in zip(batch, results):
                    job.result = result
            except BaseException as exc:  # every waiting request gets the error (ParameterError -> 400, ...)
                for job in batch:
                    job.error = exc
            with self._cond:
                self._running = 0
                self.batch_sizes[len(batch)] += 1
            for job in batch:
                job.done.set()
