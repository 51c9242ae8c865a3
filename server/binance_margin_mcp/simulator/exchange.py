"""The paper exchange core: Binance margin semantics for every catalog endpoint, persisted in SQLite.

`Exchange.handle(user, endpoint, params)` runs one catalog tool for one account name and returns
Binance-shaped JSON data or raises `SimError`. Each call (and each control: `set_price`, `tick`,
`deposit`, ...) is one transaction: time-based events are applied first, and either every change
of the call is committed together or, if it fails, none is. Module map:

    market       pairs, assets, filters' parameters, prices, the optional random walk
    filters      exchangeInfo and the -1013 filter checks
    state/store  dataclasses, their JSON codec, the SQLite documents
    ledger       balances, borrow/repay, hourly interest, margin level, borrow limits
    legs/fills/engine   order validation, funds and fills, the order life cycle vs the price
    orders, order_lists, accounts, loans, risk_api, special_keys, static_data   endpoint handlers
    liquidation  forced/manual liquidation and the liquidation loan
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from binance_margin_mcp.catalog import CATALOG

from . import (
    accounts,
    engine,
    filters,
    ledger,
    liquidation,
    loans,
    order_lists,
    orders,
    risk_api,
    special_keys,
    static_data,
)
from .context import Context
from .errors import SimError
from .market import Market
from .state import GlobalState, UserState, decode, encode
from .store import Store
from .util import Params, bad_asset, f8, no_account

STARTING_BALANCES = ledger.STARTING_BALANCES

SIMPLIFICATIONS: tuple[str, ...] = (
    "Orders trade against a book: the price source's live depth when it has one, otherwise a synthetic book "
    "around the last price (book.synthetic_book: best bid and ask one tick either side, 20 levels a side 1 bp "
    "apart, sizes growing with depth from about 5000 USDT at the best level). The synthetic book is rebuilt "
    "from the price at every move: liquidity taken is not remembered, and other accounts' orders are not in it.",
    "Marketable orders walk the book level by level at placement or trigger (one trade and one fills entry per "
    "level): MARKET and IOC expire what the book cannot fill, FOK fills completely or expires untouched, GTC "
    "rests its remainder as PARTIALLY_FILLED. A resting limit order fills at its own price, as maker, when a "
    "later price move brings the opposite side of the book to it, up to the liquidity within its price (one "
    "fill per move). Icebergs are accepted and checked against ICEBERG_PARTS but fill like plain orders; a "
    "quoteOrderQty MARKET order reports origQty = the quantity it bought or sold.",
    "autoRepayAtCancel also applies when a single order's remainder expires (IOC, FOK, MARKET): what it "
    "borrowed goes back from the free balance, at most its borrow once it has traded.",
    "Trailing stops (trailingDelta) are not supported: exchangeInfo says allowTrailingStop=false and such "
    "orders are rejected with -2010.",
    "Self-trade prevention never triggers (there is nobody to trade with); myPreventedMatches is always [].",
    "Commission is taken from the asset received: 0.09% for maker fills, 0.1% for taker fills (Binance's VIP 1 "
    "rates; ledger.MAKER_FEE_RATE / TAKER_FEE_RATE). BNB fee burn and VIP tiers have no effect.",
    "Interest rates are fixed per asset (BTC 0.005%, ETH 0.008%, BNB 0.05%, USDT/USDC 0.03% a day); each hourly "
    "charge is principal x daily rate / 24 rounded to 8 decimals; interestRateHistory repeats the fixed rate.",
    "Collateral ratios (pairs.py: stablecoins 1, BTC/ETH 0.95, BNB 0.9, alts 0.5-0.85) count only in "
    "TotalCollateralValueInUSDT and get_cross_margin_collateral_ratios (one tier, no value cap); marginLevel and "
    "collateralMarginLevel use full values. Borrow limits use the initial ratio of the account's leverage "
    "(cross 3x 1.5, 5x 1.25, 10x 1.111; isolated from its tier).",
    "The lending pool (available-inventory) is one pool per asset shared by cross and isolated accounts; "
    "exceeding it is reported as -3006 like any other borrow limit.",
    "Margin levels are checked only after a price move (set_price or the price source's update). A change of the cross "
    "account's marginLevelStatus band is recorded as a MARGIN_LEVEL_STATUS_CHANGE event in the account state "
    "(risk_events); there is no WebSocket to deliver it.",
    "Forced liquidation sells into the book (level by level, through a direct pair or via USDT, without "
    "lot-size rounding) and pays the 0.1% taker commission plus a liquidation fee of 2% of the liquidated "
    "value (liquidation.LIQUIDATION_FEE_RATE, an assumption: Binance does not publish the margin figure). "
    "A shortfall becomes a USDC liquidation loan for cross accounts and is written off for isolated ones.",
    "Isolated accounts are funded with Exchange.deposit (recorded as a ROLL_IN transfer); there is no transfer "
    "endpoint and no spot wallet. The liquidation loan is repaid from the cross margin balance.",
    "Small liability exchange turns each listed debt worth under 10 USDT into a USDT debt of the same value.",
    "The order-count usage endpoint counts orders but no order-rate limit is enforced.",
    "Request weight (limits.py, fact sheet 3.2): a /sapi IP or UID limit answers 429 -1003 with Retry-After (the "
    "seconds left in the minute) however often it is exceeded, and never bans. Only the shared /api/* IP limit "
    "escalates: another /api request over it after its 429 in the same minute bans the IP with 418 (120 s, "
    "doubling per ban up to 3 days) on every route until the ban ends.",
    "Order ids, trade ids and transaction ids come from global counters; generated client order ids are "
    "deterministic 22-character strings.",
    "Special keys need no VIP level. A deleted special key (or one dropped by reset_user) is not reported to the "
    "key registry; only new keys are, through on_new_key, which is also called again for every stored special key "
    "when an Exchange opens an existing database (their secrets/public keys are kept in it for that).",
    "Prices come from the --prices source (simulator/prices): live polls Binance every 3 s and adds the new "
    "1-minute kline highs/lows of pairs with open orders between polls (the order of high and low inside a "
    "minute is a guess); the walk and the replay hand the exchange each stretch's low, high and close, so a "
    "stop crossed and recrossed inside one update fires, at the price of that point. Without the background "
    "ticker (tests, the library default) prices move only when a call arrives. After set_paper_price the walk "
    "goes on from the new price; live and replay overwrite it at their next update.",
    "Filters use the last price as their reference price (avgPriceMins 0). The walk derives pairs not quoted "
    "in USDT from their USDT legs (ETHBTC = ETHUSDT / BTCUSDT); set_paper_price on ETHBTC lasts until the next "
    "walk step.",
    "Isolated accounts are created by their first deposit or by enable_isolated_margin_account; disabling needs "
    "no debt and no open orders, with no once-per-24-hours limit.",
    "OTOCO lists report contingencyType OTO (as in Binance's margin example); open OTO and OTOCO lists are listed "
    "by get_open_margin_oto_order_lists, open OCOs by get_open_margin_order_lists.",
    "Response types where Binance's own examples and the official SDK's models disagree follow the current docs' "
    "field lists with the Spot API's conventions: ids are JSON integers (the cancel answer's orderId too, though "
    'one doc example writes "28"); amounts are decimal strings, marginBuyBorrowAmount included (the OCO '
    "example's \"5\", not the older FULL example's 5) and liabilityQty too; manual liquidation answers a list "
    "of {asset, interest, principal, liabilityAsset, liabilityQty}, the fields the current docs list.",
)

T = TypeVar("T")


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _handlers() -> dict[str, Callable[[Context, UserState, Params], Any]]:
    table: dict[str, Callable[[Context, UserState, Params], Any]] = {}
    for module in (accounts, loans, orders, order_lists, risk_api, special_keys, static_data):
        table.update(module.HANDLERS)
    return table


class Exchange:
    """One simulated Binance margin venue, its users and its SQLite file."""

    # Tests set this: every GET handler is checked to leave the account unchanged (reads are not saved).
    check_reads = False

    def __init__(
        self,
        db_path: str | Path = ":memory:",
        *,
        clock_ms: Callable[[], int] | None = None,
        market: Market | None = None,
        on_new_key: Callable[[str, str, str, str], None] | None = None,
    ) -> None:
        self.clock_ms = clock_ms or _wall_clock_ms
        self.market = market or Market()
        self._lock = threading.RLock()
        self.version = 0  # bumped after every transaction; watch_account waits on `changed` for a new one
        self.changed = threading.Condition()
        self._store = Store(db_path)
        self._ctx = Context(self.market, self.clock_ms, on_new_key, ledger.new_user)
        self._ctx.open_order_candidates = self._store.open_order_candidates
        self._handlers = _handlers()
        self._defaults = dict(self.market.prices)
        with self._lock:
            self._load_global()
            for name in self._store.user_names():
                self._load_user(name)
            restored = [key for us in self._ctx.users.values() for key in special_keys.stored_keys(us)]
        if on_new_key is not None:
            for key in restored:  # special keys made before a restart authenticate again
                on_new_key(*key)

    # -- the interface ---------------------------------------------------------------------------
    def handle(self, user: str, endpoint: str, params: Mapping[str, str]) -> Any:
        """Run catalog tool `endpoint` for account `user`; Binance JSON data, or SimError."""
        handler = self._handlers.get(endpoint)
        entry = CATALOG.get(endpoint)
        read = entry is not None and entry.method == "GET"

        def work() -> Any:
            self._tick()
            if handler is None:
                raise SimError(-1000, "An unknown error occurred while processing the request.")
            # A read leaves the account untouched, so its commit writes nothing (a tick may still).
            us = self._ctx.users.get(user) if read else None
            if us is None:
                return handler(self._ctx, self._ctx.user(user), Params(params))
            if not self.check_reads:
                return handler(self._ctx, us, Params(params))
            before = encode(us)
            result = handler(self._ctx, us, Params(params))
            if encode(us) != before:
                raise AssertionError(f"the read {endpoint} changed the account")
            return result

        return self._transaction(work)

    def public(self, path: str, params: Mapping[str, str]) -> Any:
        """The unsigned /api/v3 routes: time, ping, exchangeInfo, ticker/price."""
        return self._transaction(lambda: self._public(path, Params(params)))

    def set_price(self, symbol: str, price: str) -> None:
        """Move the market: resting orders fill or trigger, OTO legs are placed, margins re-checked."""
        try:
            value = Decimal(str(price))
        except InvalidOperation:
            raise ValueError(f"bad price {price!r}") from None
        if not value.is_finite():
            raise ValueError(f"bad price {price!r}")

        def work() -> None:
            self._tick()
            self.market.set_price(symbol, value)
            self._after_move([symbol])

        self._transaction(work)

    def tick(self) -> None:
        """Apply what time has brought up to clock_ms(): hourly interest, listen-key expiry, walk steps."""
        self._transaction(self._tick)

    def ensure_user(self, user: str) -> None:
        self._transaction(lambda: (self._tick(), self._ctx.user(user)))

    def reset_user(self, user: str) -> None:
        """Back to the starting balances; orders, history and keys of the account are forgotten."""

        def work() -> None:
            self._tick()
            self._ctx.users[user] = ledger.new_user(self._ctx, user)
            self._ctx.touched.add(user)

        self._transaction(work)

    def deposit(self, user: str, asset: str, amount: str, isolated_symbol: str | None = None) -> None:
        """Funds arriving into cross margin or an isolated pair (a ROLL_IN transfer)."""
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise ValueError(f"bad amount {amount!r}") from None
        if not value.is_finite() or value <= 0:
            raise ValueError("deposit amount must be positive")

        def work() -> None:
            self._tick()
            us = self._ctx.user(user)
            self.market.asset(asset)
            if isolated_symbol is not None:
                spec = self.market.spec(isolated_symbol)
                if asset not in (spec.base, spec.quote):
                    raise bad_asset()
                if not ledger.open_isolated(self._ctx, us, isolated_symbol).enabled:
                    raise no_account()
            ledger.transfer_in(self._ctx, us, isolated_symbol, asset, value)

        self._transaction(work)

    def export_user(self, user: str) -> dict:
        """The account's whole state as JSON-able data (for tests and debugging)."""
        with self._lock:
            us = self._ctx.users.get(user)
            return {} if us is None else encode(us)

    def close(self) -> None:
        self._store.close()

    # -- transactions ----------------------------------------------------------------------------
    def _transaction(self, work: Callable[[], T]) -> T:
        ctx = self._ctx
        with self._lock:
            ctx.freeze()
            ctx.touched, ctx.hooks, ctx.deferred = set(), [], []
            try:
                result = work()
                self._commit()
            except BaseException:
                self._rollback()
                raise
            finally:
                ctx.unfreeze()
            hooks, ctx.hooks = ctx.hooks, []
        for hook in hooks:
            hook()
        with self.changed:
            self.version += 1
            self.changed.notify_all()
        return result

    def wait_change(self, seen: int, timeout: float) -> int:
        """Block (a worker thread, never the event loop) until a transaction after version `seen`, or `timeout`
        seconds; returns the version now."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != seen, timeout)
            return self.version

    def _commit(self) -> None:
        """Write what the call changed: touched accounts incrementally, the global state if it moved."""
        ctx = self._ctx
        prices = {symbol: str(price) for symbol, price in self.market.prices.items()}
        if prices != ctx.glob.prices:
            ctx.glob.prices = prices
        glob = None if ctx.glob == self._glob_saved else ctx.glob
        users = [ctx.users[name] for name in sorted(ctx.touched) if name in ctx.users]
        if glob is None and not users:
            return  # a plain read: no encoding, no SQL
        self._store.save(None if glob is None else encode(glob), users)
        if glob is not None:
            self._glob_saved = copy.deepcopy(glob)

    def _rollback(self) -> None:
        self._load_global()
        for name in self._ctx.touched:
            us = self._store.revert(name)
            if us is None:
                self._ctx.users.pop(name, None)
            else:
                self._ctx.users[name] = us

    def _load_global(self) -> None:
        doc = self._store.load_global()
        glob = GlobalState() if doc is None else decode(GlobalState, doc)
        self.market.prices.update(self._defaults)
        for symbol, text in glob.prices.items():
            if symbol in self.market.symbols:
                self.market.prices[symbol] = Decimal(text)
        self._ctx.glob = glob
        self._glob_saved = copy.deepcopy(glob) if doc is not None else None

    def _load_user(self, name: str) -> None:
        us = self._store.load_user(name)
        if us is not None:
            self._ctx.users[name] = us

    # -- time and prices -------------------------------------------------------------------------
    def _tick(self) -> None:
        ctx = self._ctx
        now = ctx.now()
        self._walk(now)
        for us in list(ctx.users.values()):
            ledger.accrue(ctx, us, now)
            special_keys.expire_listen_keys(ctx, us, now)

    def _walk(self, now: int) -> None:
        """The price source's moves since the last call, round by round (see Market.advance)."""
        # A tick starts each transaction, when the accounts are as last committed: the store's list of open
        # orders is exact then, and reading it costs the open orders, not the whole history.
        users = self._ctx.users
        watched = {users[name].orders[i].symbol for name in users for i in self._store.open_order_ids(name)}
        for moved in self.market.advance(now, watched):
            self._after_move(moved)

    def _after_move(self, symbols: list[str]) -> None:
        for symbol in symbols:
            engine.process_symbol(self._ctx, symbol)
        liquidation.check_all(self._ctx)

    def _public(self, path: str, p: Params) -> Any:
        self._tick()
        now = self._ctx.now()
        if path == "/api/v3/time":
            return {"serverTime": now}
        if path == "/api/v3/ping":
            return {}
        if path == "/api/v3/exchangeInfo":
            specs = filters.requested_symbols(self.market, p.str("symbol"), p.str("symbols"))
            return filters.exchange_info(self.market, now, specs)
        if path == "/api/v3/ticker/price":
            specs = filters.requested_symbols(self.market, p.str("symbol"), p.str("symbols"))
            rows = [{"symbol": s.symbol, "price": f8(self.market.price(s.symbol))} for s in specs]
            return rows[0] if p.has("symbol") else rows
        raise SimError(-1000, "An unknown error occurred while processing the request.", 404)
