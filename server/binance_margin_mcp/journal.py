"""Append-only JSONL audit journal, written ahead: fsynced, crash-tolerant, scrubbed of secrets.

Every request that reaches for Binance leaves an `intent` line (fsynced before the first byte is sent)
and later an `outcome` line with the same `intent` id; an intent without an outcome is a request whose
fate this process never learnt (killed, cut off): recovery looks it up. A refusal before dispatch
(pre-trade refused, gate not_sent, cancelled before sending) sends nothing and stays one `attempt`
line; so does a dry run (`dryRun: true`: confirmedBy and outcome `dry_run`).
Lines written before write-ahead existed have no `kind` and read as attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # non-POSIX: no advisory lock, the thread lock and O_APPEND still hold
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("binance_margin_mcp.journal")

CONFIRMED_BY = ("elicitation", "browser", "totp", "token", "not_required", "dry_run")
OUTCOMES = ("sent", "error", "UNKNOWN", "reconciled", "refused", "not_sent", "dry_run")
KINDS = ("intent", "outcome", "attempt")
REDACTED = "[REDACTED]"
FRAGMENT = 8  # any run of this many characters of a secret counts as leaking it
MAX_READ = 500
BLOCK = 64 * 1024
MAX_LINE = 1024 * 1024  # a longer run without "\n" is garbage (e.g. a NUL-filled tail after a crash)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True, kw_only=True)
class JournalEntry:
    time_ms: int
    kind: str = "attempt"  # one of KINDS
    intent: str | None = None  # random id shared by an intent and its outcome
    account: str
    environment: str  # Mainnet | Testnet | Paper
    endpoint: str  # "POST /sapi/v1/margin/order"
    tool: str  # catalog tool name
    params: dict[str, str]  # wire parameters as sent, without timestamp/signature
    confirmed_by: str  # one of CONFIRMED_BY
    outcome: str | None = None  # one of OUTCOMES; None on an intent
    server_time: int | None = None  # intent: Binance server time (ms) estimated just before dispatch
    weight: int | None = None
    order_id: int | None = None  # orderId / orderListId when known
    tran_id: int | None = None  # borrow/repay tranId when known: this entry claims that record
    status: str | None = None  # Binance order status or "UNKNOWN"
    error_code: int | None = None
    error_msg: str | None = None
    client_ids: dict[str, str] = field(default_factory=dict)  # agent- ids of the request
    recovered: bool | None = None  # outcome found by recovery, after the process that sent it was gone

    def to_dict(self) -> dict[str, Any]:
        """Fields in declaration order under camelCase keys (time_ms -> time), None values omitted."""
        out = {_KEYS[f.name]: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        out["params"], out["clientIds"] = dict(self.params), dict(self.client_ids)
        return out

    def to_json(self) -> str:
        # default=str: a stray Decimal or enum must not make the audit write fail after an order went out
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True, default=str)


_KEYS = {f.name: "time" if f.name == "time_ms" else _camel(f.name) for f in fields(JournalEntry)}


def _validate(entry: JournalEntry) -> None:
    if entry.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {entry.kind!r}")
    if entry.confirmed_by not in CONFIRMED_BY:
        raise ValueError(f"confirmed_by must be one of {CONFIRMED_BY}, got {entry.confirmed_by!r}")
    if entry.kind == "intent":
        if entry.outcome is not None:
            raise ValueError("an intent has no outcome yet")
    elif entry.outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {entry.outcome!r}")
    if (entry.kind == "attempt") != (entry.intent is None):
        raise ValueError("intent and outcome lines carry an intent id; attempt lines do not")
    if not isinstance(entry.params, dict) or not isinstance(entry.client_ids, dict):
        raise ValueError("params and client_ids must be dicts")


class Journal:
    """The journal file; `path=None` disables writing but still validates entries."""

    def __init__(
        self, path: Path | None, *, clock_ms: Callable[[], int] | None = None, redact: Iterable[str] = ()
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._clock = clock_ms
        self._lock = threading.Lock()
        self._writer: ThreadPoolExecutor | None = None
        self._fragments: frozenset[str] = frozenset()
        for value in redact:
            self.add_secret(value)
        if self.path is not None:
            parent = self.path.parent
            if not parent.exists():
                parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                parent.chmod(0o700)  # mkdir's mode is masked by the umask
            elif parent.stat().st_mode & 0o077:
                logger.warning("journal directory %s is readable by other users", parent)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def now_ms(self) -> int:
        """Current time in ms from the injected clock (tests) or the system clock, for `JournalEntry.time_ms`."""
        return self._clock() if self._clock is not None else time.time_ns() // 1_000_000

    def add_secret(self, value: str) -> None:
        raw = value.reveal() if hasattr(value, "reveal") else value  # tolerate a credentials.Secret
        if not isinstance(raw, str) or len(raw) < FRAGMENT:
            return
        forms = {raw, json.dumps(raw, ensure_ascii=True)[1:-1]}  # as typed and as it would appear JSON-escaped
        new = {f[i : i + FRAGMENT] for f in forms for i in range(len(f) - FRAGMENT + 1)}
        with self._lock:
            self._fragments = self._fragments | new

    def _scrub(self, text: str) -> str:
        """Replace every maximal run covered by 8-char secret fragments with [REDACTED]."""
        fragments = self._fragments
        if not fragments:
            return text
        spans: list[list[int]] = []
        for i in range(len(text) - FRAGMENT + 1):
            if text[i : i + FRAGMENT] in fragments:
                if spans and i <= spans[-1][1]:
                    spans[-1][1] = i + FRAGMENT
                else:
                    spans.append([i, i + FRAGMENT])
        if not spans:
            return text
        pieces, last = [], 0
        for start, end in spans:
            pieces += [text[last:start], REDACTED]
            last = end
        return "".join([*pieces, text[last:]])

    def _redacted_line(self, entry: JournalEntry) -> str:
        line = entry.to_json()
        clean = self._scrub(line)
        if clean == line:
            return line
        try:
            json.loads(clean)
        except ValueError:  # a match straddled JSON syntax or hit a number: scrub value by value instead
            values = json.dumps(_scrub_tree(entry.to_dict(), self._scrub), separators=(",", ":"), default=str)
            clean = self._scrub(values)
            try:
                json.loads(clean)
            except ValueError:
                # What is left is a number (our clock's or Binance's ids, never a secret) that happens to share 8
                # characters with a key, or JSON punctuation no real key or secret contains: keep the line valid.
                clean = values
        if clean != line:
            logger.warning("journal entry for %s contained secret material; redacted before writing", entry.tool)
        return clean

    def append(self, entry: JournalEntry) -> None:
        _validate(entry)
        if self.path is None:
            return
        data = (self._redacted_line(entry) + "\n").encode("ascii")
        with self._lock:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_APPEND | os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)
            try:
                if fcntl is not None:  # other processes appending to the same journal
                    fcntl.flock(fd, fcntl.LOCK_EX)
                st = os.fstat(fd)
                if st.st_mode & 0o777 != 0o600:
                    with contextlib.suppress(OSError):
                        os.fchmod(fd, 0o600)
                if st.st_size and not _ends_with_newline(self.path, st.st_size):
                    data = b"\n" + data  # a crash cut the previous line: start ours on a fresh one
                # One write on an O_APPEND fd lands as one contiguous line even with concurrent writers;
                # fsync before returning so a result the agent sees is never missing from the audit trail.
                written = os.write(fd, data)
                while written < len(data):  # only on ENOSPC-like trouble; the next append repairs a torn line
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            finally:
                os.close(fd)  # closing also releases the flock
            if created:
                _fsync_dir(self.path.parent)

    async def write(self, entry: JournalEntry) -> None:
        """`append` on the journal's own writer thread: the fsync never blocks the event loop.

        One writer thread keeps lines in call order. A write already running finishes even if the awaiting
        task is cancelled, so an intent the caller saw written is on disk.
        """
        _validate(entry)
        if self.path is None:
            return
        with self._lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
            writer = self._writer
        await asyncio.wrap_future(writer.submit(self.append, entry))

    def close(self) -> None:
        """Wait for queued writes to land, then stop the writer thread (a later write starts a new one)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def newest_first(self, max_lines: int) -> Iterator[dict[str, Any]]:
        """Up to `max_lines` readable entries from the end of the file, newest first."""
        with contextlib.closing(self._entries_newest_first()) as entries:
            for seen, entry in enumerate(entries, 1):
                if seen > max_lines:
                    return
                if entry is not None:
                    yield entry

    def read(self, limit: int = 50, *, account: str | None = None, outcome: str | None = None) -> list[dict[str, Any]]:
        if not isinstance(limit, int) or not 1 <= limit <= MAX_READ:
            raise ValueError(f"limit must be 1..{MAX_READ}")
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        found: list[dict[str, Any]] = []
        unreadable = 0
        with contextlib.closing(self._entries_newest_first()) as entries:  # closes the fd on early stop
            for entry in entries:
                if entry is None:
                    unreadable += 1
                elif (account is None or entry.get("account") == account) and (
                    outcome is None or entry.get("outcome") == outcome
                ):
                    found.append(entry)
                    if len(found) >= limit:
                        break
        if unreadable:
            logger.debug("journal read skipped %d unreadable line(s)", unreadable)
        found.reverse()
        return found

    def stats(self) -> dict[str, int]:
        counts = {"entries": 0, "unreadable": 0}
        for entry in self._entries_newest_first():
            counts["entries" if entry is not None else "unreadable"] += 1
        return counts

    def _entries_newest_first(self) -> Iterator[dict[str, Any] | None]:
        """Parsed entries from the end of the file; None for a line that is not a JSON object."""
        if self.path is None:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            # Snapshot the size under a brief shared lock (no writer mid-line at that instant), then read without
            # it: bytes below the snapshot never change, and a long scan must not hold up an audit write.
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_SH)
            size = os.fstat(fd).st_size
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            for line in _lines_reversed(fd, size):
                if line is None:
                    yield None
                elif line.strip():
                    yield _parse(line)
        finally:
            os.close(fd)


def _lines_reversed(fd: int, size: int) -> Iterator[bytes | None]:
    """Lines from the end, block by block, so a small read never loads a large file; None for an oversized run."""
    pos, tail, oversized = size, b"", False
    while pos > 0:
        step = min(BLOCK, pos)
        pos -= step
        parts = (os.pread(fd, step, pos) + tail).split(b"\n")
        tail, rest = parts[0], parts[1:]
        if oversized and rest:
            yield None  # rest[-1] is the head of the oversized run, the newest piece here
            yield from reversed(rest[:-1])
            oversized = False
        else:
            yield from reversed(rest)
        if len(tail) > MAX_LINE:
            tail, oversized = b"", True
    yield None if oversized else tail


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # torn line, NUL bytes, invalid UTF-8, absurd nesting
        return None
    return value if isinstance(value, dict) else None


def _scrub_tree(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {scrub(str(k)): _scrub_tree(v, scrub) for k, v in value.items()}
    return scrub(value) if isinstance(value, str) else value


def _ends_with_newline(path: Path, size: int) -> bool:
    rfd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.pread(rfd, 1, size - 1) == b"\n"
    finally:
        os.close(rfd)


def _fsync_dir(directory: Path) -> None:
    # a new file's directory entry is only durable once the directory itself is synced
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
