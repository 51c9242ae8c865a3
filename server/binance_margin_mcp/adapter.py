"""The only module that knows the MCP SDK: registers catalog tools and hand-written tools on an MCPServer.

One generic factory turns each catalog entry into a tool (synthesized signature, annotations, `_meta`);
transaction entries get a confirmation resolver that asks the human through elicitation in both
protocol eras. Every failure becomes an `isError` result with a clear message, never a traceback.
"""

from __future__ import annotations

import inspect
from enum import StrEnum
from typing import Annotated, Any

from mcp import Client
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, Elicit, MCPServer, Resolve
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, WithJsonSchema

from binance_margin_mcp import __version__
from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.errors import McpToolError
from binance_margin_mcp.gate import CONFIRM_WORD
from binance_margin_mcp.meta_tools import MetaTools
from binance_margin_mcp.schema import ACCOUNT_SCHEMA, param_schema
from binance_margin_mcp.service import MarginService, Outcome, error_outcome

INSTRUCTIONS = (
    "Binance Margin trading tools. Accounts come from TOOLS.md: list them with list_accounts (names and "
    "environments only) and pass `account` when the user names one. On Mainnet every transaction needs the "
    f"human to type {CONFIRM_WORD}: show the preview and ask them; never type it yourself. Client order ids get "
    "the `agent-` prefix automatically."
)


class ConfirmForm(BaseModel):
    """The elicitation form: one text field the human must fill with the exact word."""

    confirmation: str = Field(description=f"Type {CONFIRM_WORD} (capital letters) to send; anything else cancels.")


class GateSignal(StrEnum):
    """What the confirmation resolver decided without asking anyone."""

    NOT_REQUIRED = "not_required"  # not a mainnet transaction
    NO_ELICITATION = "no_elicitation"  # the client cannot ask: use the token path
    INVALID = "invalid"  # arguments or account are wrong; the body reports why


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


def _can_elicit(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version or ""
    # Before 2026-07-28 elicitation is a server-to-client request, impossible on a stateless channel.
    return version >= "2026-07-28" or ctx.request_context.session.can_send_request


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


def _make_resolver(entry: Endpoint, service: MarginService, arg_params: list[inspect.Parameter]) -> Any:
    async def resolver(ctx: Context, **kwargs: Any) -> Any:
        try:
            service.check_arguments(entry, _raw_arguments(ctx))
            account = service.resolve_account(kwargs.pop("account", None))
            if not service.gated(entry, account):
                return GateSignal.NOT_REQUIRED
            request = service.prepare(entry, _present(kwargs), account)
            await service.precheck(request, account)  # never ask a human to confirm what will be refused
        except McpToolError:
            return GateSignal.INVALID
        if not _can_elicit(ctx):
            return GateSignal.NO_ELICITATION
        return Elicit(service.question(request), ConfirmForm)

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    resolver.__signature__ = inspect.Signature([ctx_param, *arg_params])  # type: ignore[attr-defined]
    resolver.__annotations__ = {"ctx": Context, **{p.name: Any for p in arg_params}}
    # The resolver's qualname is its key on the wire; make it readable.
    resolver.__qualname__ = resolver.__name__ = f"confirm_{entry.name}"
    return resolver


def _present(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


async def _run_gated(
    entry: Endpoint, service: MarginService, args: dict[str, Any], account_name: Any, confirmation: Any
) -> Outcome:
    account = service.resolve_account(account_name)
    if not service.gated(entry, account):
        return await service.send(service.prepare_fresh(entry, args, account), "not_required")
    if not isinstance(confirmation, AcceptedElicitation):
        action = {"decline": "declined", "cancel": "cancelled"}.get(getattr(confirmation, "action", ""), "cancelled")
        reason = f"the user {action} the confirmation dialog."
        declined = service.pending.take(service.request_key(entry, args, account))
        return service.not_sent_for(declined, "elicitation", reason) if declined else service.not_sent(reason)
    data = confirmation.data
    if data is GateSignal.INVALID or data is GateSignal.NOT_REQUIRED:
        refused = service.pending.take(service.request_key(entry, args, account))
        await service.precheck(refused or service.prepare_fresh(entry, args, account), account)  # raises why
        return service.not_sent("the request changed while it was being confirmed; call the tool again.")
    request = service.pending.take(service.request_key(entry, args, account))
    if request is None:
        return service.not_sent("the confirmation took longer than the request stays prepared; call the tool again.")
    if data is GateSignal.NO_ELICITATION:
        return service.token_required(request)
    typed = data.confirmation if isinstance(data, ConfirmForm) else ""
    if typed != CONFIRM_WORD:
        return service.not_sent_for(request, "elicitation", f"the user typed {typed[:20]!r}, not {CONFIRM_WORD}.")
    return await service.send(request, "elicitation")


def endpoint_tool(entry: Endpoint, service: MarginService) -> Any:
    """Build the async function the SDK registers for one catalog entry."""
    arg_params = _signature_params(entry)

    async def tool(ctx: Context, confirmation: Any = None, **kwargs: Any) -> CallToolResult:
        try:
            service.check_arguments(entry, _raw_arguments(ctx))
            account_name = kwargs.pop("account", None)
            args = _present(kwargs)
            if entry.transaction:
                outcome = await _run_gated(entry, service, args, account_name, confirmation)
            else:
                account = service.resolve_account(account_name)
                outcome = await service.send(service.prepare(entry, args, account), "not_required")
        except McpToolError as error:
            outcome = error_outcome(error)
        return to_result(outcome)

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context), *arg_params]
    annotations: dict[str, Any] = {"ctx": Context, **{p.name: p.annotation for p in arg_params}}
    if entry.transaction:
        confirm_type = Annotated[ElicitationResult[ConfirmForm], Resolve(_make_resolver(entry, service, arg_params))]
        params.append(inspect.Parameter("confirmation", inspect.Parameter.KEYWORD_ONLY, annotation=confirm_type))
        annotations["confirmation"] = confirm_type
    tool.__signature__ = inspect.Signature(params, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    tool.__annotations__ = {**annotations, "return": CallToolResult}
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


def register_endpoint_tools(server: MCPServer, service: MarginService, entries: list[Endpoint]) -> None:
    for entry in entries:
        server.add_tool(
            endpoint_tool(entry, service),
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
    ) -> CallToolResult:
        return to_result(
            meta.add_account(
                name=name,
                environment=environment,
                signing=signing,
                credentials_file=credentials_file,
                private_key_file=private_key_file,
                passphrase_env=passphrase_env,
                base_url=base_url,
                description=description,
            )
        )

    async def remove_account(name: str) -> CallToolResult:
        return to_result(meta.remove_account(name))

    async def confirm_transaction(
        token: Annotated[str, Field(description="The token from a confirmation_required result")],
        confirmation: Annotated[str, Field(description=f"Exactly what the human typed; must be {CONFIRM_WORD}")],
    ) -> CallToolResult:
        return to_result(await meta.service.confirm(token, confirmation))

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
            "through the chat). Answers with the masked view.",
            ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, **local),
        ),
        (
            remove_account,
            "Remove an account from TOOLS.md.",
            ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, **local),
        ),
        (
            confirm_transaction,
            f"Send a previewed mainnet transaction after the human typed {CONFIRM_WORD}. Takes "
            "the one-time token of a confirmation_required result (valid 120 s, single use) and the human's exact "
            "text. Never call it with text the human did not type.",
            ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True),
        ),
    ]

    async def list_journal(
        limit: Annotated[int, Field(ge=1, le=500, description="How many recent entries (1-500)")] = 20,
        account: Annotated[str | None, Field(description="Only this account")] = None,
        outcome: Annotated[
            str | None, Field(description="Only this outcome: sent, error, UNKNOWN, reconciled, refused, not_sent")
        ] = None,
    ) -> CallToolResult:
        return to_result(meta.list_journal(limit, account, outcome))

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
            "Read the audit journal: the most recent transaction attempts on every account (time, "
            "account, endpoint, parameters as sent, how it was confirmed, outcome). Never contains keys.",
            ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, **local),
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
    service: MarginService,
    entries: list[Endpoint] | None = None,
    log_level: str = "WARNING",
    read_only: bool = False,
) -> MCPServer:
    server = MCPServer("binance-margin-mcp", version=__version__, instructions=INSTRUCTIONS, log_level=log_level)
    register_endpoint_tools(server, service, entries if entries is not None else list(CATALOG.values()))
    register_meta_tools(server, MetaTools(service), read_only)
    return server


def in_memory_client(server: MCPServer, **options: Any) -> Client:
    """A real MCP client connected in process (used by the demo; tests use the SDK directly)."""
    return Client(server, **options)
