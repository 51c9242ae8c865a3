"""Persistence costs what a call changes: reads write nothing, history is appended row by row, schema 1 converts."""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from pathlib import Path

import helpers
import pytest
from helpers import USER, Clock, limit, order

from binance_margin_mcp.simulator import store as store_module
from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.exchange import Exchange
from binance_margin_mcp.simulator.state import encode

clock = helpers.clock

MARKET_BUY = {"side": "BUY", "type": "MARKET", "quantity": "0.001"}
MARKET_SELL = {"side": "SELL", "type": "MARKET", "quantity": "0.001"}
READS = [
    ("get_cross_margin_account", {}),
    ("get_all_margin_orders", {"symbol": "BTCUSDT"}),
    ("get_margin_trades", {"symbol": "BTCUSDT"}),
    ("get_open_margin_orders", {}),
    ("get_margin_interest_history", {}),
]


def _trade_a_while(ex: Exchange, n: int) -> None:
    for i in range(n):
        order(ex, **(MARKET_BUY if i % 2 == 0 else MARKET_SELL))


def _changes(ex: Exchange) -> int:
    return ex._store._conn.total_changes


def test_a_read_encodes_nothing_and_writes_nothing(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the account exists, GET calls neither encode state nor touch the database."""
    ex = Exchange(clock_ms=clock)
    _trade_a_while(ex, 4)
    order(ex, **limit("BUY", "0.01", "30000"))
    monkeypatch.setattr(Exchange, "check_reads", False)
    encoded: list[object] = []
    monkeypatch.setattr(store_module, "encode", lambda v: encoded.append(v) or encode(v))
    monkeypatch.setattr("binance_margin_mcp.simulator.exchange.encode", lambda v: encoded.append(v) or encode(v))
    before = _changes(ex)
    for name, params in READS:
        ex.handle(USER, name, params)
    assert (_changes(ex), encoded) == (before, [])


def test_an_order_writes_a_few_rows_however_long_the_history(clock: Clock) -> None:
    """The 201st order changes as many rows as the 2nd, and the live document does not grow with history."""
    ex = Exchange(clock_ms=clock)
    _trade_a_while(ex, 2)
    start = _changes(ex)
    order(ex, **MARKET_BUY)
    early = _changes(ex) - start
    size = len(ex._store._conn.execute("SELECT doc FROM users").fetchone()[0])
    _trade_a_while(ex, 198)
    start = _changes(ex)
    order(ex, **MARKET_BUY)
    assert _changes(ex) - start == early <= 10
    # order_times (today's orders, for the order-count endpoint) is the only live field that grows.
    assert len(ex._store._conn.execute("SELECT doc FROM users").fetchone()[0]) < size + 200 * 15


def test_the_history_survives_a_restart_and_failed_calls_in_between(tmp_path: Path, clock: Clock) -> None:
    """Open orders, closed orders, trades and records reload as they were; a rejected call leaves no trace."""
    path = tmp_path / "paper.db"
    ex = Exchange(path, clock_ms=clock)
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "500", "type": "BORROW"})
    _trade_a_while(ex, 5)
    resting = order(ex, **limit("BUY", "0.01", "30000"))
    with pytest.raises(SimError):
        order(ex, **{**MARKET_BUY, "quantity": "1000"})
    ex.handle(USER, "cancel_margin_order", {"symbol": "BTCUSDT", "orderId": str(resting["orderId"])})
    order(ex, **limit("BUY", "0.01", "30000"))
    before = ex.export_user(USER)
    ex.close()
    again = Exchange(path, clock_ms=clock)
    assert again.export_user(USER) == before


def test_a_schema_1_database_is_converted_on_open(tmp_path: Path, clock: Clock) -> None:
    """A file written by the one-document-per-account schema opens with everything in it, then as schema 2."""
    ex = Exchange(clock_ms=clock)
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "500", "type": "BORROW"})
    _trade_a_while(ex, 3)
    order(ex, **limit("BUY", "0.01", "30000"))
    expected = ex.export_user(USER)
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, doc TEXT NOT NULL);"
        "CREATE TABLE users (name TEXT PRIMARY KEY, doc TEXT NOT NULL);"
    )
    conn.execute("INSERT INTO meta VALUES ('schema', '1')")
    conn.execute("INSERT INTO meta VALUES ('global', ?)", (json.dumps(encode(ex._ctx.glob)),))
    conn.execute("INSERT INTO users VALUES (?, ?)", (USER, json.dumps(expected)))
    conn.commit()
    conn.close()
    converted = Exchange(path, clock_ms=clock)
    assert converted.export_user(USER) == expected
    assert converted._store._conn.execute("SELECT doc FROM meta WHERE key = 'schema'").fetchone()[0] == "2"
    order(converted, **MARKET_SELL)
    converted.close()
    assert len(Exchange(path, clock_ms=clock).export_user(USER)["trades"]) == len(expected["trades"]) + 1


def test_a_database_from_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Exchange(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET doc = '3' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="schema 3"):
        Exchange(path)


def test_order_latency_stays_flat_as_the_history_grows(tmp_path: Path, clock: Clock) -> None:
    """Median cost of an order after 1,500 orders is within 1.5x of the first 50 (bench/flatness.py: 5,000, HTTP)."""
    ex = Exchange(tmp_path / "flat.db", clock_ms=clock)
    times = []
    for i in range(1500):
        start = time.perf_counter()
        order(ex, **(MARKET_BUY if i % 2 == 0 else MARKET_SELL))
        times.append(time.perf_counter() - start)
        clock.now += 10
    first, last = statistics.median(times[:50]), statistics.median(times[-50:])
    assert last <= 1.5 * first, (first, last)
