"""get_positions_pnl: size, average entry, mark, unrealised/realised PnL and interest paid per pair held.

History window (bounded on purpose): per pair the last TRADE_LIMIT trades (GET /sapi/v1/margin/myTrades,
weight 10), of which only those of the last WINDOW_DAYS days count; interest paid comes from GET
/sapi/v1/margin/interestHistory over the same window (weight 1 per account). Average-cost method: a buy
that adds to a long (or a sell that adds to a short) moves the average entry to the size-weighted mean of
the old entry and the fill (fees in the quote asset count as cost, fees in the base asset reduce the size
received); a trade that reduces the position realises (fill - entry) x quantity (negated for a short) and
leaves the entry unchanged; a trade through zero realises the closed part and opens the rest at the fill.
Unrealised PnL = (mark - entry) x size, in the quote asset, with the mark the pair's last price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from binance_margin_mcp.account_reads import STABLE, AccountReads, dec, text
from binance_margin_mcp.account_risk import holdings_of, pair_assets

TRADE_LIMIT = 500
WINDOW_DAYS = 7
DAY_MS = 86_400_000
MAX_POSITIONS = 12  # keeps the answer near 5 KB; the rest are counted, and `symbol` reaches any one
ZERO = Decimal(0)


@dataclass
class Book:
    """A running average-cost position in one pair (size > 0 long, < 0 short)."""

    size: Decimal = ZERO
    entry: Decimal = ZERO
    realised: Decimal = ZERO
    fees_other: bool = False  # a fee was paid in a third asset (e.g. BNB): not counted

    def trade(self, buy: bool, qty: Decimal, price: Decimal, fee: Decimal, fee_in: str) -> None:
        """One fill; `fee_in` is "base", "quote" or "other"."""
        if fee_in == "other" and fee:
            self.fees_other = True
        delta = qty - (fee if fee_in == "base" else ZERO) if buy else -qty - (fee if fee_in == "base" else ZERO)
        # A quote-asset fee makes a buy dearer and a sell yield less: fold it into the fill price.
        quote_fee = fee if fee_in == "quote" else ZERO
        fill = (qty * price + (quote_fee if buy else -quote_fee)) / abs(delta) if delta else price
        if self.size == 0 or (self.size > 0) == (delta > 0):
            total = abs(self.size) + abs(delta)
            self.entry = (abs(self.size) * self.entry + abs(delta) * fill) / total
            self.size += delta
            return
        closed = min(abs(delta), abs(self.size))
        sign = 1 if self.size > 0 else -1
        self.realised += (fill - self.entry) * closed * sign
        self.size += delta
        if self.size != 0 and (self.size > 0) != (sign > 0):
            self.entry = fill  # went through zero: the rest opens at the fill


def replay(trades: list[dict[str, Any]], base: str, quote: str) -> Book:
    """The average-cost book after `trades` (Binance myTrades rows), oldest first."""
    book = Book()
    for t in sorted(trades, key=lambda t: (t.get("time", 0), t.get("id", 0))):
        asset = t.get("commissionAsset")
        fee_in = "base" if asset == base else "quote" if asset == quote else "other"
        book.trade(bool(t.get("isBuyer")), dec(t.get("qty")), dec(t.get("price")), dec(t.get("commission")), fee_in)
    return book


async def positions_pnl(reads: AccountReads, symbol: str | None) -> dict[str, Any]:
    now = reads.service.executor.clock_ms()
    since = now - WINDOW_DAYS * DAY_MS
    pairs = await _pairs_held(reads, symbol)
    interest = await _interest(reads, since, [s for s, isolated, _, _ in pairs if isolated])
    rows = []
    earliest = now
    for sym, isolated, base, quote in pairs[:MAX_POSITIONS]:
        args = {"symbol": sym, "limit": TRADE_LIMIT, **({"isIsolated": "TRUE"} if isolated else {})}
        raw = await reads.get("get_margin_trades", args)
        trades = [t for t in raw if isinstance(t, dict) and int(t.get("time", 0)) >= since]
        if len(raw) >= TRADE_LIMIT and trades:
            earliest = min(earliest, min(int(t["time"]) for t in trades))
        rows.append(await _row(reads, sym, isolated, base, quote, trades, interest))
    start = max(since, min(earliest, now)) if earliest < now else since
    when = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data: dict[str, Any] = {
        "account": reads.account.name,
        "history": f"trades since {when}; older trades are not included (last {TRADE_LIMIT} trades per pair, "
        f"{WINDOW_DAYS} days at most)",
        "method": "average cost; PnL in the quote asset",
        "positions": rows,
    }
    if len(pairs) > MAX_POSITIONS:
        data["more"] = f"{len(pairs) - MAX_POSITIONS} more pairs: ask for one with symbol"
    data["weightUsed"] = reads.weight
    return data


async def _pairs_held(reads: AccountReads, symbol: str | None) -> list[tuple[str, bool, str, str]]:
    """(symbol, isolated, base, quote): cross assets against USDT, and each isolated pair with a balance."""
    if symbol:
        base, quote = await pair_assets(reads, symbol)
        iso = await reads.get("get_isolated_margin_account", {"symbols": symbol})
        return [(symbol, False, base, quote), *(p for p in _isolated_held(iso) if p[0] == symbol)]
    cross = await reads.get("get_cross_margin_account")
    held = holdings_of((cross or {}).get("userAssets") or [])
    found = [
        (a + STABLE, False, a, STABLE) for a in sorted(held) if a != STABLE and (held[a].total or held[a].liability)
    ]
    return found + _isolated_held(await reads.get("get_isolated_margin_account"))


def _isolated_held(iso: Any) -> list[tuple[str, bool, str, str]]:
    found = []
    for pair in (iso or {}).get("assets") or [] if isinstance(iso, dict) else []:
        sides = [pair.get("baseAsset") or {}, pair.get("quoteAsset") or {}] if isinstance(pair, dict) else []
        if any(dec(s.get("totalAsset")) or dec(s.get("borrowed")) for s in sides):
            found.append((str(pair["symbol"]), True, str(sides[0].get("asset")), str(sides[1].get("asset"))))
    return found


async def _interest(reads: AccountReads, since: int, isolated: list[str]) -> dict[tuple[str | None, str], Decimal]:
    """Interest paid per (isolated symbol or None for cross, asset) since `since` (first 100 rows per account)."""
    paid: dict[tuple[str | None, str], Decimal] = {}
    for pair in [None, *isolated]:
        args: dict[str, Any] = {"startTime": since, "size": 100, **({"isolatedSymbol": pair} if pair else {})}
        data = await reads.get("get_margin_interest_history", args)
        for row in (data or {}).get("rows") or [] if isinstance(data, dict) else []:
            if isinstance(row, dict) and row.get("isolatedSymbol", pair) in (pair, "", None):
                key = (pair, str(row.get("asset")))
                paid[key] = paid.get(key, ZERO) + dec(row.get("interest"))
    return paid


async def _row(
    reads: AccountReads,
    symbol: str,
    isolated: bool,
    base: str,
    quote: str,
    trades: list[dict[str, Any]],
    interest: dict[tuple[str | None, str], Decimal],
) -> dict[str, Any]:
    book = replay(trades, base, quote)
    mark = await reads.price(symbol)
    key = symbol if isolated else None
    row: dict[str, Any] = {
        "symbol": symbol,
        "isolated": isolated,
        "trades": len(trades),
        "size": text(book.size),
        "avgEntry": text(book.entry) if book.size else "flat",
        "mark": text(mark),
        "unrealisedPnl": text((mark - book.entry) * book.size, 4) if mark is not None else "unknown",
        "realisedPnl": text(book.realised, 4),
        "interestPaid": {a: text(interest[(key, a)]) for a in (base, quote) if interest.get((key, a))},
    }
    if book.fees_other:
        row["note"] = "fees paid in a third asset (e.g. BNB) are not in the PnL"
    return row
