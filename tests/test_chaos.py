"""Chaos: hundreds of random transactions over loopback HTTP, with wire faults, cancelled calls and killed servers.

The paper exchange runs on 127.0.0.1 behind the real HTTP stack; a Testnet account trades on it (no
confirmation needed). Faults hit the wire (delays, resets, timeouts and 5XX before or after the
exchange applied the request, truncated JSON); the agent cancels some calls after a random short delay;
some servers are killed mid-flight and a new one opens the same journal against the same exchange and
recovers. At the end the journal is compared with the exchange's own history.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.transport import client_ids_of
from loopback_exchange import (
    LoopbackExchange,
    Running,
    SharedClock,
    journal_lines,
    kill,
    loopback_exchange,
    mcp_server,
)

from conftest import Sleeps

SEED = 20261108
TRANSACTIONS = 300
WIRE_FAULTS = (
    "timeout_before_apply",
    "timeout_after_apply",
    "reset_after_apply",
    "http_500",
    "http_500_after_apply",
    "html_502",
    "truncated_json",
    "delay",
)
RECOVERY_AGE_MS = 3 * 60_000  # past recovery's 2 minutes: no live server owns the intents any more
PLACED = ("create_margin_order", "create_margin_oco_order")


class Workload:
    """Random transactions on BTCUSDT and USDT loans, with the client ids needed to cancel earlier ones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.resting: list[str] = []
        self.lists: list[str] = []
        self.loans: list[str] = []

    def next(self, n: int) -> tuple[str, dict[str, Any]]:
        kind = self.rng.choices(
            ("rest", "market", "oco", "cancel", "cancel_list", "borrow", "repay"), (24, 10, 12, 14, 8, 20, 12)
        )[0]
        if kind == "cancel" and self.resting:
            return "cancel_margin_order", {"symbol": "BTCUSDT", "origClientOrderId": self.rng.choice(self.resting)}
        if kind == "cancel_list" and self.lists:
            return "cancel_margin_order_list", {"symbol": "BTCUSDT", "listClientOrderId": self.rng.choice(self.lists)}
        if kind in ("borrow", "repay"):
            return "borrow_or_repay", self._loan(kind, n)
        if kind == "oco":
            self.lists.append(f"agent-L{n}")
            args = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.0002", "price": "65000", "stopPrice": "55000"}
            return "create_margin_oco_order", {**args, "listClientOrderId": f"L{n}"}
        if kind == "market":
            return "create_margin_order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.0001"}
        self.resting.append(f"agent-O{n}")
        args = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.0002"}
        return "create_margin_order", {**args, "price": "50000", "newClientOrderId": f"O{n}"}

    def _loan(self, kind: str, n: int) -> dict[str, Any]:
        if kind == "borrow":
            # Mostly unique amounts; often the previous amount again: only an unclaimed record may settle that one.
            amount = self.loans[-1] if self.loans and self.rng.random() < 0.35 else f"1.{n:03d}"
            self.loans.append(amount)
        else:
            amount = f"0.{n:03d}1"
        return {"asset": "USDT", "isIsolated": "FALSE", "amount": amount, "type": kind.upper()}


def inject(exchange: LoopbackExchange, rng: random.Random, tool: str, counts: Counter[str]) -> None:
    if rng.random() >= 0.4:
        return
    fault = rng.choice(WIRE_FAULTS)
    counts[f"fault:{fault}"] += 1
    if fault == "delay":
        pause = rng.uniform(0.002, 0.02)
        exchange.app.inject(lambda name, params: time.sleep(pause), tool)
    else:
        exchange.app.inject(fault, tool)


async def test_random_transactions_with_faults_cancellations_and_kills_match_the_exchanges_history(tmp_path: Path):
    """300 seeded random transactions: every request the exchange received has exactly one intent and one outcome;
    no client id reached the exchange twice; no reconciliation claims what the exchange does not show; no outcome
    contradicts the exchange."""
    rng, clock, counts = random.Random(SEED), SharedClock(), Counter[str]()
    journal = tmp_path / "journal.jsonl"
    started = time.monotonic()
    with loopback_exchange(tmp_path, clock) as exchange:
        async with AsyncExitStack() as stack:
            server = await stack.enter_async_context(mcp_server(exchange, journal, clock, Sleeps()))
            workload = Workload(rng)
            for n in range(TRANSACTIONS):
                clock.advance(rng.randint(200, 700))
                tool, args = workload.next(n)
                counts[f"tool:{tool}"] += 1
                inject(exchange, rng, tool, counts)
                call = server.call(tool, args)
                roll = rng.random()
                if roll < 0.2:
                    await asyncio.sleep(rng.uniform(0, 0.01))
                    call.cancel()
                    counts["cancelled"] += 1
                elif roll < 0.23:
                    await asyncio.sleep(rng.uniform(0, 0.01))
                    await kill(server, stack.aclose)
                    counts["kills"] += 1
                    server = await restart(stack, exchange, journal, clock, counts)
                else:
                    await asyncio.gather(call, return_exceptions=True)
            await server.idle()
            server = await restart(stack, exchange, journal, clock, counts, recover_only=True)
            await server.idle()
        exchange.app.faults.clear()
        verdict = compare(journal_lines(journal), exchange)
    counts.update(verdict)
    elapsed = time.monotonic() - started
    print(f"\nchaos ({elapsed:.1f} s): " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    assert verdict["requests received"] > 0 and counts["kills"] > 0 and counts["cancelled"] > 0
    assert verdict["duplicates"] == verdict["false reconciliations"] == verdict["contradictions"] == 0


async def restart(
    stack: AsyncExitStack,
    exchange: LoopbackExchange,
    journal: Path,
    clock: SharedClock,
    counts: Counter[str],
    recover_only: bool = False,
) -> Running:
    """A new server on the same journal and exchange, once the old intents are old enough; it recovers them."""
    if recover_only:
        await stack.aclose()
    clock.advance(RECOVERY_AGE_MS)
    server = await stack.enter_async_context(mcp_server(exchange, journal, clock, Sleeps()))
    report = (await server.client.call_tool("recover_journal", {})).structured_content
    counts["recovered reconciled"] += len(report["resolved"])
    counts["recovered UNKNOWN"] += len(report["unknown"])
    assert report["unchecked"] == [], report["unchecked"]
    return server


# -- the comparison ------------------------------------------------------------------------------


def _key(tool: str, params: dict[str, str]) -> tuple:
    """What identifies one request at the exchange: its new client ids, or for a loan what it asked for."""
    entry = CATALOG[tool]
    if entry.loan is not None:
        return ("loan", params["type"], params["asset"], Decimal(params["amount"]))
    return ("ids", tool, tuple(sorted(client_ids_of(entry, list(params.items())).items())))


def compare(lines: list[dict[str, Any]], exchange: LoopbackExchange) -> Counter[str]:
    """The journal against the exchange's own history; counts of what was found (the test asserts the zeros)."""
    found = Counter[str]()
    intents = {line["intent"]: line for line in lines if line.get("kind") == "intent"}
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if line.get("kind") == "outcome":
            outcomes.setdefault(line["intent"], []).append(line)
    found["journalled requests"] = len(intents)
    found["journalled refusals"] = sum(1 for line in lines if line.get("kind") == "attempt")
    assert set(outcomes) <= set(intents), "an outcome without its intent"
    for intent_id in intents:
        assert len(outcomes.get(intent_id, [])) == 1, (intent_id, outcomes.get(intent_id))
    final = {i: outcomes[i][0] for i in intents}
    for outcome in final.values():
        found[f"outcome:{outcome['outcome']}"] += 1
        found["recovered"] += bool(outcome.get("recovered"))
    by_tool = {CATALOG[t].endpoint_id: t for t in CATALOG}
    received = Counter(_key(by_tool[r.tool], r.params) for r in exchange.received if r.tool in by_tool)
    journalled = Counter(_key(line["tool"], line["params"]) for line in intents.values())
    found["requests received"] = sum(received.values())
    for key, times in received.items():
        if key[0] == "ids":
            assert times == 1 and journalled[key] == 1, (key, times, journalled[key])
        else:
            assert journalled[key] >= times, (key, times, journalled[key])  # every loan received was intended
    found["duplicates"] = _duplicates(exchange)
    false, contradictions = _check_orders(final, intents, exchange, received)
    loan_false, loan_contradictions = _check_loans(final, intents, exchange)
    found["false reconciliations"] = false + loan_false
    found["contradictions"] = contradictions + loan_contradictions
    return found


def _duplicates(exchange: LoopbackExchange) -> int:
    orders = Counter(o["clientOrderId"] for o in exchange.orders() if o["clientOrderId"].startswith("agent-"))
    lists = Counter(x["listClientOrderId"] for x in exchange.order_lists())
    return sum(n - 1 for n in orders.values() if n > 1) + sum(n - 1 for n in lists.values() if n > 1)


def _check_orders(
    final: dict[str, dict], intents: dict[str, dict], exchange: LoopbackExchange, received: Counter
) -> tuple[int, int]:
    orders = {o["clientOrderId"]: o for o in exchange.orders()}
    lists = {x["listClientOrderId"]: x for x in exchange.order_lists()}
    false = contradictions = 0
    for intent_id, outcome in final.items():
        tool, params, result = outcomes_of(intents[intent_id], outcome)
        if CATALOG[tool].loan is not None:
            continue
        there = _on_exchange(tool, params, orders, lists)
        if result == "reconciled" and (there is None or outcome.get("orderId") != _id_of(there)):
            false += 1
        contradictions += _contradicts(tool, params, result, outcome, there, received)
    return false, contradictions


def _contradicts(tool: str, params: dict, result: str, outcome: dict, there: dict | None, received: Counter) -> bool:
    """An outcome the exchange's state disproves: placed but absent, cancelled but still open, rejected but
    present, not sent but received."""
    if result == "sent" and tool in PLACED:
        return there is None or outcome.get("orderId") != _id_of(there)
    if result == "sent" and tool == "cancel_margin_order":
        return there is not None and there["status"] != "CANCELED"
    if result == "error" and tool in PLACED:
        return there is not None
    return result in ("not_sent", "refused") and received[_key(tool, params)] > 0


def outcomes_of(intent: dict, outcome: dict) -> tuple[str, dict[str, str], str]:
    return intent["tool"], intent["params"], outcome["outcome"]


def _on_exchange(tool: str, params: dict[str, str], orders: dict, lists: dict) -> dict | None:
    if tool == "create_margin_order":
        return orders.get(params["newClientOrderId"])
    if tool == "create_margin_oco_order":
        return lists.get(params["listClientOrderId"])
    if tool == "cancel_margin_order":
        return orders.get(params["origClientOrderId"])
    return lists.get(params.get("listClientOrderId", ""))


def _id_of(record: dict) -> int:
    return record["orderListId"] if "orderListId" in record and "orders" in record else record["orderId"]


def _check_loans(final: dict[str, dict], intents: dict[str, dict], exchange: LoopbackExchange) -> tuple[int, int]:
    """Each claimed tranId is a record of that loan, claimed once; per loan, claims <= records <= possible ones."""
    records = {r["txId"]: (kind, r) for kind in ("BORROW", "REPAY") for r in exchange.loan_records(kind)}
    claims = Counter[int]()
    false = contradictions = 0
    per_loan: dict[tuple, Counter[str]] = {}
    for intent_id, outcome in final.items():
        intent = intents[intent_id]
        if CATALOG[intent["tool"]].loan is None:
            continue
        key = _key(intent["tool"], intent["params"])
        per_loan.setdefault(key, Counter())[outcome["outcome"]] += 1
        tran_id = outcome.get("tranId")
        if outcome["outcome"] in ("sent", "reconciled"):
            claims[tran_id] += 1
            record = records.get(tran_id)
            if record is None or _key("borrow_or_repay", {**record[1], "type": record[0]}) != key:
                false += outcome["outcome"] == "reconciled"
                contradictions += outcome["outcome"] == "sent"
    false += sum(n - 1 for n in claims.values() if n > 1)
    for key, states in per_loan.items():
        made = sum(1 for kind, r in records.values() if _key("borrow_or_repay", {**r, "type": kind}) == key)
        proven = states["sent"] + states["reconciled"]
        if not proven <= made <= proven + states["UNKNOWN"]:
            contradictions += 1
    return false, contradictions
