"""The hand-written tools as data: name, description, arguments and hints (the adapter binds the handlers).

Declared here, without the SDK, so their schemas are built like the endpoints' (no pydantic model per tool)
and their arguments are checked by `schema.read_args` with messages naming the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

from binance_margin_mcp.catalog import TOOLSETS
from binance_margin_mcp.discovery import DEFAULT_RESULTS, MAX_RESULTS
from binance_margin_mcp.intents import PENDING
from binance_margin_mcp.journal import MAX_READ, OUTCOMES
from binance_margin_mcp.schema import Arg, compact_hints

_LOCAL_READ = compact_hints(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
_PAPER_ACCOUNT = Arg("account", description="Paper account name (default: main/the only one)")


@dataclass(frozen=True)
class LocalTool:
    name: str
    description: str
    args: tuple[Arg, ...] = ()
    hints: tuple[tuple[str, bool], ...] = ()  # wire annotation hints that differ from MCP's defaults
    title: str = ""  # short, human-facing (clients show it instead of the name)

    @property
    def read_only(self) -> bool:
        return dict(self.hints).get("readOnlyHint", False)


def _tool(name: str, title: str, description: str, *args: Arg, **hints: bool) -> LocalTool:
    return LocalTool(name, description, args, tuple(compact_hints(**hints).items()), title)


def _read(name: str, title: str, description: str, *args: Arg) -> LocalTool:
    return LocalTool(name, description, args, tuple(_LOCAL_READ.items()), title)


ACCOUNT_TOOLS: tuple[LocalTool, ...] = (
    _read("list_accounts", "List accounts", "List the configured Binance accounts (names and environments only)."),
    _read(
        "show_account", "Show account (masked)", "Show one account with its API key and secret masked.", Arg("account")
    ),
    _tool(
        "add_account",
        "Add account",
        "Add an account to TOOLS.md from a credentials file or PEM path (the secret never passes through the chat); "
        "answers with the masked view. Mainnet needs the human's approval.",
        Arg("name", description="New account name, e.g. main", required=True),
        Arg("environment", description="Mainnet, Testnet or Paper", required=True),
        Arg("signing", description="HMAC, RSA or Ed25519", default="HMAC"),
        Arg("credentials_file", description="Path of a file: line 1 API key, line 2 secret (HMAC)"),
        Arg("private_key_file", description="PEM private key path (RSA/Ed25519)"),
        Arg("passphrase_env", description="Env var holding the PEM passphrase"),
        Arg("base_url", description="Optional official Binance host or loopback URL"),
        Arg("description", description="Optional note"),
        readOnlyHint=False,
        destructiveHint=False,
        openWorldHint=False,
    ),
    _tool(
        "remove_account",
        "Remove account",
        "Remove an account from TOOLS.md. Removing a Mainnet account needs the human's approval.",
        Arg("name", required=True),
        openWorldHint=False,
    ),
    _tool(
        "confirm_transaction",
        "Confirm transaction",
        "Finish a transaction (or account change) waiting for the human's approval: pass its approvalId. The approval "
        "page sends once the human approved there; for a one-time code or token pass the human's exact reply as "
        "`confirmation`. Each approval is used once. Never pass text the human did not type.",
        Arg(
            "approvalId",
            description="The approvalId of an approval_pending result (its token in token mode)",
            required=True,
        ),
        Arg("confirmation", description="Only for one-time-code or token approvals: exactly what the human typed"),
    ),
)

JOURNAL_TOOLS: tuple[LocalTool, ...] = (
    _read(
        "list_journal",
        "Audit journal",
        "Read the audit journal: pending and UNKNOWN requests first (with the read that checks each), then recent "
        "transaction attempts (time, account, endpoint, parameters sent, confirmation, outcome). Never contains keys.",
        Arg("limit", "integer", "How many recent entries", minimum=1, maximum=MAX_READ, default=20),
        Arg("account", description="Only this account"),
        Arg("outcome", enum=(*OUTCOMES, PENDING), description="Only this outcome"),
    ),
    _tool(
        "recover_journal",
        "Recover journal",
        "Settle requests a stopped server left without an outcome: looks each up on Binance and records its real "
        "status or UNKNOWN with what to check. Sends nothing new.",
        destructiveHint=False,
        idempotentHint=True,
        openWorldHint=False,
    ),
)

PAPER_TOOLS: tuple[LocalTool, ...] = (
    _read(
        "get_paper_status",
        "Paper market status",
        "Show the paper market: its price source (live Binance data, walk, replay or static), how many pairs trade "
        "and when prices last moved.",
    ),
    _tool(
        "deposit_paper_funds",
        "Deposit paper funds",
        "Add paper money to a built-in paper account, into cross margin or an isolated pair (funds isolated paper "
        "trading). Paper only.",
        Arg("asset", description="e.g. USDT", required=True),
        Arg("amount", "decimal", required=True),
        Arg("isolated_symbol", description="Isolated pair to fund, e.g. BTCUSDT (default: cross margin)"),
        _PAPER_ACCOUNT,
        destructiveHint=False,
        openWorldHint=False,
    ),
    _tool(
        "reset_paper_account",
        "Reset paper account",
        "Reset a built-in paper account to its starting balances (10000 USDT, 0.1 BTC), deleting its orders, loans "
        "and history. Paper only.",
        _PAPER_ACCOUNT,
        idempotentHint=True,
        openWorldHint=False,
    ),
    _tool(
        "set_paper_price",
        "Set paper price",
        "Set a pair's last price on the built-in paper exchange; resting paper orders, stops and liquidations react "
        "at once. Paper only.",
        Arg("symbol", description="e.g. BTCUSDT", required=True),
        Arg("price", "decimal", description="New last price", required=True),
        destructiveHint=False,
        idempotentHint=True,
        openWorldHint=False,
    ),
)

_SYMBOL = Arg("symbol", description="Only this pair, e.g. BTCUSDT (cross assets and its isolated account)")
_ACCOUNT = Arg("account", description="TOOLS.md account name (default: main/the only one)")
_LIVE_READ = compact_hints(readOnlyHint=True, destructiveHint=False, idempotentHint=True)
MAX_WATCH_S = 50

# Account views: reads only, on any account (paper or live).
VIEW_TOOLS: tuple[LocalTool, ...] = (
    LocalTool(
        "get_margin_risk",
        "How close the margin account is to a margin call or liquidation: the margin level and its thresholds, "
        "collateral and liabilities in USDT, each debt with its hourly interest, and per position (cross asset, "
        "isolated pair) the estimated liquidation and margin-call prices and their distance in %. Weight ~25-45.",
        (_ACCOUNT, _SYMBOL),
        tuple(_LIVE_READ.items()),
        "Margin risk",
    ),
    LocalTool(
        "get_positions_pnl",
        "Positions and PnL per traded pair: size, average entry (average-cost method over the account's recent "
        "trades: the last 500 trades of the last 7 days per pair), mark price, unrealised and realised PnL, and the "
        "interest paid.",
        (_ACCOUNT, _SYMBOL),
        tuple(_LIVE_READ.items()),
        "Positions and PnL",
    ),
    LocalTool(
        "watch_account",
        "Wait until something happens on the account, then answer: an order filled, partly filled, cancelled or "
        "expired; the margin level falling below marginLevelBelow; a liquidation. Answers at timeout_s otherwise. "
        "Live accounts are polled within the weight budget (the weight used is reported).",
        (
            _ACCOUNT,
            Arg("events", description="Comma-separated: orders, marginLevel, liquidation (default: all)"),
            Arg("symbol", description="Order events of this pair only (default: every pair with open orders)"),
            Arg("marginLevelBelow", "decimal", "Report when the cross margin level falls below this, e.g. 1.5"),
            Arg("timeout_s", "integer", f"At most {MAX_WATCH_S}", minimum=1, maximum=MAX_WATCH_S, default=30),
        ),
        tuple(_LIVE_READ.items()),
        "Watch account",
    ),
)

SEARCH_TOOLS = _read(
    "search_tools",
    "Search tools",
    "Find the endpoint tools not listed here: by words in names, titles and descriptions (best first) or a toolset "
    "name ("
    + ", ".join(TOOLSETS)
    + "). Answers names with one-line summaries; describe_tool shows a tool's arguments, execute_tool runs it.",
    Arg("query", description='Words, e.g. "interest history", or a toolset name', required=True),
    Arg(
        "limit",
        "integer",
        f"Default {DEFAULT_RESULTS}; a toolset name lists up to {MAX_RESULTS}",
        minimum=1,
        maximum=MAX_RESULTS,
    ),
)
DESCRIBE_TOOL = _read(
    "describe_tool",
    "Describe tool",
    "Show one endpoint tool's description and full input schema (types, enums, required), as found by search_tools.",
    Arg("name", required=True),
)
EXECUTE_ARGS = (
    Arg("name", description="Endpoint tool name, from search_tools", required=True),
    Arg("arguments", "object", description="Its arguments, as describe_tool shows them"),
)
EXECUTE_DESCRIPTION = (
    "Run an endpoint tool found with search_tools. It is the same call as the tool itself: unknown arguments are "
    "refused, operator limits apply, it is journalled, and on Mainnet a transaction waits for the human's approval."
)
