"""Validation shared by single orders and order-list legs, and building the Order object.

The parameter rules per order type are Spot's (margin "same usage"): mandatory parameters give
-1102 naming the wire parameter (so an OTO says 'pendingPrice'), superfluous ones -1106.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from . import fills, filters
from .book import crosses
from .context import Context
from .errors import SimError
from .filters import LIMIT_PRICED, STOP_TYPES
from .market import SymbolSpec
from .state import Order, UserState
from .util import ZERO, either, filter_failure, floor_to, mandatory, not_required, rejected, stable_id

WIRE = {
    "qty": "quantity",
    "price": "price",
    "stop": "stopPrice",
    "tif": "timeInForce",
    "iceberg": "icebergQty",
    "quote_qty": "quoteOrderQty",
    "trailing": "trailingDelta",
}
REQUIRED = {
    "LIMIT": ("tif", "qty", "price"),
    "MARKET": (),
    "STOP_LOSS": ("qty", "stop"),
    "TAKE_PROFIT": ("qty", "stop"),
    "STOP_LOSS_LIMIT": ("tif", "qty", "price", "stop"),
    "TAKE_PROFIT_LIMIT": ("tif", "qty", "price", "stop"),
    "LIMIT_MAKER": ("qty", "price"),
}
FORBIDDEN = {
    "LIMIT": ("stop", "quote_qty"),
    "MARKET": ("price", "stop", "tif", "iceberg"),
    "STOP_LOSS": ("price", "tif", "quote_qty", "iceberg"),
    "TAKE_PROFIT": ("price", "tif", "quote_qty", "iceberg"),
    "STOP_LOSS_LIMIT": ("quote_qty",),
    "TAKE_PROFIT_LIMIT": ("quote_qty",),
    "LIMIT_MAKER": ("stop", "tif", "quote_qty"),
}
TRAILING = "Trailing stop orders are not supported for this symbol."
PRICE_BAND = Decimal("0.15")


@dataclass
class LegInput:
    """One order as requested; `names` maps field names to this endpoint's parameter names."""

    side: str
    type: str
    qty: Decimal | None = None
    price: Decimal | None = None
    stop: Decimal | None = None
    iceberg: Decimal | None = None
    quote_qty: Decimal | None = None
    tif: str | None = None
    trailing: str | None = None
    client_id: str | None = None
    names: dict[str, str] = field(default_factory=dict)

    def name(self, logical: str) -> str:
        return self.names.get(logical, WIRE[logical])


@dataclass
class Common:
    """Per-request settings every order of the request shares."""

    side_effect: str = "NO_SIDE_EFFECT"
    auto_repay: bool = True
    stp: str = "EXPIRE_MAKER"


def validate(leg: LegInput) -> None:
    """Mandatory and not-required parameters for the order type."""
    if leg.type not in REQUIRED:
        raise SimError(-1116, "Invalid orderType.")
    for logical in REQUIRED[leg.type]:
        if getattr(leg, logical) is None:
            if logical == "stop" and leg.trailing is not None:
                raise rejected(TRAILING)
            raise mandatory(leg.name(logical))
    if leg.type == "MARKET":
        if leg.qty is None and leg.quote_qty is None:
            raise either(leg.name("qty"), leg.name("quote_qty"))
        if leg.qty is not None and leg.quote_qty is not None:
            raise not_required(leg.name("quote_qty"))
    for logical in FORBIDDEN[leg.type]:
        if getattr(leg, logical) is not None:
            raise not_required(leg.name(logical))
    if leg.trailing is not None:
        raise rejected(TRAILING) if leg.type in STOP_TYPES else not_required(leg.name("trailing"))
    if leg.iceberg is not None and (leg.tif or "GTC") != "GTC":
        raise SimError(-1014, "Unsupported order combination.")


def would_trigger(type_: str, side: str, stop: Decimal, last: Decimal) -> bool:
    rising = type_.startswith("STOP_LOSS") == (side == "BUY")
    return last >= stop if rising else last <= stop


def would_take(ctx: Context, symbol: str, side: str, price: Decimal) -> bool:
    """A price at or through the best opposite level of the book trades as taker."""
    best = fills.book_for(ctx, symbol).best(side)
    return best is not None and crosses(side, best, price)


def check_market(ctx: Context, spec: SymbolSpec, leg: LegInput, last: Decimal) -> None:
    """Filters (-1013), the ±15% index band (-3064)."""
    qty = leg.qty if leg.qty is not None else ZERO
    check = filters.Leg(leg.type, leg.side, qty, leg.price, leg.stop, leg.iceberg, leg.quote_qty)
    filters.check_leg(spec, check, last)
    if spec.price_band and leg.type in LIMIT_PRICED and leg.price is not None:
        too_high = leg.side == "BUY" and leg.price > last * (1 + PRICE_BAND)
        too_low = leg.side == "SELL" and leg.price < last * (1 - PRICE_BAND)
        if too_high or too_low:
            raise SimError(
                -3064,
                "Limit price needs to be within (-15%,15%) of current index price for this margin trading pair.",
            )


def check_immediate(ctx: Context, symbol: str, leg: LegInput, last: Decimal) -> None:
    """Stops that would trigger now and LIMIT_MAKERs that would take are rejected (-2010)."""
    if leg.type in STOP_TYPES and leg.stop is not None and would_trigger(leg.type, leg.side, leg.stop, last):
        raise rejected("Order would trigger immediately.")
    if leg.type == "LIMIT_MAKER" and leg.price is not None and would_take(ctx, symbol, leg.side, leg.price):
        raise rejected("Order would immediately match and take.")


def open_on(ctx: Context, us: UserState, symbol: str, isolated: bool) -> list[Order]:
    """The account's open orders on one pair, from the open-order index (not a scan of every order ever)."""
    return [o for o in ctx.open_orders(us) if o.symbol == symbol and o.isolated == isolated]


def check_client_ids(ctx: Context, us: UserState, symbol: str, isolated: bool, ids: list[str | None]) -> None:
    taken = {o.client_order_id for o in open_on(ctx, us, symbol, isolated)}
    given = [i for i in ids if i is not None]
    if len(set(given)) != len(given) or taken.intersection(given):
        raise rejected("Duplicate order sent.")


def check_counts(ctx: Context, spec: SymbolSpec, us: UserState, isolated: bool, legs: list[LegInput]) -> None:
    live = open_on(ctx, us, spec.symbol, isolated)
    algo = sum(1 for o in live if o.type in STOP_TYPES)
    filters.check_counts(spec, len(live), algo, len(legs), sum(1 for leg in legs if leg.type in STOP_TYPES))


def make_order(
    ctx: Context, spec: SymbolSpec, isolated: bool, leg: LegInput, common: Common, list_id: int = -1
) -> Order:
    """An Order (not yet placed) with a fresh id; MARKET by quoteOrderQty gets its quantity here."""
    order_id = ctx.next_id("order")
    qty = leg.qty
    if qty is None:
        qty = floor_to((leg.quote_qty or ZERO) / ctx.market.price(spec.symbol), spec.step_size)
        if qty <= 0:
            raise filter_failure("NOTIONAL")
    return Order(
        order_id=order_id,
        client_order_id=leg.client_id or stable_id("order", order_id),
        symbol=spec.symbol,
        isolated=isolated,
        side=leg.side,
        type=leg.type,
        orig_qty=qty,
        time=ctx.now(),
        update_time=ctx.now(),
        time_in_force=leg.tif or "GTC",
        price=leg.price or ZERO,
        stop_price=leg.stop or ZERO,
        iceberg_qty=leg.iceberg or ZERO,
        quote_order_qty=leg.quote_qty or ZERO,
        order_list_id=list_id,
        side_effect=common.side_effect,
        auto_repay_at_cancel=common.auto_repay,
        stp=common.stp,
    )
