"""The mutable core every endpoint handler works on: market, clock, users, id counters.

`Exchange` owns one Context and wraps each call in a transaction; handlers mark the users they
change with `touch`, queue work for after the commit with `hooks`, and draw ids from `next_id`.
"""

from __future__ import annotations

from collections.abc import Callable

from .market import Market
from .state import GlobalState, Order, UserState

# first value of each id sequence, chosen to look like Binance's
_ID_STARTS = {
    "order": 100001,
    "trade": 500001,
    "list": 10001,
    "tran": 100000001,
    "flow": 1,
    "liq_repay": 9000001,
}


class Context:
    """State plus the services handlers need; one per Exchange."""

    def __init__(
        self,
        market: Market,
        clock: Callable[[], int],
        on_new_key: Callable[[str, str, str, str], None] | None,
        new_user: Callable[[Context, str], UserState],
    ) -> None:
        self.market = market
        self.clock = clock
        self.on_new_key = on_new_key
        self._new_user = new_user
        self.glob = GlobalState()
        self.users: dict[str, UserState] = {}
        self.touched: set[str] = set()
        self.hooks: list[Callable[[], None]] = []
        self.defer_activation = False
        self.deferred: list[Callable[[], None]] = []
        self._frozen: int | None = None
        # Ids of orders that may be open (the store's index plus those placed since); None: scan them all.
        self.open_order_candidates: Callable[[UserState], list[int] | None] = lambda us: None

    def open_orders(self, us: UserState) -> list[Order]:
        """The account's open orders, in id order, without scanning its whole order history."""
        ids = self.open_order_candidates(us)
        if ids is None:
            return [o for o in us.orders.values() if o.is_open]
        orders = us.orders
        return [orders[i] for i in sorted(set(ids)) if i in orders and orders[i].is_open]

    def now(self) -> int:
        """The call's time: frozen for the length of one transaction so all its timestamps agree."""
        return self._frozen if self._frozen is not None else int(self.clock())

    def freeze(self) -> None:
        self._frozen = int(self.clock())

    def unfreeze(self) -> None:
        self._frozen = None

    def next_id(self, kind: str) -> int:
        value = self.glob.counters.get(kind, _ID_STARTS.get(kind, 1) - 1) + 1
        self.glob.counters[kind] = value
        return value

    def touch(self, us: UserState) -> None:
        self.touched.add(us.name)

    def user(self, name: str) -> UserState:
        """The account called `name`, created with the starting balances on first use."""
        us = self.users.get(name)
        if us is None:
            us = self._new_user(self, name)
            self.users[name] = us
        self.touch(us)
        return us
