"""The shape of a catalog entry: one Binance endpoint, everything a tool, a doc or the gate needs.

Entries are plain frozen data. Tool schemas, MCP annotations, the confirmation policy and the
generated reference all derive from these fields, so nothing about an endpoint is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

ParamType = Literal["integer", "decimal", "string", "boolean", "enum"]
LimitType = Literal["IP", "UID", "API"]  # API: the /api/* budget shared per IP


class Security(StrEnum):
    """Binance's security types; the first three are SIGNED (timestamp + signature)."""

    USER_DATA = "USER_DATA"
    TRADE = "TRADE"
    MARGIN = "MARGIN"
    MARKET_DATA = "MARKET_DATA"
    USER_STREAM = "USER_STREAM"

    @property
    def signed(self) -> bool:
        return self in (Security.USER_DATA, Security.TRADE, Security.MARGIN)


class ClientIdRole(StrEnum):
    """How a string parameter relates to client order ids.

    NEW ids name an order or list this request creates: they always get the `agent-` prefix.
    Ids that refer to existing orders are never touched (they have no role).
    """

    NEW = "new"


class Plain(str):
    """A parameter description that only restates what the name, type and enum already say ("BUY or SELL.").

    It stays in references/tools.md but is left out of the tool schema: every byte of `tools/list` is context
    the model pays for on every turn. Descriptions carrying units, defaults, limits or rules are plain `str`.
    """

    __slots__ = ()


@dataclass(frozen=True)
class Param:
    """One request parameter, under Binance's own name."""

    name: str
    type: ParamType
    required: bool = False
    enum: tuple[str, ...] = ()
    description: str = ""
    client_id: ClientIdRole | None = None
    self_evident: bool = False  # its description is `Plain`: not repeated in the tool schema


@dataclass(frozen=True)
class Weight:
    """Request weight: a base cost, and optionally another cost when a parameter condition holds.

    `when_values` empty means "when `when_param` is absent" (e.g. crossMarginData costs 5 without
    `coin`); otherwise the alternative applies when the parameter's wire value is one of them.
    """

    limit: LimitType
    base: int
    when_param: str | None = None
    when_values: tuple[str, ...] = ()
    alt: int | None = None
    since: str = ""  # date (YYYY-MM-DD) Binance set these costs, when after the seed documents

    def cost(self, params: Mapping[str, str]) -> int:
        if self.when_param is None or self.alt is None:
            return self.base
        value = params.get(self.when_param)
        if not self.when_values:
            return self.alt if value is None else self.base
        return self.alt if value in self.when_values else self.base

    def describe(self) -> str:
        text = f"{self.base} ({self.limit})"
        if self.when_param is not None and self.alt is not None:
            cond = (
                f"when {self.when_param} is omitted"
                if not self.when_values
                else f"when {self.when_param} is {' or '.join(self.when_values)}"
            )
            text += f", {self.alt} ({self.limit}) {cond}"
        return f"{text}, since {self.since}" if self.since else text


# The fields of one order, named after the plain single-order wire parameters.
LEG_FIELDS = (
    "side",
    "type",
    "price",
    "stopPrice",
    "quantity",
    "quoteOrderQty",
    "icebergQty",
    "timeInForce",
    "trailingDelta",
)


class OrderKind(StrEnum):
    """What an order-creating request places; the list rules (OCO prices, OTO working order) depend on it."""

    SINGLE = "single"
    OCO = "oco"
    OTO = "oto"
    OTOCO = "otoco"


@dataclass(frozen=True)
class LegShape:
    """One order inside an order-creating request: which wire parameter carries each of its fields.

    `wire` holds (field, wire parameter) pairs, fields from LEG_FIELDS; a field with no pair is never sent
    for this leg. `type` is set when the endpoint fixes the leg's type instead of a parameter carrying it,
    and `type_if_sent` = (wire parameter, type) replaces that fixed type when the parameter is sent.
    """

    label: str
    wire: tuple[tuple[str, str], ...]
    type: str | None = None
    type_if_sent: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        unknown = [fld for fld, _ in self.wire if fld not in LEG_FIELDS]
        if unknown:
            raise ValueError(f"{self.label}: unknown leg fields {unknown}")

    @property
    def names(self) -> dict[str, str]:
        return dict(self.wire)


@dataclass(frozen=True)
class OrderShape:
    """The orders one request creates, the exchangeInfo flag its list kind needs, and where open orders show."""

    kind: OrderKind
    legs: tuple[LegShape, ...]
    open_orders: str  # read tool listing the symbol's open orders (counted against MAX_NUM_ORDERS)
    list_flag: str | None = None  # exchangeInfo flag that must not be false (ocoAllowed, otoAllowed)
    # Indexes of legs of which at most one can ever execute (an OCO pair: the fill of one cancels the other).
    # Every other leg can execute together with the rest, so Max Order Notional adds it in full.
    alternatives: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.alternatives and (len(self.alternatives) < 2 or max(self.alternatives) >= len(self.legs)):
            raise ValueError(f"{self.kind}: alternatives {self.alternatives} must name at least two legs")

    def executable_together(self) -> tuple[tuple[int, ...], ...]:
        """Groups of leg indexes: every group can execute, but only one leg of each group (worst case: the largest)."""
        rest = tuple((i,) for i in range(len(self.legs)) if i not in self.alternatives)
        return rest + ((self.alternatives,) if self.alternatives else ())


@dataclass(frozen=True)
class LoanSpec:
    """The wire parameters in which a request states a loan or repayment (Max Borrow and reconciling read them)."""

    asset: str
    amount: str
    direction: str  # its value is BORROW or REPAY


@dataclass(frozen=True)
class ReconcileById:
    """An unknown outcome is looked up with one read tool, by the ids the request carried.

    `created_id` = (request parameter, lookup argument) of the NEW client id of what the request creates;
    `refs` = the (request parameter, lookup argument) pairs that name an existing order or list (cancels).
    `scope` parameters are passed through as they are.
    """

    lookup: str  # catalog read tool that shows the outcome
    noun: str  # what is looked for, for messages ("order", "order list")
    status_field: str  # field of the lookup's answer holding the status
    created_id: tuple[str, str] | None = None
    refs: tuple[tuple[str, str], ...] = ()
    scope: tuple[str, ...] = ("symbol", "isIsolated")


@dataclass(frozen=True)
class ReconcileByRecords:
    """A write with no client id is found as a record of the same loan made since just before it was sent."""

    lookup: str  # catalog read tool listing the records; the entry's LoanSpec says what to match


ReconcileSpec = ReconcileById | ReconcileByRecords


@dataclass(frozen=True)
class PositionReads:
    """The read tools that show an account's balances per asset: cross margin (userAssets) and isolated pairs."""

    cross: str  # read tool answering {"userAssets": [{asset, free, locked, borrowed, interest, ...}]}
    isolated: str  # read tool taking `symbols`, answering {"assets": [{symbol, baseAsset, quoteAsset}]}


@dataclass(frozen=True)
class RiskReduction:
    """A transaction that can only lower risk: `Trading: disabled` and `Allowed Symbols` never block it.

    `when` = (wire parameter, accepted values) pairs that must all hold (e.g. type REPAY); empty: always (a cancel).
    `position` is set on an order endpoint: the exemption then also needs the order to be a pure close, proved
    against the account's balances read with these tools (operator_limits defines the rule; a failed read refuses).
    """

    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    position: PositionReads | None = None

    def holds(self, params: Mapping[str, str]) -> bool:
        return all(params.get(name) in values for name, values in self.when)


@dataclass(frozen=True)
class OperatorSwitch:
    """An operator flag without which the server refuses an endpoint, and the Settings field it sets."""

    flag: str  # command-line flag, quoted in the refusal
    setting: str  # bool field of Settings


@dataclass(frozen=True)
class Change:
    """A Binance change after the seed documents (endpoints.tsv): its date, what changed, how the server handles it."""

    date: str  # YYYY-MM-DD, when it takes effect
    what: str
    handled: str


@dataclass(frozen=True)
class SpanLimit:
    """At most `days` between the `start` and `end` parameters (epoch ms); a longer span is refused before sending."""

    start: str
    end: str
    days: int
    since: str  # date Binance began refusing longer spans
    code: int  # Binance's error code for a longer span

    def excess(self, params: Mapping[str, str]) -> str | None:
        """Why the span is too long, or None when it fits (or either end is absent)."""
        start, end = params.get(self.start), params.get(self.end)
        if start is None or end is None or int(end) - int(start) <= self.days * 86_400_000:
            return None
        days = (int(end) - int(start)) / 86_400_000
        return (
            f"{self.start}-{self.end} spans {days:.1f} days; Binance accepts at most {self.days} days here since "
            f"{self.since} (error {self.code}). Split the range into windows of at most {self.days} days"
        )


@dataclass(frozen=True)
class Companion:
    """`needs` must be sent whenever `param` is (Binance refuses the request otherwise, since `since`)."""

    param: str
    needs: str
    since: str


@dataclass(frozen=True)
class Endpoint:
    """One Binance margin endpoint and the MCP tool generated from it."""

    name: str  # curated snake_case, verb-first tool name
    title: str
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    group: str  # Binance's group from endpoints.tsv (Account, BorrowRepay, ...)
    toolset: str  # our operator-facing grouping (account, borrow-repay, trade, ...)
    security: Security
    weight: Weight
    transaction: bool  # changes account state: gated on mainnet, decided per entry
    description: str
    params: tuple[Param, ...] = ()
    idempotent: bool = False
    destructive: bool | None = None  # None: same as `transaction`
    notes: tuple[str, ...] = field(default=())
    # Behaviour the server derives per endpoint; internal, never rendered into tool schemas or docs.
    order_shape: OrderShape | None = None  # set on every order-creating endpoint
    reconcile: ReconcileSpec | None = None  # how an unknown outcome is looked up; None: it cannot be
    loan: LoanSpec | None = None  # set where the request itself borrows or repays
    enabled_by: OperatorSwitch | None = None  # off unless the operator sets this switch
    reduces_risk: RiskReduction | None = None  # never blocked by Trading: disabled / Allowed Symbols when it holds
    # Binance changes after the seed documents: checked before anything is signed, listed in references/tools.md.
    retired: str | None = None  # "YYYY-MM-DD: why": Binance no longer serves it, so it is refused without sending
    max_span: SpanLimit | None = None
    companions: tuple[Companion, ...] = ()
    changes: tuple[Change, ...] = ()

    @property
    def read_only(self) -> bool:
        return self.method == "GET"

    @property
    def destructive_hint(self) -> bool:
        return self.transaction if self.destructive is None else self.destructive

    @property
    def endpoint_id(self) -> str:
        return f"{self.method} {self.path}"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


_PARAM_RE = re.compile(
    r"^(?P<name>[A-Za-z]+)(?P<req>\*?):(?P<type>integer|decimal|string|boolean|enum\((?P<enum>[A-Z_|]+)\))$"
)


def parse_params(
    spec: str,
    docs: Mapping[str, str],
    *,
    types: Mapping[str, ParamType] | None = None,
    client_ids: tuple[str, ...] = (),
) -> tuple[Param, ...]:
    """Build Params from the compact `name*:type` notation of endpoints.tsv.

    `docs` gives each parameter's description; `types` overrides a type on purpose (for example
    a money amount Binance lists as `string` that we validate as a decimal); `client_ids` names the
    parameters that carry a NEW client order id.
    """
    params = []
    for token in spec.split():
        m = _PARAM_RE.match(token)
        if m is None:
            raise ValueError(f"bad parameter spec {token!r}")
        name = m["name"]
        ptype: ParamType = "enum" if m["enum"] else m["type"]  # type: ignore[assignment]
        if types and name in types:
            ptype = types[name]
        if name not in docs:
            raise ValueError(f"parameter {name!r} has no description")
        params.append(
            Param(
                name=name,
                type=ptype,
                required=bool(m["req"]),
                enum=tuple(m["enum"].split("|")) if m["enum"] else (),
                description=str(docs[name]),
                client_id=ClientIdRole.NEW if name in client_ids else None,
                self_evident=isinstance(docs[name], Plain),
            )
        )
    return tuple(params)
