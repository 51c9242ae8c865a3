"""add_account reads only private files of exactly the expected shape, never blocks, and reveals nothing of others."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from binance_margin_mcp.credentials import CREDENTIALS_RULE, PEM_RULE, ToolsMdStore
from binance_margin_mcp.errors import AccountError

from conftest import TEST_KEY, TEST_SECRET, text_of

MACHINE_ID = "3f9a1c0e5b7d42a8b6e1f0c9d8a7b6e5"  # /etc/machine-id: 32 hex characters, one line
PEM_TEXT = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"


def private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def assert_nothing_of(text: str, value: str) -> None:
    """Neither the value nor its masked ends (first 5, last 4 or 5 characters) appear."""
    assert value not in text and value[:5] not in text and value[-4:] not in text


@pytest.mark.parametrize("mode", [0o600, 0o444])
@pytest.mark.parametrize("signing", ["HMAC", "Ed25519"])
async def test_a_key_shaped_file_that_is_not_binance_credentials_is_neither_copied_nor_shown(
    connect, tmp_path, signing, mode
):
    """A machine-id-like file (32 hex characters) is refused unseen: no masked fragment, TOOLS.md untouched."""
    lines = [MACHINE_ID] if signing != "HMAC" else [MACHINE_ID, MACHINE_ID[::-1]]
    machine_id = private(tmp_path / "machine-id", "\n".join(lines) + "\n", mode)
    args = {"name": "copy", "environment": "Testnet", "signing": signing, "credentials_file": str(machine_id)}
    if signing != "HMAC":
        args["private_key_file"] = str(private(tmp_path / "key.pem", PEM_TEXT))
    path = tmp_path / "cfg" / "TOOLS.md"
    async with connect(path=path) as client:
        added = await client.call_tool("add_account", args)
        listed = await client.call_tool("list_accounts", {})
    assert added.is_error and text_of(added) == f"{CREDENTIALS_RULE}; nothing was added"
    assert_nothing_of(str(added) + str(listed), MACHINE_ID)
    assert not path.exists()


def _unusable_credentials(tmp_path: Path) -> dict[str, str]:
    good = f"{TEST_KEY}\n{TEST_SECRET}\n"
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(private(tmp_path / "target.txt", good))
    paths = {
        "missing": tmp_path / "missing.txt",
        "directory": tmp_path / "dir",
        "fifo": tmp_path / "fifo",
        "symlink": tmp_path / "link",
        "device": Path("/dev/null"),
        "readable by others": private(tmp_path / "open.txt", good, 0o644),
        "too long": private(tmp_path / "long.txt", good + "\n" * 5000),
        "extra line": private(tmp_path / "extra.txt", good + f"{TEST_KEY}\n"),
        "short secret": private(tmp_path / "short.txt", f"{TEST_KEY}\n{TEST_SECRET[:-1]}\n"),
    }
    if os.getuid() == 0:  # only root can give a file away
        other = private(tmp_path / "other.txt", good)
        os.chown(other, 65534, 65534)
        paths["another user's"] = other
    found = {name: str(path) for name, path in paths.items()}
    found["unknown home"] = "~no-such-user-here/creds.txt"
    found["NUL byte"] = str(tmp_path / "a\0b")
    return found


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
async def test_every_unusable_credentials_path_gets_the_same_answer_without_the_path(connect, tmp_path):
    """Missing, directory, FIFO, symlink, device, open to others, not ours, wrong shape: one message, no path."""
    paths = _unusable_credentials(tmp_path)
    answers = {}
    async with connect() as client:
        for reason, path in paths.items():
            result = await client.call_tool(
                "add_account", {"name": "x", "environment": "Testnet", "credentials_file": path}
            )
            assert result.is_error, reason
            answers[reason] = text_of(result)
    assert set(answers.values()) == {f"{CREDENTIALS_RULE}; nothing was added"}, answers
    for text in answers.values():
        assert str(tmp_path) not in text and "no-such-user" not in text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_every_unusable_private_key_path_gets_the_same_answer(tmp_path):
    """private_key_file: missing, FIFO, symlink, open to others, a public key or any other text: one message."""
    store = ToolsMdStore(tmp_path / "TOOLS.md")
    creds = private(tmp_path / "creds.txt", f"{TEST_KEY}\n")
    os.mkfifo(tmp_path / "fifo.pem")
    (tmp_path / "link.pem").symlink_to(private(tmp_path / "real.pem", PEM_TEXT))
    candidates = [
        tmp_path / "missing.pem",
        tmp_path / "fifo.pem",
        tmp_path / "link.pem",
        private(tmp_path / "open.pem", PEM_TEXT, 0o644),
        private(tmp_path / "public.pem", PEM_TEXT.replace("PRIVATE", "PUBLIC")),
        private(tmp_path / "notes.pem", "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n"),
        private(tmp_path / "two.pem", PEM_TEXT + "trailing text\n"),
    ]
    messages = set()
    for key_file in candidates:
        with pytest.raises(AccountError) as info:
            store.add_account(
                name="ed", environment="Testnet", signing="Ed25519", credentials_file=creds, private_key_file=key_file
            )
        messages.add(info.value.message)
    assert messages == {f"{PEM_RULE}; nothing was added"}
    added = store.add_account(
        name="ed",
        environment="Testnet",
        signing="Ed25519",
        credentials_file=creds,
        private_key_file=tmp_path / "real.pem",
    )
    assert added.private_key_file == tmp_path / "real.pem"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_at_once_instead_of_freezing_the_server(tmp_path):
    """Opening a FIFO with no writer used to block the whole server; now it is refused without waiting."""
    fifo = tmp_path / "creds.fifo"
    os.mkfifo(fifo, 0o600)
    store = ToolsMdStore(tmp_path / "TOOLS.md")
    outcome: list[BaseException] = []

    def add() -> None:
        try:
            store.add_account(name="x", environment="Testnet", signing="HMAC", credentials_file=fifo)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=add, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # release the blocked open so the test process can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("add_account blocked on a FIFO")
    assert len(outcome) == 1 and isinstance(outcome[0], AccountError)
    assert outcome[0].message == f"{CREDENTIALS_RULE}; nothing was added"
