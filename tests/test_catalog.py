"""The catalog matches tests/data/endpoints.tsv and keeps its safety-relevant flags deliberate."""

from __future__ import annotations

import ast
import csv
import dataclasses
import re
from pathlib import Path
from types import ModuleType

import pytest

from binance_margin_mcp import operator_limits, pretrade, reconcile, validation
from binance_margin_mcp.catalog import CATALOG, ENTRIES, ClientIdRole, Endpoint
from binance_margin_mcp.catalog.model import LEG_FIELDS, OrderKind, ReconcileById, ReconcileByRecords
from binance_margin_mcp.cli import _serve_parser
from binance_margin_mcp.settings import Settings

TSV_PATH = Path(__file__).parent / "data" / "endpoints.tsv"
TOKEN_RE = re.compile(r"^(?P<name>[A-Za-z]+)(?P<req>\*?):(?P<type>[a-z]+)(?:\((?P<enum>[A-Z_|]+)\))?$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
RESERVED_NAMES = {"list_accounts", "show_account", "add_account", "remove_account", "confirm_transaction"}
# Doc titles that are already a precise verb-first name; the curated name may coincide with them.
TITLE_IS_ALREADY_A_GOOD_NAME = {
    "enable_isolated_margin_account",
    "disable_isolated_margin_account",
    "adjust_cross_margin_max_leverage",
}

# The only deliberate difference between a TSV parameter type and the catalog's.
TYPE_OVERRIDES = {("POST /sapi/v1/margin/borrow-repay", "amount"): ("string", "decimal")}

# Weights Binance changed after the seed documents (endpoints.tsv stays the record of the seeds): (date, limit, base).
WEIGHT_CHANGES = {("GET", "/sapi/v1/margin/maxBorrowable"): ("2026-04-16", "UID", 750)}

# Every call that changes account state; a change to this set must be made on purpose.
EXPECTED_TRANSACTIONS = {
    ("POST", "/sapi/v1/margin/order"),
    ("POST", "/sapi/v1/margin/order/oco"),
    ("POST", "/sapi/v1/margin/order/oto"),
    ("POST", "/sapi/v1/margin/order/otoco"),
    ("DELETE", "/sapi/v1/margin/order"),
    ("DELETE", "/sapi/v1/margin/openOrders"),
    ("DELETE", "/sapi/v1/margin/orderList"),
    ("POST", "/sapi/v1/margin/borrow-repay"),
    ("POST", "/sapi/v1/margin/max-leverage"),
    ("POST", "/sapi/v1/margin/isolated/account"),
    ("DELETE", "/sapi/v1/margin/isolated/account"),
    ("POST", "/sapi/v1/margin/apiKey"),
    ("DELETE", "/sapi/v1/margin/apiKey"),
    ("PUT", "/sapi/v1/margin/apiKey/ip"),
    ("POST", "/sapi/v1/margin/exit-special-key-mode"),
    ("POST", "/sapi/v1/margin/exchange-small-liability"),
    ("POST", "/sapi/v1/margin/manual-liquidation"),
    ("POST", "/sapi/v1/margin/liquidation-loan/repay"),
}

ALLOWED_NEW_CLIENT_IDS = {
    "newClientOrderId",
    "listClientOrderId",
    "limitClientOrderId",
    "stopClientOrderId",
    "workingClientOrderId",
    "pendingClientOrderId",
    "pendingAboveClientOrderId",
    "pendingBelowClientOrderId",
}

ORDER_ROUTES = ("/sapi/v1/margin/order", "/sapi/v1/margin/order/oco")
ORDER_LIST_ROUTES = ("/sapi/v1/margin/order/oto", "/sapi/v1/margin/order/otoco")


def _read_tsv() -> list[dict[str, str]]:
    with TSV_PATH.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        rows = [dict(zip(header, row + [""] * (len(header) - len(row)), strict=True)) for row in reader]
    params_col = next(col for col in header if col.startswith("params"))
    for row in rows:
        row["params"] = row.pop(params_col).strip()
    return rows


TSV_ROWS = _read_tsv()
TSV_BY_ROUTE = {(row["method"], row["path"]): row for row in TSV_ROWS}
ENTRY_BY_ROUTE = {(e.method, e.path): e for e in ENTRIES}


def _tsv_params(cell: str) -> list[tuple[str, bool, str, tuple[str, ...]]]:
    """(name, required, type, enum values) per parameter token of a TSV params cell."""
    out = []
    for token in cell.split():
        m = TOKEN_RE.match(token)
        assert m is not None, f"unreadable TSV parameter token {token!r}"
        enum = tuple(m["enum"].split("|")) if m["enum"] else ()
        out.append((m["name"], bool(m["req"]), m["type"], enum))
    return out


def _naive_slugs(title: str) -> set[str]:
    """Slugs a lazy generator would derive from a doc title, with and without the parentheses."""
    without_suffix = re.sub(r"\s*\((USER_DATA|TRADE|MARGIN|MARKET_DATA|USER_STREAM)\)\s*$", "", title)
    without_parens = re.sub(r"\([^)]*\)", " ", title)
    slugs = set()
    for text in (title, without_suffix, without_parens):
        split_camel = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
        for variant in (text, split_camel):
            slugs.add(re.sub(r"[^a-z0-9]+", "_", variant.lower()).strip("_"))
    return slugs


def _entry_ids() -> list[str]:
    return [e.endpoint_id for e in ENTRIES]


def test_catalog_routes_match_endpoints_tsv() -> None:
    """The catalog holds exactly the 69 (method, path) routes of endpoints.tsv, each once."""
    assert len(TSV_ROWS) == 69, f"endpoints.tsv should have 69 rows, has {len(TSV_ROWS)}"
    assert len(ENTRIES) == len(CATALOG) == 69, f"expected 69 entries, got {len(ENTRIES)}"
    catalog_routes = set(ENTRY_BY_ROUTE)
    tsv_routes = set(TSV_BY_ROUTE)
    assert catalog_routes == tsv_routes, (
        f"missing from catalog: {sorted(tsv_routes - catalog_routes)}; "
        f"not in TSV: {sorted(catalog_routes - tsv_routes)}"
    )


def test_removed_endpoints_are_not_in_the_catalog() -> None:
    """Retired loan/repay and legacy userDataStream routes never come back."""
    for entry in ENTRIES:
        assert entry.path not in ("/sapi/v1/margin/loan", "/sapi/v1/margin/repay"), entry.endpoint_id
        assert not entry.path.startswith("/sapi/v1/userDataStream"), entry.endpoint_id


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_ids())
def test_entry_parameters_match_tsv_names_order_required_and_enums(entry: Endpoint) -> None:
    """Parameter names, order, required flags and enum values equal the TSV row's."""
    expected = _tsv_params(TSV_BY_ROUTE[(entry.method, entry.path)]["params"])
    assert [p.name for p in entry.params] == [name for name, *_ in expected], (
        f"{entry.name}: parameter names/order differ from the TSV"
    )
    for param, (name, required, _type, enum) in zip(entry.params, expected, strict=True):
        assert param.required == required, f"{entry.name}.{name}: required should be {required}"
        assert param.enum == enum, f"{entry.name}.{name}: enum {param.enum} != TSV {enum}"


def test_parameter_types_match_tsv_except_documented_overrides() -> None:
    """Parameter types equal the TSV's; the borrow-repay amount override is the only difference."""
    differences = {}
    for entry in ENTRIES:
        expected = _tsv_params(TSV_BY_ROUTE[(entry.method, entry.path)]["params"])
        for param, (name, _req, tsv_type, _enum) in zip(entry.params, expected, strict=True):
            if param.type != tsv_type:
                differences[(entry.endpoint_id, name)] = (tsv_type, param.type)
    assert differences == TYPE_OVERRIDES, f"unexpected type differences: {differences}"


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_ids())
def test_entry_security_and_group_match_tsv(entry: Endpoint) -> None:
    """Security type and Binance group are taken verbatim from the TSV."""
    row = TSV_BY_ROUTE[(entry.method, entry.path)]
    assert entry.security.value == row["security"], f"{entry.name}: security {entry.security.value}"
    assert entry.group == row["group"], f"{entry.name}: group {entry.group!r} != {row['group']!r}"


def test_tool_names_are_unique_well_formed_and_curated() -> None:
    """Names are unique, snake_case, not reserved, and not a slug of the doc title."""
    names = [e.name for e in ENTRIES]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"duplicate tool names: {duplicates}"
    for entry in ENTRIES:
        assert NAME_RE.match(entry.name), f"bad tool name {entry.name!r}"
        assert entry.name not in RESERVED_NAMES, f"{entry.name} is reserved for a hand-written tool"
        title = TSV_BY_ROUTE[(entry.method, entry.path)]["title"]
        if entry.name not in TITLE_IS_ALREADY_A_GOOD_NAME:
            assert entry.name not in _naive_slugs(title), f"{entry.name} is just a slug of {title!r}"
    assert set(names) >= TITLE_IS_ALREADY_A_GOOD_NAME, "stale entries in TITLE_IS_ALREADY_A_GOOD_NAME"


def test_transaction_flags_equal_the_expected_set() -> None:
    """Exactly the listed state-changing calls are transactions (gated by CONFIRM on mainnet)."""
    actual = {(e.method, e.path) for e in ENTRIES if e.transaction}
    assert actual == EXPECTED_TRANSACTIONS, (
        f"unexpected transactions: {sorted(actual - EXPECTED_TRANSACTIONS)}; "
        f"missing transactions: {sorted(EXPECTED_TRANSACTIONS - actual)}"
    )


def test_listen_key_calls_are_not_transactions_but_carry_hints() -> None:
    """Listen-key calls are never gated; keepalive/close are idempotent and only close is destructive."""
    stream = [e for e in ENTRIES if e.path.endswith("/margin/listen-key")]
    assert len(stream) == 6
    for entry in stream:
        assert not entry.transaction, entry.endpoint_id
        assert entry.destructive_hint == (entry.method == "DELETE"), entry.endpoint_id
        if entry.method in ("PUT", "DELETE"):
            assert entry.idempotent, f"{entry.endpoint_id} should be idempotent"


def test_client_id_roles_are_limited_to_ids_a_request_creates() -> None:
    """Only allowed names carry NEW; origClientOrderId never does; every newClientOrderId does."""
    for entry in ENTRIES:
        for param in entry.params:
            if param.client_id is ClientIdRole.NEW:
                assert param.name in ALLOWED_NEW_CLIENT_IDS, f"{entry.name}.{param.name} must not be NEW"
                assert param.type == "string", f"{entry.name}.{param.name} should be a string"
            if param.name == "origClientOrderId":
                assert param.client_id is None, f"{entry.name}.origClientOrderId refers to an existing order"
            if param.name == "newClientOrderId":
                assert param.client_id is ClientIdRole.NEW, f"{entry.name}.newClientOrderId must be NEW"
            if param.name in ALLOWED_NEW_CLIENT_IDS - {"newClientOrderId"}:
                expected = ClientIdRole.NEW if entry.method == "POST" else None
                assert param.client_id is expected, (
                    f"{entry.name}.{param.name}: NEW only where the request creates the list or leg"
                )


def test_every_entry_and_parameter_is_described() -> None:
    """Descriptions are non-empty and state their weight; the approval rule and the agent- prefix, shared by
    every transaction, are stated once in the server instructions every client receives."""
    from binance_margin_mcp.adapter import instructions

    for partial in (True, False):
        shared = instructions(partial)
        assert "CONFIRM" in shared and "approval" in shared and "agent-" in shared
    for entry in ENTRIES:
        assert entry.title.strip(), f"{entry.name} has no title"
        assert "(USER_DATA)" not in entry.title and "(TRADE)" not in entry.title, entry.title
        assert entry.description.strip(), f"{entry.name} has no description"
        assert f"Weight: {entry.weight.describe()}." in entry.description, f"{entry.name}: weight missing"
        for param in entry.params:
            assert param.description.strip(), f"{entry.name}.{param.name} has no description"


@pytest.mark.parametrize("path", ORDER_ROUTES + ORDER_LIST_ROUTES)
def test_order_weights_depend_on_side_effect_type(path: str) -> None:
    """New orders cost 6 (UID), or 1500 (UID) when they may borrow."""
    weight = ENTRY_BY_ROUTE[("POST", path)].weight
    assert weight.limit == "UID"
    assert weight.cost({"sideEffectType": "MARGIN_BUY"}) == 1500
    assert weight.cost({"sideEffectType": "AUTO_BORROW_REPAY"}) == 1500
    assert weight.cost({"sideEffectType": "NO_SIDE_EFFECT"}) == 6
    assert weight.cost({}) == 6


def test_fee_data_weights_depend_on_the_filter_parameter() -> None:
    """crossMarginData costs 5 without coin and 1 with it; isolatedMarginData 10 without symbol."""
    cross = ENTRY_BY_ROUTE[("GET", "/sapi/v1/margin/crossMarginData")].weight
    assert cross.cost({}) == 5
    assert cross.cost({"coin": "BTC"}) == 1
    isolated = ENTRY_BY_ROUTE[("GET", "/sapi/v1/margin/isolatedMarginData")].weight
    assert isolated.cost({}) == 10
    assert isolated.cost({"symbol": "BTCUSDT"}) == 1


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_ids())
def test_weight_limit_type_and_base_match_tsv(entry: Endpoint) -> None:
    """The IP/UID limit matches the TSV weight text, and a plain 'Weight(X): N' gives the base cost, except for the
    dated changes declared in WEIGHT_CHANGES."""
    changed = WEIGHT_CHANGES.get((entry.method, entry.path))
    if changed is not None:
        date, limit, base = changed
        assert (entry.weight.limit, entry.weight.base, entry.weight.since) == (limit, base, date), entry.name
        assert any(c.date == date for c in entry.changes), f"{entry.name}: the {date} change is not declared"
        return
    text = TSV_BY_ROUTE[(entry.method, entry.path)]["weight"]
    says_ip, says_uid = "(IP)" in text, "(UID)" in text
    if says_ip and not says_uid:
        assert entry.weight.limit == "IP", f"{entry.name}: TSV weight {text!r}"
    if says_uid and not says_ip:
        assert entry.weight.limit == "UID", f"{entry.name}: TSV weight {text!r}"
    plain = re.match(r"^Weight\((IP|UID)\): (\d+)", text)
    if plain:
        assert entry.weight.base == int(plain[2]), f"{entry.name}: TSV weight {text!r}"


# --- per-endpoint behaviour is declared in the catalog, never keyed on tool names elsewhere ---

BEHAVIOUR_MODULES = (reconcile, validation, operator_limits, pretrade)
# Entries the server refuses unless the operator starts it with their switch; a change must be made on purpose.
EXPECTED_SWITCHED_OFF = {"create_margin_special_key", "trigger_manual_liquidation"}
# The exchangeInfo flag each list kind needs (Binance: OCO lists need ocoAllowed, OTO and OTOCO otoAllowed).
LIST_FLAGS = {
    OrderKind.SINGLE: None,
    OrderKind.OCO: "ocoAllowed",
    OrderKind.OTO: "otoAllowed",
    OrderKind.OTOCO: "otoAllowed",
}


def _string_literals(module: ModuleType) -> list[tuple[int, str]]:
    """Every string constant of a module's source (docstrings and f-string parts included), with its line."""
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


@pytest.mark.parametrize("module", BEHAVIOUR_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_behaviour_modules_never_name_a_catalog_tool(module: ModuleType) -> None:
    """Validation, reconciliation, operator limits and pre-trade read each endpoint's declaration, not its name."""
    found = [
        f"line {line}: {name}"
        for line, text in _string_literals(module)
        for name in CATALOG
        if re.search(rf"\b{name}\b", text)
    ]
    assert not found, f"{module.__name__} names catalog tools instead of reading the Endpoint: {found}"


def test_every_order_creating_entry_declares_its_order_shape() -> None:
    """Exactly the POSTs that place orders have a shape; every leg maps real parameters, every decimal is a leg's."""
    creating = {ENTRY_BY_ROUTE[("POST", path)].name for path in ORDER_ROUTES + ORDER_LIST_ROUTES}
    assert {e.name for e in ENTRIES if e.order_shape is not None} == creating
    for name in sorted(creating):
        entry = CATALOG[name]
        shape = entry.order_shape
        assert shape is not None and entry.transaction
        assert shape.list_flag == LIST_FLAGS[shape.kind], f"{name}: {shape.kind} needs {LIST_FLAGS[shape.kind]}"
        assert CATALOG[shape.open_orders].read_only, f"{name}: open orders come from a read tool"
        carried = set()
        for leg in shape.legs:
            names = leg.names
            assert {fld for fld, _ in leg.wire} <= set(LEG_FIELDS) and len(names) == len(leg.wire), leg
            assert {"side", "quantity"} <= set(names), f"{name}, {leg.label}: no side or quantity"
            assert ("type" in names) != (leg.type is not None), f"{name}, {leg.label}: one source for the type"
            sent = list(names.values()) + ([leg.type_if_sent[0]] if leg.type_if_sent else [])
            missing = [wire for wire in sent if entry.param(wire) is None]
            assert not missing, f"{name}, {leg.label}: {missing} are not parameters of the endpoint"
            carried |= set(names.values())
        decimals = {p.name for p in entry.params if p.type == "decimal"}
        assert decimals <= carried, f"{name}: decimals no leg validates: {sorted(decimals - carried)}"


def test_every_transaction_with_a_client_id_or_a_loan_declares_how_to_reconcile() -> None:
    """A write with a NEW client id is found by id, a loan in its records; each plan fits a read tool's params."""
    for entry in ENTRIES:
        has_id = any(p.client_id is ClientIdRole.NEW for p in entry.params)
        spec = entry.reconcile
        if entry.transaction and entry.loan is not None:
            assert isinstance(spec, ReconcileByRecords), f"{entry.name}: a loan is found in its records"
            assert all(entry.param(wire) for wire in dataclasses.astuple(entry.loan)), f"{entry.name}: {entry.loan}"
        elif entry.transaction and has_id:
            assert isinstance(spec, ReconcileById), f"{entry.name}: a write with a client id is found by id"
            pairs = [*spec.refs, *([spec.created_id] if spec.created_id else [])]
            assert pairs and (spec.created_id is None or not spec.refs), f"{entry.name}: found by one kind of id"
            assert all(entry.param(ours) for ours, _ in pairs), f"{entry.name}: {pairs}"
            if spec.created_id is not None:
                assert entry.param(spec.created_id[0]).client_id is ClientIdRole.NEW, f"{entry.name}: not a NEW id"
        else:
            assert spec is None, f"{entry.name}: nothing to reconcile by"
            continue
        # Every parameter sent (first enum value, else "1"): the lookup may only use what its read tool takes.
        lookup = reconcile.plan(entry, {p.name: (p.enum or ("1",))[0] for p in entry.params}, 1_700_000_000_000)
        assert lookup is not None and CATALOG[lookup.tool].read_only, f"{entry.name}: look up with a read tool"
        unknown = [arg for arg in lookup.args if CATALOG[lookup.tool].param(arg) is None]
        assert not unknown, f"{entry.name}: {lookup.tool} takes no {unknown}"


def test_operator_switches_name_a_real_flag_and_an_off_by_default_setting() -> None:
    """Each switched-off entry names a command-line flag and a bool Settings field that defaults to off."""
    switched = {e.name: e.enabled_by for e in ENTRIES if e.enabled_by is not None}
    assert set(switched) == EXPECTED_SWITCHED_OFF
    flags = {flag for action in _serve_parser()._actions for flag in action.option_strings}
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    for name, switch in switched.items():
        assert CATALOG[name].transaction, f"{name}: only a transaction needs a switch"
        assert switch.flag in flags, f"{name}: {switch.flag} is not a command-line flag"
        assert defaults.get(switch.setting) is False, f"{name}: Settings.{switch.setting} must default to False"
