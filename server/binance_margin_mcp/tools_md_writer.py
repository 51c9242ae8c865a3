"""Changing TOOLS.md: splice an account block in, and replace the file atomically under an exclusive lock."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from binance_margin_mcp.errors import AccountError
from binance_margin_mcp.tools_md_parser import ACCOUNT_NAME, field_name, parse_document

try:
    import fcntl
except ImportError:  # non-POSIX: no advisory lock, single-writer use only
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive lock on a sibling file for the whole read-modify-write: no lost updates."""
    target = Path(os.path.realpath(path))  # write through a symlink, don't replace it
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(f"{target}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AccountError(f"Cannot lock TOOLS.md: {exc.strerror or type(exc).__name__}") from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def write(path: Path, text: str) -> None:
    """Replace the file (through a symlink) with `text`; an OSError becomes an AccountError (no path: tool
    results reach the agent)."""
    try:
        _atomic_write(Path(os.path.realpath(path)), text.encode("utf-8"))
    except OSError as exc:
        raise AccountError(f"Could not write TOOLS.md: {exc.strerror or type(exc).__name__}") from None


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` itself with `data`, mode 0600: a symlink there is replaced, not written through."""
    _atomic_write(Path(os.path.abspath(path)), data)


def set_fields(text: str, name: str, fields: dict[str, str]) -> str:
    """Replace these fields' lines in the first block of account `name`, or add them after its last field.

    Every other line keeps its bytes. A missing account raises AccountError naming the known ones.
    """
    doc = parse_document(text)
    block = next((b for b in doc.blocks if b.name == name), None)
    if block is None:
        known = [b.name for b in doc.blocks if ACCOUNT_NAME.fullmatch(b.name)]  # a bad heading may be a secret
        raise AccountError(f"No account '{name}' in TOOLS.md; known: {', '.join(known) or 'none'}", known)
    nl = "\r\n" if "\r\n" in text else "\n"
    raw, todo, last = list(doc.raw), dict(fields), block.start
    for i in range(block.start + 1, block.end):
        if doc.lines[i].kind == "text":
            last = i
            key = field_name(doc.lines[i])
            if key in todo:
                raw[i] = f"- {key}: {todo.pop(key)}" + raw[i][len(raw[i].rstrip("\r\n")) :]
    added = [f"- {key}: {value}{nl}" for key, value in todo.items()]
    if added and not raw[last].endswith("\n"):  # the block ends the file without a final newline
        raw[last] += nl
        added[-1] = added[-1][: -len(nl)]
    raw[last + 1 : last + 1] = added
    return "".join(raw)


def insert_block(text: str, name: str, fields: list[tuple[str, str]]) -> str:
    """Append the account at the end of the section, before its trailing blank lines; nothing else moves."""
    nl = "\r\n" if "\r\n" in text else "\n"
    block = nl.join([f"### {name}", *(f"- {key}: {value}" for key, value in fields)]) + nl
    doc = parse_document(text)
    if not doc.sections:
        head = text if not text or text.endswith("\n") else text + nl
        return head + (nl if head.strip() else "") + f"## Binance Accounts{nl}{nl}" + block
    start, at = doc.sections[0]
    while at > start + 1 and doc.lines[at - 1].kind == "blank":
        at -= 1
    head = "".join(doc.raw[:at])
    return head + ("" if head.endswith("\n") else nl) + nl + block + "".join(doc.raw[at:])


def _atomic_write(target: Path, data: bytes) -> None:
    """Temp file (0600) in the same directory, fsync, rename over the target, fsync the directory."""
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)  # a umask like 0o277 would otherwise leave it unwritable
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every platform can open and fsync a directory
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
