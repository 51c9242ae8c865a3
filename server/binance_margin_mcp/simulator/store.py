"""SQLite persistence: one JSON document per account name plus one for the global state.

Every exchange call ends in exactly one transaction that rewrites the documents it changed, so a
crash loses nothing that was acknowledged and a failed call writes nothing. Files use WAL with
synchronous=FULL; ":memory:" works the same way for tests.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
"""


class Store:
    """The database behind one Exchange. Not thread-safe by itself: the Exchange holds a lock."""

    def __init__(self, db_path: str | Path) -> None:
        path = str(db_path)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._written: dict[str, str] = {}
        row = self._conn.execute("SELECT doc FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta VALUES ('schema', ?)", (json.dumps(SCHEMA_VERSION),))
        elif json.loads(row[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"simulator database schema {row[0]} is not {SCHEMA_VERSION}")

    def load_global(self) -> dict | None:
        row = self._conn.execute("SELECT doc FROM meta WHERE key = 'global'").fetchone()
        return None if row is None else json.loads(row[0])

    def load_user(self, name: str) -> dict | None:
        row = self._conn.execute("SELECT doc FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        self._written[name] = row[0]
        return json.loads(row[0])

    def user_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM users ORDER BY name")]

    def save(self, global_doc: dict, users: dict[str, dict]) -> None:
        """Write the global document and the given users in one transaction."""
        texts = {name: json.dumps(doc, separators=(",", ":")) for name, doc in users.items()}
        changed = {name: text for name, text in texts.items() if self._written.get(name) != text}
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('global', ?)", (json.dumps(global_doc, separators=(",", ":")),)
            )
            self._conn.executemany("INSERT OR REPLACE INTO users VALUES (?, ?)", list(changed.items()))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._written.update(changed)

    def close(self) -> None:
        self._conn.close()
