"""Runtime settings, frozen: where TOOLS.md lives, how to serve, how the gate may confirm."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ConfirmMode = Literal["auto", "elicitation", "browser", "totp", "token"]
CONFIRM_MODES: tuple[str, ...] = ("auto", "elicitation", "browser", "totp", "token")
TOOLS_MD_ENV = "BINANCE_MARGIN_TOOLS_MD"


def default_config_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/binance-margin-mcp`, else `~/.config/binance-margin-mcp`."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "binance-margin-mcp"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_DATA_HOME/binance-margin-mcp`, else `~/.local/share/binance-margin-mcp` (paper state lives here)."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "binance-margin-mcp"


def resolve_tools_md(flag: str | None, environ: Mapping[str, str]) -> Path:
    """--tools-md, else $BINANCE_MARGIN_TOOLS_MD, else the default config directory's TOOLS.md."""
    chosen = flag or environ.get(TOOLS_MD_ENV)
    return Path(chosen).expanduser() if chosen else default_config_dir(environ) / "TOOLS.md"


@dataclass(frozen=True)
class Settings:
    tools_md: Path
    tools_md_given: bool = False  # from --tools-md or $BINANCE_MARGIN_TOOLS_MD: a missing file is reported
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    confirm_mode: ConfirmMode = "auto"
    approval_wait: float = 45.0  # seconds a tool call waits for the approval page's decision
    open_browser: bool = False  # open the approval page in the default browser (the CLI turns it on)
    allow_insecure_tools_md: bool = False
    log_level: str = "WARNING"
    # Where paper state persists; ":memory:" (the library default, used by tests) keeps nothing.
    paper_state: str = ":memory:"
    # The paper market's prices (--prices): "static" for the library and tests, the CLI defaults to "auto";
    # market_data_url: Binance's public market data (an official host, or loopback for tests).
    paper_prices: str = "static"
    market_data_url: str | None = None
    paper_ticker: bool = False  # a background ticker applies price moves between calls (the CLI turns it on)
    # The audit journal (JSONL); None keeps no journal (library default), the CLI puts it in the data dir.
    journal_path: str | None = None
    read_only: bool = False  # register read tools only
    # None: every toolset available, the catalog's CORE endpoints listed and the rest found through search_tools;
    # a tuple (--toolsets a,b or all): only those toolsets, every one of their endpoints listed.
    toolsets: tuple[str, ...] | None = None
    enable_special_key_creation: bool = False  # it hands out a new secret
    enable_manual_liquidation: bool = False  # it sells everything
    # --transport http only (see http_auth.py): serve beyond loopback, where the bearer token lives,
    # and extra Host header values accepted with allow_remote.
    allow_remote: bool = False
    http_token_file: str | None = None  # None: <config dir>/http-token, generated at first start
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = environ if environ is not None else os.environ
        flag = overrides.pop("tools_md", None)
        flag = flag if isinstance(flag, str) else None
        given = bool(flag or env.get(TOOLS_MD_ENV))
        return cls(tools_md=resolve_tools_md(flag, env), tools_md_given=given, **overrides)  # type: ignore[arg-type]
