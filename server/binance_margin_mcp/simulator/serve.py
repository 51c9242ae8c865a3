"""The paper exchange on a loopback port: a threaded HTTP/1.1 server around a SimulatorApp.

Loopback only, because whoever connects can present API keys and trade. `serve()` is for tests and
embedding (a daemon thread); `run_forever()` is for the command line.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from binance_margin_mcp.simulator.http import ConnectionDropped, SimulatorApp

logger = logging.getLogger("binance_margin_mcp.simulator")

MAX_BODY = 1 << 20  # Binance requests are small; a huge body is a client bug


def check_loopback(host: str) -> None:
    """ValueError unless `host` is localhost or a loopback IP address."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"refusing to listen on {host!r}: the paper exchange accepts API keys, so loopback only")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: SimulatorApp) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((address[0].strip("[]"), address[1]), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    @property
    def base_url(self) -> str:
        host = self.server_name
        return f"http://[{host}]:{self.server_port}" if ":" in host else f"http://{host}:{self.server_port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up idle keep-alive connections so no handler thread outlives the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive as clients expect of Binance; TCP_NODELAY because headers and body are
    # separate writes and Nagle would hold each reply ~40 ms.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # an idle keep-alive connection ends eventually
    server: _Server

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            self._send(411, {"Content-Type": "text/plain"}, b"Content-Length required", close=True)
            return
        length_text = self.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.isdigit() else -1
        if not 0 <= length <= MAX_BODY:
            self._send(413 if length > MAX_BODY else 400, {"Content-Type": "text/plain"}, b"bad body", close=True)
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        try:
            status, headers, content = self.server.app.handle_request(
                self.command,
                path,
                # http.server decoded the request line as latin-1; encoding back restores the exact bytes.
                query.encode("latin-1"),
                body,
                dict(self.headers.items()),
                client_ip=str(self.client_address[0]),
            )
        except ConnectionDropped:
            self.close_connection = True  # no status line at all: the client sees a dropped connection
            return
        self._send(status, headers, content)

    def _send(self, status: int, headers: dict[str, str], content: bytes, *, close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request lines on stderr (they would carry signed query strings)."""


@contextlib.contextmanager
def serve(app: SimulatorApp, host: str = "127.0.0.1", port: int = 8765) -> Iterator[str]:
    """Serve `app` on a daemon thread; yields the base URL (port 0 picks a free port), stops on exit."""
    check_loopback(host)
    server = _Server((host, port), app)
    # A short poll interval keeps shutdown() fast; the default 0.5 s adds up over many tests.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="paper-exchange", daemon=True
    )
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)


def run_forever(app: SimulatorApp, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve in the foreground until interrupted (the CLI's `paper exchange` mode)."""
    check_loopback(host)
    server = _Server((host, port), app)
    if not logger.hasHandlers():  # a bare CLI: make sure the address reaches stderr
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.info("paper exchange listening on %s", server.base_url)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
