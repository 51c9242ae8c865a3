"""Benchmark the server on the paper exchange (served on loopback by the project's own simulator).

Prints: the median and p99 latency of a signed read tool call over stdio next to a raw signed httpx call
to the same exchange (the server's overhead as a ratio), process start -> tools/list answered, and the
tools/list size in bytes for all tools, read-only, and per toolset.
Run: `.venv/bin/python bench/measure.py [--calls 200] [--starts 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from mcp import Client, StdioServerParameters

from binance_margin_mcp.app import build_server
from binance_margin_mcp.catalog import TOOLSETS
from binance_margin_mcp.settings import Settings
from binance_margin_mcp.simulator.serve import serve
from binance_margin_mcp.simulator.standalone import build_app

ROOT = Path(__file__).resolve().parent.parent
KEY = "BENCHkey" * 8
SECRET = "BENCHsecret" * 6


def write_tools_md(directory: Path, base_url: str | None) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / "TOOLS.md"
    base = f"- Base URL: {base_url}\n" if base_url else ""
    path.write_text(
        "## Binance Accounts\n\n### main\n"
        f"- API Key: {KEY}\n- Secret: {SECRET}\n- Signing: HMAC\n- Environment: Paper\n{base}"
    )
    path.chmod(0o600)
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def raw_signed_calls(base_url: str, calls: int) -> list[float]:
    """The baseline: the same signed GET built by hand with httpx, no MCP, no validation."""
    times = []
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(calls + 1):
            start = time.perf_counter()
            query = f"timestamp={int(time.time() * 1000)}"
            signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
            response = await client.get(
                f"/sapi/v1/margin/account?{query}&signature={signature}", headers={"X-MBX-APIKEY": KEY}
            )
            response.raise_for_status()
            times.append(time.perf_counter() - start)
    return times[1:]  # the first call opens the connection


async def tools_list_bytes(tools_md: Path, **settings: object) -> int:
    server = build_server(Settings(tools_md=tools_md, **settings))  # type: ignore[arg-type]
    async with Client(server) as client:
        listed = await client.list_tools()
    return len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())


async def sizes(tools_md: Path) -> list[tuple[str, int]]:
    rows = [
        ("all tools (default)", await tools_list_bytes(tools_md)),
        ("--read-only", await tools_list_bytes(tools_md, read_only=True)),
    ]
    for toolset in TOOLSETS:
        rows.append((f"--toolsets {toolset}", await tools_list_bytes(tools_md, toolsets=(toolset,))))
    return rows


async def measure(calls: int, starts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(write_tools_md(Path(tmp) / "exchange", None), ":memory:")  # the exchange knows the key
        with serve(app, port=0) as base_url:
            tools_md = write_tools_md(Path(tmp) / "client", base_url)  # the MCP account points at it
            params = StdioServerParameters(
                command=sys.executable,
                args=[
                    "-m",
                    "binance_margin_mcp",
                    "--tools-md",
                    str(tools_md),
                    "--paper-state",
                    ":memory:",
                    "--journal",
                    str(Path(tmp) / "journal.jsonl"),
                ],
                cwd=str(ROOT),
            )
            startup = []
            for _ in range(starts):
                start = time.perf_counter()
                async with Client(params) as client:
                    await client.list_tools()
                    startup.append(time.perf_counter() - start)
            tool_times = []
            async with Client(params) as client:
                await client.call_tool("get_cross_margin_account", {})  # warm-up: connection, clock sync, signer
                for _ in range(calls):
                    start = time.perf_counter()
                    result = await client.call_tool("get_cross_margin_account", {})
                    tool_times.append(time.perf_counter() - start)
                    assert not result.is_error, result.content
            raw_times = await raw_signed_calls(base_url, calls)
        size_rows = await sizes(tools_md)
    tool_median, raw_median = statistics.median(tool_times), statistics.median(raw_times)
    print(f"start -> tools/list answered: median {statistics.median(startup):.3f} s over {starts} starts")
    print(
        f"tool call over stdio ({calls} calls): median {tool_median * 1000:.2f} ms, "
        f"p99 {percentile(tool_times, 0.99) * 1000:.2f} ms"
    )
    print(
        f"raw signed httpx call ({calls} calls): median {raw_median * 1000:.2f} ms, "
        f"p99 {percentile(raw_times, 0.99) * 1000:.2f} ms"
    )
    print(f"server overhead: {tool_median / raw_median:.1f}x the raw call (median)")
    for label, size in size_rows:
        print(f"tools/list {label}: {size} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.calls, args.starts))


if __name__ == "__main__":
    main()
