"""Turn tool arguments into the exact wire strings Binance receives, or refuse them clearly.

Every value is checked here, before anything is signed: decimals become plain decimal strings
(never exponents, never float noise), booleans and enums take Binance's spelling, and strings
that name a new order get the `agent-` prefix.
"""

from __future__ import annotations

import difflib
import math
import re
import secrets
import string
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp.catalog.model import ClientIdRole, Endpoint, Param
from binance_margin_mcp.errors import InvalidArguments

AGENT_PREFIX = "agent-"
CLIENT_ID_MAX = 36
_CLIENT_ID_RE = re.compile(r"^[.A-Za-z0-9:/_-]+$")
_ALPHANUM = string.ascii_letters + string.digits
# Binance's own decimal grammar (see the -1100 message): up to 20 digits each side of the point.
_DECIMAL_RE = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$", re.ASCII)
_INT_RE = re.compile(r"^-?[0-9]{1,19}$", re.ASCII)
_CODE_RE = re.compile(r"^[A-Za-z0-9]{1,32}$", re.ASCII)
# A double represents every decimal of up to 15 significant digits exactly enough that its
# shortest repr gives that decimal back; past that a JSON number may already be rounded.
_MAX_FLOAT_DIGITS = 15
_MAX_STRING = 512
RECV_WINDOW_MAX = 60000
# Catalog parameters the server fills in itself, never the caller: left out of tool schemas, refused as arguments
# with this hint. recvWindow is absent unless the account sets one (Binance then applies its default, 5000 ms).
SERVER_SET: dict[str, str] = {
    "recvWindow": "the server sets recvWindow itself; the operator can change it for an account with a "
    f"'- Recv Window: N' line in TOOLS.md (1-{RECV_WINDOW_MAX} milliseconds)",
}

# Parameters naming symbols or assets: ASCII letters/digits, sent upper-case.
_CODE_PARAMS = {"symbol", "asset", "isolatedSymbol", "coin"}
# Comma-separated lists of codes, with Binance's documented maximum count.
_CODE_LIST_PARAMS = {"symbols": 5, "assets": 20, "assetNames": 20}


def random_alphanumerics(length: int) -> str:
    """Cryptographically random letters and digits."""
    return "".join(secrets.choice(_ALPHANUM) for _ in range(length))


def generate_client_id() -> str:
    """`agent-` + 18 random alphanumerics (24 characters, within Binance's 36)."""
    return AGENT_PREFIX + random_alphanumerics(18)


def stamp_client_id(name: str, value: str | None, generate: Callable[[], str] = generate_client_id) -> str:
    """Apply the `agent-` rule to one NEW client id, refusing ids Binance would reject."""
    if value is None or value == "":
        return generate()
    stamped = value if value.startswith(AGENT_PREFIX) else AGENT_PREFIX + value
    if len(stamped) > CLIENT_ID_MAX:
        raise InvalidArguments(
            f"{name}: '{stamped}' is {len(stamped)} characters with the '{AGENT_PREFIX}' prefix; Binance allows "
            f"{CLIENT_ID_MAX}. Use at most {CLIENT_ID_MAX - len(AGENT_PREFIX)} characters after the prefix.",
            name,
        )
    if not _CLIENT_ID_RE.match(stamped):
        raise InvalidArguments(f"{name}: only letters, digits and . : / _ - are allowed in a client id.", name)
    return stamped


def _decimal_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        raise InvalidArguments(f'{name} must be a decimal number like "0.001", not a boolean.', name)
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArguments(f"{name} must be a finite decimal number.", name)
        exact = Decimal(repr(value))
        if len(exact.as_tuple().digits) > _MAX_FLOAT_DIGITS:
            raise InvalidArguments(
                f"{name}: the JSON number {value!r} has more than {_MAX_FLOAT_DIGITS} significant digits and may "
                'already have been rounded; send it as a string such as "0.00012345".',
                name,
            )
        text = format(exact, "f")
    elif isinstance(value, str):
        text = value
    else:
        raise InvalidArguments(f'{name} must be a decimal string like "0.001".', name)
    if not _DECIMAL_RE.match(text):
        raise InvalidArguments(
            f'{name}: {_shown(text)} is not a plain decimal. Use digits with an optional point, e.g. "0.001" '
            "(no sign, exponent, spaces, NaN/Infinity or non-ASCII digits).",
            name,
        )
    try:
        if Decimal(text) <= 0:
            raise InvalidArguments(f"{name} must be greater than zero.", name)
    except InvalidOperation as exc:  # unreachable after the regex, kept as a guard
        raise InvalidArguments(f"{name} is not a valid decimal.", name) from exc
    return text


def _integer_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        raise InvalidArguments(f"{name} must be an integer, not a boolean.", name)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str) and _INT_RE.match(value):
        text = value
    else:
        raise InvalidArguments(f"{name} must be a whole number, got {_shown(value)}.", name)
    number = int(text)
    if number < 0:
        raise InvalidArguments(f"{name} must not be negative.", name)
    if name == "recvWindow" and not 0 < number <= RECV_WINDOW_MAX:
        raise InvalidArguments(f"recvWindow must be between 1 and {RECV_WINDOW_MAX} milliseconds.", name)
    return text


def _boolean_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower()
    raise InvalidArguments(f"{name} must be true or false.", name)


def _enum_text(param: Param, value: Any) -> str:
    # isIsolated is the string enum "TRUE"/"FALSE"; accept a JSON boolean for it too.
    if isinstance(value, bool) and set(param.enum) == {"TRUE", "FALSE"}:
        return "TRUE" if value else "FALSE"
    if isinstance(value, str) and value in param.enum:
        return value
    raise InvalidArguments(f"{param.name} must be one of {', '.join(param.enum)}; got {_shown(value)}.", param.name)


def _string_text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidArguments(f"{name} must be a string.", name)
    if value == "":
        raise InvalidArguments(f"{name} must not be empty (omit it instead).", name)
    if len(value) > _MAX_STRING:
        raise InvalidArguments(f"{name} is {len(value)} characters long; the limit is {_MAX_STRING}.", name)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidArguments(f"{name} must not contain control characters.", name)
    if name in _CODE_PARAMS:
        if not _CODE_RE.match(value):
            raise InvalidArguments(f"{name} must be letters and digits only, like BTCUSDT; got {_shown(value)}.", name)
        return value.upper()
    if name in _CODE_LIST_PARAMS:
        items = [item.strip() for item in value.split(",")]
        limit = _CODE_LIST_PARAMS[name]
        if not all(_CODE_RE.match(item) for item in items):
            raise InvalidArguments(f"{name} must be a comma-separated list like BTC,ETH; got {_shown(value)}.", name)
        if len(items) > limit:
            raise InvalidArguments(f"{name} takes at most {limit} entries; got {len(items)}.", name)
        return ",".join(item.upper() for item in items)
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def wire_value(param: Param, value: Any) -> str:
    """The exact string Binance receives for one parameter value (client-id stamping excluded)."""
    if param.type == "decimal":
        return _decimal_text(param.name, value)
    if param.type == "integer":
        return _integer_text(param.name, value)
    if param.type == "boolean":
        return _boolean_text(param.name, value)
    if param.type == "enum":
        return _enum_text(param, value)
    return _string_text(param.name, value)


def reject_unknown(entry: Endpoint, supplied: Mapping[str, Any], extra_allowed: set[str]) -> None:
    """Refuse arguments the endpoint does not take; a typo must not be silently dropped."""
    known = {p.name for p in entry.params if p.name not in SERVER_SET} | extra_allowed
    for name in supplied:
        if name in SERVER_SET:
            raise InvalidArguments(f"{entry.name} does not take an argument named {name}: {SERVER_SET[name]}.", name)
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InvalidArguments(
                f"{entry.name} does not take an argument named {_shown(name)}.{hint}", str(name)[:64]
            )


def build_wire_params(
    entry: Endpoint,
    args: Mapping[str, Any],
    generate: Callable[[], str] = generate_client_id,
    server_values: Mapping[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """Validate `args` against the entry and return (name, wire value) pairs in catalog order.

    Absent optional parameters are omitted, except NEW client ids, which are always sent. SERVER_SET
    parameters take their value from `server_values` (e.g. the account's recvWindow), never from `args`.
    """
    if entry.retired is not None:
        raise InvalidArguments(f"Nothing was sent: {entry.retired}; {entry.name} is retired.")
    pairs: list[tuple[str, str]] = []
    for param in entry.params:
        if param.name in SERVER_SET:
            value = (server_values or {}).get(param.name)
            if value is not None:
                pairs.append((param.name, wire_value(param, value)))
            continue
        value = args.get(param.name)
        if param.client_id is ClientIdRole.NEW:
            text = None if value is None else _string_text(param.name, value)
            pairs.append((param.name, stamp_client_id(param.name, text, generate)))
            continue
        if value is None:
            if param.required:
                raise InvalidArguments(f"{param.name} is required by {entry.name}.", param.name)
            continue
        pairs.append((param.name, wire_value(param, value)))
    check_changed_rules(entry, dict(pairs))
    return pairs


def check_changed_rules(entry: Endpoint, wire: Mapping[str, str]) -> None:
    """Rules Binance added after the seed documents, declared in the catalog: refuse before anything is signed."""
    for rule in entry.companions:
        if rule.param in wire and rule.needs not in wire:
            raise InvalidArguments(
                f"{rule.param} requires {rule.needs}: since {rule.since} Binance refuses {rule.param} without "
                f"{rule.needs}. Send both {rule.needs} and {rule.param}; nothing was sent.",
                rule.needs,
            )
    span = entry.max_span
    excess = span.excess(wire) if span is not None else None
    if span is not None and excess is not None:
        raise InvalidArguments(f"{excess}; nothing was sent.", span.start)
