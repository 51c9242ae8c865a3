"""The only module that knows the MCP SDK: registers catalog tools and hand-written tools on an MCPServer.

One generic factory turns each catalog entry into a tool (synthesized signature, annotations, `_meta`)
that hands the call to the request pipeline, then runs the approval channel the pipeline asks for:
the client's dialog (elicitation, both protocol eras) or the approval page (optionally opened by
URL-mode elicitation). Every failure becomes an `isError` result, never a traceback.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import secrets
import weakref
from collections.abc import Callable
from typing import Annotated, Any

from mcp import Client
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitRequestURLParams,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, Field, WithJsonSchema

from binance_margin_mcp import __version__
from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.errors import McpToolError
from binance_margin_mcp.gate import CONFIRM_WORD, Approval, Channel, State
from binance_margin_mcp.meta_tools import MetaTools
from binance_margin_mcp.pipeline import Ask, Caller, Pipeline, Progress
from binance_margin_mcp.schema import ACCOUNT_SCHEMA, param_schema
from binance_margin_mcp.service import Outcome, error_outcome

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Binance Margin trading tools. Accounts come from TOOLS.md: list them with list_accounts (names and "
    "environments only) and pass `account` when the user names one. On Mainnet every transaction needs the "
    f"human to type {CONFIRM_WORD}: show the preview and ask them; never type it yourself. Client order ids get "
    "the `agent-` prefix automatically."
)


class ConfirmForm(BaseModel):
    """The elicitation form: one text field the human must fill with the exact word."""

    confirmation: str = Field(description=f"Type {CONFIRM_WORD} (capital letters) to send; anything else cancels.")


CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confirmation": {
            "type": "string",
            "title": "Confirmation",
            "description": f"Type {CONFIRM_WORD} (capital letters) to send; anything else cancels.",
        }
    },
    "required": ["confirmation"],
}
INPUT_KEY = "confirm"  # our one question's key in a 2026-07-28 input_required round
MODERN = "2026-07-28"
_session_ids: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_HTTP_SESSION_HEADER = "mcp-session-id"


def to_result(outcome: Outcome) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=outcome.rendered())],
        structured_content=outcome.data,
        is_error=outcome.is_error,
        _meta=outcome.meta or None,
    )


def _raw_arguments(ctx: Context) -> dict[str, Any]:
    params = ctx.request_context.params or {}
    arguments = params.get("arguments") or {}
    return dict(arguments) if isinstance(arguments, dict) else {}


def _modern(ctx: Context) -> bool:
    return (ctx.protocol_version or "") >= MODERN


def session_of(ctx: Context) -> str:
    """The MCP session a call belongs to; approvals are usable only in the session that asked for them.

    HTTP (2025-11-25): the server-assigned Mcp-Session-Id. A handshake-era connection (stdio, in memory):
    a random id per connection. The 2026-07-28 protocol has no sessions: over stdio that is the one
    client of this process; over HTTP every caller holding the bearer token is the same principal.
    """
    request = ctx.request_context.request
    headers = getattr(request, "headers", None)
    if headers is not None and headers.get(_HTTP_SESSION_HEADER):
        return "http:" + str(headers.get(_HTTP_SESSION_HEADER))
    connection = getattr(ctx.request_context.session, "_connection", None)  # stable per handshake-era connection
    if not _modern(ctx) and connection is not None:
        found = _session_ids.get(connection)
        if found is None:
            found = _session_ids[connection] = "conn:" + secrets.token_urlsafe(12)
        return found
    return "http-principal" if headers is not None else "local"


def _caller(ctx: Context) -> Caller:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # Before 2026-07-28 elicitation is a server-to-client request, impossible on a stateless channel.
    reachable = elicitation is not None and (_modern(ctx) or ctx.request_context.session.can_send_request)
    form = reachable and elicitation is not None and (elicitation.form is not None or elicitation.url is None)
    url = reachable and elicitation is not None and elicitation.url is not None
    return Caller(session_of(ctx), dialog=bool(form), url=bool(url))


def _progress(ctx: Context) -> Progress:
    async def report(done: float, total: float, message: str) -> None:
        with contextlib.suppress(Exception):  # progress is a courtesy; never fail a call over it
            await ctx.report_progress(done, total, message)

    return report


async def drive(ctx: Context, pipeline: Pipeline, result: Outcome | Ask) -> CallToolResult | InputRequiredResult:
    """Run what the pipeline asks for: the client's dialog, or the approval page, then finish the call."""
    if isinstance(result, Outcome):
        return to_result(result)
    approval, caller = result.approval, _caller(ctx)
    if approval.channel is Channel.ELICITATION:
        if _modern(ctx):
            return _input_required(approval, None)
        try:
            answer = await ctx.elicit(approval.text, ConfirmForm)
        except Exception as failure:  # the client could not show the dialog: nothing is sent
            log.info("confirmation dialog failed: %s", type(failure).__name__)
            pipeline.reject(approval.id, caller, "the confirmation dialog could not be shown")
            return to_result(await pipeline.finish(approval.id, caller))
        typed = answer.data.confirmation if isinstance(answer, AcceptedElicitation) else ""
        pipeline.answer_dialog(approval.id, caller, str(getattr(answer, "action", "cancel")), typed)
        return to_result(await pipeline.finish(approval.id, caller))
    if caller.url and result.url is not None:
        if _modern(ctx):
            return _input_required(approval, result.url)
        try:
            opened = await ctx.elicit_url(_page_message(), result.url, approval.id)
            if opened.action != "accept":
                pipeline.reject(approval.id, caller, f"the user {_spelled(opened.action)} opening the approval page")
        except Exception as failure:
            log.info("URL elicitation failed: %s", type(failure).__name__)
    return await _await_page(ctx, pipeline, caller, approval, result.url)


async def _await_page(
    ctx: Context, pipeline: Pipeline, caller: Caller, approval: Approval, url: str | None
) -> CallToolResult:
    if await pipeline.wait(approval, _progress(ctx)) is State.PENDING:
        return to_result(pipeline.pending(approval, url))
    return to_result(await pipeline.finish(approval.id, caller))


async def resume(ctx: Context, pipeline: Pipeline) -> CallToolResult | InputRequiredResult:
    """A 2026-07-28 retry round: its requestState (sealed by the SDK) names our approval."""
    caller = _caller(ctx)
    approval_id = str(ctx.request_state)
    try:
        approval = pipeline.gate.get(approval_id, caller.session)
    except McpToolError as error:
        return to_result(error_outcome(error))
    answer = (ctx.input_responses or {}).get(INPUT_KEY)
    action, content = _answer(answer)
    if approval.channel is Channel.ELICITATION:
        if action is None:  # no answer in this round: ask again while the approval waits
            return (
                _input_required(approval, None)
                if approval.state is State.PENDING
                else to_result(await pipeline.finish(approval.id, caller))
            )
        typed = content.get("confirmation") if isinstance(content, dict) else None
        pipeline.answer_dialog(approval.id, caller, action, typed if isinstance(typed, str) else "")
        return to_result(await pipeline.finish(approval.id, caller))
    if action is not None and action != "accept":
        pipeline.reject(approval.id, caller, f"the user {_spelled(action)} opening the approval page")
    return await _await_page(
        ctx, pipeline, caller, approval, pipeline.page.url_for(approval) if pipeline.page else None
    )


def _answer(answer: Any) -> tuple[str | None, Any]:
    if answer is None:
        return None, None
    if isinstance(answer, dict):
        return str(answer.get("action")), answer.get("content")
    return str(getattr(answer, "action", "cancel")), getattr(answer, "content", None)


def _input_required(approval: Approval, url: str | None) -> InputRequiredResult:
    params: ElicitRequestFormParams | ElicitRequestURLParams
    if url is None:
        params = ElicitRequestFormParams(message=approval.text, requested_schema=CONFIRM_SCHEMA)
    else:
        params = ElicitRequestURLParams(message=_page_message(), url=url, elicitation_id=approval.id)
    return InputRequiredResult(input_requests={INPUT_KEY: ElicitRequest(params=params)}, request_state=approval.id)


def _page_message() -> str:
    return "Open the approval page to review this Binance Margin transaction and type CONFIRM there."


def _spelled(action: str) -> str:
    return {"decline": "declined", "cancel": "cancelled"}.get(action, "cancelled")


def _annotations(entry: Endpoint) -> ToolAnnotations:
    return ToolAnnotations(
        title=entry.title,
        read_only_hint=entry.read_only,
        destructive_hint=False if entry.read_only else entry.destructive_hint,
        idempotent_hint=True if entry.read_only else entry.idempotent,
        open_world_hint=True,
    )


def _signature_params(entry: Endpoint) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter(
            p.name,
            kw,
            annotation=Annotated[Any, WithJsonSchema(param_schema(p))],
            default=inspect.Parameter.empty if p.required else None,
        )
        for p in entry.params
    ]
    params.append(
        inspect.Parameter("account", kw, annotation=Annotated[Any, WithJsonSchema(ACCOUNT_SCHEMA)], default=None)
    )
    return params


def _present(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def endpoint_tool(entry: Endpoint, pipeline: Pipeline, on_call: Callable[[], None] = lambda: None) -> Any:
    """Build the async function the SDK registers for one catalog entry (`on_call` runs first, every call)."""
    arg_params = _signature_params(entry)
    service = pipeline.service

    async def tool(ctx: Context, **kwargs: Any) -> CallToolResult | InputRequiredResult:
        on_call()
        try:
            service.check_arguments(entry, _raw_arguments(ctx))
        except McpToolError as error:
            return to_result(error_outcome(error))
        if ctx.request_state:
            return await resume(ctx, pipeline)
        account_name = kwargs.pop("account", None)
        return await drive(ctx, pipeline, await pipeline.call(entry, _present(kwargs), account_name, _caller(ctx)))

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context), *arg_params]
    annotations: dict[str, Any] = {"ctx": Context, **{p.name: p.annotation for p in arg_params}}
    returns = CallToolResult | InputRequiredResult
    tool.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = {**annotations, "return": returns}
    tool.__name__ = tool.__qualname__ = entry.name
    return tool


def _compact_schema(server: MCPServer, name: str) -> None:
    """Drop pydantic's generated per-property titles and `default: null`: they carry no information,
    and with ~700 parameters they are a fifth of `tools/list` that every client puts in its context.
    (Only `tools/list` reads this schema; argument validation uses the SDK's own model.)"""
    tool = server._tool_manager.get_tool(name)  # the SDK offers no public handle on a registered schema
    if tool is None:
        return
    tool.parameters.pop("title", None)
    for prop in tool.parameters.get("properties", {}).values():
        prop.pop("title", None)
        if "default" in prop and prop["default"] is None:
            del prop["default"]


def register_endpoint_tools(
    server: MCPServer, pipeline: Pipeline, entries: list[Endpoint], on_call: Callable[[], None] = lambda: None
) -> None:
    for entry in entries:
        server.add_tool(
            endpoint_tool(entry, pipeline, on_call),
            name=entry.name,
            title=entry.title,
            description=entry.description,
            annotations=_annotations(entry),
            meta={"endpoint": entry.endpoint_id, "toolset": entry.toolset, "transaction": entry.transaction},
        )
        _compact_schema(server, entry.name)


def register_meta_tools(server: MCPServer, meta: MetaTools, read_only: bool = False) -> None:
    """The hand-written tools: accounts and the token confirmation."""
    local = {"open_world_hint": False}

    async def list_accounts() -> CallToolResult:
        return to_result(meta.list_accounts())

    async def show_account(account: str | None = None) -> CallToolResult:
        return to_result(meta.show_account(account))

    async def add_account(
        ctx: Context,
        name: Annotated[str, Field(description="New account name, e.g. main")],
        environment: Annotated[str, Field(description="Mainnet, Testnet or Paper")],
        signing: Annotated[str, Field(description="HMAC, RSA or Ed25519")] = "HMAC",
        credentials_file: Annotated[
            str | None, Field(description="Path of a file: line 1 API key, line 2 secret (HMAC)")
        ] = None,
        private_key_file: Annotated[str | None, Field(description="PEM private key path (RSA/Ed25519)")] = None,
        passphrase_env: Annotated[str | None, Field(description="Env var holding the PEM passphrase")] = None,
        base_url: Annotated[str | None, Field(description="Optional official Binance host or loopback URL")] = None,
        description: Annotated[str | None, Field(description="Optional note")] = None,
    ) -> CallToolResult | InputRequiredResult:
        if ctx.request_state:
            return await resume(ctx, meta.pipeline)
        result = await meta.add_account(
            _caller(ctx),
            name=name,
            environment=environment,
            signing=signing,
            credentials_file=credentials_file,
            private_key_file=private_key_file,
            passphrase_env=passphrase_env,
            base_url=base_url,
            description=description,
        )
        return await drive(ctx, meta.pipeline, result)

    async def remove_account(ctx: Context, name: str) -> CallToolResult | InputRequiredResult:
        if ctx.request_state:
            return await resume(ctx, meta.pipeline)
        return await drive(ctx, meta.pipeline, await meta.remove_account(_caller(ctx), name))

    async def confirm_transaction(
        ctx: Context,
        approvalId: Annotated[
            str, Field(description="The approvalId of an approval_pending result (its token in token mode)")
        ],
        confirmation: Annotated[
            str | None,
            Field(description="Only for one-time-code or token approvals: exactly what the human typed"),
        ] = None,
    ) -> CallToolResult:
        meta.recovery.start_once()
        return to_result(await meta.pipeline.confirm(approvalId, confirmation, _caller(ctx), _progress(ctx)))

    async def reset_paper_account(
        account: Annotated[str | None, Field(description="Paper account name (default: main/the only one)")] = None,
    ) -> CallToolResult:
        return to_result(meta.reset_paper_account(account))

    async def set_paper_price(
        symbol: Annotated[str, Field(description="Pair, e.g. BTCUSDT")],
        price: Annotated[str, Field(description='New last price as a decimal string, e.g. "58900"')],
    ) -> CallToolResult:
        return to_result(meta.set_paper_price(symbol, price))

    specs = [
        (
            list_accounts,
            "List the configured Binance accounts (names and environments only).",
            ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, **local),
        ),
        (
            show_account,
            "Show one account with its API key and secret masked.",
            ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, **local),
        ),
        (
            add_account,
            "Add an account to TOOLS.md from a credentials file or PEM path (the secret never passes "
            "through the chat). Answers with the masked view. A Mainnet account needs the human's approval.",
            ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, **local),
        ),
        (
            remove_account,
            "Remove an account from TOOLS.md. Removing a Mainnet account needs the human's approval.",
            ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, **local),
        ),
        (
            confirm_transaction,
            "Finish a Mainnet transaction (or credential change) that is waiting for the human's approval: pass the "
            "approvalId of its approval_pending result. For the approval page it sends only once the human approved "
            "it there (waiting briefly); for one-time-code or token approvals pass the human's exact reply as "
            "`confirmation`. Each approval is used once. Never pass text the human did not type.",
            ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True),
        ),
    ]

    async def list_journal(
        limit: Annotated[int, Field(ge=1, le=500, description="How many recent entries (1-500)")] = 20,
        account: Annotated[str | None, Field(description="Only this account")] = None,
        outcome: Annotated[
            str | None,
            Field(description="Only this outcome: sent, error, UNKNOWN, reconciled, refused, not_sent, pending"),
        ] = None,
    ) -> CallToolResult:
        meta.recovery.start_once()
        return to_result(await meta.list_journal(limit, account, outcome))

    async def recover_journal() -> CallToolResult:
        return to_result(await meta.recover_journal())

    async def deposit_paper_funds(
        asset: Annotated[str, Field(description="Asset, e.g. USDT")],
        amount: Annotated[str, Field(description='Amount as a decimal string, e.g. "1000"')],
        isolated_symbol: Annotated[
            str | None, Field(description="Isolated pair to fund, e.g. BTCUSDT (default: cross margin)")
        ] = None,
        account: Annotated[str | None, Field(description="Paper account name (default: main/the only one)")] = None,
    ) -> CallToolResult:
        return to_result(meta.deposit_paper_funds(account, asset, amount, isolated_symbol))

    specs += [
        (
            deposit_paper_funds,
            "Add paper money to a built-in paper account, into cross margin or an isolated pair (the way to fund "
            "isolated paper trading). Paper only; no real account is touched.",
            ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, **local),
        ),
        (
            list_journal,
            "Read the audit journal: pending and UNKNOWN requests first, with the read to check each, then the most "
            "recent transaction attempts on every account (time, account, endpoint, parameters as sent, how it was "
            "confirmed, outcome). Never contains keys.",
            ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, **local),
        ),
        (
            recover_journal,
            "Settle requests a stopped server left without an outcome: looks each up on Binance and records its real "
            "status or UNKNOWN with what to check. Sends nothing new.",
            ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, **local),
        ),
        (
            reset_paper_account,
            "Reset a built-in paper account to its starting balances (10000 USDT, 0.1 BTC), "
            "deleting its orders, loans and history. Paper only.",
            ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, **local),
        ),
        (
            set_paper_price,
            "Move the paper market: set a pair's last price on the built-in paper exchange; resting "
            "paper orders, stops and liquidations react at once. Paper only; real markets are untouched.",
            ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, **local),
        ),
    ]
    for fn, description, hints in specs:
        if read_only and not hints.read_only_hint:
            continue  # --read-only: nothing that changes state, not even locally
        server.add_tool(fn, name=fn.__name__, description=description, annotations=hints)
        _compact_schema(server, fn.__name__)


def build_mcp_server(
    pipeline: Pipeline,
    entries: list[Endpoint] | None = None,
    log_level: str = "WARNING",
    read_only: bool = False,
) -> MCPServer:
    server = MCPServer("binance-margin-mcp", version=__version__, instructions=INSTRUCTIONS, log_level=log_level)
    meta = MetaTools(pipeline)
    # Requests a stopped server left without an outcome are settled in the background from the first call on.
    on_call = meta.recovery.start_once
    register_endpoint_tools(server, pipeline, entries if entries is not None else list(CATALOG.values()), on_call)
    register_meta_tools(server, meta, read_only)
    return server


def in_memory_client(server: MCPServer, **options: Any) -> Client:
    """A real MCP client connected in process (used by the demo; tests use the SDK directly)."""
    return Client(server, **options)
