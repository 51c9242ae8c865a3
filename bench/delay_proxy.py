"""A loopback TCP proxy that delivers every byte sent to the exchange `--delay-ms` late (answers pass at once).

Run: `python bench/delay_proxy.py --listen-port P --to-port Q --delay-ms 50 --log requests.txt`; prints
`ready <port>` when listening. Each HTTP request line seen on the way to the exchange is appended to `--log`
(flushed before the request is forwarded), so a benchmark can count the requests one call made.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import re
import socket
import sys
import threading
import time

REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|DELETE) (\S+) HTTP/1\.[01]$")


def pump_delayed(src: socket.socket, dst: socket.socket, delay_s: float, log: RequestLog) -> None:
    """Client -> exchange: each chunk is sent `delay_s` after it arrived, in order (delays never add up)."""
    chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def deliver() -> None:
        while True:
            arrived, data = chunks.get()
            if not data:
                break
            wait = arrived + delay_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                dst.sendall(data)
            except OSError:
                break
        _close(dst)

    sender = threading.Thread(target=deliver, daemon=True)
    sender.start()
    pending = b""
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if data:
            pending = log.scan(pending + data)
        chunks.put((time.monotonic(), data))
        if not data:
            break
    sender.join()


def pump(src: socket.socket, dst: socket.socket) -> None:
    """Exchange -> client, undelayed."""
    while True:
        try:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
        except OSError:
            break
    _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


class RequestLog:
    """Appends request lines to a file; `scan` returns the unfinished tail of the buffer."""

    def __init__(self, path: str | None) -> None:
        self._file = open(path, "ab", buffering=0) if path else None  # noqa: SIM115 (open for the process)
        self._lock = threading.Lock()

    def scan(self, buffer: bytes) -> bytes:
        *lines, rest = buffer.split(b"\r\n")
        for line in lines:
            match = REQUEST_LINE.match(line)
            if match and self._file is not None:
                with self._lock:
                    self._file.write(match.group(1) + b" " + match.group(2).split(b"?")[0] + b"\n")
        return rest[-8192:]


def serve(listen_port: int, to_port: int, delay_s: float, log: RequestLog) -> None:
    listener = socket.create_server(("127.0.0.1", listen_port))
    print(f"ready {listener.getsockname()[1]}", flush=True)
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection(("127.0.0.1", to_port))
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump_delayed, args=(client, upstream, delay_s, log), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen-port", type=int, default=0)
    parser.add_argument("--to-port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--log")
    args = parser.parse_args()
    try:
        serve(args.listen_port, args.to_port, args.delay_ms / 1000, RequestLog(args.log))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
