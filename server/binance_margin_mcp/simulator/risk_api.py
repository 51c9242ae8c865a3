"""Endpoints around liquidation: manual liquidation, records, the liquidation loan, small liabilities."""

from __future__ import annotations

import json
from decimal import Decimal

from . import ledger, liquidation
from .context import Context
from .errors import SimError
from .state import UserState
from .util import DAY_MS, HOUR_MS, ZERO, Params, bad_param, f8, mandatory, page, time_window, up8

SMALL_LIABILITY_USDT = Decimal(10)
SMALL_LIABILITY_TARGET = "USDT"
LOOKUP_TOO_BIG = SimError(-1127, "Lookup interval is too big.")


def manual_liquidation(ctx: Context, us: UserState, p: Params) -> list:
    kind = p.required("type")
    if kind == "ISOLATED":
        symbol = p.str("symbol")
        if symbol is None:
            raise mandatory("symbol")
        ctx.market.spec(symbol)
        ledger.isolated(us, symbol)
        return liquidation.liquidate(ctx, us, symbol)
    if kind != "MARGIN":
        raise SimError(-1130, "Data sent for parameter 'type' is not valid.")
    return liquidation.liquidate(ctx, us, None)


def force_liquidation_records(ctx: Context, us: UserState, p: Params) -> dict:
    key = p.str("isolatedSymbol")
    start, end = p.int("startTime", 0) or 0, p.int("endTime", ctx.now()) or ctx.now()
    rows = [
        r
        for r in reversed(us.rows("liquidation"))
        if r["isIsolated"] == (key is not None) and key in (None, r["symbol"]) and start <= r["updatedTime"] <= end
    ]
    return page(rows, p)


def liquidation_loan(ctx: Context, us: UserState, p: Params) -> dict:
    return {
        "asset": "USDC",
        "amount": f8(us.liq_loan_amount),
        "repaidAmount": f8(us.liq_loan_repaid),
        "remainingAmount": f8(us.liq_loan_amount - us.liq_loan_repaid),
    }


def repay_liquidation_loan(ctx: Context, us: UserState, p: Params) -> dict:
    asset, amount = p.required("asset"), p.req_dec("amount")
    if asset not in ("USDT", "USDC"):
        raise SimError(-3027, "Not a valid margin asset.")
    if amount <= 0:
        raise SimError(-3016, "Repay amount less than minimum repay amount.")
    in_usdc = amount * ctx.market.usdt_price(asset) / ctx.market.usdt_price("USDC")
    if in_usdc > us.liq_loan_amount - us.liq_loan_repaid:
        raise SimError(-3015, "Repay amount exceeds borrow amount.")
    balance = ledger.bal(us.cross, asset)
    if balance.free < amount:
        raise SimError(-3041, "Balance is not enough")
    balance.free -= amount
    us.liq_loan_repaid += min(up8(in_usdc), us.liq_loan_amount - us.liq_loan_repaid)
    repay_id = ctx.next_id("liq_repay")
    row = {"repayId": repay_id, "asset": asset, "amount": f8(amount), "status": "SUCCESS", "createTime": ctx.now()}
    us.rows("liq_repay").append(row)
    ledger.flow(ctx, us, None, asset, "REPAY_LIQUIDATION", amount, repay_id)
    return dict(row)


def liquidation_loan_history(ctx: Context, us: UserState, p: Params) -> dict:
    start, end = time_window(p, ctx.now(), default_span=7 * DAY_MS, max_span=None, error=LOOKUP_TOO_BIG)
    rows = [r for r in reversed(us.rows("liq_repay")) if start <= r["createTime"] <= end]
    return page(rows, p, default_size=50, max_size=100)


def _small_liabilities(ctx: Context, us: UserState) -> dict[str, Decimal]:
    """Cross debts worth under 10 USDT (other than the target asset itself), valued in USDT."""
    found = {}
    for asset, balance in sorted(us.cross.items()):
        value = balance.liability * ctx.market.usdt_price(asset)
        if asset != SMALL_LIABILITY_TARGET and 0 < value < SMALL_LIABILITY_USDT:
            found[asset] = value
    return found


def small_liability_assets(ctx: Context, us: UserState, p: Params) -> list:
    return [
        {
            "asset": asset,
            "interest": f8(us.cross[asset].interest),
            "principal": f8(us.cross[asset].borrowed),
            "liabilityAsset": SMALL_LIABILITY_TARGET,
            "liabilityQty": f8(up8(value)),
        }
        for asset, value in _small_liabilities(ctx, us).items()
    ]


def _asset_names(raw: str) -> list[str]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.split(",")
    names = parsed if isinstance(parsed, list) else [str(parsed)]
    return [str(n).strip() for n in names if str(n).strip()]


def exchange_small_liability(ctx: Context, us: UserState, p: Params) -> dict:
    """Move each listed small debt into one USDT debt of the same value (at most 10, once per 6 h)."""
    names = _asset_names(p.required("assetNames"))
    eligible = _small_liabilities(ctx, us)
    if not names or len(names) > 10 or any(n not in eligible for n in names):
        raise bad_param()
    if us.last_small_exchange and ctx.now() - us.last_small_exchange < 6 * HOUR_MS:
        raise bad_param()
    target = ledger.bal(us.cross, SMALL_LIABILITY_TARGET)
    for asset in names:
        balance, amount = us.cross[asset], up8(eligible[asset])
        liability = balance.liability
        balance.borrowed = balance.interest = ZERO
        target.borrowed += amount
        tran = ctx.next_id("tran")
        ledger.flow(ctx, us, None, asset, "SMALL_CONVERT", liability, tran)
        us.rows("small_liability").append(
            {
                "asset": asset,
                "amount": f8(liability),
                "targetAsset": SMALL_LIABILITY_TARGET,
                "targetAmount": f8(amount),
                "bizType": "EXCHANGE_SMALL_LIABILITY",
                "timestamp": ctx.now(),
            }
        )
    us.last_small_exchange = ctx.now()
    return {}


def small_liability_history(ctx: Context, us: UserState, p: Params) -> dict:
    start, end = time_window(p, ctx.now(), default_span=30 * DAY_MS, max_span=None, error=LOOKUP_TOO_BIG)
    rows = [r for r in reversed(us.rows("small_liability")) if start <= r["timestamp"] <= end]
    return {"total": len(rows), "rows": page(rows, p)["rows"]}


HANDLERS = {
    "trigger_manual_liquidation": manual_liquidation,
    "get_forced_liquidation_history": force_liquidation_records,
    "get_liquidation_loan": liquidation_loan,
    "repay_liquidation_loan": repay_liquidation_loan,
    "get_liquidation_loan_repay_history": liquidation_loan_history,
    "list_small_liability_exchange_assets": small_liability_assets,
    "exchange_small_liability": exchange_small_liability,
    "list_small_liability_exchanges": small_liability_history,
}
