"""One request pipeline: a tool call in; an outcome, or a request for the human's approval, out.

The account is resolved once per call, the request is prepared once (its `agent-` ids fixed), the
pre-trade checks run once, and a gated request waits in the gate until the human decides through a
channel the agent cannot answer. At send time the account is resolved again and must still match.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from binance_margin_mcp.account_change import AccountChange
from binance_margin_mcp.catalog.model import Endpoint
from binance_margin_mcp.credentials import Account
from binance_margin_mcp.errors import ConfirmationError, McpToolError
from binance_margin_mcp.gate import (
    CONFIRM_WORD,
    Approval,
    Channel,
    Gate,
    GateRefusal,
    State,
    choose_channel,
    needs_confirmation,
)
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.preview import build_preview, gather_facts, preview_text
from binance_margin_mcp.service import MarginService, Outcome, error_outcome

log = logging.getLogger(__name__)
DRY_RUN = "dry_run"  # journal confirmedBy and outcome of a dry run
Progress = Callable[[float, float, str], Awaitable[None]]
PROGRESS_EVERY_SECONDS = 5.0
MAX_REMEMBERED_CHECKS = 1000


@dataclass(frozen=True)
class Caller:
    """Who is calling: the MCP session, and what its client can show the human."""

    session: str
    dialog: bool = False  # form elicitation now
    url: bool = False  # URL-mode elicitation (the client opens a link for the human)


@dataclass(frozen=True)
class Ask:
    """The human must decide: the adapter runs the approval's channel, then calls back."""

    approval: Approval
    url: str | None = None  # the approval page, for the browser channel


class Pipeline:
    """The single way a tool call reaches Binance or changes Mainnet credentials."""

    def __init__(
        self,
        service: MarginService,
        gate: Gate,
        *,
        mode: str = "auto",
        page: Any = None,  # ApprovalPage, or None where no local page can reach the human
        open_browser: Callable[[str], None] | None = None,
        approval_wait: float = 45.0,
        check_code: Callable[[Account, str], int | None] | None = None,
    ) -> None:
        self.service = service
        self.gate = gate
        self.mode = mode
        self.page = page
        self.open_browser = open_browser
        self.approval_wait = approval_wait
        self._check_code = check_code
        self.progress_every = PROGRESS_EVERY_SECONDS
        self._events: dict[str, asyncio.Event] = {}
        gate.on_decided = self.on_decided
        # Pre-trade checks passed, per request binding, with the account limits they were checked against:
        # a send after approval repeats them only if the operator changed the limits meanwhile.
        self._checked: dict[str, tuple[tuple[str, str], ...]] = {}

    # -- the one entry point ----------------------------------------------------------------

    async def call(
        self,
        entry: Endpoint,
        args: Mapping[str, Any],
        account_name: str | None,
        caller: Caller,
        *,
        dry_run: bool = False,
    ) -> Outcome | Ask:
        try:
            account = self.service.resolve_account(account_name)
            request = self.service.prepare(entry, args, account)
            if dry_run and entry.transaction:
                return await self._dry_run(request, account)
            if not needs_confirmation(entry.transaction, account.environment):
                return await self.service.send(request, account, "not_required", checked=False)
            try:
                await self.service.precheck(request, account)  # never ask a human about what will be refused
            except McpToolError as refusal:
                self.service.executor.record(request, "not_required", "refused", error=refusal)
                raise
            self._remember_checked(request.binding(), account)
            preview = build_preview(request, await self._facts(request, account))
            return await self._ask(request, account, preview, caller)
        except McpToolError as error:
            return error_outcome(error)

    async def _dry_run(self, request: PreparedRequest, account: Account) -> Outcome:
        """The preview a confirmation would show, on any environment; nothing is sent and nobody is asked."""
        try:
            await self.service.precheck(request, account)  # a dry run says what a real send would be refused for
        except McpToolError as refusal:
            self.service.executor.record(request, DRY_RUN, "refused", error=refusal)
            raise
        preview = build_preview(request, await self._facts(request, account))
        self.service.executor.record(request, DRY_RUN, DRY_RUN)
        header = f"DRY RUN - NOT SENT. Preview of a {str(preview.get('environment', '')).upper()} transaction:"
        footer = "Nothing was sent. To send it, call the same tool with the same arguments without dryRun."
        data = {"status": DRY_RUN, "sent": False, "preview": preview}
        return Outcome(data, text=preview_text(preview, header=header, footer=footer))

    async def _facts(self, request: PreparedRequest, account: Account) -> Any:
        creds = self.service.credentials(account)
        market = self.service.pretrade.market

        async def read(entry: Endpoint, params: list[tuple[str, str]]) -> Any:
            return await self.service.read(entry, params, account)

        return await gather_facts(
            request,
            read,
            lambda symbol: market.last_price(creds, symbol),
            lambda symbol: market.symbol_info(creds, symbol),
        )

    async def _ask(
        self, request: Any, account: Account | None, preview: dict[str, Any], caller: Caller
    ) -> Outcome | Ask:
        """Open an approval on the channel this client and account allow, or refuse with what to do."""
        totp = account is not None and getattr(account, "confirm_with", None) == "TOTP"
        channel = choose_channel(self.mode, dialog=caller.dialog, url=caller.url, page=self.page is not None, totp=totp)
        if channel is None:
            raise ConfirmationError(self._no_channel_message())
        text = preview_text(preview, header=_header(preview, channel), footer=_footer(channel))
        approval = self.gate.open(request, caller.session, channel, preview, text)
        if channel is Channel.ELICITATION:
            return Ask(approval)
        if channel is Channel.BROWSER:
            await self.page.start()
            url = self.page.url_for(approval)
            if not caller.url and self.open_browser is not None:
                self.open_browser(url)
            return Ask(approval, url)
        return self.pending(approval, None)

    def _no_channel_message(self) -> str:
        if self.mode == "totp":
            return (
                "Not sent: this server confirms Mainnet transactions with one-time codes, and this account is not "
                "enrolled. The user can enrol it with `binance-margin-mcp totp-enroll ACCOUNT`."
            )
        return (
            "Not sent: no confirmation channel the human alone can answer is available here (this client has no "
            "confirmation dialog, the local approval page is unavailable, and the account has no one-time-code "
            "enrolment). The operator can restart the server without --confirm-mode elicitation, or enrol the "
            "account with `binance-margin-mcp totp-enroll ACCOUNT`."
        )

    # -- after the human ---------------------------------------------------------------------

    def answer_dialog(self, approval_id: str, caller: Caller, action: str, typed: str) -> None:
        self.gate.answer_dialog(approval_id, caller.session, action, typed)

    def reject(self, approval_id: str, caller: Caller, reason: str) -> None:
        self.gate.reject(approval_id, caller.session, reason)

    async def finish(self, approval_id: str, caller: Caller, confirmation: str | None = None) -> Outcome:
        """Send the approved request (once), after checking the account still matches what was approved."""
        try:
            approval = self.gate.get(approval_id, caller.session)
            current: dict[str, Any] = {}
            request = self.gate.redeem(
                approval_id,
                caller.session,
                lambda: self._current_binding(approval.request, current),
                confirmation,
                self._code_checker(approval),
            )
        except GateRefusal as refusal:
            self._journal_refusal(approval_id, caller, refusal)
            return error_outcome(refusal)
        except McpToolError as error:
            return error_outcome(error)
        confirmed_by = str(approval.channel)
        if isinstance(request, AccountChange):
            return self._apply_change(request, confirmed_by)
        account = current["account"]
        checked = self._checked.pop(request.binding(), None) == _limits(account)
        return await self.service.send(request, account, confirmed_by, checked=checked)

    def _remember_checked(self, binding: str, account: Account) -> None:
        while len(self._checked) >= MAX_REMEMBERED_CHECKS:  # approvals expire; forget the oldest first
            self._checked.pop(next(iter(self._checked)))
        self._checked[binding] = _limits(account)

    def _current_binding(self, request: Any, found: dict[str, Any]) -> str:
        """The approved request re-bound to the account as it is now; '' when it cannot be resolved."""
        try:
            if isinstance(request, AccountChange):
                return request.current(self.service.store).binding()
            account = self.service.resolve_account(request.account)
        except McpToolError:
            return ""
        found["account"] = account
        return self.service.rebound(request, account).binding()

    def _code_checker(self, approval: Approval) -> Callable[[str], int | None] | None:
        if approval.channel is not Channel.TOTP or self._check_code is None:
            return None
        account = self.service.resolve_account(approval.request.account)
        check = self._check_code
        return lambda code: check(account, code)

    def _journal_refusal(self, approval_id: str, caller: Caller, refusal: GateRefusal) -> None:
        """A final refusal of a Binance request is an attempt on the record (once per approval)."""
        if refusal.state not in (State.REJECTED, State.EXPIRED):
            return
        try:
            approval = self.gate.get(approval_id, caller.session)
        except GateRefusal:
            return
        if isinstance(approval.request, PreparedRequest) and not approval.journalled:
            approval.journalled = True
            self.service.executor.record(approval.request, str(approval.channel), "not_sent", error=refusal)

    # -- waiting for the page ------------------------------------------------------------------

    def on_decided(self, approval: Approval) -> None:
        """Gate callback: wake everyone waiting for this approval (the call itself, a confirm_transaction)."""
        event = self._events.pop(approval.id, None)
        if event is not None:
            event.set()

    async def wait(self, approval: Approval, progress: Progress | None, timeout: float | None = None) -> State:
        """Wait up to `timeout` (default --approval-wait) for the human's decision, reporting progress."""
        limit = self.approval_wait if timeout is None else timeout
        event = self._events.setdefault(approval.id, asyncio.Event())
        loop = asyncio.get_running_loop()
        started = loop.time()
        while approval.state is State.PENDING:  # the event is dropped when the approval is decided or expires
            left = limit - (loop.time() - started)
            if left <= 0:
                break
            try:
                await asyncio.wait_for(event.wait(), min(left, self.progress_every))
            except TimeoutError:
                if progress is not None:
                    await progress(loop.time() - started, limit, "waiting for the human's approval")
            self.gate.get(approval.id, approval.session)  # applies expiry
        return approval.state

    def pending(self, approval: Approval, url: str | None) -> Outcome:
        """Not decided yet: what the agent tells the human, and how to finish later."""
        seconds = int(self.gate.ttl_for(approval.channel))
        data: dict[str, Any] = {
            "status": "approval_pending",
            "approvalId": approval.id,
            "channel": str(approval.channel),
            "expiresInSeconds": seconds,
            "preview": approval.preview,
            "instructions": _instructions(approval.channel, url),
        }
        if url is not None:
            data["approvalUrl"] = url
        if approval.channel is Channel.TOKEN:
            data["token"] = approval.id
            data["warning"] = TOKEN_WARNING
        text = f"NOT SENT - waiting for the human's approval ({approval.channel}).\n{approval.text}\n\n"
        text += data["instructions"] + f"\napprovalId: {approval.id} (valid {seconds} s, single use)"
        if url is not None:
            text += f"\napproval page: {url}"
        return Outcome(data, text=text)

    async def confirm(
        self, approval_id: str, confirmation: str | None, caller: Caller, progress: Progress | None
    ) -> Outcome:
        """`confirm_transaction`: finish a pending approval (page decided, or a relayed TOTP/token answer)."""
        try:
            approval = self.gate.get(approval_id, caller.session)
        except GateRefusal as refusal:
            return error_outcome(refusal)
        if approval.channel is Channel.ELICITATION:
            return error_outcome(
                GateRefusal(
                    "Not sent: this approval is decided in the client's own dialog, not with confirm_transaction.",
                    str(approval.state),
                    approval.id,
                )
            )
        if approval.channel is Channel.BROWSER and approval.state is State.PENDING:
            await self.wait(approval, progress)
        return await self.finish(approval_id, caller, confirmation)

    # -- Mainnet credential changes ------------------------------------------------------------

    async def change_account(self, change: AccountChange, caller: Caller) -> Outcome | Ask:
        """Add or remove an account: Mainnet changes need the same human approval as a transaction."""
        try:
            if not needs_confirmation(True, change.environment):
                return self._apply_change(change, "not_required")
            return await self._ask(change, None, change.preview(), caller)
        except McpToolError as error:
            return error_outcome(error)

    def _apply_change(self, change: AccountChange, confirmed_by: str) -> Outcome:
        """Write the (approved, re-checked) change to TOOLS.md and answer with the masked view."""
        store = self.service.store
        try:
            if change.kind == "remove":
                store.remove_account(change.account)
                data = {"status": "removed", "account": change.account, "confirmedBy": confirmed_by}
                return Outcome(data, text=f"Removed account '{change.account}' from TOOLS.md.")
            assert change.arguments is not None
            account = store.add_account(**change.arguments.__dict__)
        except McpToolError as error:
            return error_outcome(error)
        masked = account.masked()
        text = f"Added account '{account.name}' to TOOLS.md:\n" + "\n".join(f"{k}: {v}" for k, v in masked.items())
        return Outcome({"status": "added", **masked, "confirmedBy": confirmed_by}, text=text)


TOKEN_WARNING = (
    "Token mode: the agent itself could call confirm_transaction with this token, so this confirmation does not "
    "prove that a human saw the preview. The operator chose this mode."
)


def _limits(account: Account) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(account.limits.items()))


def _header(preview: dict[str, Any], channel: Channel) -> str:
    """The first line; the account itself is shown (escaped) in the preview body below."""
    what = "credential change" if str(preview.get("endpoint", "")).startswith("TOOLS.md") else "transaction"
    return f"Approve a {str(preview.get('environment', '')).upper()} {what}:"


def _footer(channel: Channel) -> str:
    if channel is Channel.ELICITATION:
        return f"Type {CONFIRM_WORD} to send it. Anything else cancels; nothing is sent."
    if channel is Channel.BROWSER:
        return f"Type {CONFIRM_WORD} and press Approve to send it, or Reject. Nothing is sent otherwise."
    if channel is Channel.TOTP:
        return f"To send it, tell the agent: {CONFIRM_WORD} <the current 6-digit code of your authenticator>."
    return f"To send it, type {CONFIRM_WORD}. WARNING: {TOKEN_WARNING}"


def _instructions(channel: Channel, url: str | None) -> str:
    if channel is Channel.BROWSER:
        return (
            f"NOT SENT. Ask the user to open the approval page ({url}), check the preview there and type "
            f"{CONFIRM_WORD} on the page. Then call confirm_transaction with this approvalId. Never try to approve "
            "it yourself."
        )
    if channel is Channel.TOTP:
        return (
            "NOT SENT. Show this preview to the user. Only if they want it sent, they reply "
            f"'{CONFIRM_WORD} <6-digit code from their authenticator>'; pass their exact reply as `confirmation` to "
            f"confirm_transaction with this approvalId. Never invent a code or type {CONFIRM_WORD} yourself."
        )
    return (
        f"NOT SENT. Show this preview to the user and ask them to type {CONFIRM_WORD}. Only if they type it, call "
        f"confirm_transaction with this approvalId and their exact text. Never type {CONFIRM_WORD} yourself."
    )
