"""Measure the server side by side with its baselines, in interleaved rounds, and report medians and ratios.

The exchange is the standalone paper simulator (`binance-margin-mcp simulator`) in its own process; the MCP
server and a bare one-tool MCPServer run in their own processes over stdio (SDK client).

Sections (`--sections`, default `calls,orders,startup`; `sizes` on request):
  calls    rounds of (a) a signed read tool call, (b) the same request as a raw signed httpx call,
           (c) a no-op tool call on a bare MCPServer; the order of (a)(b)(c) rotates every round
  orders   one MARKET order through the tool against one raw signed order request, both through a loopback
           proxy that delivers every request to the exchange --latency-ms late; counts the tool's requests
  startup  spawn -> tools/list answered, alternating the bare MCPServer and `binance-margin-mcp`
  sizes    tools/list bytes: default, --toolsets all, --read-only, each toolset (stdio, SDK client)
Run: `.venv/bin/python bench/measure.py [--rounds 20] [--calls 10] [--orders 40] [--starts 7] [--sections ...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
# Accounts (each its own user on the exchange): tool reads, raw reads and orders, tool orders via the proxy.
KEYS = {name: (f"BENCH{name:>3}key" * 6)[:64] for name in ("main", "raw", "slow")}
SECRETS = {name: (f"BENCH{name:>3}secret" * 6)[:64] for name in KEYS}
BARE_SERVER = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")
@server.tool()
def noop() -> str:
    '''Do nothing.'''
    return "ok"
server.run("stdio")
"""
READ_TOOL = "get_cross_margin_account"


def our_command() -> list[str]:
    script = Path(sys.executable).parent / "binance-margin-mcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "binance_margin_mcp"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_MARGIN_")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_tools_md(path: Path, urls: dict[str, str | None]) -> Path:
    blocks = []
    for name, url in urls.items():
        base = f"- Base URL: {url}\n" if url else ""
        blocks.append(
            f"### {name}\n- API Key: {KEYS[name]}\n- Secret: {SECRETS[name]}\n- Signing: HMAC\n"
            f"- Environment: Paper\n{base}"
        )
    path.write_text("## Binance Accounts\n\n" + "\n".join(blocks))
    path.chmod(0o600)
    return path


@contextlib.contextmanager
def process(args: list[str], ready: Callable[[subprocess.Popen[str]], str]) -> Iterator[str]:
    """Run `args` until the block ends; yields what `ready` read once the process was ready."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=clean_env())
    try:
        yield ready(proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_http(url: str) -> Callable[[subprocess.Popen[str]], str]:
    def ready(proc: subprocess.Popen[str]) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v3/time", timeout=1).status_code == 200:
                    return url
            time.sleep(0.1)
        raise RuntimeError(f"{url} did not answer")

    return ready


def proxy_url(proc: subprocess.Popen[str]) -> str:
    """The delay proxy prints `ready <port>` once it listens."""
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if line[:1] != ["ready"]:
        raise RuntimeError("the delay proxy did not start")
    return f"http://127.0.0.1:{line[1]}"


def signed(name: str, query: str) -> str:
    query = f"{query}&timestamp={int(time.time() * 1000)}".lstrip("&")
    signature = hmac.new(SECRETS[name].encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


def ours(tools_md: Path, journal: Path, *flags: str) -> StdioServerParameters:
    command = our_command()
    args = [*command[1:], "--tools-md", str(tools_md), "--paper-state", ":memory:"]
    args += ["--journal", str(journal), "--no-browser", *flags]
    return StdioServerParameters(command=command[0], args=args, cwd=str(ROOT), env=clean_env())


def bare() -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER], cwd=str(ROOT), env=clean_env())


def summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{label}: median {statistics.median(seconds) * 1000:.2f} ms, p90 {p90 * 1000:.2f} ms (n={len(seconds)})"


async def timed(call: Awaitable[None]) -> float:
    start = time.perf_counter()
    await call
    return time.perf_counter() - start


# -- sections --------------------------------------------------------------------------------------------


async def calls_section(tools_md: Path, journal: Path, sim_url: str, rounds: int, calls: int) -> None:
    async with (
        Client(ours(tools_md, journal)) as tool,
        Client(bare()) as noop,
        httpx.AsyncClient(base_url=sim_url, trust_env=False) as raw,
    ):

        async def tool_call() -> None:
            result = await tool.call_tool(READ_TOOL, {"account": "main"})
            assert not result.is_error, result.content

        async def raw_call() -> None:
            url = f"/sapi/v1/margin/account?{signed('raw', '')}"
            (await raw.get(url, headers={"X-MBX-APIKEY": KEYS["raw"]})).raise_for_status()

        async def noop_call() -> None:
            assert not (await noop.call_tool("noop", {})).is_error

        kinds = {"tool": tool_call, "raw": raw_call, "noop": noop_call}
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        ratios: list[float] = []
        for call in kinds.values():  # warm-up: connections, clock sync, caches
            await call()
        for r in range(rounds):
            names = list(kinds)
            names = names[r % 3 :] + names[: r % 3]
            this_round: dict[str, list[float]] = {}
            for name in names:
                this_round[name] = [await timed(kinds[name]()) for _ in range(calls)]
                times[name] += this_round[name]
            ratios.append(statistics.median(this_round["tool"]) / statistics.median(this_round["raw"]))
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    print(f"\n## calls: {rounds} interleaved rounds x {calls} calls of each")
    print(summary(f"(a) {READ_TOOL} tool call over stdio", times["tool"]))
    print(summary("(b) the same request, raw signed httpx", times["raw"]))
    print(summary("(c) no-op tool call, bare MCPServer over stdio", times["noop"]))
    print(f"tool/raw {medians['tool'] / medians['raw']:.2f}x, tool/noop {medians['tool'] / medians['noop']:.2f}x")
    print(
        f"tool/raw per round: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x, max {max(ratios):.2f}x"
    )


async def orders_section(tools_md: Path, journal: Path, proxy_url: str, log: Path, orders: int, latency: float) -> None:
    def logged() -> list[str]:
        return log.read_text().splitlines()

    async with (
        Client(ours(tools_md, journal)) as tool,
        httpx.AsyncClient(base_url=proxy_url, trust_env=False) as raw,
    ):

        async def tool_order(side: str) -> None:
            args = {"account": "slow", "symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": "0.001"}
            result = await tool.call_tool("create_margin_order", args)
            assert not result.is_error, result.content

        async def raw_order(side: str) -> None:
            query = f"symbol=BTCUSDT&side={side}&type=MARKET&quantity=0.001&newClientOrderId=raw-{time.time_ns()}"
            response = await raw.post(
                f"/sapi/v1/margin/order?{signed('raw', query)}", headers={"X-MBX-APIKEY": KEYS["raw"]}
            )
            response.raise_for_status()

        await tool_order("BUY")  # warm: clock sync, exchangeInfo, last price, connection
        await raw_order("BUY")
        await tool_order("SELL")
        await raw_order("SELL")
        tool_times: list[float] = []
        raw_times: list[float] = []
        per_order: Counter[int] = Counter()

        async def one_tool(side: str) -> None:
            before = len(logged())
            tool_times.append(await timed(tool_order(side)))
            per_order[len(logged()) - before] += 1

        async def one_raw(side: str) -> None:
            raw_times.append(await timed(raw_order(side)))

        for n in range(orders):  # BUY, SELL alternately; tool first in half of the pairs
            side = "BUY" if n % 2 == 0 else "SELL"
            for step in (one_tool, one_raw) if n % 4 < 2 else (one_raw, one_tool):
                await step(side)
    print(f"\n## orders: {orders} MARKET orders each way, every request reaching the exchange {latency:.0f} ms late")
    print(summary("one order through the tool (Paper account on the loopback simulator)", tool_times))
    print(summary("one raw signed order request (httpx)", raw_times))
    print(f"tool/raw {statistics.median(tool_times) / statistics.median(raw_times):.3f}x (medians)")
    slowest = ", ".join(f"{t * 1000:.1f}" for t in sorted(tool_times)[-3:])
    print(f"slowest tool orders: {slowest} ms")
    counts = ", ".join(f"{n} request(s): {k} orders" for n, k in sorted(per_order.items()))
    print(f"HTTP requests per tool order (seen by the proxy): {counts}")
    if len(per_order) > 1:
        print("(an order placed after the 5 s last-price cache expired also reads the price: 2 requests)")


async def spawn_to_list(params: StdioServerParameters) -> float:
    start = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        return time.perf_counter() - start


async def startup_section(tools_md: Path, journal: Path, starts: int) -> None:
    times: dict[str, list[float]] = {"bare": [], "ours": []}
    params = {"bare": bare(), "ours": ours(tools_md, journal)}
    for n in range(starts):
        for name in ("bare", "ours") if n % 2 == 0 else ("ours", "bare"):
            times[name].append(await spawn_to_list(params[name]))
    bare_median, our_median = statistics.median(times["bare"]), statistics.median(times["ours"])
    print(f"\n## startup: spawn -> tools/list answered, {starts} alternating starts each")
    print(f"bare one-tool MCPServer (python -c): median {bare_median:.3f} s ({_seconds(times['bare'])})")
    print(
        f"binance-margin-mcp --paper-state :memory: --no-browser: median {our_median:.3f} s ({_seconds(times['ours'])})"
    )
    print(f"ours/bare {our_median / bare_median:.2f}x")


def _seconds(values: list[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


async def sizes_section(tools_md: Path, journal: Path) -> None:
    from binance_margin_mcp.catalog import TOOLSETS

    variants = [("default", []), ("--toolsets all", ["--toolsets", "all"]), ("--read-only", ["--read-only"])]
    variants += [(f"--toolsets {t}", ["--toolsets", t]) for t in TOOLSETS]
    print("\n## tools/list sizes (stdio, SDK client; JSON of the result, by alias, without nulls)")
    for label, flags in variants:
        try:
            async with Client(ours(tools_md, journal, *flags)) as client:
                listed = await client.list_tools()
        except Exception as exc:  # a flag this version does not accept
            print(f"{label}: not accepted ({type(exc).__name__})")
            continue
        size = len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
        print(f"{label}: {len(listed.tools)} tools, {size:,} bytes")


# -- running ---------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def exchange(tmp: Path, latency_ms: float) -> AsyncIterator[tuple[str, str, Path]]:
    """The simulator in its own process, and the delay proxy in front of it: (direct URL, proxy URL, log)."""
    port, log = free_port(), tmp / "proxy-requests.txt"
    log.touch()
    sim_tools = write_tools_md(tmp / "exchange.md", dict.fromkeys(KEYS))
    sim_url = f"http://127.0.0.1:{port}"
    command = [*our_command(), "simulator", "--tools-md", str(sim_tools), "--state", ":memory:", "--port", str(port)]
    with process([*command, "--log-level", "WARNING"], wait_http(sim_url)):
        proxy = [sys.executable, str(ROOT / "bench" / "delay_proxy.py"), "--to-port", str(port)]
        proxy += ["--delay-ms", str(latency_ms), "--log", str(log)]
        with process(proxy, proxy_url) as delayed_url:
            yield sim_url, delayed_url, log


async def measure(args: argparse.Namespace) -> None:
    sections = set(args.sections.split(","))
    command = " ".join([".venv/bin/python bench/measure.py", *sys.argv[1:]])
    print(f"{command}: {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (the machine is shared: medians of interleaved rounds)")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        journal = tmp / "journal.jsonl"
        async with exchange(tmp, args.latency_ms) as (sim_url, delayed_url, log):
            tools_md = write_tools_md(tmp / "TOOLS.md", {"main": sim_url, "slow": delayed_url})
            if "calls" in sections:
                await calls_section(tools_md, journal, sim_url, args.rounds, args.calls)
            if "orders" in sections:
                await orders_section(tools_md, journal, delayed_url, log, args.orders, args.latency_ms)
            if "startup" in sections:
                await startup_section(tools_md, journal, args.starts)
            if "sizes" in sections:
                await sizes_section(tools_md, journal)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sections", default="calls,orders,startup", help="comma-separated: calls,orders,startup,sizes"
    )
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds of the calls section")
    parser.add_argument("--calls", type=int, default=10, help="calls of each kind per round")
    parser.add_argument("--orders", type=int, default=40, help="orders each way in the orders section")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="delay before a request reaches the exchange")
    parser.add_argument("--starts", type=int, default=7, help="starts of each server in the startup section")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
