"""Borrow/repay and interest endpoints."""

from __future__ import annotations

from . import ledger
from .context import Context
from .errors import SimError
from .state import UserState
from .util import DAY_MS, Params, f8, mandatory, page, time_window

LOOKUP_TOO_BIG = "Lookup interval is too big."


def _loan_account(ctx: Context, us: UserState, p: Params, asset: str) -> str | None:
    key = ledger.account_key(ctx, us, p.isolated(), p.str("symbol"))
    ledger.check_asset(ctx, key, asset)
    return key


def borrow_or_repay(ctx: Context, us: UserState, p: Params) -> dict:
    asset, kind, amount = p.required("asset"), p.required("type"), p.req_dec("amount")
    key = _loan_account(ctx, us, p, asset)
    balance = ledger.bal(us.account(key), asset)
    if kind == "BORROW":
        if amount <= 0 or amount < ctx.market.asset(asset).user_min_borrow:
            raise SimError(-3013, "Borrow amount less than minimum borrow amount.")
        borrowable, _ = ledger.max_borrowable(ctx, us, key, asset)
        if amount > borrowable:
            raise SimError(-3006, "Your borrow amount has exceed maximum borrow amount.")
        return {"tranId": ledger.borrow(ctx, us, key, asset, amount, "MANUAL")}
    if kind != "REPAY":
        raise SimError(-1130, "Data sent for parameter 'type' is not valid.")
    if amount <= 0:
        raise SimError(-3016, "Repay amount less than minimum repay amount.")
    if amount > balance.liability:
        raise SimError(-3015, "Repay amount exceeds borrow amount.")
    if amount > balance.free:
        raise SimError(-3041, "Balance is not enough")
    tran, _, _ = ledger.repay(ctx, us, key, asset, amount, "MANUAL")
    return {"tranId": tran}


def borrow_repay_records(ctx: Context, us: UserState, p: Params) -> dict:
    kind = p.required("type")
    if kind not in ("BORROW", "REPAY"):
        raise SimError(-1130, "Data sent for parameter 'type' is not valid.")
    asset, key, tx_id = p.str("asset"), p.str("isolatedSymbol"), p.int("txId")
    rows = list(reversed(us.rows("borrow" if kind == "BORROW" else "repay")))
    rows = [r for r in rows if r.get("isolatedSymbol") == key and asset in (None, r["asset"])]
    if tx_id is not None:
        rows = [r for r in rows if r["txId"] == tx_id]
    else:
        span = (30 if asset else 7) * DAY_MS
        error = SimError(-1127, LOOKUP_TOO_BIG)
        start, end = time_window(p, ctx.now(), default_span=span, max_span=30 * DAY_MS, error=error)
        rows = [r for r in rows if start <= r["timestamp"] <= end]
    return page(rows, p)


def interest_history(ctx: Context, us: UserState, p: Params) -> dict:
    asset, key = p.str("asset"), p.str("isolatedSymbol")
    error = SimError(-1127, LOOKUP_TOO_BIG)
    start, end = time_window(p, ctx.now(), default_span=7 * DAY_MS, max_span=30 * DAY_MS, error=error)
    rows = [
        r
        for r in reversed(us.rows("interest"))
        if r.get("isolatedSymbol") == key and asset in (None, r["asset"]) and start <= r["interestAccuredTime"] <= end
    ]
    return page(rows, p)


def interest_rate_history(ctx: Context, us: UserState, p: Params) -> list:
    asset = p.required("asset")
    spec = ctx.market.asset(asset)
    vip = p.int("vipLevel", 0) or 0
    error = SimError(-1127, LOOKUP_TOO_BIG)
    start, end = time_window(p, ctx.now(), default_span=7 * DAY_MS, max_span=31 * DAY_MS, error=error)
    day = end - end % DAY_MS
    rows = []
    while day >= start and len(rows) < 31:
        rows.append({"asset": asset, "dailyInterestRate": f8(spec.daily_rate), "timestamp": day, "vipLevel": vip})
        day -= DAY_MS
    return rows


def next_hourly_rates(ctx: Context, us: UserState, p: Params) -> list:
    names = [a.strip() for a in p.required("assets").split(",") if a.strip()]
    p.isolated()
    if not names:
        raise mandatory("assets")
    if len(names) > 20:
        raise SimError(-1130, "Data sent for parameter 'assets' is not valid.")
    return [{"asset": a, "nextHourlyInterestRate": f8(ctx.market.asset(a).daily_rate / 24)} for a in names]


HANDLERS = {
    "borrow_or_repay": borrow_or_repay,
    "get_borrow_repay_records": borrow_repay_records,
    "get_margin_interest_history": interest_history,
    "get_margin_interest_rate_history": interest_rate_history,
    "get_next_hourly_interest_rates": next_hourly_rates,
}
