"""The only module that knows the MCP SDK: builds the catalog tools and hand-written tools of an MCPServer.

Every tool is a copy of one SDK template with a precomputed schema (schema.py); each reads its raw arguments
and checks them itself. Endpoint calls, by name or through execute_tool, go to the request pipeline; the
adapter then runs the approval channel the pipeline asks for: the client's dialog (elicitation, both protocol
eras) or the approval page (optionally opened by URL-mode elicitation). Every failure becomes an `isError`
result, never a traceback; an answer too long to read is cut to valid JSON (result_size.py).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from mcp import Client
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitRequestURLParams,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from mcp.types import Tool as MCPTool
from pydantic import BaseModel, Field

from binance_margin_mcp import __version__
from binance_margin_mcp.account_views import AccountViews
from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.discovery import Discovery
from binance_margin_mcp.errors import InvalidArguments, McpToolError
from binance_margin_mcp.gate import CONFIRM_WORD, Approval, Channel, State
from binance_margin_mcp.local_tools import (
    ACCOUNT_TOOLS,
    DESCRIBE_TOOL,
    EXECUTE_ARGS,
    EXECUTE_DESCRIPTION,
    JOURNAL_TOOLS,
    PAPER_TOOLS,
    SEARCH_TOOLS,
    VIEW_TOOLS,
    LocalTool,
)
from binance_margin_mcp.meta_tools import MetaTools
from binance_margin_mcp.pipeline import Ask, Caller, Pipeline, Progress
from binance_margin_mcp.result_size import MAX_TEXT, fit, narrowing_hints
from binance_margin_mcp.schema import annotation_hints, compact_hints, input_schema, local_schema, read_args
from binance_margin_mcp.service import Outcome, error_outcome

log = logging.getLogger(__name__)


def instructions(partial: bool) -> str:
    """The server instructions: what every tool shares is said here once, not in each schema."""
    text = (
        "Binance Margin trading tools. Accounts come from TOOLS.md: list them with list_accounts (names and "
        "environments only). Every endpoint tool takes an optional `account`, a TOOLS.md account name: without it "
        "the server uses 'main' (or the only account); if several accounts exist and none is 'main', ask the user "
        "which one to use. On Mainnet every transaction (and adding or removing a Mainnet account) waits for the "
        "human's approval through a channel you cannot answer (their client's dialog, the local approval page, or a "
        f"one-time code they give you): show the preview and its risk line and ask them; never type {CONFIRM_WORD} "
        "yourself. Every transaction tool also takes `dryRun: true`: it returns the "
        "preview (with its risk estimate) and sends nothing, on any account, without asking anyone. "
        "New client order ids (newClientOrderId, list/working/pending/limit/stop ids) get the `agent-` prefix "
        "automatically; the server "
        'sets recvWindow itself. Decimals are strings like "0.001".'
    )
    if partial:
        text += (
            " Only the everyday endpoints are listed: search_tools finds every other one (by words or toolset name), "
            "describe_tool shows its arguments, and execute_tool runs it with the same checks and approvals."
        )
    return text


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


_BY_ENDPOINT = {entry.endpoint_id: entry for entry in CATALOG.values()}


def to_result(outcome: Outcome) -> CallToolResult:
    """The MCP result; an answer whose text passes MAX_TEXT characters is cut to valid JSON with a note."""
    data, text = outcome.data, outcome.rendered()
    if len(text) > MAX_TEXT:
        trimmed = fit(data, text, _narrowing(outcome))
        if trimmed is not None:
            data, text = trimmed
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=data,
        is_error=outcome.is_error,
        _meta=outcome.meta or None,
    )


def _narrowing(outcome: Outcome) -> list[str]:
    """The optional parameters of the endpoint that answered which narrow its answer (limit, startTime...)."""
    entry = _BY_ENDPOINT.get(str(outcome.meta.get("endpoint")))
    return narrowing_hints([p.name for p in entry.params if not p.required]) if entry is not None else []


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


# -- endpoint calls: a listed tool and execute_tool run exactly this ---------------------------------------------


async def call_endpoint(
    ctx: Context, pipeline: Pipeline, entry: Endpoint, arguments: dict[str, Any]
) -> CallToolResult | InputRequiredResult:
    """One endpoint call, whether the tool was called by name or through execute_tool: the same argument checks
    (unknown ones refused), the same pipeline (operator limits, the human's approval, the journal)."""
    try:
        pipeline.service.check_arguments(entry, arguments)
        account = _account_argument(arguments)
        dry_run = _dry_run_argument(arguments)
    except McpToolError as error:
        return to_result(error_outcome(error))
    if ctx.request_state:
        return await resume(ctx, pipeline)
    server_set = ("account", "dryRun")  # the server's own arguments: never sent to Binance
    args = {name: value for name, value in arguments.items() if name not in server_set and value is not None}
    return await drive(ctx, pipeline, await pipeline.call(entry, args, account, _caller(ctx), dry_run=dry_run))


def _account_argument(arguments: dict[str, Any]) -> str | None:
    account = arguments.get("account")
    if account is None or isinstance(account, str):
        return account
    raise InvalidArguments('account must be a TOOLS.md account name (a string), e.g. "main".', "account")


def _dry_run_argument(arguments: dict[str, Any]) -> bool:
    dry_run = arguments.get("dryRun")
    if dry_run is None or isinstance(dry_run, bool):
        return bool(dry_run)
    raise InvalidArguments("dryRun must be true or false (a JSON boolean).", "dryRun")


# -- building the tools: one SDK template, copied per tool ------------------------------------------------------


@functools.cache
def _template() -> Tool:
    """The one SDK `Tool` every tool is copied from, built once per process.

    Its function takes only the Context, so the SDK's argument model has no fields and lets every argument
    through untouched: each tool reads its raw arguments from the request and checks them itself (params.py for
    endpoints, schema.read_args for the hand-written tools), naming the argument in any refusal. Copying it with
    a precomputed schema costs microseconds; `add_tool` would build a pydantic model and a schema per tool
    (~2 ms each). Relies on mcp 2.3.0 (pinned): tests/test_tool_building.py checks that unknown arguments still
    reach the tool and that copies list the schema they were given.
    """

    async def template(ctx: Context) -> CallToolResult | InputRequiredResult:
        raise NotImplementedError  # every copy replaces the function

    return Tool.from_function(template, name="template")


def _tool(
    name: str,
    fn: Callable[[Context], Awaitable[CallToolResult | InputRequiredResult]],
    description: str,
    parameters: dict[str, Any],
    hints: Mapping[str, bool],
    *,
    title: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Tool:
    annotations = ToolAnnotations.model_validate(dict(hints)) if hints else None
    update = {"fn": fn, "name": name, "title": title, "description": description, "parameters": parameters}
    return _template().model_copy(update={**update, "annotations": annotations, "meta": meta})


def endpoint_tools(entries: list[Endpoint], pipeline: Pipeline, on_call: Callable[[], None]) -> list[Tool]:
    """One tool per catalog entry; `_meta` names the endpoint, hints come from its risk."""

    def bind(entry: Endpoint) -> Callable[[Context], Awaitable[CallToolResult | InputRequiredResult]]:
        async def tool(ctx: Context) -> CallToolResult | InputRequiredResult:
            on_call()
            return await call_endpoint(ctx, pipeline, entry, _raw_arguments(ctx))

        return tool

    return [
        _tool(
            entry.name,
            bind(entry),
            entry.description,
            input_schema(entry),
            annotation_hints(entry),
            title=entry.title,
            meta={"endpoint": entry.endpoint_id},
        )
        for entry in entries
    ]


Handler = Callable[[Context, dict[str, Any]], Awaitable[CallToolResult | InputRequiredResult]]


def _local_tool(spec: LocalTool, handler: Handler, hints: Mapping[str, bool] | None = None) -> Tool:
    async def tool(ctx: Context) -> CallToolResult | InputRequiredResult:
        try:
            args = read_args(spec.name, spec.args, _raw_arguments(ctx))
        except McpToolError as error:
            return to_result(error_outcome(error))
        return await handler(ctx, args)

    chosen = dict(spec.hints) if hints is None else hints
    return _tool(spec.name, tool, spec.description, local_schema(spec.args), chosen, title=spec.title or None)


def local_tools(meta: MetaTools, read_only: bool) -> list[Tool]:
    """Accounts, the confirmation, the journal and the paper controls (under --read-only only the reads)."""
    pipeline = meta.pipeline

    async def add_account(ctx: Context, a: dict[str, Any]) -> CallToolResult | InputRequiredResult:
        if ctx.request_state:
            return await resume(ctx, pipeline)
        return await drive(ctx, pipeline, await meta.add_account(_caller(ctx), **a))

    async def remove_account(ctx: Context, a: dict[str, Any]) -> CallToolResult | InputRequiredResult:
        if ctx.request_state:
            return await resume(ctx, pipeline)
        return await drive(ctx, pipeline, await meta.remove_account(_caller(ctx), a["name"]))

    async def confirm_transaction(ctx: Context, a: dict[str, Any]) -> CallToolResult:
        meta.recovery.start_once()
        caller = _caller(ctx)
        return to_result(await pipeline.confirm(a["approvalId"], a["confirmation"], caller, _progress(ctx)))

    async def list_journal(ctx: Context, a: dict[str, Any]) -> CallToolResult:
        meta.recovery.start_once()
        return to_result(await meta.list_journal(a["limit"], a["account"], a["outcome"]))

    handlers: dict[str, Handler] = {
        "list_accounts": _plain(lambda a: meta.list_accounts()),
        "show_account": _plain(lambda a: meta.show_account(a["account"])),
        "add_account": add_account,
        "remove_account": remove_account,
        "confirm_transaction": confirm_transaction,
        "list_journal": list_journal,
        "recover_journal": _awaited(lambda a: meta.recover_journal()),
        "deposit_paper_funds": _plain(
            lambda a: meta.deposit_paper_funds(a["account"], a["asset"], a["amount"], a["isolated_symbol"])
        ),
        "reset_paper_account": _plain(lambda a: meta.reset_paper_account(a["account"])),
        "set_paper_price": _plain(lambda a: meta.set_paper_price(a["symbol"], a["price"])),
        "get_paper_status": _plain(lambda a: meta.paper_status()),
        **view_handlers(AccountViews(meta.service)),
    }
    specs = (*ACCOUNT_TOOLS, *JOURNAL_TOOLS, *PAPER_TOOLS, *VIEW_TOOLS)
    # --read-only: nothing that changes state, not even locally.
    return [_local_tool(spec, handlers[spec.name]) for spec in specs if spec.read_only or not read_only]


def view_handlers(views: AccountViews) -> dict[str, Handler]:
    """get_margin_risk, get_positions_pnl, watch_account: reads of one account."""
    return {
        "get_margin_risk": _awaited(lambda a: views.margin_risk(a["account"], a["symbol"])),
        "watch_account": _awaited(lambda a: views.watch(a)),
        "get_positions_pnl": _awaited(lambda a: views.positions_pnl(a["account"], a["symbol"])),
    }


def _plain(answer: Callable[[dict[str, Any]], Outcome]) -> Handler:
    async def handler(ctx: Context, a: dict[str, Any]) -> CallToolResult:
        return to_result(answer(a))

    return handler


def _awaited(answer: Callable[[dict[str, Any]], Awaitable[Outcome]]) -> Handler:
    async def handler(ctx: Context, a: dict[str, Any]) -> CallToolResult:
        return to_result(await answer(a))

    return handler


def discovery_tools(discovery: Discovery, pipeline: Pipeline, on_call: Callable[[], None]) -> list[Tool]:
    """search_tools, describe_tool and execute_tool over the endpoints available in this configuration."""

    async def describe_tool(ctx: Context, a: dict[str, Any]) -> CallToolResult:
        try:
            return to_result(discovery.describe(a["name"]))
        except McpToolError as error:
            return to_result(error_outcome(error))

    async def execute_tool(ctx: Context, a: dict[str, Any]) -> CallToolResult | InputRequiredResult:
        on_call()
        try:
            entry = discovery.find(a["name"])
        except McpToolError as error:
            return to_result(error_outcome(error))
        return await call_endpoint(ctx, pipeline, entry, a["arguments"] or {})

    # execute_tool can only do what the available endpoints do: read-only hints when every one of them reads.
    reads_only = all(entry.read_only for entry in discovery.entries.values())
    execute_hints = compact_hints(readOnlyHint=True, destructiveHint=False, idempotentHint=True) if reads_only else {}
    execute = LocalTool("execute_tool", EXECUTE_DESCRIPTION, EXECUTE_ARGS, title="Execute tool")
    return [
        _local_tool(SEARCH_TOOLS, _plain(lambda a: discovery.search(a["query"], a["limit"]))),
        _local_tool(DESCRIBE_TOOL, describe_tool),
        _local_tool(execute, execute_tool, execute_hints),
    ]


class MarginServer(MCPServer):
    """An MCPServer whose `tools/list` shows the listed tools only; an available endpoint that is not listed
    still answers a call by its name (a client may call a name it learned from search_tools), through the same
    pipeline as execute_tool. `unusable` names, at list time, the registered tools that cannot work in the
    current configuration (both protocol eras list through `list_tools`)."""

    def __init__(
        self,
        *args: Any,
        listed: frozenset[str],
        unusable: Callable[[], Collection[str]] = frozenset,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.listed = listed
        self.unusable = unusable

    async def list_tools(self) -> list[MCPTool]:
        hidden = self.unusable()
        return [tool for tool in await super().list_tools() if tool.name in self.listed and tool.name not in hidden]


PAPER_TOOL_NAMES = frozenset(spec.name for spec in PAPER_TOOLS)


def can_need_confirmation(mode: str, page: bool) -> bool:
    """Whether `confirm_transaction` can ever finish an approval here: it finishes browser, TOTP and token
    approvals (the client's dialog finishes within the call itself). Per `gate.choose_channel`:
    token always gives TOKEN; totp gives TOTP (for an enrolled account); browser gives BROWSER only when the
    approval page can be served; elicitation gives the dialog, or BROWSER when the page can be served; auto can
    give BROWSER (page) or TOTP (an account enrolled at any time, even while the server runs), so always.
    Under --read-only nothing is approved at all: the tool is not even registered there."""
    if mode == "elicitation" or mode == "browser":
        return page
    return True


def unusable_tools(meta: MetaTools) -> Callable[[], frozenset[str]]:
    """At list time: confirm_transaction when no channel can need it; the paper tools when no paper account
    exists (TOOLS.md can change while the server runs: the store caches its parse, so this is cheap)."""
    pipeline = meta.pipeline
    static = frozenset() if can_need_confirmation(pipeline.mode, pipeline.page is not None) else {"confirm_transaction"}

    def unusable() -> frozenset[str]:
        return static if meta.has_paper_account() else static | PAPER_TOOL_NAMES

    return unusable


def build_mcp_server(
    pipeline: Pipeline,
    entries: list[Endpoint] | None = None,
    log_level: str = "WARNING",
    read_only: bool = False,
    listed: Collection[str] | None = None,
) -> MCPServer:
    """`entries`: the endpoints available (default: the whole catalog); `listed`: those of them `tools/list`
    shows (default: all). The hand-written and discovery tools are always listed."""
    available = entries if entries is not None else list(CATALOG.values())
    names = {entry.name for entry in available}
    shown = names if listed is None else names & set(listed)
    meta = MetaTools(pipeline)
    local = [spec.name for spec in (*ACCOUNT_TOOLS, *JOURNAL_TOOLS, *PAPER_TOOLS, SEARCH_TOOLS, DESCRIBE_TOOL)]
    views = {spec.name: spec.description for spec in VIEW_TOOLS}
    discovery = Discovery(available, shown, [*local, *views, "execute_tool"], searchable=views)
    # Requests a stopped server left without an outcome are settled in the background from the first call on.
    on_call = meta.recovery.start_once
    hand_written = local_tools(meta, read_only) + discovery_tools(discovery, pipeline, on_call)
    tools = endpoint_tools(available, pipeline, on_call) + hand_written
    return MarginServer(
        "binance-margin-mcp",
        version=__version__,
        instructions=instructions(partial=shown != names),
        log_level=log_level,  # type: ignore[arg-type]
        tools=tools,
        listed=frozenset(shown | {tool.name for tool in hand_written}),
        unusable=unusable_tools(meta),
    )


def in_memory_client(server: MCPServer, **options: Any) -> Client:
    """A real MCP client connected in process (used by the demo; tests use the SDK directly)."""
    return Client(server, **options)
