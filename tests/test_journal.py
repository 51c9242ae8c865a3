"""Audit journal: field round trip, file modes, fsync, torn lines, secret redaction, concurrency, reverse reads,
write-ahead intent/outcome lines, and what happens when the journal cannot be written."""

from __future__ import annotations

import asyncio
import errno
import json
import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from binance_margin_mcp import journal
from binance_margin_mcp.intents import merge, pending_intents
from binance_margin_mcp.journal import CONFIRMED_BY, OUTCOMES, Journal, JournalEntry

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def entry(**overrides: object) -> JournalEntry:
    fields: dict[str, object] = {
        "time_ms": 1_700_000_000_000,
        "account": "main",
        "environment": "Testnet",
        "endpoint": "POST /sapi/v1/margin/order",
        "tool": "margin_new_order",
        "params": {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001", "price": "30000"},
        "confirmed_by": "not_required",
        "outcome": "sent",
    }
    fields.update(overrides)
    return JournalEntry(**fields)  # type: ignore[arg-type]


def lines_of(path: Path) -> list[str]:
    return path.read_bytes().decode("ascii").split("\n")


def fragments(value: str, size: int = 8) -> set[str]:
    return {value[i : i + size] for i in range(len(value) - size + 1)}


def test_every_field_round_trips_with_camel_case_keys_in_a_stable_order(tmp_path: Path) -> None:
    """All fields come back from read() under camelCase keys, in the documented order."""
    j = Journal(tmp_path / "journal.jsonl")
    full = entry(
        weight=6,
        order_id=28,
        tran_id=100000001,
        status="FILLED",
        error_code=-2010,
        error_msg="Account has insufficient balance",
        client_ids={"newClientOrderId": "agent-abc123"},
        confirmed_by="elicitation",
        outcome="error",
    )
    j.append(full)
    [got] = j.read()
    assert list(got) == [
        "time",
        "kind",
        "account",
        "environment",
        "endpoint",
        "tool",
        "params",
        "confirmedBy",
        "outcome",
        "weight",
        "orderId",
        "tranId",
        "status",
        "errorCode",
        "errorMsg",
        "clientIds",
    ]
    assert got["time"] == 1_700_000_000_000
    assert got["params"] == full.params
    assert list(got["params"]) == list(full.params)  # wire order preserved
    assert (got["confirmedBy"], got["outcome"], got["weight"]) == ("elicitation", "error", 6)
    assert (got["orderId"], got["tranId"], got["status"]) == (28, 100000001, "FILLED")
    assert (got["errorCode"], got["errorMsg"]) == (-2010, "Account has insufficient balance")
    assert got["clientIds"] == {"newClientOrderId": "agent-abc123"}
    assert json.loads(full.to_json()) == got


def test_none_values_are_omitted_and_the_line_is_compact() -> None:
    """to_json drops None fields and writes one compact line."""
    line = entry().to_json()
    assert "\n" not in line and ", " not in line and '": ' not in line
    got = json.loads(line)
    for key in ("intent", "serverTime", "weight", "orderId", "tranId", "status", "errorCode", "errorMsg", "recovered"):
        assert key not in got
    assert got["clientIds"] == {}


def test_the_file_is_created_0600_inside_a_new_0700_directory(tmp_path: Path) -> None:
    """A fresh data directory is made 0700 and the journal file 0600, whatever the umask."""
    old = os.umask(0)
    try:
        path = tmp_path / "data" / "journal.jsonl"
        j = Journal(path)
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        j.append(entry())
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_disabled_journal_writes_nothing_but_still_validates(tmp_path: Path) -> None:
    """With path None nothing lands on disk, reads are empty, and invalid entries are still refused."""
    j = Journal(None)
    j.append(entry())
    assert not j.enabled
    assert list(tmp_path.iterdir()) == []
    assert j.read() == []
    assert j.stats() == {"entries": 0, "unreadable": 0}
    with pytest.raises(ValueError):
        j.append(entry(outcome="done"))


def test_the_line_is_written_and_fsynced_before_append_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.fsync runs on the journal file after the line is written and before append returns."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    real_fsync = os.fsync
    synced: list[tuple[int, bytes]] = []

    def recording_fsync(fd: int) -> None:
        st = os.fstat(fd)
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else b""
        synced.append((st.st_ino, content))
        real_fsync(fd)

    monkeypatch.setattr(journal.os, "fsync", recording_fsync)
    j.append(entry(order_id=1))
    inode = path.stat().st_ino
    file_syncs = [content for ino, content in synced if ino == inode]
    assert file_syncs, "append returned without fsyncing the journal file"
    assert b'"orderId":1' in file_syncs[0]  # the data was already written when fsync ran
    synced.clear()
    j.append(entry(order_id=2))
    assert any(ino == inode and b'"orderId":2' in content for ino, content in synced)


def test_a_torn_last_line_is_skipped_and_the_next_append_starts_a_new_line(tmp_path: Path) -> None:
    """Half a JSON line left by a crash is skipped by read and does not swallow the next entry."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.append(entry(order_id=1))
    with path.open("ab") as f:
        f.write(entry(order_id=2).to_json()[:40].encode())
    assert [e["orderId"] for e in j.read()] == [1]
    assert j.stats() == {"entries": 1, "unreadable": 1}
    j.append(entry(order_id=3))
    assert [e["orderId"] for e in j.read()] == [1, 3]
    assert j.stats() == {"entries": 2, "unreadable": 1}
    assert path.read_bytes().endswith(b"\n")


def test_a_secret_in_params_or_an_8_character_fragment_of_it_is_redacted(tmp_path: Path) -> None:
    """Whole secrets and 8+ character fragments are replaced by [REDACTED]; no fragment reaches the file bytes."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path, redact=[SECRET, "short"])
    j.append(entry(params={"symbol": "BTCUSDT", "signature": SECRET}))
    j.append(entry(params={"symbol": "ETHUSDT", "note": "x" + SECRET[10:18] + "y"}, error_msg=SECRET[30:50]))
    first, second = j.read()
    assert first["params"] == {"symbol": "BTCUSDT", "signature": "[REDACTED]"}
    assert second["params"] == {"symbol": "ETHUSDT", "note": "x[REDACTED]y"}
    assert second["errorMsg"] == "[REDACTED]"
    data = path.read_bytes().decode()
    assert not any(frag in data for frag in fragments(SECRET))


def test_secrets_added_at_runtime_are_redacted_and_short_values_are_ignored(tmp_path: Path) -> None:
    """add_secret extends the redaction set; values shorter than 8 characters never redact ordinary text."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.add_secret("BUY")
    j.add_secret(API_KEY)
    j.append(entry(params={"symbol": "BTCUSDT", "side": "BUY", "apiKey": API_KEY}))
    [got] = j.read()
    assert got["params"] == {"symbol": "BTCUSDT", "side": "BUY", "apiKey": "[REDACTED]"}
    assert API_KEY not in path.read_text() and not any(f in path.read_text() for f in fragments(API_KEY))


def test_a_secret_spanning_json_syntax_still_yields_a_parseable_redacted_line(tmp_path: Path) -> None:
    """A match across JSON punctuation falls back to value-by-value redaction and the line stays valid."""
    path = tmp_path / "journal.jsonl"
    weird = 'abcdefgh","zzzzzzzz'
    j = Journal(path, redact=[weird])
    j.append(entry(params={"k": "abcdefgh", "zzzzzzzz": "v"}))
    [got] = j.read()
    assert got["params"] == {"k": "[REDACTED]", "[REDACTED]": "v"}
    text = path.read_text()
    assert "abcdefgh" not in text and "zzzzzzzz" not in text
    assert j.stats() == {"entries": 1, "unreadable": 0}


def test_eight_threads_appending_fifty_entries_each_leave_400_parseable_lines(tmp_path: Path) -> None:
    """Concurrent appends from threads never interleave within a line."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)

    def worker(n: int) -> None:
        for i in range(50):
            j.append(entry(account=f"t{n}", order_id=i, error_msg="x" * 500))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [line for line in lines_of(path) if line]
    assert len(lines) == 400
    parsed = [json.loads(line) for line in lines]
    assert {(e["account"], e["orderId"]) for e in parsed} == {(f"t{n}", i) for n in range(8) for i in range(50)}


def _process_worker(path: str, n: int) -> None:
    j = Journal(Path(path))
    for i in range(50):
        j.append(entry(account=f"p{n}", order_id=i, error_msg="y" * 2000))


def test_four_processes_appending_fifty_entries_each_leave_200_parseable_lines(tmp_path: Path) -> None:
    """Concurrent appends from forked processes never interleave within a line."""
    path = tmp_path / "journal.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_worker, args=(str(path), n)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = [line for line in lines_of(path) if line]
    assert len(lines) == 200
    parsed = [json.loads(line) for line in lines]
    assert {(e["account"], e["orderId"]) for e in parsed} == {(f"p{n}", i) for n in range(4) for i in range(50)}
    assert Journal(path).stats() == {"entries": 200, "unreadable": 0}


def test_read_filters_by_account_and_outcome_and_returns_the_newest_last(tmp_path: Path) -> None:
    """read(limit, account=, outcome=) keeps the most recent matches in file order."""
    j = Journal(tmp_path / "journal.jsonl")
    for i in range(30):
        j.append(entry(account=("main", "alt")[i % 2], outcome=("sent", "error", "refused")[i % 3], order_id=i))
    assert [e["orderId"] for e in j.read(5)] == [25, 26, 27, 28, 29]
    assert [e["orderId"] for e in j.read(3, account="alt")] == [25, 27, 29]
    assert [e["orderId"] for e in j.read(4, outcome="refused")] == [17, 20, 23, 26, 29][-4:]
    assert [e["orderId"] for e in j.read(50, account="main", outcome="error")] == [4, 10, 16, 22, 28]
    assert j.read(account="nobody") == []
    assert len(j.read(500)) == 30


def test_read_rejects_a_limit_outside_1_to_500_and_an_unknown_outcome(tmp_path: Path) -> None:
    """Out-of-range limits and outcomes that can never match are caller errors."""
    j = Journal(tmp_path / "journal.jsonl")
    for bad in (0, 501, -1):
        with pytest.raises(ValueError):
            j.read(bad)
    with pytest.raises(ValueError):
        j.read(outcome="ok")


def test_reading_the_last_10_of_20000_lines_reads_only_the_end_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small read on a large journal returns the last entries without loading the whole file."""
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(entry(order_id=i).to_json() + "\n" for i in range(20_000)))
    real_pread = os.pread
    read_bytes = [0]

    def counting_pread(fd: int, n: int, offset: int) -> bytes:
        data = real_pread(fd, n, offset)
        read_bytes[0] += len(data)
        return data

    monkeypatch.setattr(journal.os, "pread", counting_pread)
    got = Journal(path).read(10)
    assert [e["orderId"] for e in got] == list(range(19_990, 20_000))
    assert read_bytes[0] <= 2 * journal.BLOCK < path.stat().st_size // 10


def test_reverse_reading_agrees_with_a_plain_split_across_block_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny blocks exercise lines spanning blocks; runs longer than MAX_LINE count as one unreadable line."""
    monkeypatch.setattr(journal, "BLOCK", 7)
    monkeypatch.setattr(journal, "MAX_LINE", 400)
    path = tmp_path / "journal.jsonl"
    small = [json.dumps({"n": i}) for i in range(12)]
    body = "\n".join(small[:5]) + "\n" + "\0" * 2000 + "\n" + "\n".join(small[5:]) + "\n"
    path.write_text(body)
    j = Journal(path)
    assert [e["n"] for e in j.read(500)] == list(range(12))
    assert j.stats() == {"entries": 12, "unreadable": 1}
    path.write_text("\0" * 3000)  # a NUL-filled file, as some filesystems leave after a crash
    assert j.read() == [] and j.stats() == {"entries": 0, "unreadable": 1}
    j.append(entry(order_id=7))
    assert [e["orderId"] for e in j.read()] == [7]


def test_a_corrupt_file_never_makes_read_or_stats_raise(tmp_path: Path) -> None:
    """Garbage, non-object JSON, invalid UTF-8 and blank lines are skipped; valid entries still come back."""
    path = tmp_path / "journal.jsonl"
    good = entry(order_id=5).to_json().encode()
    path.write_bytes(b"not json\n[1,2]\n\xff\xfe\x00garbage\n\n   \n" + b"[" * 100_000 + b"\n" + good + b"\n")
    j = Journal(path)
    assert [e["orderId"] for e in j.read()] == [5]
    assert j.stats() == {"entries": 1, "unreadable": 4}


def test_reading_a_journal_that_does_not_exist_yet_returns_nothing(tmp_path: Path) -> None:
    """Before the first append there is no file, and that is not an error."""
    j = Journal(tmp_path / "sub" / "journal.jsonl")
    assert j.read() == [] and j.stats() == {"entries": 0, "unreadable": 0}


@pytest.mark.parametrize("field_name", ["confirmed_by", "outcome"])
def test_an_unknown_confirmed_by_or_outcome_raises_value_error(tmp_path: Path, field_name: str) -> None:
    """append refuses values outside CONFIRMED_BY / OUTCOMES and writes nothing."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    with pytest.raises(ValueError):
        j.append(entry(**{field_name: "bogus"}))
    assert not path.exists()
    for confirmed_by in CONFIRMED_BY:
        for outcome in OUTCOMES:
            j.append(entry(confirmed_by=confirmed_by, outcome=outcome))
    assert j.stats()["entries"] == len(CONFIRMED_BY) * len(OUTCOMES)


def test_now_ms_uses_the_injected_clock() -> None:
    """The clock_ms hook gives callers a deterministic time for entries."""
    assert Journal(None, clock_ms=lambda: 42).now_ms() == 42
    assert Journal(None).now_ms() > 1_600_000_000_000


# -- write-ahead: intent and outcome lines ----------------------------------------------------------


def test_an_intent_has_no_outcome_and_intent_and_outcome_lines_carry_the_intent_id(tmp_path: Path) -> None:
    """kind decides which fields a line needs: intents no outcome, intents and outcomes an intent id."""
    j = Journal(tmp_path / "journal.jsonl")
    j.append(entry(kind="intent", intent="0123456789abcdef", outcome=None, server_time=5))
    j.append(entry(kind="outcome", intent="0123456789abcdef", outcome="sent", order_id=1))
    for bad in (
        entry(kind="intent", intent="x" * 16),  # an outcome on an intent
        entry(kind="intent", outcome=None),  # no id
        entry(kind="outcome", outcome="sent"),  # no id
        entry(kind="attempt", intent="x" * 16),  # attempts stand alone
        entry(kind="outcome", intent="x" * 16, outcome=None),
        entry(kind="draft"),
    ):
        with pytest.raises(ValueError):
            j.append(bad)
    first, second = j.read()
    assert (first["kind"], first["intent"], first["serverTime"], "outcome" in first) == (
        "intent",
        "0123456789abcdef",
        5,
        False,
    )
    assert (second["kind"], second["intent"], second["outcome"]) == ("outcome", "0123456789abcdef", "sent")


async def test_write_fsyncs_on_the_journal_thread_never_on_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The async write runs append (and its fsync) on the journal's own thread; close() drains queued writes."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    real_fsync = os.fsync
    threads: list[str] = []

    def recording_fsync(fd: int) -> None:
        threads.append(threading.current_thread().name)
        real_fsync(fd)

    monkeypatch.setattr(journal.os, "fsync", recording_fsync)
    await j.write(entry(order_id=1))
    assert threads and all(name.startswith("journal") for name in threads)
    assert threading.current_thread().name not in threads
    pending = [asyncio.ensure_future(j.write(entry(order_id=n))) for n in range(2, 12)]
    await asyncio.sleep(0)
    j.close()  # waits for every queued line
    assert [e["orderId"] for e in j.read(50)] == list(range(1, 12))  # one writer thread keeps call order
    await asyncio.gather(*pending)


def test_merge_shows_one_entry_per_request_and_reads_lines_from_before_write_ahead() -> None:
    """An intent merges with its outcome; an intent alone is pending; a legacy line (no kind) is an attempt."""
    legacy = {"time": 1, "account": "main", "endpoint": "POST /x", "outcome": "sent", "orderId": 7}
    intent = {"time": 2, "kind": "intent", "intent": "a" * 16, "account": "main", "params": {"q": "1"}}
    outcome = {"time": 3, "kind": "outcome", "intent": "a" * 16, "account": "main", "outcome": "sent", "orderId": 8}
    lonely = {"time": 4, "kind": "intent", "intent": "b" * 16, "account": "main", "params": {}}
    orphan = {"time": 5, "kind": "outcome", "intent": "c" * 16, "account": "main", "outcome": "UNKNOWN"}
    newest_first = [orphan, lonely, outcome, intent, legacy]
    merged = merge(newest_first)
    assert [(e.get("intent"), e["outcome"], e.get("orderId")) for e in merged] == [
        (None, "sent", 7),
        ("a" * 16, "sent", 8),
        ("b" * 16, "pending", None),
        ("c" * 16, "UNKNOWN", None),  # its intent scrolled out of the window: the outcome line stands alone
    ]
    assert merged[1]["params"] == {"q": "1"} and merged[1]["outcomeTime"] == 3 and "kind" not in merged[1]
    assert [line["intent"] for line in pending_intents(newest_first)] == ["b" * 16]


def test_a_definite_outcome_wins_over_an_unknown_one_for_the_same_intent() -> None:
    """If a recovery raced the sender and both wrote an outcome, the definite one is shown."""
    intent = {"time": 1, "kind": "intent", "intent": "d" * 16}
    unknown = {"time": 2, "kind": "outcome", "intent": "d" * 16, "outcome": "UNKNOWN"}
    sent = {"time": 3, "kind": "outcome", "intent": "d" * 16, "outcome": "sent", "orderId": 1}
    for lines in ([sent, unknown, intent], [unknown, sent, intent]):
        (merged,) = merge(lines)
        assert (merged["outcome"], merged["orderId"]) == ("sent", 1)


# -- finding: a full disk hid the order --------------------------------------------------------------

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}


def _failing_write(code: int) -> object:
    def write(fd: int, data: bytes) -> int:
        raise OSError(code, os.strerror(code))

    return write


@pytest.mark.parametrize("failure", ["a directory", "disk full", "read-only file system"])
async def test_when_the_intent_cannot_be_written_nothing_is_sent(
    connect, fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """Attack: a full disk (or a broken journal path) used to let the order fill unrecorded. Now the intent line
    comes first: if it cannot be written, the order is not sent and the result says so, without any path."""
    settings: dict[str, object] = {}
    if failure == "a directory":
        settings["journal_path"] = str(tmp_path)  # every append fails to open it
    else:
        code = errno.ENOSPC if failure == "disk full" else errno.EROFS
        monkeypatch.setattr(journal.os, "write", _failing_write(code))
    fake.respond("POST", "/sapi/v1/margin/order", {"orderId": 5, "status": "NEW"})
    async with connect(**settings) as client:
        result = await client.call_tool("create_margin_order", {**ORDER, "price": "50000", "account": "practice"})
    assert result.is_error and result.structured_content["status"] == "not_sent"
    text = result.content[0].text
    assert text.startswith("Not sent: the audit journal could not be written (")
    reason = {"a directory": "Is a directory", "disk full": "No space left on device"}.get(failure, "Read-only")
    assert reason in text and str(tmp_path) not in text
    assert [r.path for r in fake.requests if r.method == "POST"] == []  # nothing reached the exchange


async def test_an_outcome_line_that_cannot_be_written_leaves_the_result_and_the_intent(
    connect, fake, journal_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The intent is on disk; the order went out; the outcome line then fails: the result is still the order (the
    agent must not resend), the failure is logged without a path, and the intent stays pending for recovery."""
    real_write = os.write
    writes = [0]

    def second_write_fails(fd: int, data: bytes) -> int:
        writes[0] += 1
        if writes[0] >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(journal.os, "write", second_write_fails)
    fake.respond("POST", "/sapi/v1/margin/order", {"orderId": 5, "status": "NEW"})
    async with connect() as client:
        result = await client.call_tool("create_margin_order", {**ORDER, "price": "50000", "account": "practice"})
        monkeypatch.setattr(journal.os, "write", real_write)
        listed = await client.call_tool("list_journal", {})
    assert not result.is_error and result.structured_content["orderId"] == 5
    assert "audit journal write failed" in caplog.text and str(journal_path) not in caplog.text
    (pending,) = listed.structured_content["attention"]
    assert pending["outcome"] == "pending" and "get_margin_order(" in pending["check"]


def test_a_number_that_shares_eight_digits_with_a_key_never_breaks_the_line(tmp_path: Path) -> None:
    """A timestamp or id that happens to contain 8 digits of a key stays a valid line (and the number is kept:
    our clock and Binance's ids carry no secret); string values with the fragment are still redacted."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path, redact=["TESTkey0000111122223333444455556666777788889999aaaabbbbccccdddd"])
    j.append(entry(time_ms=1_800_001_111_084, order_id=22223333, params={"note": "x22223333y"}))
    [got] = j.read()
    assert (got["time"], got["orderId"], got["params"]) == (1_800_001_111_084, 22223333, {"note": "x[REDACTED]y"})
    assert j.stats() == {"entries": 1, "unreadable": 0}
