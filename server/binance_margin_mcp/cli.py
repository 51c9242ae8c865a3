"""Command line: `binance-margin-mcp` serves MCP over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from binance_margin_mcp import __version__
from binance_margin_mcp.settings import Settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="binance-margin-mcp",
        description="MCP server for Binance Margin trading (stdio by default).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000); MCP is served at /mcp")
    parser.add_argument(
        "--tools-md",
        help="TOOLS.md path (else $BINANCE_MARGIN_TOOLS_MD, else ~/.config/binance-margin-mcp/TOOLS.md)",
    )
    parser.add_argument(
        "--confirm-mode",
        choices=["auto", "elicitation"],
        default="auto",
        help="auto: elicitation, or a one-time token when the client cannot elicit; "
        "elicitation: refuse mainnet transactions from clients that cannot elicit",
    )
    parser.add_argument(
        "--allow-insecure-tools-md",
        action="store_true",
        help="read keys from a TOOLS.md that other users can read (not recommended)",
    )
    parser.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # stdout is the MCP stdio channel: every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings.from_env(
        tools_md=args.tools_md,
        transport=args.transport,
        host=args.host,
        port=args.port,
        confirm_mode=args.confirm_mode,
        allow_insecure_tools_md=args.allow_insecure_tools_md,
        log_level=args.log_level.upper(),
    )
    from binance_margin_mcp.app import build_server  # imported late: `--help` stays fast

    server = build_server(settings)
    if settings.transport == "http":
        server.run("streamable-http", host=settings.host, port=settings.port, streamable_http_path="/mcp")
    else:
        server.run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
