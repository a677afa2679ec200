"""웹 데모 띄우기: 기본은 waitress(실제 WSGI 서버), Flask 자체 서버는 개발할 때만.

    serve(app)                                   # http://127.0.0.1:9001, waitress
    serve(app, host="0.0.0.0")                   # 교실 네트워크: 한국어 경고를 출력
    with BackgroundServer(app) as server:        # 테스트와 벤치마크: 빈 포트, 스레드 안에서
        urllib.request.urlopen(server.url + "/health")

Flask의 디버그 모드는 절대 켜지 않습니다(디버거는 접속한 누구에게나 서버에서 코드를 실행하게 해 줍니다).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import socket
import sys
import threading

from kogpt2_course.cli.arguments import UserError

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


def check_port(host: str, port: int) -> None:
    """Raise UserError (Korean, naming --port or --host) unless a server could listen on ``host:port`` now."""
    if not 1 <= port <= 65535:
        raise UserError(f"--port {port} : 포트 번호는 1~65535 사이여야 합니다 (보통 {DEFAULT_PORT}).")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"--host {host} : 이 주소를 찾을 수 없습니다 ({exc}). "
                        f"--host {DEFAULT_HOST}(이 컴퓨터만) 또는 0.0.0.0(교실 네트워크)을 쓰세요.") from None
    with socket.socket(family, kind, proto) as probe:
        if hasattr(socket, "SO_REUSEADDR") and sys.platform != "win32":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"포트 {port}을(를) 이미 다른 프로그램이 쓰고 있습니다 (다른 웹 데모가 켜져 있나요?). "
                                f"그 프로그램을 끄거나 --port {port + 1}처럼 다른 포트를 지정하세요.") from None
            if exc.errno == errno.EACCES:
                raise UserError(f"포트 {port}을(를) 열 권한이 없습니다 (1024 미만 포트는 관리자 권한이 필요합니다). "
                                f"--port {DEFAULT_PORT}처럼 1024 이상의 포트를 지정하세요.") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UserError(f"--host {host} 은(는) 이 컴퓨터의 주소가 아닙니다. "
                                f"--host {DEFAULT_HOST}(이 컴퓨터만) 또는 0.0.0.0(교실 네트워크)을 쓰세요.") from None
            raise UserError(f"--host {host} --port {port} 로 서버를 열 수 없습니다: {exc.strerror or exc}. "
                            f"--port로 다른 포트를 지정해 보세요.") from None


def add_server_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """데모를 띄우는 모든 방법이 함께 쓰는 옵션(--host, --port, --threads, --dev)을 parser에 더합니다."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"접속을 받을 주소 ({DEFAULT_HOST}: 이 컴퓨터에서만). "
                             f"교실 네트워크에 열려면 0.0.0.0 (경고가 출력됩니다)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="포트 번호")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="waitress 작업 스레드 수 (동시에 받을 수 있는 요청 수)")
    parser.add_argument("--dev", action="store_true",
                        help="개발용 Flask 서버로 실행 (디버그 모드는 켜지지 않습니다). 생략하면 waitress")
    return parser


def serve(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, development: bool = False,
          threads: int = DEFAULT_THREADS) -> None:
    """Ctrl+C를 누를 때까지 앱을 돌립니다: 보통은 waitress, ``development``이면 Flask 자체 서버.

    주소를 알리기 전에 포트를 확인합니다: 이미 쓰이는 포트면 UserError(한국어, --port를 알려 줌).
    """
    check_port(host, port)
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
