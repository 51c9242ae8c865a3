"""Write-ahead records: one request's intent, the outcome line that answers it, and reading them back merged.

An `Intent` is built from a prepared request just before dispatch (or from its journal line, for
recovery); its outcome line repeats the request fields so either line alone still says what was sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from binance_margin_mcp.account import mask_api_key
from binance_margin_mcp.errors import ApiError, McpToolError
from binance_margin_mcp.journal import JournalEntry
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.transport import client_ids_of

PENDING = "pending"  # display state of an intent with no outcome line
# Fields an outcome line adds to its intent in the merged, one-entry-per-request view.
OUTCOME_FIELDS = ("outcome", "status", "weight", "orderId", "tranId", "errorCode", "errorMsg", "recovered")
DEFINITE = ("sent", "reconciled", "error", "refused", "not_sent", "dry_run")


def new_intent_id() -> str:
    """16 random hex characters: unique enough to pair an intent with its outcome across processes."""
    return secrets.token_hex(8)


def journalled_params(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    # A listen key lets anyone read the account's stream: the journal keeps only its masked form.
    return {name: mask_api_key(value) if name == "listenKey" else value for name, value in params}


@dataclass(frozen=True)
class Intent:
    """What is about to be sent, as the journal records it."""

    id: str
    time_ms: int
    account: str
    environment: str
    endpoint: str
    tool: str
    params: dict[str, str]
    confirmed_by: str
    client_ids: dict[str, str]
    server_ms: int  # Binance's clock just before dispatch, as estimated by the server-time offset

    @classmethod
    def of(cls, request: PreparedRequest, confirmed_by: str, time_ms: int, server_ms: int) -> Intent:
        return cls(
            new_intent_id(),
            time_ms,
            request.account,
            request.environment,
            request.entry.endpoint_id,
            request.entry.name,
            journalled_params(request.params),
            confirmed_by,
            client_ids_of(request.entry, request.params),
            server_ms,
        )

    @classmethod
    def from_line(cls, line: Mapping[str, Any]) -> Intent:
        """An intent line read back (raises KeyError/TypeError/ValueError on a malformed one)."""
        return cls(
            str(line["intent"]),
            int(line["time"]),
            str(line["account"]),
            str(line["environment"]),
            str(line["endpoint"]),
            str(line["tool"]),
            {str(k): str(v) for k, v in dict(line["params"]).items()},
            str(line["confirmedBy"]),
            {str(k): str(v) for k, v in dict(line.get("clientIds") or {}).items()},
            int(line.get("serverTime", line["time"])),
        )

    def entry(self) -> JournalEntry:
        return JournalEntry(kind="intent", server_time=self.server_ms, **self._common(self.time_ms))

    def outcome(
        self,
        time_ms: int,
        outcome: str,
        *,
        data: Any = None,
        error: McpToolError | None = None,
        status: str | None = None,
        weight: int | None = None,
        tran_id: int | None = None,
        recovered: bool | None = None,
    ) -> JournalEntry:
        """The outcome line: Binance's ids and status from `data`, or the error's code and first line."""
        record = data if isinstance(data, dict) else {}
        return JournalEntry(
            kind="outcome",
            outcome=outcome,
            weight=weight,
            order_id=_int(record.get("orderId", record.get("orderListId"))),
            tran_id=tran_id if tran_id is not None else _int(record.get("tranId")),
            status=status
            or record.get("status")
            or record.get("listOrderStatus")
            or ("UNKNOWN" if outcome == "UNKNOWN" else None),
            error_code=error.code if isinstance(error, ApiError) else None,
            error_msg=error.message.splitlines()[0][:300] if error is not None else None,
            recovered=recovered,
            **self._common(time_ms),
        )

    def _common(self, time_ms: int) -> dict[str, Any]:
        return {
            "time_ms": time_ms,
            "intent": self.id,
            "account": self.account,
            "environment": self.environment,
            "endpoint": self.endpoint,
            "tool": self.tool,
            "params": dict(self.params),
            "confirmed_by": self.confirmed_by,
            "client_ids": dict(self.client_ids),
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kind(line: Mapping[str, Any]) -> str:
    return str(line.get("kind", "attempt"))  # lines from before write-ahead carry no kind


def _preferred(current: dict[str, Any] | None, other: dict[str, Any]) -> dict[str, Any]:
    """Of two outcome lines for one intent (a recovery raced the sender), a definite one beats UNKNOWN."""
    if current is None:
        return other
    return other if current.get("outcome") not in DEFINITE and other.get("outcome") in DEFINITE else current


def merge(lines_newest_first: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per request, oldest first: an intent with its outcome (or outcome `pending`), or an attempt."""
    outcomes: dict[str, dict[str, Any]] = {}
    merged: list[dict[str, Any]] = []
    for line in lines_newest_first:
        kind, intent = _kind(line), line.get("intent")
        if kind == "outcome" and isinstance(intent, str):
            outcomes[intent] = _preferred(outcomes.get(intent), line)
        elif kind == "intent" and isinstance(intent, str):
            merged.append(_joined(line, outcomes.pop(intent, None)))
        else:
            merged.append({k: v for k, v in line.items() if k != "kind"})
    merged += [{k: v for k, v in line.items() if k != "kind"} for line in outcomes.values()]  # intent scrolled off
    merged.sort(key=lambda e: e.get("time", 0) if isinstance(e.get("time"), int) else 0)
    return merged


def _joined(intent: dict[str, Any], outcome: dict[str, Any] | None) -> dict[str, Any]:
    entry = {k: v for k, v in intent.items() if k != "kind"}
    entry["outcome"] = PENDING
    if outcome is not None:
        for key in OUTCOME_FIELDS:
            if key in outcome:
                entry[key] = outcome[key]
        entry["outcomeTime"] = outcome.get("time")
    return entry


def pending_intents(lines_newest_first: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Intent lines with no outcome line, oldest first."""
    answered: set[str] = set()
    pending: list[dict[str, Any]] = []
    for line in lines_newest_first:
        intent = line.get("intent")
        if not isinstance(intent, str):
            continue
        if _kind(line) == "outcome":
            answered.add(intent)
        elif _kind(line) == "intent" and intent not in answered:
            pending.append(line)
    pending.reverse()
    return pending
