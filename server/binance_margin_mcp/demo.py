"""`binance-margin-mcp demo`: a scripted margin session on a fresh paper account, through a real MCP client.

It lists accounts, reads the margin account, watches the market move (a seeded random walk on a simulated
clock, so every run is the same), borrows, places a MARGIN_BUY limit order, moves the paper market so the
order fills, reads orders and trades, repays and shows the interest charged, explaining margin level and
the repayment order in plain sentences, and ends with what to do next.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from binance_margin_mcp.adapter import build_mcp_server, in_memory_client
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.settings import Settings

HOUR_MS = 3_600_000
START_MS = 1_800_000_000_000  # 2027-01-15 08:00 UTC
DEMO_PRICES = "walk:2027"  # a seeded walk: the market moves, the same way every run


class DemoClock:
    """Simulated time: a fixed start plus whatever the script fast-forwards (the walk steps each second,
    interest is charged per hour)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return START_MS + self.offset_ms


def _show(data: Any, limit: int = 900) -> str:
    text = json.dumps(data, indent=2)
    return text if len(text) <= limit else text[:limit] + "\n  ..."


async def _call(client: Any, tool: str, args: dict[str, Any] | None = None, *, echo: bool = True) -> dict[str, Any]:
    shown = ", ".join(f"{k}={v}" for k, v in (args or {}).items())
    print(f"\n>>> {tool}({shown})")
    result = await client.call_tool(tool, args or {})
    data = result.structured_content or {}
    if echo or result.is_error:
        print(("ERROR: " if result.is_error else "") + _show(data))
    if result.is_error:
        raise SystemExit(f"demo step {tool} failed")
    return data


def _balances(account: dict[str, Any]) -> str:
    rows = [a for a in account.get("userAssets", []) if Decimal(a["free"]) or Decimal(a["borrowed"])]
    return ", ".join(f"{a['asset']} free {a['free']} borrowed {a['borrowed']} interest {a['interest']}" for a in rows)


async def _script(tools_md: Path) -> None:
    clock = DemoClock()
    settings = Settings(tools_md=tools_md, paper_prices=DEMO_PRICES)
    service = build_service(settings, clock_ms=clock)
    venue = service.venue
    assert venue is not None
    async with in_memory_client(build_mcp_server(build_pipeline(service, settings))) as client:
        await _call(client, "list_accounts")
        account = await _call(client, "get_cross_margin_account", echo=False)
        print(f"--- balances: {_balances(account)}; margin level {account.get('marginLevel')}")
        print(f"    {_margin_level_sentence(account)}")
        await _call(client, "get_paper_status")
        await _watch(client, clock)
        await _call(
            client, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "1000", "type": "BORROW"}
        )
        order = await _call(
            client,
            "create_margin_order",
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.1",
                "price": "59000",
                "sideEffectType": "MARGIN_BUY",
            },
        )
        await _call(client, "get_open_margin_orders", {"symbol": "BTCUSDT"})
        print("\n--- set_paper_price: BTCUSDT -> 58900 (the walk goes on from there)")
        venue.exchange.set_price("BTCUSDT", "58900")
        await _call(client, "get_margin_order", {"symbol": "BTCUSDT", "orderId": order["orderId"]})
        await _call(client, "get_margin_trades", {"symbol": "BTCUSDT"})
        print("\n--- two simulated hours pass")
        clock.offset_ms += 2 * HOUR_MS
        await _call(
            client, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "500", "type": "REPAY"}
        )
        print(
            "    The repayment paid the accrued interest first, then the principal: that is why the interest "
            "below reads 0 and the borrowed amount dropped by a little less than 500."
        )
        await _call(client, "get_margin_interest_history", {"asset": "USDT"})
        account = await _call(client, "get_cross_margin_account", echo=False)
        print(f"--- balances: {_balances(account)}; margin level {account.get('marginLevel')}")
        print(f"    {_margin_level_sentence(account)}")


def _margin_level_sentence(account: dict[str, Any]) -> str:
    """Margin level = total assets / total debt; Binance shows 999 when there is no debt."""
    level = Decimal(str(account.get("marginLevel") or "0"))
    if level >= 999:
        return (
            "Margin level 999 means no debt: margin level is total assets divided by total debt (borrowed plus "
            "interest), and with nothing borrowed Binance shows 999."
        )
    return (
        f"Margin level {level:.2f} = total assets / total debt (borrowed plus interest). The lower it gets, the "
        "closer the account is to a margin call and, further down, to liquidation (the thresholds are in "
        "get_margin_risk)."
    )


NEXT_STEPS = """
Next steps:
  - Connect an MCP client: Claude Code `claude mcp add binance-margin -- binance-margin-mcp`; Claude Desktop:
    add {"command": "binance-margin-mcp"} under "mcpServers" in claude_desktop_config.json (see README.md).
  - Read SKILL.md (at the top of the repository): how an agent should use these tools safely.
  - Add a real account: ask the agent to run add_account, or write ~/.config/binance-margin-mcp/TOOLS.md
    (Testnet first; Mainnet transactions always wait for your approval).
  - Try other paper prices: `binance-margin-mcp --prices live` (Binance's public prices) or walk:SEED, replay:FILE.
"""


async def _watch(client: Any, clock: DemoClock) -> None:
    """The market moving by itself: prices read 20 simulated seconds apart."""
    print("\n--- the paper market moves by itself (seeded walk; 20 simulated seconds between reads)")
    for _ in range(4):
        row = []
        for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ETHBTC"):
            result = await client.call_tool("get_margin_price_index", {"symbol": symbol})
            row.append(f"{symbol} {(result.structured_content or {}).get('price')}")
        print("    " + ", ".join(row))
        clock.offset_ms += 20_000


def run_demo() -> int:
    print("binance-margin-mcp demo: a fresh built-in paper account, driven through an MCP client")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_script(Path(tmp) / "TOOLS.md"))  # no TOOLS.md: the built-in paper account is used
    print("\nDone. Nothing went over the network: the paper exchange ran in process.")
    print(NEXT_STEPS.rstrip())
    return 0
