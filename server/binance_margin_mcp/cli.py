"""Command line: serve MCP (stdio by default, or HTTP), run the paper exchange standalone, or the demo.

binance-margin-mcp [--transport stdio|http] [--tools-md PATH] ...   the MCP server
binance-margin-mcp simulator [--host] [--port] [--tools-md] [--state] the paper exchange over HTTP
binance-margin-mcp demo                                             a scripted session on paper
binance-margin-mcp totp-enroll ACCOUNT [--tools-md] [--secret-file] TOTP confirmation for an account
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from binance_margin_mcp import __version__
from binance_margin_mcp.catalog import TOOLSETS
from binance_margin_mcp.settings import CONFIRM_MODES, Settings, default_data_dir, resolve_tools_md

USAGE = (
    "binance-margin-mcp [serve options]\n"
    "       binance-margin-mcp simulator [--host H] [--port N] [--tools-md PATH] [--state PATH] [--prices SOURCE]\n"
    "       binance-margin-mcp demo\n"
    "       binance-margin-mcp totp-enroll ACCOUNT [--tools-md PATH] [--secret-file PATH]"
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown where the help text does not already say them; descriptions keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def _log_level_arg(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {', '.join(LOG_LEVELS)})")
    return value.upper()


def _add_log_level(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--log-level",
        type=_log_level_arg,
        default=default,
        metavar="{" + ",".join(LOG_LEVELS) + "}",
        help="stderr log level",
    )


TOOLS_MD_HELP = "TOOLS.md path (else $BINANCE_MARGIN_TOOLS_MD, else ~/.config/binance-margin-mcp/TOOLS.md)"


PRICES_HELP = (
    "where paper prices come from: auto (Binance's public market data if it answers within 2 s, else walk), "
    "live, walk[:SEED] (a seeded random walk), replay:FILE[@SPEED] (a 1-minute kline CSV), static (default auto)"
)
MARKET_DATA_HELP = "Binance public market-data URL for live prices (default https://api.binance.com; or loopback)"


def _prices_arg(value: str) -> str:
    """argparse type for --prices: a clear usage error (no traceback) for a bad value."""
    from binance_margin_mcp.simulator.prices import parse_prices  # the simulator loads only when asked

    try:
        return parse_prices(value).text
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--prices: ")) from None


def _market_data_url_arg(value: str) -> str:
    """argparse type for --market-data-url: an official Binance host (https) or a loopback URL."""
    from binance_margin_mcp.base_urls import validate_base_url
    from binance_margin_mcp.errors import AccountError

    try:
        return validate_base_url(value, "Mainnet")
    except AccountError as exc:
        raise argparse.ArgumentTypeError(
            f"{exc}: use an official Binance API host such as https://api.binance.com, or a loopback URL"
        ) from None


def _add_price_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prices", type=_prices_arg, default="auto", metavar="SOURCE", help=PRICES_HELP)
    parser.add_argument("--market-data-url", type=_market_data_url_arg, metavar="URL", help=MARKET_DATA_HELP)


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="binance-margin-mcp",
        usage=USAGE,
        formatter_class=HelpFormatter,
        description="MCP server for Binance Margin trading (stdio by default).\n\nSubcommands (each has --help):\n"
        "  simulator    the paper exchange's Binance REST API on a loopback port\n"
        "  demo         a scripted margin session on paper, through a real MCP client\n"
        "  totp-enroll  set up one-time-code confirmation for an account",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="stdio: the MCP client starts this process and talks over stdin/stdout; http: streamable HTTP at "
        "/mcp on --host/--port, behind a bearer token",
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000); MCP is served at /mcp")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="HTTP: allow a non-loopback --host (default: off, only 127.0.0.0/8, ::1 and localhost)",
    )
    parser.add_argument(
        "--http-token-file",
        metavar="PATH",
        help="HTTP: file holding the bearer token clients must send (mode 0600; default: "
        "~/.config/binance-margin-mcp/http-token, generated at first start)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help="HTTP with --allow-remote: also accept this Host header, e.g. mybox.lan or mybox.lan:8000 "
        "(repeatable; default: only the bind address, plus 127.0.0.1/localhost/[::1] on loopback)",
    )
    parser.add_argument("--tools-md", help=TOOLS_MD_HELP)
    parser.add_argument(
        "--confirm-mode",
        choices=CONFIRM_MODES,
        default="auto",
        help="how the human approves Mainnet transactions (default auto): elicitation = the client's dialog; "
        "browser = a local approval page; totp = a one-time code for enrolled accounts (weaker: the human sees "
        "the preview through the agent); token = the agent relays CONFIRM (the agent could confirm by itself); "
        "auto = the dialog if the client has one, else the page, else TOTP, else refuse",
    )
    parser.add_argument(
        "--approval-wait",
        type=float,
        default=45.0,
        metavar="SECONDS",
        help="how long a tool call waits for the approval page's decision before answering approval_pending "
        "(default 45)",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open the approval page in the default browser (the agent shows its link instead)",
    )
    parser.add_argument(
        "--allow-insecure-tools-md",
        action="store_true",
        help="read keys from a TOOLS.md that other users can read (not recommended)",
    )
    parser.add_argument(
        "--paper-state",
        help="SQLite file for paper accounts (default ~/.local/share/binance-margin-mcp/paper.sqlite; "
        "':memory:' keeps nothing)",
    )
    parser.add_argument(
        "--journal",
        help="audit journal of every transaction attempt (JSONL; default ~/.local/share/binance-margin-mcp/"
        "journal.jsonl)",
    )
    parser.add_argument("--read-only", action="store_true", help="register read tools only (no transactions)")
    parser.add_argument(
        "--toolsets",
        help="comma-separated toolsets to list in full, or `all` (default: the everyday tools are listed and every "
        "other endpoint is reached through search_tools/describe_tool/execute_tool): " + ", ".join(TOOLSETS),
    )
    parser.add_argument(
        "--enable-special-key-creation",
        action="store_true",
        help="allow create_margin_special_key (it returns a new secret; off by default)",
    )
    parser.add_argument(
        "--enable-manual-liquidation",
        action="store_true",
        help="allow trigger_manual_liquidation (it sells everything; off by default)",
    )
    _add_price_flags(parser)
    _add_log_level(parser, "WARNING")
    return parser


def _toolsets(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value.strip() == "all":
        return TOOLSETS
    chosen = tuple(t.strip() for t in value.split(",") if t.strip())
    unknown = [t for t in chosen if t not in TOOLSETS]
    if unknown or not chosen:
        choices = ", ".join(TOOLSETS)
        raise SystemExit(f"--toolsets: unknown {', '.join(unknown) or '(empty)'}; choose from {choices} or all")
    return chosen


def _simulator_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="binance-margin-mcp simulator",
        formatter_class=HelpFormatter,
        description="Serve the paper exchange's Binance-compatible REST API on loopback. It accepts requests "
        "signed by any account of the TOOLS.md (HMAC secrets; RSA/Ed25519 public keys from their PEM files).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address only (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port")
    parser.add_argument("--tools-md", help=TOOLS_MD_HELP)
    parser.add_argument(
        "--state", help="SQLite state file (default ~/.local/share/binance-margin-mcp/simulator.sqlite)"
    )
    _add_price_flags(parser)
    _add_log_level(parser, "INFO")
    return parser


def _logging(level: str) -> None:
    # stdout is the MCP stdio channel: every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def serve(argv: Sequence[str]) -> int:
    args = _serve_parser().parse_args(argv)
    _logging(args.log_level)
    settings = Settings.from_env(
        tools_md=args.tools_md,
        transport=args.transport,
        host=args.host,
        port=args.port,
        confirm_mode=args.confirm_mode,
        approval_wait=args.approval_wait,
        open_browser=not args.no_browser,
        allow_insecure_tools_md=args.allow_insecure_tools_md,
        log_level=args.log_level.upper(),
        paper_state=args.paper_state or str(default_data_dir(os.environ) / "paper.sqlite"),
        paper_prices=args.prices,
        market_data_url=args.market_data_url,
        paper_ticker=True,
        journal_path=args.journal or str(default_data_dir(os.environ) / "journal.jsonl"),
        read_only=args.read_only,
        toolsets=_toolsets(args.toolsets),
        enable_special_key_creation=args.enable_special_key_creation,
        enable_manual_liquidation=args.enable_manual_liquidation,
        allow_remote=args.allow_remote,
        http_token_file=args.http_token_file,
        allowed_hosts=tuple(args.allowed_host),
    )
    if settings.transport == "http":
        return _serve_http(settings)
    report_tools_md(settings)
    server = _build(settings)
    print_banner(settings)
    _stop_on_interrupt()
    server.run("stdio")
    return 0


def _stop_on_interrupt() -> None:
    """One Ctrl-C ends the process at once: one stderr line, exit status 130, no traceback.

    Without this, asyncio turns the first SIGINT into a cancellation that waits for the stdin reader thread
    (blocked in a read until the client writes), and the second into a KeyboardInterrupt traceback."""

    def stop(signum: int, frame: object) -> None:
        with contextlib.suppress(Exception):
            sys.stderr.write("binance-margin-mcp: interrupted, stopped\n")
            sys.stderr.flush()
        os._exit(130)

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when started with SIGINT ignored
        signal.signal(signal.SIGINT, stop)


def banner(settings: Settings) -> str:
    """The start-up line: version, accounts counted per environment (no names, keys or paths), confirm mode,
    toolsets and the paper price source. Reads TOOLS.md only (no network)."""
    from binance_margin_mcp.credentials import ToolsMdStore

    try:
        loaded = ToolsMdStore(
            settings.tools_md,
            allow_insecure_permissions=settings.allow_insecure_tools_md,
            given=settings.tools_md_given,
        ).load()
    except Exception:  # the tools say what is wrong (list_accounts); the banner only counts
        accounts = "TOOLS.md could not be read (list_accounts says why)"
    else:
        counts: dict[str, int] = {}
        for account in loaded.accounts.values():
            counts[str(account.environment)] = counts.get(str(account.environment), 0) + 1
        total = sum(counts.values())
        if not loaded.configured:
            accounts = "no TOOLS.md accounts (the built-in paper account)"
        else:
            per_env = ", ".join(f"{n} {env}" for env, n in sorted(counts.items()))
            accounts = f"{total} account{'s' if total != 1 else ''}" + (f": {per_env}" if per_env else "")
            if loaded.problems:
                accounts += f" ({len(loaded.problems)} TOOLS.md problem(s): see list_accounts)"
    if settings.toolsets is None:
        toolsets = "default (everyday tools listed, the rest via search_tools)"
    elif set(settings.toolsets) == set(TOOLSETS):
        toolsets = "all"
    else:
        toolsets = ",".join(settings.toolsets)
    where = "stdio" if settings.transport == "stdio" else f"http on {settings.host}:{settings.port}"
    return (
        f"binance-margin-mcp {__version__} ({where}): {accounts}; confirm mode {settings.confirm_mode}; "
        f"toolsets {toolsets}{'; read-only' if settings.read_only else ''}; paper prices {settings.paper_prices}"
    )


def print_banner(settings: Settings, stream: TextIO | None = None) -> None:
    """The banner on stderr (stdout is the MCP stdio channel)."""
    print(banner(settings), file=stream or sys.stderr, flush=True)


def _build(settings: Settings):  # type: ignore[no-untyped-def]
    """Import the SDK and build the server with the cyclic GC paused, then freeze what was built.

    Start-up allocates some 135,000 long-lived objects (the MCP SDK, pydantic, the catalog, the tools) and
    almost no garbage: each full collection during the imports walks them all for nothing (about 10% of the
    start-up). Frozen, they are also skipped by every later collection, so a tool call never waits for a
    walk over them. The few import-time reference cycles (about a thousand objects) stay, frozen with the rest.
    """
    gc.disable()
    try:
        from binance_margin_mcp.app import build_server  # imported late: `--help` stays fast

        return build_server(settings, warm_http=True)
    finally:
        gc.freeze()
        gc.enable()


def report_tools_md(settings: Settings, stream: TextIO | None = None) -> None:
    """A TOOLS.md named by --tools-md or $BINANCE_MARGIN_TOOLS_MD that does not exist is probably a typo: say so
    (one stderr line; the path is the operator's own) and start anyway, with no accounts."""
    if settings.tools_md_given and not os.path.lexists(settings.tools_md):
        print(
            f"binance-margin-mcp: warning: TOOLS.md not found at {settings.tools_md} (from --tools-md or "
            "$BINANCE_MARGIN_TOOLS_MD); starting with no accounts (only the built-in paper account)",
            file=stream or sys.stderr,
        )


def _serve_http(settings: Settings) -> int:
    """Streamable HTTP at /mcp behind Host/Origin and bearer checks; a refusal is one stderr line, exit 2."""
    from binance_margin_mcp.http_auth import HttpPolicy, HttpRefused

    try:
        policy = HttpPolicy.from_settings(settings, os.environ)
    except HttpRefused as exc:
        print(f"binance-margin-mcp: {exc}", file=sys.stderr)
        return 2
    from binance_margin_mcp.http_app import run_http

    report_tools_md(settings)
    server = _build(settings)
    print_banner(settings)
    _stop_on_interrupt()
    try:
        run_http(server, policy, log_level=settings.log_level)
    except OSError as exc:  # e.g. the port is in use
        print(
            f"binance-margin-mcp: cannot serve on {settings.host}:{settings.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    return 0


def simulator(argv: Sequence[str]) -> int:
    args = _simulator_parser().parse_args(argv)
    _logging(args.log_level)
    from binance_margin_mcp.errors import McpToolError
    from binance_margin_mcp.simulator.serve import check_loopback
    from binance_margin_mcp.simulator.standalone import run_standalone

    tools_md = resolve_tools_md(args.tools_md, os.environ)
    state = args.state or str(default_data_dir(os.environ) / "simulator.sqlite")
    try:
        check_loopback(args.host)  # before anything opens or reaches out
        return run_standalone(
            tools_md, state, host=args.host, port=args.port, prices=args.prices, market_data_url=args.market_data_url
        )
    except ValueError as exc:  # a non-loopback --host
        print(f"binance-margin-mcp simulator: error: {exc}", file=sys.stderr)
    except McpToolError as exc:  # TOOLS.md cannot be used
        print(f"binance-margin-mcp simulator: error: {exc.message}", file=sys.stderr)
    except OSError as exc:  # the port is in use, the state file cannot be opened
        print(
            f"binance-margin-mcp simulator: error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
    except KeyboardInterrupt:
        print("binance-margin-mcp simulator: interrupted, stopped", file=sys.stderr)
        return 130
    return 2


def demo(argv: Sequence[str]) -> int:
    argparse.ArgumentParser(
        prog="binance-margin-mcp demo", description="A scripted margin session on paper."
    ).parse_args(argv)
    _logging("WARNING")
    from binance_margin_mcp.demo import run_demo

    return run_demo()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "simulator": simulator,
        "demo": demo,
        "totp-enroll": lambda rest: __import__("binance_margin_mcp.totp").totp.enrol_command(rest),  # late import
    }
    if args and args[0] in commands:
        return commands[args[0]](args[1:])
    return serve(args)


if __name__ == "__main__":
    raise SystemExit(main())
