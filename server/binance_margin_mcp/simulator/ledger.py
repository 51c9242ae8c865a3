"""Balances and loans: borrow, repay, hourly interest, margin level and the borrowing limits.

Accounts are addressed by key: None for cross margin, the pair symbol for an isolated account.
Every movement leaves a capital-flow row, and borrows, repayments, interest and transfers leave
the rows their history endpoints return. Values are computed in USDT and reported in BTC.
"""

from __future__ import annotations

from decimal import Decimal

from .context import Context
from .state import Balance, IsolatedAccount, UserState
from .util import HOUR_MS, ZERO, bad_asset, bad_symbol, down8, f8, mandatory, no_account, q8

D = Decimal
# Trading commission (Binance VIP 1 spot/margin rates; VIP 0 charges 0.1% both ways): resting orders
# pay the maker rate, orders that trade at placement or trigger the taker rate.
MAKER_FEE_RATE = D("0.0009")
TAKER_FEE_RATE = D("0.001")
FEE_RATE = TAKER_FEE_RATE
STARTING_BALANCES = {"USDT": "10000", "BTC": "0.1"}

# cross max leverage -> (normalBar = initial ratio for borrowing, marginCallBar, forceLiquidationBar)
CROSS_BARS = {
    3: (D("1.5"), D("1.3"), D("1.1")),
    5: (D("1.25"), D("1.16"), D("1.1")),
    10: (D("1.111"), D("1.08"), D("1.05")),
}
NO_LIABILITY_LEVEL = D(999)


def new_user(ctx: Context, name: str) -> UserState:
    """A fresh account with STARTING_BALANCES transferred into cross margin."""
    now = ctx.now()
    us = UserState(name=name, created=now, interest_marker=now - now % HOUR_MS)
    for asset, amount in STARTING_BALANCES.items():
        transfer_in(ctx, us, None, asset, D(amount))
    return us


def bal(acct: dict[str, Balance], asset: str) -> Balance:
    found = acct.get(asset)
    if found is None:
        found = acct[asset] = Balance()
    return found


def isolated(us: UserState, symbol: str) -> IsolatedAccount:
    """The enabled isolated account of `symbol`, or -3003."""
    acct = us.isolated.get(symbol)
    if acct is None or not acct.enabled:
        raise no_account()
    return acct


def open_isolated(ctx: Context, us: UserState, symbol: str) -> IsolatedAccount:
    """The isolated account of `symbol`, created (enabled, empty) if it never existed."""
    if symbol not in us.isolated:
        us.isolated[symbol] = IsolatedAccount(symbol=symbol, created=ctx.now())
    return us.isolated[symbol]


def account_key(ctx: Context, us: UserState, is_isolated: bool, symbol: str | None) -> str | None:
    """Check the account a request addresses exists; returns its key."""
    if not is_isolated:
        return None
    if symbol is None:
        raise mandatory("symbol")
    ctx.market.spec(symbol)
    isolated(us, symbol)
    return symbol


def account_assets(ctx: Context, key: str | None) -> list[str]:
    if key is None:
        return sorted(ctx.market.assets)
    spec = ctx.market.spec(key)
    return [spec.base, spec.quote]


def check_asset(ctx: Context, key: str | None, asset: str) -> None:
    ctx.market.asset(asset)
    if key is not None and asset not in account_assets(ctx, key):
        raise bad_asset()


def flow(ctx: Context, us: UserState, key: str | None, asset: str, kind: str, amount: Decimal, tran_id: int) -> None:
    """One capital-flow row (GET /sapi/v1/margin/capital-flow)."""
    if amount == 0:
        return
    row = {"id": ctx.next_id("flow"), "tranId": tran_id, "timestamp": ctx.now(), "asset": asset}
    if key is not None:
        row["symbol"] = key
    row.update({"type": kind, "amount": f8(amount)})
    us.rows("flow").append(row)


def transfer_in(ctx: Context, us: UserState, key: str | None, asset: str, amount: Decimal) -> int:
    """Funds arriving from outside margin (a ROLL_IN transfer)."""
    tran = ctx.next_id("tran")
    bal(us.account(key), asset).free += amount
    row = {"amount": f8(amount), "asset": asset, "status": "CONFIRMED", "timestamp": ctx.now(), "txId": tran}
    row.update(
        {"type": "ROLL_IN", "transFrom": "SPOT", "transTo": "CROSS_MARGIN" if key is None else "ISOLATED_MARGIN"}
    )
    if key is not None:
        row["toSymbol"] = key
    us.rows("transfer").append(row)
    flow(ctx, us, key, asset, "TRANSFER", amount, tran)
    ctx.touch(us)
    return tran


def _loan_row(kind: str, key: str | None, asset: str, amount: Decimal, interest: Decimal, principal: Decimal) -> dict:
    row: dict = {"type": kind}
    if key is not None:
        row["isolatedSymbol"] = key
    row.update({"amount": f8(amount), "asset": asset, "interest": f8(interest), "principal": f8(principal)})
    return row


def charge_interest(
    ctx: Context, us: UserState, key: str | None, asset: str, principal: Decimal, kind: str, when: int
) -> None:
    """One hour of simple interest on `principal` (daily rate / 24), added to the debt."""
    daily = ctx.market.asset(asset).daily_rate
    interest = q8(principal * daily / 24)
    if interest <= 0:
        return
    bal(us.account(key), asset).interest += interest
    row: dict = {"txId": ctx.next_id("tran"), "interestAccuredTime": when, "asset": asset}
    if key is None:
        row["rawAsset"] = asset
    row.update({"principal": f8(principal), "interest": f8(interest), "interestRate": f8(daily), "type": kind})
    if key is not None:
        row["isolatedSymbol"] = key
    us.rows("interest").append(row)
    ctx.touch(us)


def borrow(ctx: Context, us: UserState, key: str | None, asset: str, amount: Decimal, kind: str) -> int:
    """Apply a borrow (limits are the caller's job) and charge its first hour of interest."""
    tran = ctx.next_id("tran")
    balance = bal(us.account(key), asset)
    balance.free += amount
    balance.borrowed += amount
    row = _loan_row(kind, key, asset, amount, ZERO, amount)
    row.update({"status": "CONFIRMED", "timestamp": ctx.now(), "txId": tran})
    us.rows("borrow").append(row)
    flow(ctx, us, key, asset, "BORROW", amount, tran)
    charge_interest(ctx, us, key, asset, amount, "ON_BORROW", ctx.now())
    ctx.touch(us)
    return tran


def repay(
    ctx: Context, us: UserState, key: str | None, asset: str, amount: Decimal, kind: str, flow_kind: str = "REPAY"
) -> tuple[int, Decimal, Decimal]:
    """Pay `amount` off the debt from free balance, interest first; returns (tranId, interest, principal)."""
    balance = bal(us.account(key), asset)
    amount = min(amount, balance.liability, balance.free)
    pay_interest = min(amount, balance.interest)
    pay_principal = amount - pay_interest
    tran = ctx.next_id("tran")
    if amount <= 0:
        return tran, ZERO, ZERO
    balance.free -= amount
    balance.interest -= pay_interest
    balance.borrowed -= pay_principal
    row = _loan_row(kind, key, asset, amount, pay_interest, pay_principal)
    row.update({"status": "CONFIRMED", "timestamp": ctx.now(), "txId": tran})
    us.rows("repay").append(row)
    flow(ctx, us, key, asset, flow_kind, amount, tran)
    ctx.touch(us)
    return tran, pay_interest, pay_principal


def accrue(ctx: Context, us: UserState, now: int) -> None:
    """Charge one hour of interest at every hour boundary passed since the last call."""
    target = now - now % HOUR_MS
    if us.interest_marker >= target:
        return
    if not any(b.borrowed > 0 for b in _all_balances(us)):
        us.interest_marker = target
        return
    while us.interest_marker < target:
        us.interest_marker += HOUR_MS
        for key in [None, *us.isolated]:
            for asset, balance in sorted(us.account(key).items()):
                if balance.borrowed > 0:
                    charge_interest(ctx, us, key, asset, balance.borrowed, "PERIODIC", us.interest_marker)
    ctx.touch(us)


def _all_balances(us: UserState) -> list[Balance]:
    found = list(us.cross.values())
    for acct in us.isolated.values():
        found.extend(acct.balances.values())
    return found


def values(ctx: Context, us: UserState, key: str | None) -> tuple[Decimal, Decimal]:
    """(total asset value, total liability incl. interest) of one account, in USDT."""
    assets = liabilities = ZERO
    for asset, balance in us.account(key).items():
        price = ctx.market.usdt_price(asset)
        assets += balance.total * price
        liabilities += balance.liability * price
    return assets, liabilities


def margin_level(ctx: Context, us: UserState, key: str | None) -> Decimal:
    """Total asset / (liabilities + interest); 999 when there is no debt."""
    assets, liabilities = values(ctx, us, key)
    return NO_LIABILITY_LEVEL if liabilities <= 0 else assets / liabilities


def bars(ctx: Context, us: UserState, key: str | None) -> tuple[Decimal, Decimal, Decimal]:
    """(initial/normal, margin call, forced liquidation) margin levels for the account."""
    if key is None:
        return CROSS_BARS[us.max_leverage]
    spec = ctx.market.spec(key)
    initial, liquidation = spec.initial_ratio, spec.liquidation_ratio
    return initial, q8((initial + liquidation) / 2), liquidation


def inventory_left(ctx: Context, asset: str) -> Decimal:
    """The lending pool: inventory minus what every simulated account has borrowed."""
    lent = ZERO
    for us in ctx.users.values():
        lent += sum((acct.get(asset, Balance()).borrowed for acct in _accounts(us)), ZERO)
    return max(ctx.market.asset(asset).inventory - lent, ZERO)


def _accounts(us: UserState) -> list[dict[str, Balance]]:
    return [us.cross, *(a.balances for a in us.isolated.values())]


def borrow_limit(ctx: Context, key: str | None, asset: str) -> Decimal:
    if key is None:
        return ctx.market.asset(asset).borrow_limit
    spec = ctx.market.spec(key)
    return spec.iso_base_limit if asset == spec.base else spec.iso_quote_limit


def max_borrowable(ctx: Context, us: UserState, key: str | None, asset: str) -> tuple[Decimal, Decimal]:
    """(amount borrowable now by leverage and account limit, the account-level limit).

    After borrowing b the margin level (A + b) / (D + b) must stay at or above the initial ratio r,
    so b <= (A - r*D) / (r - 1): for Classic 3x that is 2 x net equity minus current debt.
    """
    assets, liabilities = values(ctx, us, key)
    ratio = bars(ctx, us, key)[0]
    room = max((assets - ratio * liabilities) / (ratio - 1), ZERO) / ctx.market.usdt_price(asset)
    limit = borrow_limit(ctx, key, asset)
    left = limit - bal(us.account(key), asset).borrowed
    return max(down8(min(room, left, inventory_left(ctx, asset))), ZERO), limit


def max_transferable(ctx: Context, us: UserState, key: str | None, asset: str) -> Decimal:
    """Free balance that can leave while the margin level stays at 2 (cross) or the initial ratio."""
    free = bal(us.account(key), asset).free
    assets, liabilities = values(ctx, us, key)
    if liabilities <= 0:
        return free
    keep = D(2) if key is None else bars(ctx, us, key)[0]
    room = max(assets - keep * liabilities, ZERO) / ctx.market.usdt_price(asset)
    return max(down8(min(free, room)), ZERO)


def symbol_key(ctx: Context, symbol: str | None) -> str | None:
    if symbol is not None and symbol not in ctx.market.symbols:
        raise bad_symbol()
    return symbol
