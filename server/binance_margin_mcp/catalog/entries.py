"""The catalog data: one declarative entry per Binance margin endpoint (tests/data/endpoints.tsv).

Entries are grouped by toolset. Each `params` spec is the TSV cell copied verbatim; parameter
descriptions come from COMMON_DOCS plus per-entry overrides. `_endpoint` appends the sentences
every description must carry (CONFIRM notice, agent- prefix, weight) so they read the same
everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Literal

from binance_margin_mcp.catalog.model import (
    LEG_FIELDS,
    Change,
    Companion,
    Endpoint,
    LegShape,
    LoanSpec,
    OperatorSwitch,
    OrderKind,
    OrderShape,
    Param,
    ParamType,
    Plain,
    PositionReads,
    ReconcileById,
    ReconcileByRecords,
    ReconcileSpec,
    RiskReduction,
    Security,
    SpanLimit,
    Weight,
    parse_params,
)

Method = Literal["GET", "POST", "PUT", "DELETE"]

# --------------------------------------------------------------------------------------------
# Parameter descriptions shared by many endpoints. Entries override a name when it means
# something narrower there (for example `symbol` on a special-key call, `type` everywhere).
# --------------------------------------------------------------------------------------------

COMMON_DOCS: dict[str, str] = {
    "recvWindow": "Milliseconds the request stays valid after timestamp; default 5000, at most 60000.",
    "symbol": Plain("Trading pair such as BTCUSDT; with isIsolated=TRUE it names the isolated margin pair."),
    "isIsolated": "Default FALSE (cross margin).",
    "asset": Plain("Asset code such as BTC or USDT."),
    "isolatedSymbol": "Omit for the cross margin account.",
    "startTime": "Unix epoch milliseconds.",
    "endTime": "Unix epoch milliseconds.",
    "current": "Page number, from 1; default 1.",
    "size": "Rows per page; default 10, at most 100.",
    "vipLevel": "Default: this account's level.",
    "orderId": Plain("Binance's numeric id of the order."),
    "origClientOrderId": "Client order id as accepted (agent- prefix included); give this or orderId.",
    "newClientOrderId": Plain(
        "Your id for the new order, unique among open orders; the agent- prefix is added automatically and one "
        "is generated when omitted."
    ),
    "side": Plain("BUY or SELL."),
    "quantity": Plain("Order quantity in the base asset."),
    "price": Plain("Limit price in the quote asset."),
    "stopPrice": Plain("Trigger price for stop-loss and take-profit orders."),
    "timeInForce": Plain("GTC, IOC or FOK; needed for LIMIT, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT orders."),
    "newOrderRespType": "How much the response shows; default FULL for MARKET and LIMIT orders, else ACK.",
    "sideEffectType": "NO_SIDE_EFFECT (default) trades only existing balance; MARGIN_BUY borrows whatever "
    "is missing when the order is placed; AUTO_REPAY pays debt back from the proceeds; "
    "AUTO_BORROW_REPAY does both.",
    "selfTradePreventionMode": Plain(
        "What happens if the order would trade against your own order: EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH or "
        "NONE, as far as the symbol allows."
    ),
    "autoRepayAtCancel": "Default true: cancelling the order repays what it borrowed; false keeps the debt.",
    "listClientOrderId": Plain(
        "Your id for the whole order list, unique among open lists; the agent- prefix is added automatically."
    ),
    "orderListId": Plain("Binance's numeric id of the order list."),
    "listenKey": Plain("The listen key returned when the stream was started."),
}


def _params(
    spec: str,
    overrides: Mapping[str, str] | None = None,
    *,
    types: Mapping[str, ParamType] | None = None,
    client_ids: tuple[str, ...] = (),
) -> tuple[Param, ...]:
    """Parse a TSV params cell with COMMON_DOCS plus this endpoint's own descriptions."""
    docs = {**COMMON_DOCS, **(overrides or {})}
    return parse_params(spec, docs, types=types, client_ids=client_ids)


def _leg_docs(prefix: str, leg: str) -> dict[str, str]:
    """Descriptions of the per-leg fields of an OTO/OTOCO order (working, pending, pendingAbove...)."""
    return {
        f"{prefix}Side": Plain(f"BUY or SELL for the {leg}."),
        f"{prefix}Quantity": Plain(f"Quantity of the {leg}."),
        f"{prefix}ClientOrderId": Plain(
            f"Your id for the {leg}, unique among open orders; the agent- prefix is added automatically."
        ),
        f"{prefix}Price": Plain(f"Limit price of the {leg}."),
        f"{prefix}StopPrice": Plain(f"Trigger price of the {leg} when it is a stop or take-profit type."),
        f"{prefix}TrailingDelta": f"Basis points; instead of or together with {prefix}StopPrice."
        + (f" Needs {prefix}Price too (since 2026-06-15)." if prefix.startswith("pending") else ""),
        f"{prefix}IcebergQty": f"Visible part of the {leg} as an iceberg; only with {prefix}TimeInForce=GTC.",
        f"{prefix}TimeInForce": f"Needed when the {leg} is a limit type.",
    }


_WORKING_DOCS = {
    **_leg_docs("working", "working order"),
    "workingType": Plain("Type of the working order, which goes on the book immediately: LIMIT or LIMIT_MAKER."),
}

_LIST_SIDE_EFFECT = (
    "NO_SIDE_EFFECT (default), MARGIN_BUY (borrow what is missing when the list is placed) or "
    "AUTO_BORROW_REPAY (borrow, then repay from the proceeds); AUTO_REPAY is not accepted here."
)
_LIST_AUTO_REPAY = "Default true: cancelling the list repays what it borrowed; false keeps the debt."

_LIST_SYMBOL = "The isolated margin pair; required for isolated margin and not accepted for cross margin."
_SPECIAL_KEY_SYMBOL = "Isolated margin pair of the key; omit it for the cross margin key."


def _endpoint(
    name: str,
    title: str,
    method: Method,
    path: str,
    *,
    group: str,
    toolset: str,
    security: Security,
    weight: Weight,
    about: str,
    params: tuple[Param, ...] = (),
    transaction: bool = False,
    idempotent: bool = False,
    destructive: bool | None = None,
    order_shape: OrderShape | None = None,
    reconcile: ReconcileSpec | None = None,
    loan: LoanSpec | None = None,
    enabled_by: OperatorSwitch | None = None,
    reduces_risk: RiskReduction | None = None,
    retired: str | None = None,
    max_span: SpanLimit | None = None,
    companions: tuple[Companion, ...] = (),
    changes: tuple[Change, ...] = (),
) -> Endpoint:
    """Build one entry; the description is `about` plus the sentences every entry shares."""
    # The approval rule and the agent- prefix hold for every transaction: the server instructions say them once.
    sentences = [about, f"Weight: {weight.describe()}."]
    return Endpoint(
        name=name,
        title=title,
        method=method,
        path=path,
        group=group,
        toolset=toolset,
        security=security,
        weight=weight,
        transaction=transaction,
        description=" ".join(sentences),
        params=params,
        idempotent=idempotent,
        destructive=destructive,
        order_shape=order_shape,
        reconcile=reconcile,
        loan=loan,
        enabled_by=enabled_by,
        reduces_risk=reduces_risk,
        retired=retired,
        max_span=max_span,
        companions=companions,
        changes=changes,
    )


_account = partial(_endpoint, group="Account", toolset="account")
_borrow_repay = partial(_endpoint, group="BorrowRepay", toolset="borrow-repay")
_market_data = partial(_endpoint, group="MarketData", toolset="market-data")
_trade = partial(_endpoint, group="Trade", toolset="trade")
_transfer = partial(_endpoint, group="Transfer", toolset="transfer")
_user_stream = partial(_endpoint, group="UserDataStream", toolset="user-data-stream")
_special_key = partial(_endpoint, group="Trade", toolset="special-key")

_ORDER_WEIGHT = Weight("UID", 6, "sideEffectType", ("MARGIN_BUY", "AUTO_BORROW_REPAY"), 1500, since="2026-05-07")
_PENDING_PRICE_CHANGE = Change(
    "2026-06-15",
    "OTO: pendingPrice is required with pendingTrailingDelta; OTOCO: pendingAbovePrice with "
    "pendingAboveTrailingDelta and pendingBelowPrice with pendingBelowTrailingDelta",
    "catalog companions: a trailing delta without its price is refused before sending, naming both parameters",
)
_ORDER_WEIGHT_CHANGE = Change(
    "2026-05-07",
    "an order, OCO, OTO or OTOCO with sideEffectType MARGIN_BUY or AUTO_BORROW_REPAY costs weight 1500 (UID)",
    "the catalog Weight's conditional cost: the local weight book charges 1500 before sending",
)

# --------------------------------------------------------------------------------------------
# Order shapes and lookups: which wire parameters carry each leg of an order, and how the outcome
# of a write that got no answer is found again (never by sending it twice).
# --------------------------------------------------------------------------------------------


def _leg(label: str, *, type_: str | None = None, type_if_sent: tuple[str, str] | None = None, **wire: str) -> LegShape:
    """One leg; keyword arguments map a leg field (side, price, ...) to the wire parameter carrying it."""
    return LegShape(label, tuple(wire.items()), type_, type_if_sent)


def _working_leg() -> LegShape:
    """The working order of an OTO/OTOCO (always a limit type, so it has no stop or trailing fields)."""
    return _leg(
        "working order",
        side="workingSide",
        type="workingType",
        price="workingPrice",
        quantity="workingQuantity",
        icebergQty="workingIcebergQty",
        timeInForce="workingTimeInForce",
    )


def _pending_leg(label: str, prefix: str) -> LegShape:
    """A pending order of an OTO/OTOCO: its own prefixed fields, but side and quantity shared by every pending one."""
    own = ("type", "price", "stopPrice", "icebergQty", "timeInForce", "trailingDelta")
    return _leg(
        label, side="pendingSide", quantity="pendingQuantity", **{f: prefix + f[0].upper() + f[1:] for f in own}
    )


def _order_shape(
    kind: OrderKind, *legs: LegShape, list_flag: str | None = None, alternatives: tuple[int, ...] = ()
) -> OrderShape:
    return OrderShape(kind, legs, "get_open_margin_orders", list_flag, alternatives)


_SINGLE_SHAPE = _order_shape(OrderKind.SINGLE, _leg("order", **{f: f for f in LEG_FIELDS}))
_OCO_SHAPE = _order_shape(
    OrderKind.OCO,
    _leg(
        "limit leg",
        type_="LIMIT_MAKER",
        side="side",
        quantity="quantity",
        price="price",
        icebergQty="limitIcebergQty",
    ),
    _leg(
        "stop leg",
        type_="STOP_LOSS",
        type_if_sent=("stopLimitPrice", "STOP_LOSS_LIMIT"),  # a stop limit price makes it a stop-limit order
        side="side",
        quantity="quantity",
        stopPrice="stopPrice",
        price="stopLimitPrice",
        timeInForce="stopLimitTimeInForce",
        icebergQty="stopIcebergQty",
    ),
    list_flag="ocoAllowed",
    alternatives=(0, 1),  # one-cancels-the-other: only one leg fills
)
_OTO_SHAPE = _order_shape(
    OrderKind.OTO, _working_leg(), _pending_leg("pending order", "pending"), list_flag="otoAllowed"
)
_OTOCO_SHAPE = _order_shape(
    OrderKind.OTOCO,
    _working_leg(),
    _pending_leg("pending above", "pendingAbove"),
    _pending_leg("pending below", "pendingBelow"),
    list_flag="otoAllowed",
    alternatives=(1, 2),  # the pending pair is an OCO; the working order fills as well
)

# A new order or list is found by the client id it was given (always sent: the agent- id is stamped).
_FIND_NEW_ORDER = ReconcileById(
    "get_margin_order", "order", "status", created_id=("newClientOrderId", "origClientOrderId")
)
_FIND_NEW_LIST = ReconcileById(
    "get_margin_order_list", "order list", "listOrderStatus", created_id=("listClientOrderId", "origClientOrderId")
)

# Requests that can only lower risk, which `Trading: disabled` and `Allowed Symbols` never block: cancels (no fill,
# no loan can follow from them), repayments, and an AUTO_REPAY order proven to be a pure close (operator_limits).
_ALWAYS_REDUCES_RISK = RiskReduction()
_CLOSES_POSITION = RiskReduction(
    when=(("sideEffectType", ("AUTO_REPAY",)),),
    position=PositionReads(cross="get_cross_margin_account", isolated="get_isolated_margin_account"),
)

# --------------------------------------------------------------------------------------------
# account: balances, isolated accounts, fee data, leverage
# --------------------------------------------------------------------------------------------

_ACCOUNT: tuple[Endpoint, ...] = (
    _account(
        "get_bnb_burn_settings",
        "Get BNB burn status",
        "GET",
        "/sapi/v1/bnbBurn",
        security=Security.USER_DATA,
        weight=Weight("IP", 1),
        about="Show whether BNB is used to pay spot trading fees (spotBNBBurn) and margin loan interest "
        "(interestBNBBurn) on this account. Read-only: this server does not change the setting.",
        params=_params("recvWindow:integer"),
    ),
    _account(
        "get_cross_margin_account",
        "Get cross margin account",
        "GET",
        "/sapi/v1/margin/account",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="Return the cross margin account: margin level, BTC-valued totals of assets, liabilities and "
        "net assets, the borrow/trade/transfer flags, the account type (MARGIN_1 Classic, MARGIN_2 Pro) "
        "and per asset the free, locked, borrowed, interest and net amounts. Call it before trading or "
        "borrowing on cross margin; for isolated pairs use get_isolated_margin_account.",
        params=_params("recvWindow:integer"),
    ),
    _account(
        "get_margin_capital_flow",
        "Get margin capital flow",
        "GET",
        "/sapi/v1/margin/capital-flow",
        security=Security.USER_DATA,
        weight=Weight("IP", 100),
        about="List the ledger of money moving through the cross margin account or an isolated pair: "
        "transfers, borrows, repayments, trade income and expense, fees, liquidations and small-balance "
        "conversions. Filter by asset, pair and flow type; a startTime-endTime span over 7 days is refused "
        "(since 2026-02-02) and only the last 90 days are kept. Since 2026-07-10 rows may carry a note "
        "(e.g. institutional loans). Page with fromId; limit defaults to 500, max 1000.",
        max_span=SpanLimit("startTime", "endTime", 7, "2026-02-02", -4047),
        changes=(
            Change(
                "2026-02-02",
                "a startTime-endTime span of at most 7 days, else error -4047",
                "catalog max_span: a longer span is refused before sending; -4047 has a hint",
            ),
            Change("2026-07-10", "response rows gain a `note` field (institutional loans)", "named in the description"),
        ),
        params=_params(
            "asset:string symbol:string type:enum(TRANSFER|BORROW|REPAY|BUY_INCOME|BUY_EXPENSE|SELL_INCOME"
            "|SELL_EXPENSE|TRADING_COMMISSION|BUY_LIQUIDATION|SELL_LIQUIDATION|REPAY_LIQUIDATION"
            "|OTHER_LIQUIDATION|LIQUIDATION_FEE|SMALL_BALANCE_CONVERT|COMMISSION_RETURN|SMALL_CONVERT) "
            "startTime:integer endTime:integer fromId:integer limit:integer recvWindow:integer",
            {
                "asset": Plain("Only flows in this asset, e.g. USDT."),
                "symbol": "Isolated margin pair whose flows to list; omit for cross margin.",
                "type": "Only flows of this kind, e.g. TRANSFER, BORROW, REPAY or TRADING_COMMISSION.",
                "startTime": "Start of the range in epoch milliseconds; at most 90 days back and at most 7 "
                "days before endTime.",
                "fromId": "Return records whose id is greater than this; without it the newest come first.",
                "limit": "Records per request; default 500, at most 1000.",
            },
        ),
    ),
    _account(
        "get_cross_margin_fee_data",
        "Get cross margin fee data",
        "GET",
        "/sapi/v1/margin/crossMarginData",
        security=Security.USER_DATA,
        weight=Weight("IP", 1, "coin", (), 5),
        about="Return cross margin borrowing terms per asset for a VIP level: daily interest rate, borrow "
        "limit, and whether the asset can be borrowed or used as collateral. Omit vipLevel for the "
        "account's own level; pass coin to fetch one asset at the lower weight.",
        params=_params(
            "vipLevel:integer coin:string recvWindow:integer",
            {"coin": "Asset to return, e.g. BTC; omitting it returns every asset and costs weight 5."},
        ),
    ),
    _account(
        "disable_isolated_margin_account",
        "Disable isolated margin account",
        "DELETE",
        "/sapi/v1/margin/isolated/account",
        security=Security.TRADE,
        weight=Weight("UID", 300),
        about="Switch off the isolated margin account of one pair. Each pair can be disabled only once "
        "every 24 hours; turn it back on with enable_isolated_margin_account.",
        params=_params(
            "symbol*:string recvWindow:integer",
            {"symbol": Plain("Isolated margin pair to disable, e.g. BTCUSDT.")},
        ),
        transaction=True,
        idempotent=True,
    ),
    _account(
        "get_isolated_margin_account",
        "Get isolated margin accounts",
        "GET",
        "/sapi/v1/margin/isolated/account",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="Return isolated margin accounts: per pair the base and quote balances (free, locked, "
        "borrowed, interest, net), margin level and status, index price and liquidation price, plus "
        "BTC-valued totals. Pass symbols (up to 5) to narrow the result; the totals are left out then. "
        "For the cross account use get_cross_margin_account.",
        params=_params(
            "symbols:string recvWindow:integer",
            {"symbols": 'Comma-separated isolated pairs, at most 5, e.g. "BTCUSDT,BNBUSDT"; omit for all.'},
        ),
    ),
    _account(
        "enable_isolated_margin_account",
        "Enable isolated margin account",
        "POST",
        "/sapi/v1/margin/isolated/account",
        security=Security.TRADE,
        weight=Weight("UID", 300),
        about="Switch the isolated margin account of a pair back on after it was disabled with "
        "disable_isolated_margin_account. It cannot create a new isolated account: those appear when funds "
        "are first transferred into the pair. Check the quota with get_isolated_margin_account_limit.",
        params=_params(
            "symbol*:string recvWindow:integer",
            {"symbol": Plain("Previously disabled isolated margin pair to enable, e.g. BTCUSDT.")},
        ),
        transaction=True,
        idempotent=True,
    ),
    _account(
        "get_isolated_margin_account_limit",
        "Get isolated margin account limit",
        "GET",
        "/sapi/v1/margin/isolated/accountLimit",
        security=Security.USER_DATA,
        weight=Weight("IP", 1),
        about="Return how many isolated margin accounts are enabled now (enabledAccount) and the most that "
        "may be enabled (maxAccount). Check it before enable_isolated_margin_account.",
        params=_params("recvWindow:integer"),
    ),
    _account(
        "get_isolated_margin_fee_data",
        "Get isolated margin fee data",
        "GET",
        "/sapi/v1/margin/isolatedMarginData",
        security=Security.USER_DATA,
        weight=Weight("IP", 1, "symbol", (), 10),
        about="Return isolated margin borrowing terms per pair for a VIP level: leverage, and the daily "
        "interest and borrow limit of the base and quote assets. Omit vipLevel for the account's own "
        "level; pass symbol to fetch one pair at the lower weight.",
        params=_params(
            "vipLevel:integer symbol:string recvWindow:integer",
            {"symbol": "Isolated margin pair to return; omitting it returns every pair and costs weight 10."},
        ),
    ),
    _account(
        "adjust_cross_margin_max_leverage",
        "Adjust cross margin max leverage",
        "POST",
        "/sapi/v1/margin/max-leverage",
        security=Security.USER_DATA,
        weight=Weight("UID", 3000),
        about="Change the maximum leverage of the cross margin account: 3 or 5 on Cross Margin Classic, 10 "
        "on Cross Margin Pro. This moves borrowing limits and risk thresholds, so look at "
        "get_cross_margin_account first. Apart from the weight, Binance accepts only 1 call per minute "
        "per IP.",
        params=_params(
            "maxLeverage*:integer",
            {
                "maxLeverage": "New leverage ceiling: 3 or 5 for Cross Margin Classic, 10 for Cross Margin "
                "Pro (20 where compliance allows)."
            },
        ),
        transaction=True,
        idempotent=True,
    ),
    _account(
        "get_margin_level_summary",
        "Get margin level summary",
        "GET",
        "/sapi/v1/margin/tradeCoeff",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="Return the margin level thresholds that apply to this account: normalBar, marginCallBar and "
        "forceLiquidationBar. Compare them with marginLevel from get_cross_margin_account to see how close "
        "the account is to a margin call or liquidation.",
        params=_params("recvWindow:integer"),
    ),
)

# --------------------------------------------------------------------------------------------
# borrow-repay: loans, interest
# --------------------------------------------------------------------------------------------

_BORROW_REPAY: tuple[Endpoint, ...] = (
    _borrow_repay(
        "get_borrow_repay_records",
        "Get borrow/repay records",
        "GET",
        "/sapi/v1/margin/borrow-repay",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="List loan (type BORROW) or repayment (type REPAY) records, newest first, for cross margin "
        "or an isolated pair. Give txId (the tranId from borrow_or_repay, which wins) or startTime; "
        "without asset the window is 7 days, with asset 30 days before endTime. Use it to check whether a "
        "borrow_or_repay call went through before retrying; size defaults to 10, max 100.",
        params=_params(
            "type*:enum(BORROW|REPAY) asset:string isolatedSymbol:string txId:integer startTime:integer "
            "endTime:integer current:integer size:integer recvWindow:integer",
            {
                "type": Plain("BORROW for loan records, REPAY for repayment records."),
                "asset": "Only records of this asset; widens the window to 30 days before endTime.",
                "txId": "Transaction id (tranId) returned by borrow_or_repay; takes precedence over times.",
            },
        ),
    ),
    _borrow_repay(
        "borrow_or_repay",
        "Borrow or repay",
        "POST",
        "/sapi/v1/margin/borrow-repay",
        security=Security.USER_DATA,
        weight=Weight("UID", 1500),
        about="Take a margin loan (type BORROW) or pay one back (type REPAY), on cross margin or, with "
        "isIsolated=TRUE and symbol, on an isolated pair. Interest starts at once (the first hour is "
        "charged on borrowing) and repayments settle interest before principal. Check get_max_borrowable "
        "before borrowing; the call carries no client id, so after an unclear outcome look in "
        "get_borrow_repay_records before retrying.",
        params=_params(
            "asset*:string isIsolated*:enum(TRUE|FALSE) amount*:string type*:enum(BORROW|REPAY) "
            "symbol:string recvWindow:integer",
            {
                "asset": Plain("Asset to borrow or repay, e.g. USDT."),
                "isIsolated": "TRUE to borrow or repay on the isolated pair in symbol, FALSE for cross margin.",
                "amount": Plain("Amount to borrow or repay."),
                "type": Plain("BORROW to take a loan, REPAY to pay one back."),
                "symbol": "Isolated margin pair, e.g. BTCUSDT; needed when isIsolated is TRUE.",
            },
            types={"amount": "decimal"},
        ),
        transaction=True,
        # No client id: the outcome is found among the borrow/repay records by asset, amount and time.
        loan=LoanSpec(asset="asset", amount="amount", direction="type"),
        reconcile=ReconcileByRecords("get_borrow_repay_records"),
        reduces_risk=RiskReduction(when=(("type", ("REPAY",)),)),
    ),
    _borrow_repay(
        "get_margin_interest_history",
        "Get margin interest history",
        "GET",
        "/sapi/v1/margin/interestHistory",
        security=Security.USER_DATA,
        weight=Weight("IP", 1),
        about="List the interest charged on margin loans, for cross margin or an isolated pair: principal, "
        "interest, rate and the kind of charge (hourly, on borrowing, or paid in BNB). Paged with current "
        "and size (default 10, max 100).",
        params=_params(
            "asset:string isolatedSymbol:string startTime:integer endTime:integer current:integer "
            "size:integer recvWindow:integer",
            {"asset": Plain("Only interest charged in this asset.")},
        ),
    ),
    _borrow_repay(
        "get_margin_interest_rate_history",
        "Get margin interest rate history",
        "GET",
        "/sapi/v1/margin/interestRateHistory",
        security=Security.USER_DATA,
        weight=Weight("IP", 1),
        about="Return the past daily interest rates of one asset at a VIP level (the account's own by "
        "default). Covers the last 7 days unless a range is given; a range may span about one month.",
        params=_params(
            "asset*:string vipLevel:integer startTime:integer endTime:integer recvWindow:integer",
            {
                "asset": Plain("Asset whose rate history to return, e.g. USDT."),
                "startTime": "Start of the range in epoch milliseconds; default 7 days ago.",
                "endTime": "End of the range in epoch milliseconds; default now, at most one month after startTime.",
            },
        ),
    ),
    _borrow_repay(
        "get_max_borrowable",
        "Get max borrowable amount",
        "GET",
        "/sapi/v1/margin/maxBorrowable",
        security=Security.USER_DATA,
        weight=Weight("UID", 750, since="2026-04-16"),
        changes=(
            Change(
                "2026-04-16",
                "weight 750 (UID), was 50 (IP)",
                "the catalog Weight: the local weight book charges 750 against the account (UID) budget",
            ),
        ),
        about="Return how much of an asset the account can borrow right now (amount) and its account-level "
        "ceiling (borrowLimit), on cross margin or an isolated pair. Call it before borrow_or_repay or a "
        "MARGIN_BUY order.",
        params=_params(
            "asset*:string isolatedSymbol:string recvWindow:integer",
            {"asset": Plain("Asset you want to borrow, e.g. USDT.")},
        ),
    ),
    _borrow_repay(
        "get_next_hourly_interest_rates",
        "Get next hourly interest rates",
        "GET",
        "/sapi/v1/margin/next-hourly-interest-rate",
        security=Security.USER_DATA,
        weight=Weight("IP", 100),
        about="Return the interest rate that will be charged in the coming hour for up to 20 assets, on "
        "cross or isolated margin. Use it to estimate what a loan will cost before borrowing.",
        params=_params(
            "assets*:string isIsolated*:enum(TRUE|FALSE)",
            {
                "assets": 'Comma-separated assets, at most 20, e.g. "BTC,ETH".',
                "isIsolated": "TRUE for isolated margin rates, FALSE for cross margin rates.",
            },
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# market-data: reference data, schedules, prices
# --------------------------------------------------------------------------------------------

_MARKET_DATA: tuple[Endpoint, ...] = (
    _market_data(
        "list_margin_assets",
        "List margin assets",
        "GET",
        "/sapi/v1/margin/allAssets",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 1),
        about="List the assets margin supports, with whether each can be borrowed or used as collateral and "
        "the minimum amounts to borrow and repay. Pass asset to get a single one.",
        params=_params("asset:string", {"asset": Plain("Return only this asset, e.g. BTC.")}),
    ),
    _market_data(
        "list_cross_margin_pairs",
        "List cross margin pairs",
        "GET",
        "/sapi/v1/margin/allPairs",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 1),
        about="List the pairs tradable on cross margin, with base and quote assets and whether buying, "
        "selling and margin trading are allowed. Pass symbol for one pair; for isolated pairs use "
        "list_isolated_margin_pairs.",
        params=_params("symbol:string", {"symbol": Plain("Return only this pair, e.g. BTCUSDT.")}),
    ),
    _market_data(
        "get_margin_available_inventory",
        "Get margin available inventory",
        "GET",
        "/sapi/v1/margin/available-inventory",
        security=Security.USER_DATA,
        weight=Weight("UID", 50),
        about="Return how much of each asset Binance currently has available to lend on cross margin (type "
        "MARGIN) or isolated margin (type ISOLATED). Check it before a large borrow: an asset with little "
        "inventory may not be borrowable.",
        params=_params(
            "type*:enum(MARGIN|ISOLATED)",
            {"type": "MARGIN for the cross margin lending pool, ISOLATED for isolated margin."},
        ),
    ),
    _market_data(
        "get_cross_margin_collateral_ratios",
        "Get cross margin collateral ratios",
        "GET",
        "/sapi/v1/margin/crossMarginCollateralRatio",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 100),
        about="Return the tiers of collateral ratio that discount each asset's value when cross margin "
        "computes the collateral margin level. Takes no parameters.",
    ),
    _market_data(
        "get_margin_delist_schedule",
        "Get margin delist schedule",
        "GET",
        "/sapi/v1/margin/delist-schedule",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 100),
        about="Return upcoming margin delistings: when assets and cross or isolated pairs stop being "
        "available on margin. Check it before opening a position meant to stay open for a while.",
        params=_params("recvWindow:integer"),
    ),
    _market_data(
        "list_isolated_margin_pairs",
        "List isolated margin pairs",
        "GET",
        "/sapi/v1/margin/isolated/allPairs",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 10),
        about="List the pairs available for isolated margin, with base and quote assets and which actions "
        "are allowed. Pass symbol for one pair; for cross pairs use list_cross_margin_pairs.",
        params=_params(
            "symbol:string recvWindow:integer", {"symbol": Plain("Return only this isolated pair, e.g. BTCUSDT.")}
        ),
    ),
    _market_data(
        "get_isolated_margin_tiers",
        "Get isolated margin tiers",
        "GET",
        "/sapi/v1/margin/isolatedMarginTier",
        security=Security.USER_DATA,
        weight=Weight("IP", 1),
        about="Return the tiers of one isolated margin pair: for each tier the maximum leverage, the base "
        "and quote borrow limits, and the initial and liquidation risk ratios. Omit tier to get all tiers.",
        params=_params(
            "symbol*:string tier:integer recvWindow:integer",
            {
                "symbol": Plain("Isolated margin pair, e.g. BTCUSDT."),
                "tier": "Tier number to return; every tier when omitted.",
            },
        ),
    ),
    _market_data(
        "get_cross_margin_pro_leverage_brackets",
        "Get Cross Margin Pro leverage brackets",
        "GET",
        "/sapi/v1/margin/leverageBracket",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 1),
        about="Retired: Binance no longer supports this endpoint since 2026-04-13 (Cross Margin Pro sunset), "
        "so the server refuses it without sending. It returned the Cross Margin Pro liability brackets.",
        retired="2026-04-13: Binance no longer supports GET /sapi/v1/margin/leverageBracket (Cross Margin Pro sunset)",
        changes=(
            Change(
                "2026-04-13",
                "no longer supported (Cross Margin Pro sunset)",
                "catalog retired: refused locally with the date, nothing is sent",
            ),
        ),
    ),
    _market_data(
        "list_margin_limit_price_pairs",
        "List margin limit-price pairs",
        "GET",
        "/sapi/v1/margin/limit-price-pairs",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 1),
        about="List the margin pairs whose limit orders must be priced within 15% of the index price; an "
        "order outside that band is rejected with error -3064. Takes no parameters.",
    ),
    _market_data(
        "get_margin_listing_schedule",
        "Get margin listing schedule",
        "GET",
        "/sapi/v1/margin/list-schedule",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 100),
        about="Return upcoming margin listings: assets and cross or isolated pairs that will become "
        "available on margin, and when. For removals see get_margin_delist_schedule.",
        params=_params("recvWindow:integer"),
    ),
    _market_data(
        "get_margin_price_index",
        "Get margin price index",
        "GET",
        "/sapi/v1/margin/priceIndex",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 10),
        about="Return the margin index price of one pair with the time it was computed. Useful to judge "
        "liquidation risk and the 15% band on limit prices (see list_margin_limit_price_pairs).",
        params=_params("symbol*:string", {"symbol": Plain("Pair to get the index price of, e.g. BTCUSDT.")}),
    ),
    _market_data(
        "list_margin_restricted_assets",
        "List margin restricted assets",
        "GET",
        "/sapi/v1/margin/restricted-asset",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 1),
        about="List the assets margin currently restricts: those that cannot be used to open long "
        "positions and those that have exceeded their collateral cap. Check it before buying or "
        "depositing an asset as collateral; takes no parameters.",
    ),
    _market_data(
        "get_margin_risk_based_liquidation_ratios",
        "Get margin risk-based liquidation ratios",
        "GET",
        "/sapi/v1/margin/risk-based-liquidation-ratio",
        security=Security.MARKET_DATA,
        weight=Weight("IP", 1),
        about="Return the risk-based liquidation ratio Binance applies to each margin asset. Takes no parameters.",
    ),
)

# --------------------------------------------------------------------------------------------
# trade: orders, order lists, trades, liquidation
# --------------------------------------------------------------------------------------------

_TRADE: tuple[Endpoint, ...] = (
    _trade(
        "get_all_margin_order_lists",
        "Get all margin OCO order lists",
        "GET",
        "/sapi/v1/margin/allOrderList",
        security=Security.USER_DATA,
        weight=Weight("IP", 200),
        about="List OCO order lists in any state (open, done or cancelled). Select by fromId, or by "
        "startTime/endTime, not both; limit defaults to 500, max 1000. For open lists only use "
        "get_open_margin_order_lists.",
        params=_params(
            "isIsolated:enum(TRUE|FALSE) symbol:string fromId:integer startTime:integer endTime:integer "
            "limit:integer recvWindow:integer",
            {
                "symbol": _LIST_SYMBOL,
                "fromId": "Return lists from this orderListId on; cannot be combined with startTime or endTime.",
                "limit": "Lists per request; default 500, at most 1000.",
            },
        ),
    ),
    _trade(
        "get_all_margin_orders",
        "Get all margin orders",
        "GET",
        "/sapi/v1/margin/allOrders",
        security=Security.USER_DATA,
        weight=Weight("IP", 200),
        about="List orders of one symbol in any state: open, filled, cancelled or expired. With orderId it "
        "returns that order and newer ones, otherwise the last 24 hours; a startTime-endTime span must be "
        "under 24 hours, and limit defaults to 500, max 500. Binance also caps it at 60 calls per minute "
        "per IP; for open orders only use get_open_margin_orders.",
        params=_params(
            "symbol*:string isIsolated:enum(TRUE|FALSE) orderId:integer startTime:integer endTime:integer "
            "limit:integer recvWindow:integer",
            {
                "orderId": "Return this order and the ones after it.",
                "limit": "Orders per request; default 500, at most 500.",
            },
        ),
    ),
    _trade(
        "list_small_liability_exchange_assets",
        "List small liability exchange assets",
        "GET",
        "/sapi/v1/margin/exchange-small-liability",
        security=Security.USER_DATA,
        weight=Weight("IP", 100),
        about="List the cross margin debts small enough for a small liability exchange, with principal, "
        "interest and what they would become. Pass the chosen asset names to exchange_small_liability.",
        params=_params("recvWindow:integer"),
    ),
    _trade(
        "exchange_small_liability",
        "Exchange small liabilities",
        "POST",
        "/sapi/v1/margin/exchange-small-liability",
        security=Security.MARGIN,
        weight=Weight("UID", 3000),
        about="Fold small cross margin debts in the listed assets into one liability in another asset (the "
        "target is shown by list_small_liability_exchange_assets). Binance allows it for debts worth under "
        "10 USDT, up to 10 assets, once every 6 hours.",
        params=_params(
            "assetNames*:string recvWindow:integer",
            {"assetNames": 'Comma-separated assets whose small debts to exchange, e.g. "BTC,ETH".'},
        ),
        transaction=True,
    ),
    _trade(
        "list_small_liability_exchanges",
        "List small liability exchanges",
        "GET",
        "/sapi/v1/margin/exchange-small-liability-history",
        security=Security.USER_DATA,
        weight=Weight("UID", 100),
        about="List past small liability exchanges of this account. current and size are required; the "
        "range defaults to the last 30 days.",
        params=_params(
            "current*:integer size*:integer startTime:integer endTime:integer recvWindow:integer",
            {
                "startTime": "Start of the range in epoch milliseconds; default 30 days ago.",
                "endTime": "End of the range in epoch milliseconds; default now.",
            },
        ),
    ),
    _trade(
        "get_forced_liquidation_history",
        "Get forced liquidation history",
        "GET",
        "/sapi/v1/margin/forceLiquidationRec",
        security=Security.USER_DATA,
        weight=Weight("IP", 1),
        about="List the orders Binance placed to liquidate this account, on cross margin or an isolated "
        "pair, with price, quantity, average fill price and time. Paged with current and size (default 10, "
        "max 100).",
        params=_params(
            "startTime:integer endTime:integer isolatedSymbol:string current:integer size:integer recvWindow:integer"
        ),
    ),
    _trade(
        "get_liquidation_loan",
        "Get liquidation loan",
        "GET",
        "/sapi/v1/margin/liquidation-loan",
        security=Security.USER_DATA,
        weight=Weight("UID", 100),
        about="Show the cross margin liquidation loan: the deficit (in USDC) left when a liquidation drove "
        "equity below zero, with the original, repaid and remaining amounts. Pay it off with "
        "repay_liquidation_loan.",
        params=_params("recvWindow:integer"),
    ),
    _trade(
        "repay_liquidation_loan",
        "Repay liquidation loan",
        "POST",
        "/sapi/v1/margin/liquidation-loan/repay",
        security=Security.MARGIN,
        weight=Weight("UID", 100),
        about="Pay down the cross margin liquidation loan with funds from the Spot wallet. amount must be "
        "positive and no more than what get_liquidation_loan shows as remaining; the call fails if the "
        "Spot wallet holds too little of the asset.",
        params=_params(
            "asset*:string amount*:decimal recvWindow:integer",
            {
                "asset": "Asset to repay with, e.g. USDC.",
                "amount": "Amount to repay, at most the remaining loan.",
            },
        ),
        transaction=True,
        reduces_risk=_ALWAYS_REDUCES_RISK,
    ),
    _trade(
        "get_liquidation_loan_repay_history",
        "Get liquidation loan repay history",
        "GET",
        "/sapi/v1/margin/liquidation-loan/repay-history",
        security=Security.USER_DATA,
        weight=Weight("UID", 100),
        about="List repayments made against the liquidation loan. The range defaults to the last 7 days; "
        "paged with current and size (default 50).",
        params=_params(
            "startTime:integer endTime:integer current:integer size:integer recvWindow:integer",
            {
                "startTime": "Start of the range in epoch milliseconds; default 7 days ago.",
                "endTime": "End of the range in epoch milliseconds; default now.",
                "size": "Rows per page; default 50.",
            },
        ),
    ),
    _trade(
        "trigger_manual_liquidation",
        "Trigger manual liquidation",
        "POST",
        "/sapi/v1/margin/manual-liquidation",
        security=Security.TRADE,
        weight=Weight("UID", 3000),
        about="Liquidate positions yourself: the whole cross margin account (type MARGIN) or one isolated "
        "pair (type ISOLATED with symbol); holdings are sold to clear the debts. It cannot be undone and "
        "returns the liabilities that were settled.",
        params=_params(
            "type*:enum(MARGIN|ISOLATED) symbol:string recvWindow:integer",
            {
                "type": "MARGIN to liquidate the cross margin account, ISOLATED for the pair in symbol.",
                "symbol": "Isolated margin pair to liquidate; required when type is ISOLATED.",
            },
        ),
        transaction=True,
        # Off unless the operator allows it: it sells everything.
        enabled_by=OperatorSwitch("--enable-manual-liquidation", "enable_manual_liquidation"),
    ),
    _trade(
        "get_margin_prevented_matches",
        "Get margin prevented matches",
        "GET",
        "/sapi/v1/margin/myPreventedMatches",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="List orders on one symbol that self-trade prevention expired instead of matching against "
        "your own orders. Look up by preventedMatchId, by orderId, or from fromPreventedMatchId onward.",
        params=_params(
            "symbol*:string preventedMatchId:integer orderId:integer fromPreventedMatchId:integer "
            "isIsolated:enum(TRUE|FALSE) recvWindow:integer",
            {
                "preventedMatchId": Plain("Return the prevented match with this id."),
                "orderId": Plain("Return the prevented matches of this order."),
                "fromPreventedMatchId": "Return prevented matches from this id on.",
            },
        ),
    ),
    _trade(
        "get_margin_trades",
        "Get margin trades",
        "GET",
        "/sapi/v1/margin/myTrades",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="List the account's fills on one symbol with price, quantity, commission and maker/buyer "
        "flags. With fromId it starts at that trade id, otherwise it returns the most recent; a time span "
        "must be under 24 hours and limit defaults to 500, max 1000. For orders rather than fills use "
        "get_all_margin_orders.",
        params=_params(
            "symbol*:string isIsolated:enum(TRUE|FALSE) orderId:integer startTime:integer endTime:integer "
            "fromId:integer limit:integer recvWindow:integer",
            {
                "orderId": Plain("Only fills of this order."),
                "fromId": "Trade id to start from; without it the most recent trades are returned.",
                "limit": "Trades per request; default 500, at most 1000.",
            },
        ),
    ),
    _trade(
        "get_open_margin_order_lists",
        "Get open margin OCO order lists",
        "GET",
        "/sapi/v1/margin/openOrderList",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="List OCO order lists that are still open. For open OTO and OTOCO lists use "
        "get_open_margin_oto_order_lists; for every state use get_all_margin_order_lists.",
        params=_params("isIsolated:enum(TRUE|FALSE) symbol:string recvWindow:integer", {"symbol": _LIST_SYMBOL}),
    ),
    _trade(
        "cancel_all_open_margin_orders",
        "Cancel all open margin orders on a symbol",
        "DELETE",
        "/sapi/v1/margin/openOrders",
        security=Security.TRADE,
        weight=Weight("IP", 1),
        about="Cancel every open order on one symbol, order lists included, on cross margin or the isolated "
        "pair, and return what was cancelled. To cancel one order use cancel_margin_order; for one list "
        "use cancel_margin_order_list.",
        params=_params(
            "symbol*:string isIsolated:enum(TRUE|FALSE) recvWindow:integer",
            {"symbol": Plain("Pair whose open orders to cancel, e.g. BTCUSDT.")},
        ),
        transaction=True,
        idempotent=True,
        reduces_risk=_ALWAYS_REDUCES_RISK,
    ),
    _trade(
        "get_open_margin_orders",
        "Get open margin orders",
        "GET",
        "/sapi/v1/margin/openOrders",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="List orders that are still open, for one symbol or for every cross margin symbol. symbol is "
        "required when isIsolated is TRUE; for orders in any state use get_all_margin_orders.",
        params=_params(
            "symbol:string isIsolated:enum(TRUE|FALSE) recvWindow:integer",
            {"symbol": "Only this pair; required when isIsolated is TRUE."},
        ),
    ),
    _trade(
        "cancel_margin_order",
        "Cancel margin order",
        "DELETE",
        "/sapi/v1/margin/order",
        security=Security.TRADE,
        weight=Weight("IP", 10),
        about="Cancel one open margin order, found by orderId or origClientOrderId (one of them is "
        "required). A loan the order took out is repaid on cancel unless it was placed with "
        "autoRepayAtCancel=false; an order that is already finished or unknown gives error -2011. To "
        "clear a whole symbol use cancel_all_open_margin_orders.",
        params=_params(
            "symbol*:string isIsolated:enum(TRUE|FALSE) orderId:integer origClientOrderId:string "
            "newClientOrderId:string recvWindow:integer",
            {
                "orderId": "Binance's id of the order to cancel; give this or origClientOrderId.",
                "newClientOrderId": Plain(
                    "Your id for this cancel request; the agent- prefix is added automatically and one is generated "
                    "when omitted."
                ),
            },
            client_ids=("newClientOrderId",),
        ),
        transaction=True,
        reconcile=ReconcileById(
            "get_margin_order",
            "order",
            "status",
            refs=(("orderId", "orderId"), ("origClientOrderId", "origClientOrderId")),
        ),
        reduces_risk=_ALWAYS_REDUCES_RISK,
    ),
    _trade(
        "get_margin_order",
        "Get margin order",
        "GET",
        "/sapi/v1/margin/order",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="Return one order's state, filled quantity and prices, found by orderId or origClientOrderId. "
        "Use it to learn what happened to an order whose placement timed out before trying again.",
        params=_params(
            "symbol*:string isIsolated:enum(TRUE|FALSE) orderId:integer origClientOrderId:string recvWindow:integer",
            {"orderId": "Binance's id of the order; give this or origClientOrderId."},
        ),
    ),
    _trade(
        "create_margin_order",
        "Create margin order",
        "POST",
        "/sapi/v1/margin/order",
        security=Security.TRADE,
        weight=_ORDER_WEIGHT,
        about="Place a single order on cross margin or an isolated pair (for brackets use "
        "create_margin_oco_order, create_margin_oto_order or create_margin_otoco_order). LIMIT needs "
        "timeInForce, quantity and price; MARKET needs quantity or quoteOrderQty; STOP_LOSS and "
        "TAKE_PROFIT need quantity plus stopPrice or trailingDelta, and their _LIMIT forms also price and "
        "timeInForce; LIMIT_MAKER needs quantity and price. MARGIN_BUY borrows what is missing as soon as "
        "the order is placed, not when it fills, and autoRepayAtCancel (default true) repays that loan if "
        "the order is cancelled.",
        params=_params(
            "symbol*:string side*:enum(BUY|SELL) type*:enum(LIMIT|MARKET|STOP_LOSS|STOP_LOSS_LIMIT"
            "|TAKE_PROFIT|TAKE_PROFIT_LIMIT|LIMIT_MAKER) isIsolated:enum(TRUE|FALSE) quantity:decimal "
            "quoteOrderQty:decimal price:decimal stopPrice:decimal newClientOrderId:string "
            "icebergQty:decimal newOrderRespType:enum(ACK|RESULT|FULL) "
            "sideEffectType:enum(NO_SIDE_EFFECT|MARGIN_BUY|AUTO_REPAY|AUTO_BORROW_REPAY) "
            "timeInForce:enum(GTC|IOC|FOK) "
            "selfTradePreventionMode:enum(EXPIRE_TAKER|EXPIRE_MAKER|EXPIRE_BOTH|NONE) "
            "trailingDelta:integer autoRepayAtCancel:boolean recvWindow:integer",
            {
                "type": Plain(
                    "Order type: LIMIT, MARKET, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT or "
                    "LIMIT_MAKER."
                ),
                "quoteOrderQty": "For MARKET orders, the amount of quote asset to spend or receive.",
                "icebergQty": "Visible part of an iceberg order (LIMIT or a _LIMIT type, with GTC).",
                "trailingDelta": "Trailing delta in basis points for stop-loss and take-profit types, "
                "instead of or together with stopPrice.",
            },
            client_ids=("newClientOrderId",),
        ),
        transaction=True,
        order_shape=_SINGLE_SHAPE,
        changes=(_ORDER_WEIGHT_CHANGE,),
        reconcile=_FIND_NEW_ORDER,
        reduces_risk=_CLOSES_POSITION,
    ),
    _trade(
        "create_margin_oco_order",
        "Create margin OCO order",
        "POST",
        "/sapi/v1/margin/order/oco",
        security=Security.TRADE,
        weight=_ORDER_WEIGHT,
        about="Place a one-cancels-the-other pair: a LIMIT_MAKER leg at price and a stop leg at stopPrice "
        "(STOP_LOSS, or STOP_LOSS_LIMIT when stopLimitPrice is set, which then needs stopLimitTimeInForce). "
        "Prices must be ordered limit > last price > stop for SELL and limit < last price < stop for BUY. "
        "When either leg fills or is cancelled the other is cancelled; the pair counts as 2 orders, and "
        "sideEffectType and autoRepayAtCancel work as in create_margin_order.",
        params=_params(
            "symbol*:string side*:enum(BUY|SELL) quantity*:decimal price*:decimal stopPrice*:decimal "
            "isIsolated:enum(TRUE|FALSE) listClientOrderId:string limitClientOrderId:string "
            "limitIcebergQty:decimal stopClientOrderId:string stopLimitPrice:decimal stopIcebergQty:decimal "
            "stopLimitTimeInForce:enum(GTC|FOK|IOC) newOrderRespType:enum(ACK|RESULT|FULL) "
            "sideEffectType:enum(NO_SIDE_EFFECT|MARGIN_BUY|AUTO_REPAY|AUTO_BORROW_REPAY) "
            "selfTradePreventionMode:enum(EXPIRE_TAKER|EXPIRE_MAKER|EXPIRE_BOTH|NONE) "
            "autoRepayAtCancel:boolean recvWindow:integer",
            {
                "quantity": "Quantity of both legs.",
                "price": "Price of the LIMIT_MAKER leg.",
                "stopPrice": Plain("Trigger price of the stop leg."),
                "limitClientOrderId": Plain("Your id for the limit leg; the agent- prefix is added automatically."),
                "limitIcebergQty": Plain("Visible part of the limit leg as an iceberg."),
                "stopClientOrderId": Plain("Your id for the stop leg; the agent- prefix is added automatically."),
                "stopLimitPrice": "Limit price that turns the stop leg into STOP_LOSS_LIMIT; "
                "requires stopLimitTimeInForce.",
                "stopIcebergQty": Plain("Visible part of the stop leg as an iceberg."),
                "stopLimitTimeInForce": "GTC, FOK or IOC for the stop leg; required with stopLimitPrice.",
            },
            client_ids=("listClientOrderId", "limitClientOrderId", "stopClientOrderId"),
        ),
        transaction=True,
        order_shape=_OCO_SHAPE,
        changes=(_ORDER_WEIGHT_CHANGE,),
        reconcile=_FIND_NEW_LIST,
    ),
    _trade(
        "create_margin_oto_order",
        "Create margin OTO order",
        "POST",
        "/sapi/v1/margin/order/oto",
        security=Security.TRADE,
        weight=_ORDER_WEIGHT,
        about="Place a one-triggers-the-other list: the working order (LIMIT or LIMIT_MAKER) goes on the "
        "book now and the pending order is placed only after the working order has fully filled. "
        "Cancelling either one cancels the other, and the list counts as 2 orders. sideEffectType accepts "
        "NO_SIDE_EFFECT, MARGIN_BUY or AUTO_BORROW_REPAY (AUTO_REPAY is not allowed); a LIMIT working "
        "order needs workingTimeInForce, and the pending order needs the price, stop and time-in-force "
        "fields its type calls for.",
        params=_params(
            "symbol*:string workingType*:enum(LIMIT|LIMIT_MAKER) workingSide*:enum(BUY|SELL) "
            "workingPrice*:decimal workingQuantity*:decimal workingIcebergQty:decimal "
            "pendingType*:enum(LIMIT|MARKET|STOP_LOSS|STOP_LOSS_LIMIT|TAKE_PROFIT|TAKE_PROFIT_LIMIT"
            "|LIMIT_MAKER) pendingSide*:enum(BUY|SELL) pendingQuantity*:decimal isIsolated:enum(TRUE|FALSE) "
            "listClientOrderId:string newOrderRespType:enum(ACK|RESULT|FULL) "
            "sideEffectType:enum(NO_SIDE_EFFECT|MARGIN_BUY|AUTO_BORROW_REPAY) "
            "selfTradePreventionMode:enum(EXPIRE_TAKER|EXPIRE_MAKER|EXPIRE_BOTH|NONE) "
            "autoRepayAtCancel:boolean workingClientOrderId:string workingTimeInForce:enum(GTC|IOC|FOK) "
            "pendingClientOrderId:string pendingPrice:decimal pendingStopPrice:decimal "
            "pendingTrailingDelta:decimal pendingIcebergQty:decimal pendingTimeInForce:enum(GTC|IOC|FOK)",
            {
                **_WORKING_DOCS,
                **_leg_docs("pending", "pending order"),
                "pendingType": "Type of the pending order, placed once the working order fills; any type, "
                "but MARKET cannot use a quote quantity.",
                "sideEffectType": _LIST_SIDE_EFFECT,
                "autoRepayAtCancel": _LIST_AUTO_REPAY,
            },
            client_ids=("listClientOrderId", "workingClientOrderId", "pendingClientOrderId"),
        ),
        transaction=True,
        order_shape=_OTO_SHAPE,
        companions=(Companion("pendingTrailingDelta", "pendingPrice", "2026-06-15"),),
        changes=(_ORDER_WEIGHT_CHANGE, _PENDING_PRICE_CHANGE),
        reconcile=_FIND_NEW_LIST,
    ),
    _trade(
        "create_margin_otoco_order",
        "Create margin OTOCO order",
        "POST",
        "/sapi/v1/margin/order/otoco",
        security=Security.TRADE,
        weight=_ORDER_WEIGHT,
        about="Place a working order (LIMIT or LIMIT_MAKER) that, once fully filled, releases an OCO pair "
        "of pending orders above and below the market, typically a take-profit and a stop-loss. The "
        "pending pair (types LIMIT_MAKER, STOP_LOSS or STOP_LOSS_LIMIT) obeys the OCO price rules, and the "
        "list counts as 3 orders. sideEffectType accepts NO_SIDE_EFFECT, MARGIN_BUY or AUTO_BORROW_REPAY; "
        "AUTO_REPAY is not allowed.",
        params=_params(
            "symbol*:string workingType*:enum(LIMIT|LIMIT_MAKER) workingSide*:enum(BUY|SELL) "
            "workingPrice*:decimal workingQuantity*:decimal pendingSide*:enum(BUY|SELL) "
            "pendingQuantity*:decimal pendingAboveType*:enum(LIMIT_MAKER|STOP_LOSS|STOP_LOSS_LIMIT) "
            "isIsolated:enum(TRUE|FALSE) sideEffectType:enum(NO_SIDE_EFFECT|MARGIN_BUY|AUTO_BORROW_REPAY) "
            "autoRepayAtCancel:boolean listClientOrderId:string newOrderRespType:enum(ACK|RESULT|FULL) "
            "selfTradePreventionMode:enum(EXPIRE_TAKER|EXPIRE_MAKER|EXPIRE_BOTH|NONE) "
            "workingClientOrderId:string workingIcebergQty:decimal workingTimeInForce:enum(GTC|IOC|FOK) "
            "pendingAboveClientOrderId:string pendingAbovePrice:decimal pendingAboveStopPrice:decimal "
            "pendingAboveTrailingDelta:decimal pendingAboveIcebergQty:decimal "
            "pendingAboveTimeInForce:enum(GTC|IOC|FOK) "
            "pendingBelowType:enum(LIMIT_MAKER|STOP_LOSS|STOP_LOSS_LIMIT) pendingBelowClientOrderId:string "
            "pendingBelowPrice:decimal pendingBelowStopPrice:decimal pendingBelowTrailingDelta:decimal "
            "pendingBelowIcebergQty:decimal pendingBelowTimeInForce:enum(GTC|IOC|FOK)",
            {
                **_WORKING_DOCS,
                **_leg_docs("pending", "two pending orders"),
                **_leg_docs("pendingAbove", "pending order above the market"),
                **_leg_docs("pendingBelow", "pending order below the market"),
                "pendingAboveType": Plain(
                    "Type of the pending order above the market: LIMIT_MAKER, STOP_LOSS or STOP_LOSS_LIMIT."
                ),
                "pendingBelowType": Plain(
                    "Type of the pending order below the market: LIMIT_MAKER, STOP_LOSS or STOP_LOSS_LIMIT."
                ),
                "sideEffectType": _LIST_SIDE_EFFECT,
                "autoRepayAtCancel": _LIST_AUTO_REPAY,
            },
            client_ids=(
                "listClientOrderId",
                "workingClientOrderId",
                "pendingAboveClientOrderId",
                "pendingBelowClientOrderId",
            ),
        ),
        transaction=True,
        order_shape=_OTOCO_SHAPE,
        companions=(
            Companion("pendingAboveTrailingDelta", "pendingAbovePrice", "2026-06-15"),
            Companion("pendingBelowTrailingDelta", "pendingBelowPrice", "2026-06-15"),
        ),
        changes=(_ORDER_WEIGHT_CHANGE, _PENDING_PRICE_CHANGE),
        reconcile=_FIND_NEW_LIST,
    ),
    _trade(
        "cancel_margin_order_list",
        "Cancel margin order list",
        "DELETE",
        "/sapi/v1/margin/orderList",
        security=Security.TRADE,
        weight=Weight("UID", 1),
        about="Cancel a whole order list (OCO, OTO or OTOCO), found by orderListId or listClientOrderId "
        "(one of them is required). Cancelling a single leg with cancel_margin_order also ends the list.",
        params=_params(
            "symbol*:string isIsolated:enum(TRUE|FALSE) orderListId:integer listClientOrderId:string "
            "newClientOrderId:string recvWindow:integer",
            {
                "orderListId": "Binance's id of the list to cancel; give this or listClientOrderId.",
                "listClientOrderId": "Client id of the existing list to cancel, as it was accepted; give "
                "this or orderListId.",
                "newClientOrderId": Plain(
                    "Your id for this cancel request; the agent- prefix is added automatically and one is generated "
                    "when omitted."
                ),
            },
            client_ids=("newClientOrderId",),
        ),
        transaction=True,
        reconcile=ReconcileById(
            "get_margin_order_list",
            "order list",
            "listOrderStatus",
            refs=(("orderListId", "orderListId"), ("listClientOrderId", "origClientOrderId")),
        ),
        reduces_risk=_ALWAYS_REDUCES_RISK,
    ),
    _trade(
        "get_margin_order_list",
        "Get margin OCO order list",
        "GET",
        "/sapi/v1/margin/orderList",
        security=Security.USER_DATA,
        weight=Weight("IP", 10),
        about="Return one OCO order list with its orders, found by orderListId or origClientOrderId (the "
        "list's client id). To browse lists instead use get_open_margin_order_lists or "
        "get_all_margin_order_lists.",
        params=_params(
            "isIsolated:enum(TRUE|FALSE) symbol:string orderListId:integer origClientOrderId:string recvWindow:integer",
            {
                "symbol": _LIST_SYMBOL,
                "orderListId": "Binance's id of the list; give this or origClientOrderId.",
                "origClientOrderId": "Client id of the list, as it was accepted; give this or orderListId.",
            },
        ),
    ),
    _trade(
        "get_open_margin_oto_order_lists",
        "Get open margin OTO/OTOCO order lists",
        "GET",
        "/sapi/v1/margin/oto/openOrderList",
        security=Security.USER_DATA,
        weight=Weight("UID", 10),
        about="List OTO and OTOCO order lists that are still open, optionally for one symbol. For open OCO "
        "lists use get_open_margin_order_lists.",
        params=_params("symbol:string recvWindow:integer", {"symbol": Plain("Only lists on this pair.")}),
    ),
    _trade(
        "get_margin_order_rate_usage",
        "Get margin order rate usage",
        "GET",
        "/sapi/v1/margin/rateLimit/order",
        security=Security.TRADE,
        weight=Weight("IP", 20),
        about="Return how many orders the account has used against each margin order-rate limit (for "
        "example per 10 seconds and per day). Check it before a burst of orders.",
        params=_params(
            "isIsolated:enum(TRUE|FALSE) symbol:string recvWindow:integer",
            {"symbol": "Isolated margin pair; required when isIsolated is TRUE."},
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# transfer: how much can move out, and what moved
# --------------------------------------------------------------------------------------------

_TRANSFER: tuple[Endpoint, ...] = (
    _transfer(
        "get_max_transferable",
        "Get max transfer-out amount",
        "GET",
        "/sapi/v1/margin/maxTransferable",
        security=Security.USER_DATA,
        weight=Weight("IP", 50),
        about="Return the most of an asset that can be moved out of the cross margin account, or out of an "
        "isolated pair, right now without breaking margin requirements. Check it before moving funds out; "
        "past transfers are in get_margin_transfer_history.",
        params=_params(
            "asset*:string isolatedSymbol:string recvWindow:integer",
            {"asset": Plain("Asset you want to transfer out, e.g. USDT.")},
        ),
    ),
    _transfer(
        "get_margin_transfer_history",
        "Get margin transfer history",
        "GET",
        "/sapi/v1/margin/transfer",
        security=Security.USER_DATA,
        weight=Weight("IP", 1),
        about="List transfers into (ROLL_IN) and out of (ROLL_OUT) the cross margin account, or an isolated "
        "pair via isolatedSymbol. Paged with current and size (default 10, max 100).",
        params=_params(
            "asset:string type:enum(ROLL_IN|ROLL_OUT) startTime:integer endTime:integer current:integer "
            "size:integer isolatedSymbol:string recvWindow:integer",
            {
                "asset": Plain("Only transfers of this asset."),
                "type": "ROLL_IN for transfers into margin, ROLL_OUT for transfers out.",
            },
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# user-data-stream: listen keys for the margin risk stream. They manage a stream token, not the
# account, so none is a transaction; only closing a key is destructive.
# --------------------------------------------------------------------------------------------

# Since 2026-02-20 the trade stream (orders, balances) uses POST /sapi/v1/userListenToken and the WebSocket API;
# the old /sapi/v1/userDataStream keys are gone. These keys serve only the risk data stream.
_RISK_ONLY = "For the risk data stream only, not order updates (2026-02-20)."
_TRADE_STREAM = (
    "It is not for order or balance updates: since 2026-02-20 Binance's trade stream uses userListenToken, "
    "which this server does not offer."
)
_LISTEN_KEY_CHANGE = (
    Change(
        "2026-02-20",
        "/sapi/v1/userDataStream[/isolated] removed; the trade stream uses POST /sapi/v1/userListenToken and the "
        "WebSocket API. /sapi/v1/margin/listen-key stays, for the risk data stream",
        "the listen-key tools say they serve the risk data stream only; userListenToken is not offered",
    ),
)
_user_stream = partial(_user_stream, changes=_LISTEN_KEY_CHANGE)

_USER_DATA_STREAM: tuple[Endpoint, ...] = (
    _user_stream(
        "close_margin_user_data_stream",
        "Close margin user data stream",
        "DELETE",
        "/sapi/v1/margin/listen-key",
        security=Security.USER_STREAM,
        weight=Weight("UID", 3000),
        about="Invalidate the account's margin listen key so its stream stops. It is expensive, so simply "
        f"letting the key expire is usually better. {_RISK_ONLY}",
        idempotent=True,
        destructive=True,
    ),
    _user_stream(
        "start_margin_user_data_stream",
        "Start margin user data stream",
        "POST",
        "/sapi/v1/margin/listen-key",
        security=Security.USER_STREAM,
        weight=Weight("UID", 1),
        about="Get a listen key for the cross margin risk stream (margin-call and liability events) on "
        "wss://margin-stream.binance.com; if a key is already active it is returned and extended. A key "
        "lives 60 minutes, so call keepalive_margin_user_data_stream about every 30 minutes. Needs only "
        f"the API key, no signature. {_TRADE_STREAM}",
        idempotent=True,
        destructive=False,
    ),
    _user_stream(
        "keepalive_margin_user_data_stream",
        "Keep margin user data stream alive",
        "PUT",
        "/sapi/v1/margin/listen-key",
        security=Security.USER_STREAM,
        weight=Weight("UID", 1),
        about="Extend a margin listen key by another 60 minutes. Call it roughly every 30 minutes while the "
        f"stream is in use. {_RISK_ONLY}",
        params=_params("listenKey*:string"),
        idempotent=True,
        destructive=False,
    ),
    _user_stream(
        "close_margin_user_data_stream_v2",
        "Close margin user data stream (v2)",
        "DELETE",
        "/sapi/v2/margin/listen-key",
        security=Security.USER_STREAM,
        weight=Weight("IP", 1),
        about="Version 2 of close_margin_user_data_stream, charged against the IP limit instead of the "
        f"account. Binance does not document any other difference. {_RISK_ONLY}",
        idempotent=True,
        destructive=True,
    ),
    _user_stream(
        "start_margin_user_data_stream_v2",
        "Start margin user data stream (v2)",
        "POST",
        "/sapi/v2/margin/listen-key",
        security=Security.USER_STREAM,
        weight=Weight("IP", 1),
        about="Version 2 of start_margin_user_data_stream, charged against the IP limit instead of the "
        "account. Binance does not document any other difference; keep the key alive with "
        f"keepalive_margin_user_data_stream_v2. {_RISK_ONLY}",
        idempotent=True,
        destructive=False,
    ),
    _user_stream(
        "keepalive_margin_user_data_stream_v2",
        "Keep margin user data stream alive (v2)",
        "PUT",
        "/sapi/v2/margin/listen-key",
        security=Security.USER_STREAM,
        weight=Weight("IP", 1),
        about="Version 2 of keepalive_margin_user_data_stream: extends a v2 listen key by 60 minutes. Call "
        f"it roughly every 30 minutes while the stream is in use. {_RISK_ONLY}",
        params=_params("listenKey*:string"),
        idempotent=True,
        destructive=False,
    ),
)

# --------------------------------------------------------------------------------------------
# special-key: low-latency "special" API keys (VIP 7+), Binance group Trade
# --------------------------------------------------------------------------------------------

_SPECIAL_KEY: tuple[Endpoint, ...] = (
    _special_key(
        "list_margin_special_keys",
        "List margin special keys",
        "GET",
        "/sapi/v1/margin/api-key-list",
        security=Security.TRADE,
        weight=Weight("UID", 1),
        about="List the account's margin special (low-latency) API keys with name, key, IP whitelist, type "
        "and permission mode. Pass symbol for the keys of an isolated pair.",
        params=_params("symbol:string recvWindow:integer", {"symbol": _SPECIAL_KEY_SYMBOL}),
    ),
    _special_key(
        "delete_margin_special_key",
        "Delete margin special key",
        "DELETE",
        "/sapi/v1/margin/apiKey",
        security=Security.TRADE,
        weight=Weight("UID", 1),
        about="Delete margin special keys: every key with the given apiName, for cross margin or an "
        "isolated pair. Deleting keys does not leave special key mode; for that repay all debt and call "
        "exit_margin_special_key_mode.",
        params=_params(
            "apiName:string symbol:string recvWindow:integer",
            {
                "apiName": "Name of the special key(s) to delete; all keys with this name are removed.",
                "symbol": _SPECIAL_KEY_SYMBOL,
            },
        ),
        transaction=True,
    ),
    _special_key(
        "get_margin_special_key",
        "Get margin special key",
        "GET",
        "/sapi/v1/margin/apiKey",
        security=Security.TRADE,
        weight=Weight("UID", 1),
        about="Return the details of a margin special (low-latency) key: name, IP whitelist, type and "
        "permission mode. Use list_margin_special_keys to see all of them.",
        params=_params("symbol:string recvWindow:integer", {"symbol": _SPECIAL_KEY_SYMBOL}),
    ),
    _special_key(
        "create_margin_special_key",
        "Create margin special key",
        "POST",
        "/sapi/v1/margin/apiKey",
        security=Security.TRADE,
        weight=Weight("UID", 1),
        about="Create a margin special (low-latency) API key for cross margin, or for an isolated pair via "
        "symbol; it needs VIP 7 or higher and the special key terms accepted on the master account, and "
        "puts the account in special key mode. Without publicKey an HMAC key and secret come back (treat "
        "the secret as a credential); with an RSA or Ed25519 publicKey no secret is returned. The new key "
        "trades through the Spot /api/v3 endpoints.",
        params=_params(
            "apiName*:string symbol:string ip:string publicKey:string permissionMode:enum(TRADE|READ) "
            "recvWindow:integer",
            {
                "apiName": "Label for the new special key.",
                "symbol": "Isolated margin pair the key is for; omit it for a cross margin key.",
                "ip": "IP addresses allowed to use the key, comma-separated; at most 30.",
                "publicKey": "Your RSA or Ed25519 public key (PKCS#8, URL-encoded); when set, Binance "
                "creates that key type instead of HMAC.",
                "permissionMode": "Ed25519 keys only: TRADE for full permissions (default) or READ for read-only.",
            },
        ),
        transaction=True,
        # Off unless the operator allows it: it hands out a new secret.
        enabled_by=OperatorSwitch("--enable-special-key-creation", "enable_special_key_creation"),
    ),
    _special_key(
        "update_margin_special_key_ip",
        "Update margin special key IP whitelist",
        "PUT",
        "/sapi/v1/margin/apiKey/ip",
        security=Security.TRADE,
        weight=Weight("UID", 1),
        about="Edit the IP whitelist of a margin special key, for cross margin or an isolated pair. A key "
        "can hold at most 30 addresses.",
        params=_params(
            "ip*:string symbol:string recvWindow:integer",
            {
                "ip": "IP addresses allowed to use the key, comma-separated; at most 30.",
                "symbol": _SPECIAL_KEY_SYMBOL,
            },
        ),
        transaction=True,
        idempotent=True,
    ),
    _special_key(
        "exit_margin_special_key_mode",
        "Exit margin special key mode",
        "POST",
        "/sapi/v1/margin/exit-special-key-mode",
        security=Security.TRADE,
        weight=Weight("UID", 10),
        about="Take a Cross Margin Classic account out of special key mode: all its special keys are "
        "deleted, normal pre-trade checks return, and no new special key can be made for a cooldown "
        "(24 hours by default). The account must have no debt and not be in liquidation; if it is not in "
        "special key mode the call succeeds without effect.",
        params=_params("recvWindow:integer"),
        transaction=True,
        idempotent=True,
    ),
)

ENTRIES: tuple[Endpoint, ...] = (
    *_ACCOUNT,
    *_BORROW_REPAY,
    *_MARKET_DATA,
    *_TRADE,
    *_TRANSFER,
    *_USER_DATA_STREAM,
    *_SPECIAL_KEY,
)
