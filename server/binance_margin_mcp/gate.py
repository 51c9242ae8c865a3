"""The CONFIRM gate: which requests need a human's typed CONFIRM, their previews and one-time tokens.

Policy: a catalog entry flagged `transaction` on a Mainnet account is never sent until the human
typed exactly CONFIRM, through elicitation or through a single-use token bound to the request.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from binance_margin_mcp.catalog.model import Endpoint
from binance_margin_mcp.errors import ConfirmationError
from binance_margin_mcp.prepared import PreparedRequest

CONFIRM_WORD = "CONFIRM"
TOKEN_TTL_SECONDS = 120.0
# What a preview calls out for orders: the fields a human must see before money moves.
_ORDER_FIELDS = (
    "side",
    "symbol",
    "type",
    "quantity",
    "quoteOrderQty",
    "price",
    "stopPrice",
    "stopLimitPrice",
    "workingSide",
    "workingType",
    "workingQuantity",
    "workingPrice",
    "pendingSide",
    "pendingType",
    "pendingQuantity",
    "pendingPrice",
    "pendingAbovePrice",
    "pendingBelowPrice",
    "isIsolated",
    "sideEffectType",
)
_BORROWING = {"MARGIN_BUY", "AUTO_BORROW_REPAY"}


def needs_confirmation(entry: Endpoint, environment: str) -> bool:
    """Mainnet transactions are gated; reads, Testnet and Paper never are."""
    return entry.transaction and environment == "Mainnet"


def preview(request: PreparedRequest) -> dict[str, Any]:
    """Everything the human must see: account, endpoint, every parameter as sent, order essentials."""
    params = dict(request.params)
    data: dict[str, Any] = {
        "account": request.account,
        "environment": request.environment,
        "endpoint": request.entry.endpoint_id,
        "tool": request.entry.name,
        "parameters": params,
    }
    order = {name: params[name] for name in _ORDER_FIELDS if name in params}
    if "side" in order or "workingSide" in order:
        effect = params.get("sideEffectType", "NO_SIDE_EFFECT")
        order["borrows"] = effect in _BORROWING
        order.setdefault("sideEffectType", effect)
        data["order"] = order
    return data


def preview_text(request: PreparedRequest) -> str:
    """A deterministic, human-readable preview (the elicitation question is bound to its exact text)."""
    data = preview(request)
    lines = [
        f"Confirm a MAINNET transaction on account '{data['account']}' ({data['environment']}):",
        f"  {data['endpoint']}  ({data['tool']})",
    ]
    order = data.get("order")
    if order:
        summary = " ".join(str(order[k]) for k in ("side", "workingSide", "type", "quantity", "symbol") if k in order)
        if "price" in order:
            summary += f" @ {order['price']}"
        lines.append(f"  Order: {summary}")
        effect = order["sideEffectType"]
        lines.append(f"  sideEffectType: {effect}" + (" (BORROWS funds)" if order["borrows"] else " (no borrowing)"))
    lines.append("  Parameters as they will be sent:")
    lines += [f"    {name} = {value}" for name, value in data["parameters"].items()]
    lines.append(f"Type {CONFIRM_WORD} to send it. Anything else cancels; nothing is sent.")
    return "\n".join(lines)


@dataclass
class _Token:
    request: PreparedRequest
    binding: str
    expires_at: float


class TokenStore:
    """Single-use confirmation tokens, bound to account + endpoint + exact parameters, with a TTL."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TOKEN_TTL_SECONDS) -> None:
        self._clock = clock
        self._ttl = ttl
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float:
        return self._ttl

    def issue(self, request: PreparedRequest) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._purge()
            self._tokens[token] = _Token(request, request.binding(), self._clock() + self._ttl)
        return token

    def redeem(
        self, token: str, confirmation: str, current: Callable[[PreparedRequest], PreparedRequest]
    ) -> PreparedRequest:
        """Consume a token if the human typed CONFIRM and the request would still go out unchanged.

        `current` rebuilds the request against the account as it is now (TOOLS.md may have changed);
        a different binding means the token no longer describes what would be sent.
        """
        if confirmation != CONFIRM_WORD:
            raise ConfirmationError(
                f"Not sent: the confirmation must be exactly {CONFIRM_WORD}, typed by the human. The token is still "
                "valid until it expires."
            )
        with self._lock:
            self._purge()
            entry = self._tokens.pop(token, None)
        if entry is None:
            raise ConfirmationError(
                "Not sent: this confirmation token is unknown, expired or already used. Call the tool again for a "
                "fresh preview and token."
            )
        rebuilt = current(entry.request)
        if rebuilt.binding() != entry.binding:
            raise ConfirmationError(
                "Not sent: the account or request changed since the preview (TOOLS.md edited?). Call the tool again "
                "for a fresh preview."
            )
        return entry.request

    def _purge(self) -> None:
        now = self._clock()
        for token in [t for t, e in self._tokens.items() if e.expires_at <= now]:
            del self._tokens[token]


class PendingIds:
    """Keeps generated client ids stable between the preview and the send of the same request.

    The elicitation question is bound to its exact text, and in the 2026-07-28 protocol the preview
    is rebuilt on every round, so the `agent-` ids generated for it must be the same each time.
    The entry is taken (removed) when the request is sent, so a later identical order gets new ids.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TOKEN_TTL_SECONDS) -> None:
        self._clock = clock
        self._ttl = ttl
        self._items: dict[str, tuple[float, PreparedRequest]] = {}
        self._lock = threading.Lock()

    def get_or_make(self, key: str, make: Callable[[], PreparedRequest]) -> PreparedRequest:
        with self._lock:
            now = self._clock()
            for k in [k for k, (exp, _) in self._items.items() if exp <= now]:
                del self._items[k]
            found = self._items.get(key)
            if found is None:
                found = (now + self._ttl, make())
                self._items[key] = found
            return found[1]

    def take(self, key: str) -> PreparedRequest | None:
        with self._lock:
            found = self._items.pop(key, None)
        return None if found is None or found[0] <= self._clock() else found[1]
