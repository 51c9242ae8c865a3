"""The approval gate as a table: every channel against every way an approval can go wrong (no MCP, no I/O)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.gate import (
    APPROVAL_TTL_SECONDS,
    MAX_CODE_ATTEMPTS,
    TOKEN_TTL_SECONDS,
    Approval,
    Channel,
    Gate,
    GateRefusal,
    State,
    choose_channel,
)
from binance_margin_mcp.prepared import PreparedRequest

REQUEST = PreparedRequest(
    "main",
    "Mainnet",
    "https://api.binance.com",
    "fp-main",
    CATALOG["create_margin_order"],
    (("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.01"), ("newClientOrderId", "agent-x")),
)
CHANGES = {
    "account changed": {"account": "other"},
    "key changed": {"key_fingerprint": "fp-other"},
    "environment changed": {"environment": "Testnet"},
    "host changed": {"base_url": "http://127.0.0.1:8765"},
    "parameter changed": {"params": (*REQUEST.params[:-1], ("newClientOrderId", "agent-y"))},
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(channel: Channel) -> tuple[Gate, Clock, Approval]:
    clock = Clock()
    gate = Gate(clock)
    return gate, clock, gate.open(REQUEST, "session-A", channel, {"account": "main"}, "preview text")


def codes() -> Callable[[str], int | None]:
    """A TOTP checker that knows one good code per 30 s step (the real one is tested in test_totp.py)."""
    return lambda code: 7 if code == "123456" else None


def accept(gate: Gate, approval: Approval) -> None:
    """The human says yes through the approval's own channel (relayed channels decide inside redeem)."""
    if approval.channel is Channel.ELICITATION:
        gate.answer_dialog(approval.id, "session-A", "accept", "CONFIRM")
    elif approval.channel is Channel.BROWSER:
        gate.answer_page(approval.page_token, approval.csrf, "approve", "CONFIRM")


def relayed(approval: Approval) -> str | None:
    return {Channel.TOTP: "CONFIRM 123456", Channel.TOKEN: "CONFIRM"}.get(approval.channel)


def redeem(gate: Gate, approval: Approval, *, session: str = "session-A", request: PreparedRequest = REQUEST):
    return gate.redeem(approval.id, session, request.binding, relayed(approval), codes())


@pytest.mark.parametrize("channel", list(Channel))
def test_accept_sends_exactly_the_approved_request_once(channel):
    """A yes on the approval's channel releases exactly that request, once; a replay is refused as used."""
    gate, _, approval = make(channel)
    accept(gate, approval)
    assert redeem(gate, approval) is REQUEST
    assert approval.state is State.USED
    with pytest.raises(GateRefusal, match="already used"):
        redeem(gate, approval)
    accept(gate, approval)  # a replayed decision changes nothing
    assert approval.state is State.USED


@pytest.mark.parametrize("channel", list(Channel))
def test_decline_is_final_whatever_happens_afterwards(channel):
    """A declined, rejected or abandoned approval never sends, even if a yes or a changed account follows."""
    gate, _, approval = make(channel)
    if channel is Channel.ELICITATION:
        gate.answer_dialog(approval.id, "session-A", "decline", "")
    elif channel is Channel.BROWSER:
        gate.answer_page(approval.page_token, approval.csrf, "reject", "")
    else:
        gate.reject(approval.id, "session-A", "the user said no")
    assert approval.state is State.REJECTED
    accept(gate, approval)  # a later yes does not revive it
    for binding in (REQUEST.binding, dataclasses.replace(REQUEST, environment="Testnet").binding):
        with pytest.raises(GateRefusal, match="final"):
            gate.redeem(approval.id, "session-A", binding, relayed(approval), codes())
    assert approval.state is State.REJECTED


@pytest.mark.parametrize("channel", list(Channel))
def test_wrong_text_never_sends(channel):
    """Anything but exactly CONFIRM (and, for TOTP, a valid fresh code) sends nothing."""
    gate, _, approval = make(channel)
    if channel is Channel.ELICITATION:
        gate.answer_dialog(approval.id, "session-A", "accept", "confirm")
        assert approval.state is State.REJECTED
    elif channel is Channel.BROWSER:
        with pytest.raises(GateRefusal, match="exactly"):
            gate.answer_page(approval.page_token, approval.csrf, "approve", "CONFIRM ")
        with pytest.raises(GateRefusal, match="anti-forgery"):
            gate.answer_page(approval.page_token, "forged", "approve", "CONFIRM")
        assert approval.state is State.PENDING
    for wrong in ("confirm", "CONFIRM 000000", "yes", "CONFIRM123456"):
        with pytest.raises(GateRefusal):
            gate.redeem(approval.id, "session-A", REQUEST.binding, wrong, codes())
    assert approval.state is not State.USED


@pytest.mark.parametrize("channel", list(Channel))
def test_an_expired_approval_never_sends(channel):
    """Past its lifetime (5 min; 2 min for relayed tokens) an approval is dead, approved or not."""
    gate, clock, approval = make(channel)
    accept(gate, approval)
    clock.now += (TOKEN_TTL_SECONDS if channel is Channel.TOKEN else APPROVAL_TTL_SECONDS) + 1
    with pytest.raises(GateRefusal, match="expired"):
        redeem(gate, approval)
    assert approval.state is State.EXPIRED


@pytest.mark.parametrize("channel", list(Channel))
def test_another_session_cannot_see_decide_or_use_an_approval(channel):
    """Session B gets 'unknown' for session A's approval, exactly like a made-up id."""
    gate, _, approval = make(channel)
    with pytest.raises(GateRefusal, match="unknown in this session"):
        gate.answer_dialog(approval.id, "session-B", "accept", "CONFIRM")
    accept(gate, approval)
    with pytest.raises(GateRefusal, match="unknown in this session"):
        redeem(gate, approval, session="session-B")
    with pytest.raises(GateRefusal, match="unknown in this session"):
        gate.redeem("made-up", "session-A", REQUEST.binding, "CONFIRM", codes())
    assert redeem(gate, approval) is REQUEST  # still intact for its own session


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("what", list(CHANGES))
def test_any_change_since_approval_refuses_finally(channel, what):
    """Account, key, environment, host or any wire parameter different at send time: refused, and for good."""
    gate, _, approval = make(channel)
    accept(gate, approval)
    changed = dataclasses.replace(REQUEST, **CHANGES[what])
    with pytest.raises(GateRefusal, match="changed since approval"):
        redeem(gate, approval, request=changed)
    with pytest.raises(GateRefusal, match="final"):
        redeem(gate, approval)  # changing it back does not revive the approval
    assert approval.state is State.REJECTED


def test_each_totp_code_is_accepted_once_and_guessing_is_capped():
    """A code used for one approval cannot approve another; five wrong codes reject the approval."""
    clock = Clock()
    gate = Gate(clock)
    first = gate.open(REQUEST, "s", Channel.TOTP, {}, "")
    second = gate.open(REQUEST, "s", Channel.TOTP, {}, "")
    assert gate.redeem(first.id, "s", REQUEST.binding, "CONFIRM 123456", codes()) is REQUEST
    with pytest.raises(GateRefusal, match="accepted once"):
        gate.redeem(second.id, "s", REQUEST.binding, "CONFIRM 123456", codes())
    for _ in range(MAX_CODE_ATTEMPTS - 2):
        with pytest.raises(GateRefusal):
            gate.redeem(second.id, "s", REQUEST.binding, "CONFIRM 999999", codes())
    with pytest.raises(GateRefusal, match="too many"):
        gate.redeem(second.id, "s", REQUEST.binding, "CONFIRM 999999", codes())
    assert second.state is State.REJECTED


def test_dialog_and_page_approvals_cannot_be_decided_by_relayed_text():
    """What the agent relays (CONFIRM, a code) never decides a dialog or page approval: they stay pending."""
    for channel in (Channel.ELICITATION, Channel.BROWSER):
        gate, _, approval = make(channel)
        for text in ("CONFIRM", "CONFIRM 123456"):
            with pytest.raises(GateRefusal, match="not decided yet"):
                gate.redeem(approval.id, "session-A", REQUEST.binding, text, codes())
        assert approval.state is State.PENDING
        with pytest.raises(GateRefusal):
            gate.answer_dialog(approval.id, "session-A", "accept", "CONFIRM") if channel is Channel.BROWSER else (
                gate.answer_page(approval.page_token, approval.csrf, "approve", "CONFIRM")
            )


@pytest.mark.parametrize(
    ("mode", "dialog", "url", "page", "totp", "expected"),
    [
        ("auto", True, True, True, True, Channel.ELICITATION),
        ("auto", False, True, True, True, Channel.BROWSER),
        ("auto", False, False, True, False, Channel.BROWSER),
        ("auto", False, False, False, True, Channel.TOTP),
        ("auto", False, False, False, False, None),
        ("elicitation", False, True, True, False, Channel.BROWSER),  # URL-mode elicitation opens the page
        ("elicitation", False, False, True, True, None),
        ("browser", True, False, True, False, Channel.BROWSER),
        ("browser", True, False, False, False, None),
        ("totp", True, True, True, True, Channel.TOTP),
        ("totp", True, True, True, False, None),
        ("token", False, False, False, False, Channel.TOKEN),
    ],
)
def test_channel_choice_follows_the_mode_and_what_is_available(mode, dialog, url, page, totp, expected):
    """auto: dialog, else page, else TOTP, else refuse; explicit modes never fall back to another channel."""
    assert choose_channel(mode, dialog=dialog, url=url, page=page, totp=totp) is expected


@pytest.mark.parametrize("channel", [Channel.ELICITATION, Channel.BROWSER])
def test_a_decision_cannot_be_changed_by_a_later_answer(channel):
    """Once approved, a later (replayed) decline or reject changes nothing: decisions are made once."""
    gate, _, approval = make(channel)
    accept(gate, approval)
    if channel is Channel.ELICITATION:
        gate.answer_dialog(approval.id, "session-A", "decline", "")
    else:
        gate.answer_page(approval.page_token, approval.csrf, "reject", "")
    assert approval.state is State.APPROVED
    assert redeem(gate, approval) is REQUEST
