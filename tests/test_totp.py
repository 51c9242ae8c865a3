"""TOTP confirmation: code checks (RFC 6238), the secret file's safety rules, enrolment and the TOOLS.md lines."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from binance_margin_mcp import cli, totp
from binance_margin_mcp.credentials import ToolsMdStore, parse_accounts
from binance_margin_mcp.errors import AccountError

from conftest import MAIN_KEY, MAIN_SECRET, TEST_KEY, TEST_SECRET, account_block, assert_no_secret

RFC_SECRET = b"12345678901234567890"  # RFC 6238 appendix B, SHA1
NOW = 1_700_000_015.0  # mid-step: step 56666667 starts at 1_700_000_010


def secret_file(tmp_path: Path, key: bytes = RFC_SECRET, mode: int = 0o600, name: str = "acct.secret") -> Path:
    path = tmp_path / name
    path.write_bytes(base64.b32encode(key) + b"\n")
    os.chmod(path, mode)
    return path


def code_at(key: bytes, when: float) -> str:
    return TOTP(key, 6, SHA1(), 30).generate(when).decode()


def tools_text(*blocks: str) -> str:
    return "# Mine\n\nnotes stay\n\n## Binance Accounts\n\n" + "\n".join(blocks) + "\n## After\nkept\n"


def write_tools(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "TOOLS.md"
    path.write_bytes(text.encode())
    os.chmod(path, 0o600)
    return path


def mainnet_block(name: str = "main", *extra: str) -> str:
    return account_block(name, MAIN_KEY, MAIN_SECRET, "Mainnet") + "".join(f"{line}\n" for line in extra)


# --- check_code ---------------------------------------------------------------------------------


def test_the_rfc_6238_sha1_vector_verifies_and_returns_its_time_step(tmp_path):
    """RFC 6238: T=59 gives 94287082 (8 digits); its last 6 digits are the 6-digit code, step 1."""
    assert totp.check_code(secret_file(tmp_path), "287082", 59.0) == 1


def test_one_step_of_drift_either_way_is_accepted_two_are_not(tmp_path):
    """Codes of the previous and next step pass (returning that step); two steps away they are refused."""
    path, step = secret_file(tmp_path), int(NOW) // 30
    for offset in (-1, 0, 1):
        assert totp.check_code(path, code_at(RFC_SECRET, NOW + 30 * offset), NOW) == step + offset
    for offset in (-2, 2):
        assert totp.check_code(path, code_at(RFC_SECRET, NOW + 30 * offset), NOW) is None


@pytest.mark.parametrize("wrong", ["000000", "12345", "1234567", "", "２８７０８２", "287082\n", " 287082"])
def test_a_wrong_or_malformed_code_is_refused(tmp_path, wrong):
    """Only the exact six ASCII digits of a nearby step pass (full-width digits and whitespace do not)."""
    assert totp.check_code(secret_file(tmp_path), wrong, 59.0) is None


def test_the_secret_may_be_lower_case_unpadded_and_wrapped(tmp_path):
    """Base32 is read case-insensitively with whitespace and '=' padding ignored."""
    text = base64.b32encode(RFC_SECRET).decode().lower()
    path = tmp_path / "loose.secret"
    path.write_text(f"  {text[:16]} {text[16:]}==\n\n")
    os.chmod(path, 0o600)
    assert totp.check_code(path, "287082", 59.0) == 1


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602])
def test_a_secret_file_open_to_group_or_others_is_refused(tmp_path, mode):
    """A secret other users can read (or replace) confirms nothing, even with the right code."""
    assert totp.check_code(secret_file(tmp_path, mode=mode), "287082", 59.0) is None


def test_a_symlinked_missing_or_non_base32_secret_file_is_refused(tmp_path):
    """A symlink is not followed; a missing file, a short key or garbage confirms nothing."""
    link = tmp_path / "link.secret"
    link.symlink_to(secret_file(tmp_path))
    short = secret_file(tmp_path, key=b"0123456789", name="short.secret")  # 80 bits: under 128
    garbage = tmp_path / "garbage.secret"
    garbage.write_text("not base32 at all 0189!\n")
    os.chmod(garbage, 0o600)
    for path in (link, tmp_path / "missing.secret", short, garbage, tmp_path):
        assert totp.check_code(path, "287082", 59.0) is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    """A FIFO in place of the secret file is refused at once (no writer needed), never waited on."""
    fifo = tmp_path / "fifo.secret"
    os.mkfifo(fifo, 0o600)
    code = (
        "import sys; from pathlib import Path; from binance_margin_mcp.totp import check_code; "
        "sys.exit(0 if check_code(Path(sys.argv[1]), '287082', 59.0) is None else 1)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(totp.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", code, str(fifo)], timeout=20, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr


def test_check_code_never_logs_the_secret_or_the_code(tmp_path, caplog):
    """Refusals are logged for the operator, without the secret or the code."""
    path = secret_file(tmp_path, mode=0o644)
    caplog.set_level("DEBUG")
    totp.check_code(path, "287082", 59.0)
    assert caplog.records
    assert "287082" not in caplog.text and base64.b32encode(RFC_SECRET).decode() not in caplog.text


# --- TOOLS.md fields ----------------------------------------------------------------------------


def test_confirm_with_totp_and_its_secret_file_load_into_the_account(tmp_path, monkeypatch):
    """`Confirm With: TOTP` (any case) and the secret file (~ expanded, relative to TOOLS.md) reach Account."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = tools_text(
        mainnet_block("main", "- Confirm With: totp", "- TOTP Secret File: ~/main.secret"),
        mainnet_block("rel", "- Confirm With: TOTP", "- TOTP Secret File: totp/rel.secret"),
        account_block("plain", TEST_KEY, TEST_SECRET, "Testnet"),
    )
    loaded = parse_accounts(text, tmp_path)
    assert loaded.problems == []
    main, rel, plain = loaded.accounts["main"], loaded.accounts["rel"], loaded.accounts["plain"]
    assert (main.confirm_with, main.totp_secret_file) == ("TOTP", tmp_path / "home" / "main.secret")
    assert rel.totp_secret_file == tmp_path / "totp" / "rel.secret"
    assert (plain.confirm_with, plain.totp_secret_file) == (None, None)


def test_an_unknown_confirmation_channel_is_a_line_numbered_problem_that_does_not_echo_it(tmp_path):
    """`Confirm With: SMS` unloads the account with a message naming the line, not the value."""
    text = tools_text(mainnet_block("main", "- Confirm With: SMS-hunter2", "- TOTP Secret File: /x"))
    loaded = parse_accounts(text, tmp_path)
    assert "main" not in loaded.accounts
    (problem,) = loaded.problems
    line = text.splitlines().index("- Confirm With: SMS-hunter2") + 1
    assert (
        problem.line == line and f"line {line}" in problem.message and "'Confirm With' must be TOTP" in problem.message
    )
    assert "hunter2" not in problem.message and "SMS" not in problem.message


def test_confirm_with_totp_without_a_secret_file_is_a_problem(tmp_path):
    """TOTP with nothing to check codes against would confirm nothing: the account is not loaded."""
    loaded = parse_accounts(tools_text(mainnet_block("main", "- Confirm With: TOTP")), tmp_path)
    assert "main" not in loaded.accounts
    assert "needs a '- TOTP Secret File: PATH' line" in loaded.problems[0].message


async def test_show_account_says_enrolled_and_never_shows_the_path_or_the_secret(tmp_path, connect):
    """The masked view says `totp: enrolled`; the secret file's path and content never appear."""
    path = secret_file(tmp_path, name="very-private-name.secret")
    tools = write_tools(
        tmp_path, tools_text(mainnet_block("main", "- Confirm With: TOTP", f"- TOTP Secret File: {path}"))
    )
    async with connect(path=tools) as client:
        shown = await client.call_tool("show_account", {"account": "main"})
        listed = await client.call_tool("list_accounts", {})
    assert not shown.is_error
    assert shown.structured_content["confirmWith"] == "TOTP" and shown.structured_content["totp"] == "enrolled"
    account = ToolsMdStore(tools).load().accounts["main"]
    everything = f"{shown} {listed} {account!r} {account}"
    assert "very-private" not in everything and ".secret" not in everything and str(tmp_path) not in everything
    assert base64.b32encode(RFC_SECRET).decode() not in everything
    assert_no_secret(everything)


# --- add_account / remove_account cannot change them --------------------------------------------


def test_add_account_cannot_write_the_totp_lines(tmp_path):
    """No add_account argument sets them: a description smuggling a line is refused, nothing is written."""
    path = write_tools(tmp_path, tools_text(mainnet_block()))
    before = path.read_bytes()
    creds = tmp_path / "creds.txt"
    creds.write_text(f"{TEST_KEY}\n{TEST_SECRET}\n")
    creds.chmod(0o600)
    store = ToolsMdStore(path)
    for description in ("x\n- Confirm With: TOTP", "x\r- TOTP Secret File: /tmp/s", "x\u2028- Confirm With: TOTP"):
        with pytest.raises(AccountError):
            store.add_account(
                name="new", environment="Testnet", signing="HMAC", credentials_file=creds, description=description
            )
    assert path.read_bytes() == before
    added = store.add_account(name="new", environment="Testnet", signing="HMAC", credentials_file=creds)
    assert (added.confirm_with, added.totp_secret_file) == (None, None)


def test_writing_other_accounts_keeps_the_totp_lines_byte_for_byte(tmp_path):
    """Adding and removing other accounts leaves the TOTP account's block (CRLF and all) untouched."""
    block = mainnet_block("main", "-  confirm with :  TOTP ", "- TOTP Secret File: /somewhere/main.secret")
    block = block.replace("\n", "\r\n")
    path = write_tools(tmp_path, tools_text(block).replace("\n", "\r\n").replace("\r\r\n", "\r\n"))
    creds = tmp_path / "creds.txt"
    creds.write_text(f"{TEST_KEY}\n{TEST_SECRET}\n")
    creds.chmod(0o600)
    store = ToolsMdStore(path)
    store.add_account(name="other", environment="Testnet", signing="HMAC", credentials_file=creds)
    assert block.encode() in path.read_bytes()
    store.remove_account("other")
    assert block.encode() in path.read_bytes()
    assert store.load().accounts["main"].confirm_with == "TOTP"


def test_remove_account_refuses_an_account_confirmed_with_totp(tmp_path):
    """Removing (and re-adding) would drop the TOTP channel: only the human may, by editing TOOLS.md."""
    path = write_tools(tmp_path, tools_text(mainnet_block("main", "- Confirm With: TOTP", "- TOTP Secret File: /s")))
    before = path.read_bytes()
    with pytest.raises(AccountError, match="confirmed with TOTP"):
        ToolsMdStore(path).remove_account("main")
    assert path.read_bytes() == before


# --- enrolment ----------------------------------------------------------------------------------


def test_enrol_writes_a_0600_secret_adds_the_two_lines_and_keeps_everything_else(tmp_path):
    """The secret file is 0600 in a 0700 directory, TOOLS.md gains exactly two lines, the URI's codes verify."""
    text = tools_text(
        mainnet_block("main", "- Description: keep me"), account_block("p", TEST_KEY, TEST_SECRET, "Testnet")
    )
    path = write_tools(tmp_path, text)
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    uri = totp.enrol(path, "main", None, environ)

    secret = tmp_path / "config" / "binance-margin-mcp" / "totp" / "main.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    added = f"- Confirm With: TOTP\n- TOTP Secret File: {secret}\n"
    assert path.read_text() == text.replace("- Description: keep me\n", "- Description: keep me\n" + added)
    account = ToolsMdStore(path).load().accounts["main"]
    assert (account.confirm_with, account.totp_secret_file) == ("TOTP", secret)

    parsed = urlparse(uri)
    query = parse_qs(parsed.query)
    assert (parsed.scheme, parsed.netloc, parsed.path) == ("otpauth", "totp", "/Binance%20Margin%20MCP:main")
    assert query["issuer"] == ["Binance Margin MCP"] and query["algorithm"] == ["SHA1"]
    assert query["digits"] == ["6"] and query["period"] == ["30"]
    key = base64.b32decode(query["secret"][0])
    assert len(key) == 20 and secret.read_text().strip() == query["secret"][0]
    now = time.time()
    assert totp.check_code(secret, code_at(key, now), now) == int(now) // 30


def test_enrolling_again_replaces_the_lines_and_the_secret(tmp_path):
    """A second enrolment (other secret file) rewrites the two lines in place, with a new secret."""
    path = write_tools(tmp_path, tools_text(mainnet_block()))
    first = totp.enrol(path, "main", tmp_path / "a.secret", {})
    text = path.read_text()
    second = totp.enrol(path, "main", tmp_path / "b.secret", {})
    assert first != second
    assert path.read_text() == text.replace(str(tmp_path / "a.secret"), str(tmp_path / "b.secret"))


def test_enrol_adds_the_lines_at_the_end_of_a_file_without_a_final_newline(tmp_path):
    """The last block of a file with no trailing newline gets the lines; nothing else changes."""
    text = "## Binance Accounts\n\n" + mainnet_block().rstrip("\n")
    path = write_tools(tmp_path, text)
    totp.enrol(path, "main", tmp_path / "s.secret", {})
    assert path.read_text() == text + f"\n- Confirm With: TOTP\n- TOTP Secret File: {tmp_path / 's.secret'}"


@pytest.mark.parametrize("account", ["nobody", "../escape", ""])
def test_enrol_refuses_an_unknown_account_and_writes_nothing(tmp_path, account):
    """No block of that name (or no valid name): no secret file, TOOLS.md unchanged."""
    path = write_tools(tmp_path, tools_text(mainnet_block()))
    before = path.read_bytes()
    with pytest.raises(AccountError):
        totp.enrol(path, account, tmp_path / "s.secret", {})
    assert path.read_bytes() == before and not (tmp_path / "s.secret").exists()


def test_enrol_refuses_a_broken_account(tmp_path):
    """An account that does not load is not enrolled: its problem is named, nothing is written."""
    path = write_tools(tmp_path, tools_text("### main\n- API Key: abc\n- Environment: Moon\n"))
    with pytest.raises(AccountError, match="Environment"):
        totp.enrol(path, "main", tmp_path / "s.secret", {})
    assert not (tmp_path / "s.secret").exists()


# --- the CLI ------------------------------------------------------------------------------------


def test_the_cli_prints_the_uri_and_an_instruction(tmp_path, capsys):
    """`binance-margin-mcp totp-enroll ACCOUNT` prints the otpauth URI and how to confirm."""
    path = write_tools(tmp_path, tools_text(mainnet_block()))
    secret = tmp_path / "cli.secret"
    assert cli.main(["totp-enroll", "main", "--tools-md", str(path), "--secret-file", str(secret)]) == 0
    out = capsys.readouterr().out
    uri = out.splitlines()[0]
    assert uri.startswith("otpauth://totp/Binance%20Margin%20MCP:main?")
    assert "CONFIRM 123456" in out and "never paste it into the chat" in out
    assert parse_qs(urlparse(uri).query)["secret"] == [secret.read_text().strip()]


def test_the_cli_answers_an_unknown_account_with_one_line_and_status_2(tmp_path, capsys):
    """A refusal is one line on stderr, exit status 2, no traceback; nothing on stdout."""
    path = write_tools(tmp_path, tools_text(mainnet_block()))
    assert cli.main(["totp-enroll", "ghost", "--tools-md", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "No account 'ghost'" in captured.err
