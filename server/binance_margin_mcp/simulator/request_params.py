"""Request parameters as Binance reads them: split the raw query and body, check names, presence and formats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from binance_margin_mcp.catalog import Param
from binance_margin_mcp.simulator.errors import SimError

DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER_RANGE = r"^[0-9]{1,20}$"
TRANSPORT_PARAMS = frozenset({"timestamp", "signature", "recvWindow"})  # checked by the front end, never passed on

_DECIMAL_RE = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_INTEGER_RE = re.compile(r"[0-9]{1,20}")
_ORDER_TYPES = {"LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}


@dataclass(frozen=True)
class Pair:
    raw: bytes  # the segment between '&'s, exactly as received
    name: str
    value: str


def parse_pairs(raw: bytes) -> list[Pair]:
    """Split a query string or form body; every segment is kept (even empty) so the payload stays exact."""
    if not raw:
        return []
    pairs = []
    for segment in raw.split(b"&"):
        name, _, value = segment.partition(b"=")
        pairs.append(Pair(segment, _unquote(name), _unquote(value)))
    return pairs


def _unquote(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise SimError(-1100, "Illegal characters found in a parameter.") from None


def params_of(pairs: list[Pair]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        if not pair.name:
            continue
        if pair.name in params:
            raise SimError(-1101, "Duplicate values for a parameter detected.")
        params[pair.name] = pair.value
    return params


def unsigned_payload(pairs: list[Pair]) -> bytes:
    """The part without its signature pair (and that pair's '&'), byte for byte."""
    return b"&".join(pair.raw for pair in pairs if pair.name != "signature")


def validate(declared: tuple[Param, ...], params: dict[str, str]) -> dict[str, str]:
    """Parameters for the exchange (no timestamp/signature/recvWindow, empty values dropped), or SimError."""
    known = {p.name for p in declared} | TRANSPORT_PARAMS
    unknown = [name for name in params if name not in known]
    if unknown:
        raise SimError(
            -1104,
            f"Not all sent parameters were read; read '{len(params) - len(unknown)}' parameter(s) but was sent "
            f"'{len(params)}'.",
        )
    # An empty value counts as not sent ("was not sent, was empty/null").
    clean = {name: value for name, value in params.items() if name not in TRANSPORT_PARAMS and value != ""}
    for param in declared:
        if param.required and param.name not in clean:
            raise SimError(-1102, mandatory(param.name))
    for param in declared:
        if param.name in clean:
            clean[param.name] = _check_value(param, clean[param.name])
    return clean


def _check_value(param: Param, value: str) -> str:
    if param.type == "decimal" and not _DECIMAL_RE.fullmatch(value):
        raise SimError(-1100, _illegal(param.name, DECIMAL_RANGE))
    if param.type == "integer" and not _INTEGER_RE.fullmatch(value):
        raise SimError(-1100, _illegal(param.name, INTEGER_RANGE))
    if param.type == "boolean":
        if value.lower() not in ("true", "false"):
            raise SimError(-1130, f"Data sent for parameter '{param.name}' is not valid.")
        return value.lower()
    if param.type == "enum" and value not in param.enum:
        raise _enum_error(param)
    return value


def _enum_error(param: Param) -> SimError:
    name = param.name
    if name == "side" or name.endswith("Side"):
        return SimError(-1117, "Invalid side.")
    if name == "timeInForce" or name.endswith("TimeInForce"):
        return SimError(-1115, "Invalid timeInForce.")
    # Only order types: `type` also names BORROW/REPAY, MARGIN/ISOLATED, capital-flow kinds...
    if (name == "type" or name.endswith("Type")) and _ORDER_TYPES & set(param.enum):
        return SimError(-1116, "Invalid orderType.")
    return SimError(-1130, f"Data sent for parameter '{name}' is not valid.")


def mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def _illegal(name: str, legal: str) -> str:
    return f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
