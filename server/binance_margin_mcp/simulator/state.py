"""The simulator's state as dataclasses, and a JSON codec for them (decimals as strings).

One `UserState` holds everything about an account name: cross and isolated balances, orders,
order lists, trades, the ledgers behind every history endpoint, keys and settings. `GlobalState`
holds the id counters and the prices. History rows are kept as ready-made Binance-shaped dicts.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from typing import Any, get_args, get_origin, get_type_hints

from .util import ZERO

OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW"})
RECORD_KINDS = (
    "borrow",
    "repay",
    "interest",
    "flow",
    "transfer",
    "liquidation",
    "small_liability",
    "liq_repay",
)


@dataclass
class Balance:
    """One asset in one account; netAsset = free + locked - borrowed - interest."""

    free: Decimal = ZERO
    locked: Decimal = ZERO
    borrowed: Decimal = ZERO
    interest: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked

    @property
    def liability(self) -> Decimal:
        return self.borrowed + self.interest

    @property
    def net(self) -> Decimal:
        return self.total - self.liability


@dataclass
class IsolatedAccount:
    """The isolated margin account of one pair."""

    symbol: str
    enabled: bool = True
    created: int = 0
    balances: dict[str, Balance] = field(default_factory=dict)


@dataclass
class Order:
    """One margin order; `lock` is what it still holds locked, `borrowed` what it auto-borrowed."""

    order_id: int
    client_order_id: str
    symbol: str
    isolated: bool
    side: str
    type: str
    orig_qty: Decimal
    time: int
    time_in_force: str = "GTC"
    price: Decimal = ZERO
    stop_price: Decimal = ZERO
    iceberg_qty: Decimal = ZERO
    quote_order_qty: Decimal = ZERO
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    working: bool = True
    working_time: int = -1
    update_time: int = 0
    order_list_id: int = -1
    side_effect: str = "NO_SIDE_EFFECT"
    auto_repay_at_cancel: bool = True
    borrowed: Decimal = ZERO
    lock: Decimal = ZERO
    stp: str = "EXPIRE_MAKER"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def account_key(self) -> str | None:
        return self.symbol if self.isolated else None


@dataclass
class OrderList:
    """An OCO, OTO or OTOCO. OTO/OTOCO: order_ids[0] is the working order, the rest pending."""

    order_list_id: int
    kind: str  # OCO | OTO | OTOCO
    list_client_order_id: str
    symbol: str
    isolated: bool
    order_ids: list[int]
    transaction_time: int
    list_status_type: str = "EXEC_STARTED"
    list_order_status: str = "EXECUTING"

    @property
    def contingency_type(self) -> str:
        return "OCO" if self.kind == "OCO" else "OTO"

    @property
    def oco_group(self) -> list[int]:
        """The legs that cancel each other: both OCO legs, or the two OTOCO pending legs."""
        if self.kind == "OCO":
            return list(self.order_ids)
        return list(self.order_ids[1:]) if self.kind == "OTOCO" else []


@dataclass
class UserState:
    """Everything the exchange knows about one account name."""

    name: str
    created: int
    interest_marker: int
    cross: dict[str, Balance] = field(default_factory=dict)
    isolated: dict[str, IsolatedAccount] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    lists: dict[int, OrderList] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in RECORD_KINDS})
    max_leverage: int = 3
    spot_bnb_burn: bool = False
    interest_bnb_burn: bool = False
    listen_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    special_keys: list[dict[str, Any]] = field(default_factory=list)
    special_mode: bool = False
    special_cooldown_until: int = 0
    liq_loan_amount: Decimal = ZERO
    liq_loan_repaid: Decimal = ZERO
    order_times: list[int] = field(default_factory=list)  # placements in the last 10 s only
    orders_day: int = 0  # start (ms) of the UTC day `orders_today` counts
    orders_today: int = 0
    last_small_exchange: int = 0
    margin_status: str = "EXCESSIVE"  # cross marginLevelStatus at the last price check
    risk_events: list[dict[str, Any]] = field(default_factory=list)  # what the risk data stream would deliver

    def account(self, key: str | None) -> dict[str, Balance]:
        """Balances of the cross account (key None) or of the isolated pair `key`."""
        return self.cross if key is None else self.isolated[key].balances

    def rows(self, kind: str) -> list[dict[str, Any]]:
        return self.records.setdefault(kind, [])


@dataclass
class GlobalState:
    counters: dict[str, int] = field(default_factory=dict)
    prices: dict[str, str] = field(default_factory=dict)
    walk_minute: int = -1


# --------------------------------------------------------------------------------------------
# codec: dataclasses <-> JSON-able dicts (Decimal as str, int dict keys as str)
# --------------------------------------------------------------------------------------------


_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def encode(value: Any) -> Any:
    """JSON-able data for any state value; dataclasses field by field, so new fields need no change here."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    if cls is Decimal:
        return str(value)
    if isinstance(value, dict):
        return {str(k): v if type(v) in _PLAIN else encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _PLAIN else encode(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(value))
        return {name: encode(getattr(value, name)) for name in names}
    return value


def decode(tp: Any, data: Any) -> Any:
    if tp is Any or data is None:
        return data
    if tp is Decimal:
        return Decimal(data)
    if isinstance(tp, type) and is_dataclass(tp):
        hints = get_type_hints(tp)
        return tp(**{k: decode(hints[k], v) for k, v in data.items() if k in hints})
    origin = get_origin(tp)
    if origin is dict:
        key_type, value_type = get_args(tp)
        return {(int(k) if key_type is int else k): decode(value_type, v) for k, v in data.items()}
    if origin is list:
        (item_type,) = get_args(tp)
        return [decode(item_type, v) for v in data]
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return decode(inner[0], data)
    return data
