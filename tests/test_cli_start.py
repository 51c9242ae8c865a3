"""Start-up as a newcomer sees it: the stderr banner, one Ctrl-C, refusals without tracebacks, --help, the docs CLI."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from binance_margin_mcp import __version__, cli, docs
from binance_margin_mcp.settings import Settings

from conftest import TEST_KEY, TEST_SECRET, account_block, write_tools_md

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "binance_margin_mcp", *args]


def test_the_banner_counts_accounts_per_environment_without_names_keys_or_paths(tmp_path: Path):
    tools_md = write_tools_md(
        tmp_path / "T.md",
        [
            account_block("main", TEST_KEY, TEST_SECRET, "Mainnet"),
            account_block("practice", TEST_KEY, TEST_SECRET, "Testnet"),
        ],
    )
    stream = io.StringIO()
    cli.print_banner(Settings(tools_md=tools_md, paper_prices="walk:7"), stream)
    line = stream.getvalue()
    assert line.count("\n") == 1 and __version__ in line
    assert "2 accounts: 1 Mainnet, 1 Testnet" in line
    assert "confirm mode auto" in line and "toolsets default" in line and "paper prices walk:7" in line
    assert TEST_KEY not in line and TEST_SECRET not in line and str(tmp_path) not in line and "practice" not in line


def test_the_banner_names_all_toolsets_and_the_built_in_paper_account(tmp_path: Path):
    settings = Settings(tools_md=tmp_path / "absent.md", toolsets=cli.TOOLSETS)
    text = cli.banner(settings)
    assert "toolsets all" in text and "built-in paper account" in text


def test_one_ctrl_c_stops_the_stdio_server_with_one_line_and_no_traceback(tmp_path: Path):
    """The banner reaches stderr (never stdout, the MCP channel); one SIGINT ends the process within 3 s."""
    args = ["--tools-md", str(tmp_path / "absent.md"), "--paper-state", ":memory:", "--prices", "static"]
    args += ["--journal", str(tmp_path / "j" / "journal.jsonl")]
    proc = subprocess.Popen(
        _cli(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        seen = ""
        while "binance-margin-mcp " + __version__ not in seen and time.monotonic() < deadline:
            seen += proc.stderr.readline()
        assert __version__ in seen
        time.sleep(0.3)  # the server is in its read loop
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=3)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in (0, 130)
    assert out == ""
    assert "Traceback" not in err and "interrupted" in err


def test_the_simulator_refuses_a_non_loopback_host_in_one_line():
    done = subprocess.run(_cli("simulator", "--host", "0.0.0.0"), capture_output=True, text=True, timeout=30, env=ENV)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "binance-margin-mcp simulator: error: refusing to listen on '0.0.0.0': the paper exchange accepts API keys, "
        "so loopback only"
    ]


def test_the_simulator_reports_a_port_in_use_in_one_line(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["simulator", "--port", str(port), "--tools-md", str(tmp_path / "absent.md"), "--state", ":memory:"]
        done = subprocess.run(
            _cli(*args, "--prices", "static", "--log-level", "ERROR"),
            capture_output=True,
            text=True,
            timeout=30,
            env=ENV,
        )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_help_shows_the_subcommands_defaults_and_log_levels(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "binance-margin-mcp simulator" in text.split("options:")[0]
    assert "binance-margin-mcp demo" in text and "binance-margin-mcp totp-enroll ACCOUNT" in text
    assert "{DEBUG,INFO,WARNING,ERROR}" in text and "(default: stdio)" in text
    with pytest.raises(SystemExit):
        cli.main(["simulator", "--help"])
    assert "(default: 8765)" in capsys.readouterr().out


def test_a_bad_log_level_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--log-level", "LOUD"])
    assert exit_.value.code == 2 and "choose from DEBUG, INFO, WARNING, ERROR" in capsys.readouterr().err


def test_the_docs_cli_help_writes_nothing_and_check_finds_a_stale_file(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        docs.main(["--help"])
    assert list(tmp_path.iterdir()) == []
    stale = tmp_path / "tools.md"
    stale.write_text("old\n", encoding="utf-8")
    assert docs.main(["--output", str(stale), "--check"]) == 1
    assert docs.main(["--output", str(stale)]) == 0
    assert docs.main(["--output", str(stale), "--check"]) == 0


def test_the_repository_reference_is_current():
    root = Path(__file__).resolve().parents[1]
    assert docs.main(["--output", str(root / "references" / "tools.md"), "--check"]) == 0
