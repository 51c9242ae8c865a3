"""Measure the server over real stdio against a loopback fake Binance.

Prints: tools/list size in bytes, process start -> tools/list answered, and the median/p99 latency of
a signed read tool call next to a raw signed httpx call to the same fake (the server's overhead).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.fake_binance import FakeBinance  # noqa: E402

KEY = "BENCHkey" * 8
SECRET = "BENCHsecret" * 6


def write_tools_md(directory: Path, base_url: str) -> Path:
    path = directory / "TOOLS.md"
    path.write_text(
        "## Binance Accounts\n\n### main\n"
        f"- API Key: {KEY}\n- Secret: {SECRET}\n- Signing: HMAC\n- Environment: Testnet\n- Base URL: {base_url}\n"
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
        for _ in range(calls):
            start = time.perf_counter()
            query = f"timestamp={int(time.time() * 1000)}"
            signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
            response = await client.get(
                f"/sapi/v1/margin/account?{query}&signature={signature}", headers={"X-MBX-APIKEY": KEY}
            )
            response.raise_for_status()
            times.append(time.perf_counter() - start)
    return times


async def measure(calls: int, starts: int) -> None:
    fake = FakeBinance()
    fake.add_hmac_key(KEY, SECRET)
    fake.respond("GET", "/sapi/v1/margin/account", {"marginLevel": "999.00000000"})
    with fake.serve() as base_url, tempfile.TemporaryDirectory() as tmp:
        tools_md = write_tools_md(Path(tmp), base_url)
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "binance_margin_mcp", "--tools-md", str(tools_md), "--paper-state", ":memory:"],
            cwd=str(ROOT),
        )
        startup = []
        size = 0
        for _ in range(starts):
            start = time.perf_counter()
            async with Client(params) as client:
                listed = await client.list_tools()
                startup.append(time.perf_counter() - start)
            size = len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
        tool_times = []
        async with Client(params) as client:
            await client.call_tool("get_cross_margin_account", {})  # warm-up: connection pool, signer
            for _ in range(calls):
                start = time.perf_counter()
                result = await client.call_tool("get_cross_margin_account", {})
                tool_times.append(time.perf_counter() - start)
                assert not result.is_error, result.content
        raw_times = await raw_signed_calls(base_url, calls)
    tool_median, raw_median = statistics.median(tool_times), statistics.median(raw_times)
    print(f"tools/list: {len(listed.tools)} tools, {size} bytes")
    print(f"start -> tools/list answered: median {statistics.median(startup):.3f} s over {starts} starts")
    print(
        f"tool call over stdio ({calls} calls): median {tool_median * 1000:.2f} ms, "
        f"p99 {percentile(tool_times, 0.99) * 1000:.2f} ms"
    )
    print(
        f"raw signed httpx call ({calls} calls): median {raw_median * 1000:.2f} ms, "
        f"p99 {percentile(raw_times, 0.99) * 1000:.2f} ms; overhead ratio {tool_median / raw_median:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.calls, args.starts))


if __name__ == "__main__":
    main()
