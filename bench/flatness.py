"""Does an order cost the same after 5,000 orders as at first? Latency per order through the paper exchange.

Starts `binance-margin-mcp simulator` in its own process on a state file (WAL, synchronous=FULL, as in use),
sends --orders signed MARKET orders over HTTP with httpx (BUY and SELL alternating, so balances last),
and prints the median latency of the first --window orders, of the last --window, and their ratio.
Run: `.venv/bin/python bench/flatness.py [--orders 5000] [--window 100] [--state PATH|:memory:]`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

KEY = ("FLATkey" * 10)[:64]
SECRET = ("FLATsecret" * 7)[:64]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command() -> list[str]:
    script = Path(sys.executable).parent / "binance-margin-mcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "binance_margin_mcp"]


def signed(params: dict[str, str]) -> str:
    query = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
    return f"{query}&signature={hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()}"


def wait_ready(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            client.get("/api/v3/time")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the simulator did not start")


def run(orders: int, window: int, state: str, tmp: Path) -> list[float]:
    tools_md = tmp / "TOOLS.md"
    tools_md.write_text(
        f"## Binance Accounts\n\n### bench\n- API Key: {KEY}\n- Secret: {SECRET}\n- Signing: HMAC\n"
        "- Environment: Paper\n"
    )
    tools_md.chmod(0o600)
    port = free_port()
    argv = [*command(), "simulator", "--tools-md", str(tools_md), "--state", state, "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_MARGIN_")}
    process = subprocess.Popen([*argv, "--log-level", "WARNING"], env=env, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-MBX-APIKEY": KEY}, timeout=30) as client:
            wait_ready(client)
            times = []
            for n in range(orders):
                side = "BUY" if n % 2 == 0 else "SELL"
                query = signed({"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": "0.001"})
                start = time.perf_counter()
                answer = client.post(f"/sapi/v1/margin/order?{query}")
                times.append(time.perf_counter() - start)
                if answer.status_code != 200:
                    raise SystemExit(f"order {n + 1}: HTTP {answer.status_code} {answer.text}")
            return times
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--state", help="state file (default: a new file in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        times = run(args.orders, args.window, args.state or str(tmp / "state.sqlite"), tmp)
    first = statistics.median(times[: args.window]) * 1000
    last = statistics.median(times[-args.window :]) * 1000
    print(f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}, {args.orders} MARKET orders over HTTP")
    print(f"median latency, orders 1-{args.window}: {first:.2f} ms")
    print(f"median latency, orders {args.orders - args.window + 1}-{args.orders}: {last:.2f} ms")
    print(f"ratio last/first: {last / first:.2f}")


if __name__ == "__main__":
    main()
