"""웹 데모 띄우기: 기본은 waitress(실제 WSGI 서버), Flask 자체 서버는 개발할 때만.

    serve(app)                                   # http://127.0.0.1:9001, waitress
    serve(app, host="0.0.0.0")                   # 교실 네트워크: 한국어 경고를 출력
    with BackgroundServer(app) as server:        # 테스트와 벤치마크: 빈 포트, 스레드 안에서
        urllib.request.urlopen(server.url + "/health")

Flask의 디버그 모드는 절대 켜지 않습니다(디버거는 접속한 누구에게나 서버에서 코드를 실행하게 해 줍니다).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9001
DEFAULT_THREADS = 8


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_host_warning(host: str, port: int) -> str:
    return (f"[경고] --host {host} : 같은 네트워크의 누구나 http://<이 컴퓨터의 IP>:{port} 로 접속해 "
            f"모델을 쓸 수 있습니다. 수업 중 교실 네트워크에서만 쓰고, 끝나면 서버를 끄세요 (Ctrl+C). "
            f"인증이 없으므로 공용 인터넷에 그대로 열지 마세요.")


def add_server_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """데모를 띄우는 모든 방법이 함께 쓰는 옵션(--host, --port, --threads, --dev)을 parser에 더합니다."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"접속을 받을 주소 (기본 {DEFAULT_HOST}: 이 컴퓨터에서만). "
                             f"교실 네트워크에 열려면 0.0.0.0 (경고가 출력됩니다)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"포트 번호 (기본 {DEFAULT_PORT})")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="waitress 작업 스레드 수 (동시에 받을 수 있는 요청 수)")
    parser.add_argument("--dev", action="store_true",
                        help="개발용 Flask 서버로 실행 (디버그 모드는 켜지지 않습니다). 기본은 waitress")
    return parser


def serve(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, development: bool = False,
          threads: int = DEFAULT_THREADS) -> None:
    """Ctrl+C를 누를 때까지 앱을 돌립니다: 보통은 waitress, ``development``이면 Flask 자체 서버."""
    if not is_loopback(host):
        print(public_host_warning(host, port), file=sys.stderr, flush=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"[웹 데모] 브라우저에서 http://{shown}:{port} 을(를) 여세요. 끝내려면 Ctrl+C.", flush=True)
    if development:
        app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
        return
    from waitress import serve as waitress_serve

    waitress_serve(app, host=host, port=port, threads=threads, ident="kogpt2-course")


class BackgroundServer:
    """``host``의 빈 포트에서 데몬 스레드로 도는 waitress 서버 (테스트와 벤치마크용)."""

    def __init__(self, app, host: str = DEFAULT_HOST, port: int = 0, threads: int = DEFAULT_THREADS):
        from waitress.server import create_server

        self.server = create_server(app, host=host, port=port, threads=threads, ident="kogpt2-course")
        self.host = host
        self.port = self.server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._run, name="web-demo-server", daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):  # the socket was closed by stop()
            pass

    def start(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        # finish the running requests first (they still need the server's trigger), then close
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout_s)
        self.server.close()
        self._thread.join(timeout_s)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
