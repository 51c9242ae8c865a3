"""One exception tree for everything a tool call can fail on; every message is safe to show.

McpToolError                  base: `message` is shown to the model, never holds a secret
├── InvalidArguments          refused locally, before anything was signed or sent
├── AccountError              unknown / ambiguous / misconfigured account
├── ConfirmationError         gate refusals: bad token, expired, reused, wrong text
├── JournalUnavailable        not sent: the audit journal's intent line could not be written
├── TransportError            the request may not have reached Binance (read side)
│   └── OutcomeUnknown        a write was sent (or may have been) but no answer came back
└── ApiError                  Binance answered with {"code", "msg"} or a non-2xx status
    ├── RateLimited           HTTP 429 (Retry-After seconds)
    └── IpBanned              HTTP 418 (Retry-After seconds until the ban ends)
"""

from __future__ import annotations

from typing import Any

# One line of what to do next, keyed by Binance error code.
HINTS: dict[int, str] = {
    -1003: "Too much request weight: wait for the Retry-After period before calling again.",
    -1013: "The order breaks a symbol filter (tick size, step size, notional): adjust price/quantity "
    "to the symbol's exchangeInfo filters.",
    -1015: "Too many new orders: slow down and retry after the interval in the message.",
    -1021: "Timestamp outside recvWindow: the local clock is off; sync the system clock (or the operator raises "
    "the account's '- Recv Window: N' in TOOLS.md, max 60000) and retry.",
    -1022: "Signature rejected: check the secret/private key and that the account's Signing mode "
    "matches the key type registered on Binance.",
    -1100: "A parameter has illegal characters: send decimals as plain strings like 0.001.",
    -1102: "A mandatory parameter is missing or malformed: read the tool's schema and resend.",
    -1121: "Invalid symbol: check the pair exists for margin (get_all_cross_margin_pairs).",
    -1128: "Invalid combination of optional parameters: read the message for the missing companion.",
    -1131: "recvWindow must be at most 60000: lower the account's '- Recv Window' in TOOLS.md.",
    -2010: "The order was rejected: read the message (balance, filters, price relationship).",
    -2011: "Cancel rejected: the order is unknown or already finished; query it first.",
    -2013: "Order does not exist: check orderId/origClientOrderId and isIsolated.",
    -2014: "API key format invalid: the account's API Key in TOOLS.md is wrong.",
    -2015: "Invalid API key, IP, or permissions: enable 'Spot & Margin Trading' (and 'Margin Loan, "
    "Repay & Transfer') on the key and check its IP whitelist.",
    -3006: "Borrow exceeds the maximum: query get_max_borrowable first.",
    -3007: "A borrow/repay is still being processed: wait a moment and check the records before retrying.",
    -3015: "Repay exceeds the liability: query the account for the exact borrowed + interest.",
    -3041: "Balance is not enough: check free balances or use a sideEffectType that borrows.",
    -3045: "The system lacks inventory of this asset to lend right now: try a smaller amount later.",
    -4047: "The startTime-endTime span is over 7 days (capital flow, since 2026-02-02): split the range into "
    "windows of at most 7 days; only the last 90 days are kept.",
}
# More specific than the code's hint, matched in Binance's `msg` (case-insensitive), first match wins. The server
# does not count open orders before sending (that would cost a signed request per order): Binance refuses with
# -1013 "Filter failure: MAX_NUM_ORDERS" (or MAX_NUM_ALGO_ORDERS, EXCHANGE_MAX_NUM_ORDERS, ...), whose
# documented meaning is "Account has too many open orders on the symbol."
MESSAGE_HINTS: tuple[tuple[str, str], ...] = (
    (
        "max_num_",
        "The symbol's open-order limit is reached, so the order was not placed. List the open orders with "
        "get_open_margin_orders (order lists: get_open_margin_order_lists), cancel the ones no longer needed with "
        "cancel_margin_order or cancel_margin_order_list, then place it again. An OCO/OTO counts as 2 orders, an "
        "OTOCO as 3.",
    ),
)
MESSAGE_HINTS += (("too many open orders", MESSAGE_HINTS[0][1]),)


def hint_for(code: int | None, msg: str) -> str:
    """What to do next: a hint matched in the message, else the code's hint, else ""."""
    lowered = msg.lower()
    for needle, hint in MESSAGE_HINTS:
        if needle in lowered:
            return hint
    return HINTS.get(code, "") if code is not None else ""


class McpToolError(Exception):
    """Base of every error a tool reports; `message` must never contain a key or secret."""

    status = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def payload(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message}


class InvalidArguments(McpToolError):
    """Refused before anything was signed or sent."""

    status = "invalid_arguments"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "param": self.param}


class AccountError(McpToolError):
    """The account is unknown, ambiguous or cannot be used as configured."""

    status = "account_error"

    def __init__(self, message: str, accounts: list[str] | None = None) -> None:
        super().__init__(message)
        self.accounts = accounts

    def payload(self) -> dict[str, Any]:
        data = super().payload()
        if self.accounts is not None:
            data["accounts"] = self.accounts
        return data


class ConfirmationError(McpToolError):
    """The confirmation gate refused: nothing was sent."""

    status = "not_sent"


class JournalUnavailable(McpToolError):
    """The write-ahead intent could not be put on disk, so nothing was sent."""

    status = "not_sent"


class TransportError(McpToolError):
    """No usable answer came back (network failure, bad body) on a request that changes nothing."""

    status = "transport_error"


class OutcomeUnknown(TransportError):
    """A write may have been executed: never resend blindly, reconcile first."""

    status = "UNKNOWN"

    def __init__(self, message: str, client_ids: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.client_ids = client_ids or {}

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "clientIds": self.client_ids}


class ApiError(McpToolError):
    """Binance answered with an error: its code and msg, the HTTP status and what to do."""

    status = "binance_error"

    def __init__(self, code: int | None, msg: str, http_status: int, endpoint: str, hint: str = "") -> None:
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.endpoint = endpoint
        self.hint = hint or hint_for(code, msg)
        label = f"Binance error {code}" if code is not None else f"HTTP {http_status}"
        text = f"{label} on {endpoint}: {msg}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        super().__init__(text)

    def with_hint(self, hint: str) -> ApiError:
        """The same Binance answer with a different next step."""
        return ApiError(self.code, self.msg, self.http_status, self.endpoint, hint=hint)

    def payload(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "msg": self.msg,
            "httpStatus": self.http_status,
            "endpoint": self.endpoint,
            "hint": self.hint,
        }


class RateLimited(ApiError):
    """HTTP 429: back off for `retry_after` seconds."""

    def __init__(self, code: int | None, msg: str, http_status: int, endpoint: str, retry_after: int | None):
        self.retry_after = retry_after
        wait = f" Retry after {retry_after} s." if retry_after is not None else ""
        super().__init__(code, msg, http_status, endpoint, hint="Rate limit hit; do not retry immediately." + wait)


class IpBanned(RateLimited):
    """HTTP 418: the IP is banned until `retry_after` seconds from now; send nothing meanwhile."""
