"""Shared helpers for the paper exchange: exact decimals, Binance formatting, parameter parsing.

Money is `Decimal` everywhere and leaves the simulator as an 8-decimal string ("1.50000000"), the
way Binance's margin endpoints print it. `Params` reads the wire strings and raises Binance's own
error codes and texts for the semantic checks the HTTP layer leaves to the exchange.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from .errors import SimError

ZERO = Decimal(0)
ONE = Decimal(1)
EIGHT = Decimal("0.00000001")
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
DAY_MS = 24 * HOUR_MS

_NUMBER = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INTEGER = re.compile(r"^-?[0-9]{1,20}$")
_CLIENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
NUMBER_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
CLIENT_ID_RANGE = "^[a-zA-Z0-9-_]{1,36}$"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def q8(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round to Binance's 8 decimal places (half up unless told otherwise)."""
    return value.quantize(EIGHT, rounding=rounding)


def down8(value: Decimal) -> Decimal:
    return q8(value, ROUND_DOWN)


def up8(value: Decimal) -> Decimal:
    return q8(value, ROUND_UP)


def f8(value: Decimal) -> str:
    """Binance's decimal string: always 8 places, never "-0"."""
    rounded = q8(value)
    if rounded == 0:
        rounded = ZERO.quantize(EIGHT)
    return f"{rounded:.8f}"


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of `step` not above `value`."""
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step == 0 or value % step == 0


def stable_id(*parts: object, length: int = 22) -> str:
    """A random-looking but deterministic client id (Binance generates 22 characters)."""
    digest = int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, rem = divmod(digest, 62)
        chars.append(_BASE62[rem])
    return "".join(chars)


# --------------------------------------------------------------------------------------------
# Binance's error texts (fact sheet §4)
# --------------------------------------------------------------------------------------------


def mandatory(name: str) -> SimError:
    return SimError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def either(first: str, second: str) -> SimError:
    return SimError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def not_required(name: str) -> SimError:
    return SimError(-1106, f"Parameter '{name}' sent when not required.")


def invalid(name: str) -> SimError:
    return SimError(-1130, f"Data sent for parameter '{name}' is not valid.")


def rejected(msg: str) -> SimError:
    return SimError(-2010, msg)


def filter_failure(name: str) -> SimError:
    return SimError(-1013, f"Filter failure: {name}")


INSUFFICIENT = "Account has insufficient balance for requested action."


def bad_symbol() -> SimError:
    return SimError(-1121, "Invalid symbol.")


def bad_asset() -> SimError:
    return SimError(-3027, "Not a valid margin asset.")


def bad_param() -> SimError:
    return SimError(-3026, "Your input param is invalid.")


def no_account() -> SimError:
    return SimError(-3003, "Margin account does not exist.")


class Params:
    """Read access to one request's wire parameters, raising Binance's errors on bad values."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self._raw = raw

    def str(self, name: str) -> str | None:
        value = self._raw.get(name)
        return None if value is None or value == "" else str(value)

    def has(self, name: str) -> bool:
        return self.str(name) is not None

    def required(self, name: str) -> str:
        value = self.str(name)
        if value is None:
            raise mandatory(name)
        return value

    def dec(self, name: str) -> Decimal | None:
        value = self.str(name)
        if value is None:
            return None
        if not _NUMBER.match(value):
            raise SimError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{NUMBER_RANGE}'.")
        number = Decimal(value)
        if number != number.quantize(EIGHT):
            raise SimError(-1111, "Precision is over the maximum defined for this asset.")
        return number

    def req_dec(self, name: str) -> Decimal:
        number = self.dec(name)
        if number is None:
            raise mandatory(name)
        return number

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self.str(name)
        if value is None:
            return default
        if not _INTEGER.match(value):
            raise SimError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
        return int(value)

    def bool(self, name: str, default: bool) -> bool:
        value = self.str(name)
        if value is None:
            return default
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(name)

    def isolated(self) -> bool:
        value = (self.str("isIsolated") or "FALSE").upper()
        if value not in ("TRUE", "FALSE"):
            raise invalid("isIsolated")
        return value == "TRUE"

    def client_id(self, name: str) -> str | None:
        value = self.str(name)
        if value is not None and not _CLIENT_ID.match(value):
            raise SimError(
                -1100, f"Illegal characters found in parameter '{name}'; legal range is '{CLIENT_ID_RANGE}'."
            )
        return value

    def limit(self, name: str, default: int, maximum: int) -> int:
        value = self.int(name, default) or default
        if value < 1:
            raise invalid(name)
        return min(value, maximum)


def time_window(
    p: Params, now: int, *, default_span: int | None, max_span: int | None, error: SimError
) -> tuple[int, int]:
    """startTime/endTime with Binance's defaults: a span ending now, never longer than `max_span`."""
    start, end = p.int("startTime"), p.int("endTime")
    if end is None:
        end = now if start is None or default_span is None else start + default_span
    if start is None:
        start = 0 if default_span is None else end - default_span
    if start > end or (max_span is not None and end - start > max_span):
        raise error
    return start, end


def page(rows: list[dict], p: Params, *, default_size: int = 10, max_size: int = 100) -> dict:
    """Binance's {"rows": [...], "total": n} paging with current (from 1) and size."""
    current = max(p.int("current", 1) or 1, 1)
    size = p.limit("size", default_size, max_size)
    return {"rows": rows[(current - 1) * size : current * size], "total": len(rows)}
