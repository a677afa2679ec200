"""Load test of the Step 5 web demo against a real waitress server on 127.0.0.1.

Measured in one run on the same model and inference_fn (the Step 5 solution's):
  1. the web layer's overhead: median latency of one request over HTTP (one client at a time)
     vs calling ``inference_fn`` directly with the same parameters;
  2. the classroom load, side by side: --clients concurrent clients × --requests each, every request
     making exactly --new_tokens tokens (min_new_tokens = max_new_tokens), against the one-at-a-time
     server (``create_app(inference_fn)``: a lock) and the batching one (``engine=GenerationEngine``:
     compatible requests generated together) — p50/p95 latency, requests/s, non-2xx, batch sizes;
  3. live tokens: one client at a time, time to the first streamed token vs to the full reply (p50);
  4. the vote store under --clients concurrent voters (each: an A/B pair, then a vote; --votes each):
     rows expected = rows stored;
  5. the overload guard: a short burst against a batching server whose waiting line holds only
     --small_queue requests — the extra requests must get 503 at once (not hang).
Bounded in count and time (--time_limit seconds for each load phase; clients stop starting requests after it).

    python bench/bench_web_load.py                    # bundled model, 30 × 10 requests of 32 tokens
    python bench/bench_web_load.py --clients 4 --requests 5
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
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
from kogpt2_course.web.engine import GenerationEngine  # noqa: E402
from kogpt2_course.web.server import BackgroundServer  # noqa: E402
from kogpt2_course.web.votes import VoteStore  # noqa: E402
from solutions.step5_solution import make_inference_fn  # noqa: E402

PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서 본", "정말 재미있는", "감독의 다음 작품은"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def post(url: str, body: dict, timeout_s: float, path: str = "/api") -> tuple[int, float, dict | None]:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    payload = None
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            payload = json.loads(response.read())
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        status = 0  # no answer at all
    return status, time.perf_counter() - started, payload


def stream_times(url: str, body: dict, timeout_s: float) -> tuple[float, float, str]:
    """(seconds to the first token event, seconds to the final event, the final event's name) of /api/stream."""
    request = urllib.request.Request(url + "/api/stream", data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    first = None
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        for line in response:
            if line.startswith(b"event: token") and first is None:
                first = time.perf_counter() - started
            elif line.startswith(b"event: done") or line.startswith(b"event: error"):
                return first or float("nan"), time.perf_counter() - started, line[7:].decode().strip()
    return first or float("nan"), time.perf_counter() - started, "끊김"


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
            outcome = post(url, body, timeout_s)[:2]
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def report_load(title: str, results: list[tuple[int, float]], wall: float, planned: int, new_tokens: int,
                time_limit: float) -> float:
    """Print one server's load figures; returns its requests/s."""
    latencies = [latency for status, latency in results if 200 <= status < 300]
    statuses = Counter(status for status, _ in results)
    non_2xx = sum(count for status, count in statuses.items() if not 200 <= status < 300)
    rate = len(results) / wall
    print(f"    {title}")
    if latencies:
        print(f"      지연 p50 {percentile(latencies, 50):.2f} s · p95 {percentile(latencies, 95):.2f} s · "
              f"최대 {max(latencies):.2f} s")
    print(f"      처리량 {rate:.2f} 요청/s ({len(results) * new_tokens / wall:.0f} 새 토큰/s), 걸린 시간 {wall:.1f} s")
    print(f"      2xx 아닌 응답 {non_2xx}개 {dict(statuses)}"
          + ("" if len(results) == planned else f" — 시간 상한 {time_limit:g}s로 {planned}개 중 {len(results)}개만 보냄"))
    return rate


def vote_storm(url: str, clients: int, votes_each: int, timeout_s: float) -> tuple[int, int, Counter]:
    """--clients voters at once, each making an A/B pair and voting on it ``votes_each`` times:
    (votes accepted, requests that failed, failed statuses)."""
    lock = threading.Lock()
    accepted, failures = [0], Counter()
    start_together = threading.Barrier(clients)
    sides = {"a": {"do_sample": False, "max_new_tokens": 8}, "b": {"do_sample": True, "max_new_tokens": 8}}

    def voter(number: int) -> None:
        start_together.wait()
        for i in range(votes_each):
            status, _, pair = post(url, {"prompt": PROMPTS[(number + i) % len(PROMPTS)], **sides}, timeout_s, "/api/ab")
            if status != 200:
                with lock:
                    failures[status] += 1
                continue
            choice = ("A", "B", "same")[(number + i) % 3]
            status, _, _ = post(url, {"trial_id": pair["trial_id"], "choice": choice}, timeout_s, "/api/vote")
            with lock:
                if status == 200:
                    accepted[0] += 1
                else:
                    failures[status] += 1

    threads = [threading.Thread(target=voter, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted[0], sum(failures.values()), failures


def main(argv=None) -> None:
    parser = KoreanArgumentParser(description="Step 5 웹 데모 부하 측정 (127.0.0.1의 실제 waitress 서버)")
    add_model_argument(parser)
    parser.add_argument("--clients", type=int, default=30, help="동시 접속 클라이언트 수 (투표 단계의 동시 투표자 수)")
    parser.add_argument("--requests", type=int, default=10, help="클라이언트마다 보낼 요청 수")
    parser.add_argument("--new_tokens", type=int, default=32, help="요청마다 새로 만들 토큰 수 (정확히 이만큼)")
    parser.add_argument("--overhead_repeats", type=int, default=20, help="오버헤드 측정 반복 수")
    parser.add_argument("--stream_repeats", type=int, default=20, help="실시간 생성 측정 반복 수 (한 번에 하나씩)")
    parser.add_argument("--votes", type=int, default=3, help="투표 단계에서 투표자마다 A/B 비교와 투표 수")
    parser.add_argument("--time_limit", type=float, default=300, help="부하 단계마다의 시간 상한(초)")
    parser.add_argument("--small_queue", type=int, default=2, help="과부하 단계 서버의 대기열 크기")
    parser.add_argument("--torch_threads", type=int, default=1, help="PyTorch CPU 스레드 수")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.torch_threads)
    model_name = resolve_model_name(args.model or "bundled")
    model, tokenizer = load_model_and_tokenizer(model_name)
    inference_fn = make_inference_fn(model, tokenizer, torch.device("cpu"))
    params = dict(do_sample=True, top_k=50, top_p=0.92, temperature=0.9, repetition_penalty=1.2, no_repeat_ngram_size=3,
                  num_beams=1, min_new_tokens=args.new_tokens, max_new_tokens=args.new_tokens)
    request_timeout = args.time_limit + 60
    queue_size = args.clients + 4
    cap = max(args.new_tokens, 128)
    print(f"모델 {model_name}, torch 스레드 {torch.get_num_threads()}, 요청마다 새 토큰 {args.new_tokens}개")

    # 1. web-layer overhead: direct calls and one-at-a-time HTTP requests, interleaved
    old_app = create_app(inference_fn, model_name=model_name, max_new_tokens_cap=cap, max_waiting=queue_size,
                         wait_timeout_s=request_timeout)
    with BackgroundServer(old_app, threads=args.clients + 2) as server:
        for prompt in PROMPTS[:2]:  # warm-up
            inference_fn(prompt, **params)
            post(server.url, {"prompt": prompt, **params}, request_timeout)
        direct, over_http = [], []
        for i in range(args.overhead_repeats):
            prompt = PROMPTS[i % len(PROMPTS)]
            started = time.perf_counter()
            inference_fn(prompt, **params)
            direct.append(time.perf_counter() - started)
            status, latency, _ = post(server.url, {"prompt": prompt, **params}, request_timeout)
            assert status == 200, f"HTTP {status}"
            over_http.append(latency)
        d, h = statistics.median(direct), statistics.median(over_http)
        print(f"\n[1] 웹 계층 오버헤드 ({args.overhead_repeats}회씩 번갈아 측정, 중앙값)")
        print(f"    inference_fn 직접 호출 {d * 1000:.1f} ms · HTTP 요청 1개 {h * 1000:.1f} ms · "
              f"비율 {h / d:.3f} (차이 {(h - d) * 1000:+.1f} ms)")

        # 2. classroom load, the one-at-a-time server first
        planned = args.clients * args.requests
        print(f"\n[2] 부하: 동시 {args.clients}명 × {args.requests}요청 (계획 {planned}개, 대기열 {queue_size})")
        results, wall = run_clients(server.url, args.clients, args.requests, params, args.time_limit, request_timeout)
    old_rate = report_load("예전 서버 (한 번에 하나, 잠금)", results, wall, planned, args.new_tokens, args.time_limit)
    votes_path = Path(tempfile.mkdtemp(prefix="bench-votes-")) / "votes.sqlite3"
    new_app = create_app(inference_fn, model_name=model_name, max_new_tokens_cap=cap, max_waiting=queue_size,
                         wait_timeout_s=request_timeout, engine=GenerationEngine(model, tokenizer),
                         votes=VoteStore(votes_path))
    with BackgroundServer(new_app, threads=args.clients + 2) as server:
        post(server.url, {"prompt": PROMPTS[0], **params}, request_timeout)  # warm-up
        results, wall = run_clients(server.url, args.clients, args.requests, params, args.time_limit, request_timeout)
        new_rate = report_load("새 서버 (같은 설정끼리 묶어 생성)", results, wall, planned, args.new_tokens,
                               args.time_limit)
        sizes = new_app.extensions["batcher"].batch_sizes
        print(f"      묶음 크기 (크기: 횟수) {dict(sorted(sizes.items()))} · 처리량 비율 새/예전 {new_rate / old_rate:.2f}배")

        # 3. live tokens, one request at a time
        firsts, fulls, endings = [], [], Counter()
        for i in range(args.stream_repeats):
            first, full, ending = stream_times(server.url, {"prompt": PROMPTS[i % len(PROMPTS)], **params},
                                               request_timeout)
            firsts.append(first)
            fulls.append(full)
            endings[ending] += 1
        print(f"\n[3] 실시간 생성 (/api/stream, 한 번에 하나씩 {args.stream_repeats}회, 중앙값): 첫 토큰까지 "
              f"{statistics.median(firsts) * 1000:.0f} ms · 전체 {statistics.median(fulls) * 1000:.0f} ms · "
              f"마지막 사건 {dict(endings)}")

        # 4. the vote store under concurrent voters
        accepted, failed, statuses = vote_storm(server.url, args.clients, args.votes, request_timeout)
    stored = VoteStore(votes_path).count_votes()
    expected = args.clients * args.votes
    print(f"\n[4] 동시 투표: {args.clients}명 × {args.votes}표 → 기대 {expected}행, 받은 표 {accepted}, "
          f"저장된 행 {stored}" + (f", 실패 {failed}개 {dict(statuses)}" if failed else ""))

    # 5. overload guard: a tiny waiting line, more clients than it holds
    small = create_app(inference_fn, model_name=model_name, max_new_tokens_cap=cap,
                       engine=GenerationEngine(model, tokenizer), max_waiting=args.small_queue,
                       wait_timeout_s=request_timeout)
    with BackgroundServer(small, threads=args.clients + 2) as server:
        burst, burst_wall = run_clients(server.url, args.clients, 1, params, args.time_limit, request_timeout)
    burst_status = Counter(status for status, _ in burst)
    rejected = [latency for status, latency in burst if status == 503]
    print(f"\n[5] 과부하: 대기열 {args.small_queue}개인 새 서버에 동시 {args.clients}요청 → {dict(burst_status)}"
          + (f", 503 응답 최대 {max(rejected) * 1000:.0f} ms 만에 (기다리지 않음)" if rejected else "")
          + f", 전체 {burst_wall:.1f} s")


if __name__ == "__main__":
    run_main(main)
