"""Load test of the Step 5 web demo against a real waitress server on 127.0.0.1.

Measured in one run on the same model and inference_fn (the Step 5 solution's):
  1. the web layer's overhead: median latency of one request over HTTP (one client at a time)
     vs calling ``inference_fn`` directly with the same parameters;
  2. the classroom load: --clients concurrent clients × --requests each, every request making
     exactly --new_tokens tokens (min_length = max_length) — p50/p95 latency, requests/s, non-2xx;
  3. the overload guard: a short burst against a server whose waiting line holds only
     --small_queue requests — the extra requests must get 503 at once (not hang).
Bounded in count and time (--time_limit seconds for phase 2; clients stop starting requests after it).

    python bench/bench_web_load.py                    # bundled model, 16 × 20 requests of 32 tokens
    python bench/bench_web_load.py --clients 4 --requests 5
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kogpt2_course.cli.arguments import KoreanArgumentParser  # noqa: E402
from kogpt2_course.grading.script_runner import run_main  # noqa: E402
from kogpt2_course.lm.loading import load_model_and_tokenizer  # noqa: E402
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name  # noqa: E402
from kogpt2_course.web.app import create_app  # noqa: E402
from kogpt2_course.web.server import BackgroundServer  # noqa: E402
from solutions.step5_solution import make_inference_fn  # noqa: E402

PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서 본", "정말 재미있는", "감독의 다음 작품은"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def post(url: str, body: dict, timeout_s: float) -> tuple[int, float]:
    request = urllib.request.Request(url + "/api", data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        status = 0  # no answer at all
    return status, time.perf_counter() - started


def run_clients(url: str, clients: int, requests: int, params: dict, time_limit_s: float,
                timeout_s: float) -> tuple[list[tuple[int, float]], float]:
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + time_limit_s
    start_together = threading.Barrier(clients)

    def client(number: int) -> None:
        start_together.wait()
        for i in range(requests):
            if time.perf_counter() > deadline:
                return
            body = {"prompt": PROMPTS[(number + i) % len(PROMPTS)], **params}
            outcome = post(url, body, timeout_s)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def main(argv=None) -> None:
    parser = KoreanArgumentParser(description="Step 5 웹 데모 부하 측정 (127.0.0.1의 실제 waitress 서버)")
    add_model_argument(parser)
    parser.add_argument("--clients", type=int, default=16, help="동시 접속 클라이언트 수")
    parser.add_argument("--requests", type=int, default=20, help="클라이언트마다 보낼 요청 수")
    parser.add_argument("--new_tokens", type=int, default=32, help="요청마다 새로 만들 토큰 수 (정확히 이만큼)")
    parser.add_argument("--overhead_repeats", type=int, default=20, help="오버헤드 측정 반복 수")
    parser.add_argument("--time_limit", type=float, default=300, help="부하 단계의 시간 상한(초)")
    parser.add_argument("--small_queue", type=int, default=2, help="과부하 단계 서버의 대기열 크기")
    parser.add_argument("--torch_threads", type=int, default=1, help="PyTorch CPU 스레드 수")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.torch_threads)
    model_name = resolve_model_name(args.model or "bundled")
    model, tokenizer = load_model_and_tokenizer(model_name)
    inference_fn = make_inference_fn(model, tokenizer, torch.device("cpu"))
    params = dict(do_sample=True, top_k=50, top_p=0.92, temperature=0.9, repetition_penalty=1.2,
                  no_repeat_ngram_size=3, num_beams=1, min_length=args.new_tokens, max_length=args.new_tokens)
    request_timeout = args.time_limit + 60
    print(f"모델 {model_name}, torch 스레드 {torch.get_num_threads()}, 요청마다 새 토큰 {args.new_tokens}개")

    # 1. web-layer overhead: direct calls and one-at-a-time HTTP requests, interleaved
    queue_size = args.clients + 4
    app = create_app(inference_fn, model_name=model_name, max_new_tokens_cap=max(args.new_tokens, 128),
                     max_waiting=queue_size, wait_timeout_s=request_timeout)
    with BackgroundServer(app, threads=args.clients + 2) as server:
        for prompt in PROMPTS[:2]:  # warm-up
            inference_fn(prompt, **params)
            post(server.url, {"prompt": prompt, **params}, request_timeout)
        direct, over_http = [], []
        for i in range(args.overhead_repeats):
            prompt = PROMPTS[i % len(PROMPTS)]
            started = time.perf_counter()
            inference_fn(prompt, **params)
            direct.append(time.perf_counter() - started)
            status, latency = post(server.url, {"prompt": prompt, **params}, request_timeout)
            assert status == 200, f"HTTP {status}"
            over_http.append(latency)
        d, h = statistics.median(direct), statistics.median(over_http)
        print(f"\n[1] 웹 계층 오버헤드 ({args.overhead_repeats}회씩 번갈아 측정, 중앙값)")
        print(f"    inference_fn 직접 호출 {d * 1000:.1f} ms · HTTP 요청 1개 {h * 1000:.1f} ms · "
              f"비율 {h / d:.3f} (차이 {(h - d) * 1000:+.1f} ms)")

        # 2. classroom load
        results, wall = run_clients(server.url, args.clients, args.requests, params, args.time_limit,
                                    request_timeout)
    latencies = [latency for status, latency in results if 200 <= status < 300]
    statuses = Counter(status for status, _ in results)
    non_2xx = sum(count for status, count in statuses.items() if not 200 <= status < 300)
    planned = args.clients * args.requests
    print(f"\n[2] 부하: 동시 {args.clients}명 × {args.requests}요청 (계획 {planned}개, 보낸 요청 {len(results)}개, "
          f"대기열 {queue_size})")
    if latencies:
        print(f"    지연 p50 {percentile(latencies, 50):.2f} s · p95 {percentile(latencies, 95):.2f} s · "
              f"최대 {max(latencies):.2f} s")
    print(f"    처리량 {len(results) / wall:.2f} 요청/s ({len(results) * args.new_tokens / wall:.0f} 새 토큰/s), "
          f"걸린 시간 {wall:.1f} s")
    print(f"    2xx 아닌 응답 {non_2xx}개 {dict(statuses)}"
          + ("" if len(results) == planned else f" — 시간 상한 {args.time_limit:g}s로 일부만 보냄"))

    # 3. overload guard: a tiny waiting line, more clients than it holds
    small = create_app(inference_fn, model_name=model_name, max_new_tokens_cap=max(args.new_tokens, 128),
                       max_waiting=args.small_queue, wait_timeout_s=request_timeout)
    with BackgroundServer(small, threads=args.clients + 2) as server:
        burst, burst_wall = run_clients(server.url, args.clients, 1, params, args.time_limit, request_timeout)
    burst_status = Counter(status for status, _ in burst)
    rejected = [latency for status, latency in burst if status == 503]
    print(f"\n[3] 과부하: 대기열 {args.small_queue}개 서버에 동시 {args.clients}요청 → {dict(burst_status)}"
          + (f", 503 응답 최대 {max(rejected) * 1000:.0f} ms 만에 (기다리지 않음)" if rejected else "")
          + f", 전체 {burst_wall:.1f} s")


if __name__ == "__main__":
    run_main(main)
