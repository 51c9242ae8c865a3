"""SQLite persistence: per account one document of live state, and its history row by row.

The `users` document holds what changes in place (balances, open orders and lists, settings, keys);
trades, history records, closed orders and finished order lists live in `history`, one row each,
written once when they appear or close. A commit therefore costs what the call changed, not the
account's whole past. This rests on one rule the handlers keep: history rows, closed orders and
finished lists are never changed again, and rows are only appended.

Each exchange call ends in at most one transaction (none when nothing changed), so a crash loses
nothing acknowledged and a failed call writes nothing. Files use WAL with synchronous=FULL;
":memory:" works the same way for tests. A schema-1 file (one whole document per account) is
converted on open.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from itertools import islice
from pathlib import Path
from typing import Any, get_args, get_type_hints

from .state import UserState, decode, encode

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    user TEXT NOT NULL, kind TEXT NOT NULL, key INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (user, kind, key)
) WITHOUT ROWID;
"""

# UserState fields kept as history rows; every other field (new ones included) is live state.
APPENDED = ("trades",)  # list fields whose rows are only appended; key = position
GROUPED = ("records",)  # dict[str, list] fields, one appended list per kind; key = position
CLOSING = ("orders", "lists")  # dict[int, item] fields: open items are live, closed ones history; key = id
HISTORY_FIELDS = frozenset(APPENDED + GROUPED + CLOSING)
_HINTS = get_type_hints(UserState)

Row = tuple[str, str, int, str]  # user, kind, key, JSON


def is_open(item: Any) -> bool:
    """An open order or a list not yet ALL_DONE stays in the live document (it may still change)."""
    status = getattr(item, "list_order_status", None)
    return item.is_open if status is None else status != "ALL_DONE"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class _Mark:
    """What the database holds for one account, so the next commit writes only the difference."""

    obj: UserState  # the object last written (another one means the account was reset)
    live: str  # the live document as stored
    counts: dict[str, int]  # appended kind -> rows stored
    sizes: dict[str, int]  # closing field -> len() when stored
    open_ids: dict[str, list[int]]  # closing field -> ids stored in the live document


def _open_ids(us: UserState) -> dict[str, list[int]]:
    """Ids of the open items, found by a full scan (loading and whole rewrites only)."""
    return {name: [i for i, item in getattr(us, name).items() if is_open(item)] for name in CLOSING}


def _mark(us: UserState, live: str, open_ids: dict[str, list[int]]) -> _Mark:
    counts = {name: len(getattr(us, name)) for name in APPENDED}
    for name in GROUPED:
        counts.update({f"{name}.{kind}": len(rows) for kind, rows in getattr(us, name).items()})
    sizes = {name: len(getattr(us, name)) for name in CLOSING}
    return _Mark(us, live, counts, sizes, open_ids)


def _live_doc(us: UserState, open_ids: dict[str, list[int]]) -> str:
    doc = {f.name: encode(getattr(us, f.name)) for f in fields(us) if f.name not in HISTORY_FIELDS}
    for name in CLOSING:
        items = getattr(us, name)
        doc[name] = {str(i): encode(items[i]) for i in open_ids[name]}
    return _dumps(doc)


def _all_rows(us: UserState) -> list[Row]:
    rows = [(us.name, name, k, _dumps(encode(r))) for name in APPENDED for k, r in enumerate(getattr(us, name))]
    for name in GROUPED:
        for kind, items in getattr(us, name).items():
            rows += [(us.name, f"{name}.{kind}", k, _dumps(encode(r))) for k, r in enumerate(items)]
    for name in CLOSING:
        rows += [(us.name, name, i, _dumps(encode(x))) for i, x in getattr(us, name).items() if not is_open(x)]
    return rows


class _Rewrite(Exception):
    """The account changed in a way the increments cannot express: write it whole."""


def _new_rows(us: UserState, mark: _Mark) -> tuple[list[Row], dict[str, list[int]]]:
    """The rows added since `mark` and the ids now open; _Rewrite if history shrank."""
    appended = [(name, getattr(us, name)) for name in APPENDED]
    for name in GROUPED:
        groups = getattr(us, name)
        if any(key.startswith(f"{name}.") and key[len(name) + 1 :] not in groups for key in mark.counts):
            raise _Rewrite
        appended += [(f"{name}.{kind}", items) for kind, items in groups.items()]
    rows: list[Row] = []
    for kind, items in appended:
        start = mark.counts.get(kind, 0)
        if len(items) < start:
            raise _Rewrite
        rows += [(us.name, kind, start + k, _dumps(encode(r))) for k, r in enumerate(items[start:])]
    open_ids: dict[str, list[int]] = {}
    for name in CLOSING:
        items = getattr(us, name)
        added = len(items) - mark.sizes[name]
        if added < 0 or any(i not in items for i in mark.open_ids[name]):
            raise _Rewrite
        candidates = mark.open_ids[name] + list(reversed(list(islice(reversed(items), added))))
        open_ids[name] = [i for i in candidates if is_open(items[i])]
        rows += [(us.name, name, i, _dumps(encode(items[i]))) for i in candidates if not is_open(items[i])]
    return rows, open_ids


class Store:
    """The database behind one Exchange. Not thread-safe by itself: the Exchange holds a lock."""

    def __init__(self, db_path: str | Path) -> None:
        path = str(db_path)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._marks: dict[str, _Mark] = {}
        self._global: str | None = None
        row = self._conn.execute("SELECT doc FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta VALUES ('schema', ?)", (json.dumps(SCHEMA_VERSION),))
        elif json.loads(row[0]) == 1:
            self._convert_from_1()
        elif json.loads(row[0]) != SCHEMA_VERSION:
            raise RuntimeError(
                f"the paper exchange database has schema {row[0]}, this version reads {SCHEMA_VERSION} (and converts 1)"
            )

    # -- reading -----------------------------------------------------------------------------------
    def load_global(self) -> dict | None:
        row = self._conn.execute("SELECT doc FROM meta WHERE key = 'global'").fetchone()
        self._global = None if row is None else row[0]
        return None if row is None else json.loads(row[0])

    def user_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM users ORDER BY name")]

    def load_user(self, name: str) -> UserState | None:
        """The account as stored (live document plus history), or None."""
        row = self._conn.execute("SELECT doc FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        us: UserState = decode(UserState, json.loads(row[0]))
        closed: dict[str, dict[int, Any]] = {name: {} for name in CLOSING}
        query = "SELECT kind, key, doc FROM history WHERE user = ? ORDER BY kind, key"
        for kind, key, doc in self._conn.execute(query, (name,)):
            field_name, _, group = kind.partition(".")
            if field_name in CLOSING:
                closed[field_name][key] = decode(get_args(_HINTS[field_name])[1], json.loads(doc))
            elif field_name in GROUPED:
                item_type = get_args(get_args(_HINTS[field_name])[1])[0]
                getattr(us, field_name).setdefault(group, []).append(decode(item_type, json.loads(doc)))
            elif field_name in APPENDED:
                getattr(us, field_name).append(decode(get_args(_HINTS[field_name])[0], json.loads(doc)))
        for field_name, items in closed.items():
            merged = {**items, **getattr(us, field_name)}
            setattr(us, field_name, {i: merged[i] for i in sorted(merged)})
        self._marks[name] = _mark(us, row[0], _open_ids(us))
        return us

    def open_order_candidates(self, us: UserState) -> list[int] | None:
        """Ids of `us`'s orders that may be open now: open at the last commit, plus every order added since.
        None when the store has not seen this very object (a reset or a new account): callers scan."""
        mark = self._marks.get(us.name)
        if mark is None or mark.obj is not us:
            return None
        added = len(us.orders) - mark.sizes["orders"]
        if added < 0:
            return None
        return mark.open_ids["orders"] + list(islice(reversed(us.orders), added))

    def open_order_ids(self, name: str) -> list[int]:
        """Ids of the account's orders that were open at the last commit (or load)."""
        mark = self._marks.get(name)
        return [] if mark is None else mark.open_ids["orders"]

    # -- writing -----------------------------------------------------------------------------------
    def save(self, global_doc: dict | None, users: list[UserState]) -> None:
        """Write the global document (None: unchanged) and what changed in `users`, in one transaction."""
        glob = None if global_doc is None else _dumps(global_doc)
        glob = None if glob == self._global else glob
        plans = [self._plan(us) for us in users]
        plans = [p for p in plans if p[1] is not None or p[2] or p[3]]
        if glob is None and not plans:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if glob is not None:
                self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('global', ?)", (glob,))
            for us, live, rows, whole, _ in plans:
                if whole:
                    self._conn.execute("DELETE FROM history WHERE user = ?", (us.name,))
                if live is not None:
                    self._conn.execute("INSERT OR REPLACE INTO users VALUES (?, ?)", (us.name, live))
                self._conn.executemany("INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?)", rows)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        if glob is not None:
            self._global = glob
        for us, _, _, _, mark in plans:
            self._marks[us.name] = mark

    def _plan(self, us: UserState) -> tuple[UserState, str | None, list[Row], bool, _Mark]:
        """(account, live document if changed, history rows, rewrite whole?, the mark after commit)."""
        mark = self._marks.get(us.name)
        try:
            if mark is None or mark.obj is not us:
                raise _Rewrite
            rows, open_ids = _new_rows(us, mark)
        except _Rewrite:
            open_ids = _open_ids(us)
            live = _live_doc(us, open_ids)
            return us, live, _all_rows(us), True, _mark(us, live, open_ids)
        live = _live_doc(us, open_ids)
        return us, None if live == mark.live else live, rows, False, _mark(us, live, open_ids)

    def revert(self, name: str) -> UserState | None:
        """The account as last committed, rebuilt from memory in time proportional to what changed."""
        mark = self._marks.get(name)
        if mark is None:
            return None
        us = mark.obj
        fresh: UserState = decode(UserState, json.loads(mark.live))
        for field_name in APPENDED:
            del getattr(us, field_name)[mark.counts[field_name] :]
            setattr(fresh, field_name, getattr(us, field_name))
        for field_name in GROUPED:
            groups = getattr(us, field_name)
            for kind in list(groups):
                count = mark.counts.get(f"{field_name}.{kind}")
                if count is None:
                    del groups[kind]
                else:
                    del groups[kind][count:]
            setattr(fresh, field_name, groups)
        for field_name in CLOSING:
            items, stored = getattr(us, field_name), getattr(fresh, field_name)
            for _ in range(len(items) - mark.sizes[field_name]):
                items.popitem()
            items.update({i: stored[i] for i in mark.open_ids[field_name]})
            setattr(fresh, field_name, items)
        mark.obj = fresh
        return fresh

    def close(self) -> None:
        self._conn.close()

    def _convert_from_1(self) -> None:
        """Schema 1 kept each account as one document: split it into live state and history rows."""
        old = self._conn.execute("SELECT name, doc FROM users").fetchall()
        users = [decode(UserState, json.loads(doc)) for _, doc in old]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for us in users:
                live = _live_doc(us, _open_ids(us))
                self._conn.execute("DELETE FROM history WHERE user = ?", (us.name,))
                self._conn.execute("INSERT OR REPLACE INTO users VALUES (?, ?)", (us.name, live))
                self._conn.executemany("INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?)", _all_rows(us))
            self._conn.execute("UPDATE meta SET doc = ? WHERE key = 'schema'", (json.dumps(SCHEMA_VERSION),))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
