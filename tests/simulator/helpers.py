"""Shared by the paper exchange core tests: a settable clock, the `clock` and `ex` fixtures, request helpers.

Test modules bind the fixtures by name (`clock, ex = helpers.clock, helpers.ex`): a conftest.py here
would shadow tests/conftest.py, which the other test modules import as `conftest`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.exchange import Exchange

NOW = 1_700_000_000_000  # 13:20 UTC: the next hour boundary is 40 minutes away
HOUR = 3_600_000
USER = "alice"


class Clock:
    """Settable millisecond clock."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ex(clock: Clock) -> Exchange:
    return Exchange(clock_ms=clock)


def D(text: str) -> Decimal:
    return Decimal(text)


def asset(ex: Exchange, name: str, user: str = USER) -> dict:
    account = ex.handle(user, "get_cross_margin_account", {})
    return next(a for a in account["userAssets"] if a["asset"] == name)


def order(ex: Exchange, **params: str) -> dict:
    return ex.handle(USER, "create_margin_order", {"symbol": "BTCUSDT", **params})


def limit(side: str, qty: str, price: str, **extra: str) -> dict:
    return {"side": side, "type": "LIMIT", "timeInForce": "GTC", "quantity": qty, "price": price, **extra}


def rejected(ex: Exchange, endpoint: str, params: dict, code: int, msg: str | None = None) -> SimError:
    with pytest.raises(SimError) as info:
        ex.handle(USER, endpoint, params)
    assert info.value.code == code, info.value.msg
    if msg is not None:
        assert info.value.msg == msg
    return info.value
