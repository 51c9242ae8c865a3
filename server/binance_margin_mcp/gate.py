"""The approval gate: a pure state machine over who may approve which request, and when it may be sent.

No MCP, no network, no files: an injected clock, and decisions fed in by the channel that received
them. Every approval is bound to one request's digest and one MCP session, is decided once, and is
redeemed (sent) at most once.

    open ──► PENDING ──dialog/page/TOTP/token CONFIRM──► APPROVED ──redeem──► USED
                │                                          │
                ├──decline / reject / wrong text──► REJECTED (final)
                └──clock passes expires_at──► EXPIRED (final)
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from binance_margin_mcp.errors import ConfirmationError

CONFIRM_WORD = "CONFIRM"
APPROVAL_TTL_SECONDS = 300.0  # an approval (pending or granted) lives 5 minutes
TOKEN_TTL_SECONDS = 120.0  # the agent-relayed token is the weakest channel: shortest life
MAX_CODE_ATTEMPTS = 5  # wrong TOTP codes before the approval is rejected (no brute force of 10^6 codes)
_KEEP_DECIDED_SECONDS = 3600.0  # decided approvals are remembered this long so a replay is named as one
_TOTP_ANSWER = re.compile(r"^CONFIRM ([0-9]{6})$")


class Channel(StrEnum):
    """Where the human's decision comes from."""

    ELICITATION = "elicitation"  # the MCP client's own dialog: the agent cannot see or answer it
    BROWSER = "browser"  # the local approval page, in the human's browser
    TOTP = "totp"  # a one-time code the human types and the agent relays (weaker: preview seen via the agent)
    TOKEN = "token"  # the agent relays CONFIRM itself: only when the operator chose it


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    USED = "used"


class Approvable(Protocol):
    """What an approval can be bound to: a Binance request or a change of Mainnet credentials."""

    @property
    def account(self) -> str: ...

    @property
    def action(self) -> str: ...

    def binding(self) -> str: ...


@dataclass
class Approval:
    """One request waiting for (or holding) a human decision."""

    id: str
    session: str
    channel: Channel
    request: Any  # an Approvable; the gate only reads its binding
    binding: str
    preview: dict[str, Any]
    text: str
    expires_at: float
    page_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))  # the page URL's secret
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))  # the page form's anti-forgery value
    state: State = State.PENDING
    reason: str = ""
    code_attempts: int = 0
    journalled: bool = False  # a final refusal of this approval is on the audit record


class GateRefusal(ConfirmationError):
    """Nothing was sent; `state` says where the approval stands (pending means: still waiting)."""

    def __init__(self, message: str, state: str, approval_id: str | None = None) -> None:
        super().__init__(message)
        self.state = state
        self.approval_id = approval_id

    def payload(self) -> dict[str, Any]:
        data = {**super().payload(), "approvalState": self.state}
        if self.state == State.PENDING:
            data["status"] = "approval_pending"
        if self.approval_id is not None:
            data["approvalId"] = self.approval_id
        return data


class Gate:
    """All approvals of one server process."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        ttl: float = APPROVAL_TTL_SECONDS,
        token_ttl: float = TOKEN_TTL_SECONDS,
        on_decided: Callable[[Approval], None] | None = None,
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._token_ttl = token_ttl
        self.on_decided = on_decided  # the pipeline wakes waiters here
        self._approvals: dict[str, Approval] = {}
        self._by_page: dict[str, str] = {}
        self._used_codes: set[tuple[str, int]] = set()  # (account, TOTP time step): each code works once

    def ttl_for(self, channel: Channel) -> float:
        return self._token_ttl if channel is Channel.TOKEN else self._ttl

    # -- opening ----------------------------------------------------------------------------

    def open(self, request: Approvable, session: str, channel: Channel, preview: dict[str, Any], text: str) -> Approval:
        """A new PENDING approval for exactly `request`, owned by `session`."""
        self._purge()
        approval = Approval(
            id=secrets.token_urlsafe(18),
            session=session,
            channel=channel,
            request=request,
            binding=request.binding(),
            preview=preview,
            text=text,
            expires_at=self._clock() + self.ttl_for(channel),
        )
        self._approvals[approval.id] = approval
        self._by_page[approval.page_token] = approval.id
        return approval

    # -- the human's channels ---------------------------------------------------------------

    def answer_dialog(self, approval_id: str, session: str, action: str, typed: str) -> Approval:
        """The MCP client's dialog answered: accept with exactly CONFIRM approves, anything else rejects."""
        approval = self._owned(approval_id, session)
        if approval.channel is not Channel.ELICITATION:
            raise self._refuse(approval, "this approval is not decided through the client's dialog.")
        if action != "accept":
            spelled = {"decline": "declined", "cancel": "cancelled"}.get(action, "cancelled")
            return self._decide(approval, State.REJECTED, f"the user {spelled} the confirmation dialog")
        if typed != CONFIRM_WORD:
            return self._decide(approval, State.REJECTED, f"the user typed {typed[:20]!r}, not {CONFIRM_WORD}")
        return self._decide(approval, State.APPROVED, "confirmed in the client's dialog")

    def page_view(self, page_token: str) -> Approval | None:
        """The approval a page URL shows (None: unknown); expiry is applied first."""
        approval_id = self._by_page.get(page_token)
        approval = self._approvals.get(approval_id) if approval_id else None
        if approval is not None:
            self._expire(approval)
        return approval

    def answer_page(self, page_token: str, csrf: str, decision: str, typed: str) -> Approval:
        """The approval page's form was posted (its Origin already checked by the page)."""
        approval = self.page_view(page_token)
        if approval is None or approval.channel is not Channel.BROWSER:
            raise GateRefusal("Unknown approval page.", "unknown")
        if not secrets.compare_digest(csrf.encode(), approval.csrf.encode()):
            raise GateRefusal("The form's anti-forgery value is wrong; nothing was decided.", approval.state)
        if decision == "reject":
            return self._decide(approval, State.REJECTED, "rejected on the approval page")
        if decision != "approve":
            raise GateRefusal("Unknown decision; nothing was decided.", approval.state)
        if typed != CONFIRM_WORD:
            # A typo is not a decision: the page asks again, the approval stays pending.
            raise GateRefusal(f"Type {CONFIRM_WORD} exactly to approve.", approval.state)
        return self._decide(approval, State.APPROVED, "approved on the approval page")

    # -- redeeming: the only way a request leaves the gate ------------------------------------

    def redeem(
        self,
        approval_id: str,
        session: str,
        current_binding: Callable[[], str],
        confirmation: str | None = None,
        check_code: Callable[[str], int | None] | None = None,
    ) -> Any:
        """The approved request, consumed; or GateRefusal saying why nothing may be sent.

        `confirmation` is what the agent relays (token: CONFIRM; TOTP: "CONFIRM 123456"). `check_code`
        verifies a TOTP code for the approval's account and returns its time step. `current_binding`
        re-resolves the account now: any difference from what was approved refuses, finally.
        """
        approval = self._owned(approval_id, session)
        if approval.state is State.PENDING and approval.channel in (Channel.TOKEN, Channel.TOTP):
            self._relayed(approval, confirmation or "", check_code)
        if approval.state is State.PENDING:
            raise self._refuse(approval, "the human has not decided yet.")
        if approval.state is not State.APPROVED:
            raise self._refuse(approval, "")
        if current_binding() != approval.binding:
            self._decide(approval, State.REJECTED, "the account or request changed since approval", internal=True)
            raise self._refuse(approval, "")
        approval.state = State.USED
        approval.reason = "sent"
        return approval.request

    def get(self, approval_id: str, session: str) -> Approval:
        return self._owned(approval_id, session)

    def reject(self, approval_id: str, session: str, reason: str) -> Approval:
        """The pipeline gives up on an approval (e.g. the request was refused before asking)."""
        return self._decide(self._owned(approval_id, session), State.REJECTED, reason)

    # -- internals --------------------------------------------------------------------------

    def _relayed(self, approval: Approval, confirmation: str, check_code: Callable[[str], int | None] | None) -> None:
        """Token and TOTP: the decision arrives as text relayed by the agent."""
        if approval.channel is Channel.TOKEN:
            if confirmation != CONFIRM_WORD:
                raise self._refuse(approval, f"the confirmation must be exactly {CONFIRM_WORD}, typed by the human.")
            self._decide(approval, State.APPROVED, "confirmed with a relayed token")
            return
        match = _TOTP_ANSWER.match(confirmation.strip())
        step = check_code(match.group(1)) if match and check_code is not None else None
        key = (str(approval.request.account), step) if step is not None else None
        if key is None or key in self._used_codes:
            approval.code_attempts += 1
            if approval.code_attempts >= MAX_CODE_ATTEMPTS:
                self._decide(approval, State.REJECTED, "too many wrong or reused codes")
                raise self._refuse(approval, "")
            raise self._refuse(
                approval,
                f"the confirmation must be '{CONFIRM_WORD} <current 6-digit code>' from the human's authenticator; "
                "a code is accepted once.",
            )
        self._used_codes.add(key)
        self._decide(approval, State.APPROVED, "confirmed with a one-time code")

    def _owned(self, approval_id: str, session: str) -> Approval:
        approval = self._approvals.get(approval_id)
        # Another session's approval is reported exactly like an unknown one: ids do not leak across sessions.
        if approval is None or not secrets.compare_digest(approval.session.encode(), session.encode()):
            raise GateRefusal(
                "Not sent: this approval is unknown in this session (wrong id, another session's, or forgotten "
                "after an hour). Call the tool again for a fresh preview.",
                "unknown",
            )
        self._expire(approval)
        return approval

    def _expire(self, approval: Approval) -> None:
        if approval.state in (State.PENDING, State.APPROVED) and self._clock() >= approval.expires_at:
            self._decide(approval, State.EXPIRED, "the approval expired before it was used", internal=True)

    def _decide(self, approval: Approval, state: State, reason: str, *, internal: bool = False) -> Approval:
        """Move an approval on. The human decides only a PENDING approval, once; only the gate itself moves an
        APPROVED one on (to EXPIRED, or REJECTED when the account changed before it could be used)."""
        if approval.state is State.PENDING or (internal and approval.state is State.APPROVED):
            approval.state = state
            approval.reason = reason
            if self.on_decided is not None:
                self.on_decided(approval)
        return approval

    def _refuse(self, approval: Approval, detail: str) -> GateRefusal:
        messages = {
            State.PENDING: f"Not sent yet: {detail}",
            State.REJECTED: f"Not sent, and final for this request: {approval.reason}.",
            State.EXPIRED: "Not sent: the approval expired. Call the tool again for a fresh preview.",
            State.USED: "Not sent again: this approval was already used; the request went out once.",
            State.APPROVED: f"Not sent: {detail}",
        }
        return GateRefusal(messages[approval.state], str(approval.state), approval.id)

    def _purge(self) -> None:
        now = self._clock()
        for approval_id, approval in list(self._approvals.items()):
            if now >= approval.expires_at + _KEEP_DECIDED_SECONDS:
                del self._approvals[approval_id]
                self._by_page.pop(approval.page_token, None)


def needs_confirmation(transaction: bool, environment: str) -> bool:
    """Mainnet transactions (and Mainnet credential changes) are gated; reads, Testnet and Paper never are."""
    return transaction and environment == "Mainnet"


def choose_channel(mode: str, *, dialog: bool, url: bool, page: bool, totp: bool) -> Channel | None:
    """Which channel asks the human, for `--confirm-mode` and what this client and account can do.

    dialog: the client shows form elicitation; url: it can open a URL for us (URL-mode elicitation);
    page: the local approval page can be served; totp: the account is enrolled for one-time codes.
    None means no channel the agent cannot answer exists here: refuse.
    """
    if mode == "token":
        return Channel.TOKEN
    if mode == "totp":
        return Channel.TOTP if totp else None
    if mode == "browser":
        return Channel.BROWSER if page else None
    if dialog:
        return Channel.ELICITATION
    if page and (url or mode == "auto"):
        return Channel.BROWSER
    if mode == "auto" and totp:
        return Channel.TOTP
    return None
