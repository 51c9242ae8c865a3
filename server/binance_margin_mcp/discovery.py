"""Progressive discovery: find an endpoint tool by words or toolset, and show one tool's full schema.

Only the endpoints available in this configuration (--toolsets, --read-only) are searched, described and
run; `execute_tool` (in the adapter) runs them through the same pipeline as a listed tool.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from binance_margin_mcp.catalog import CATALOG, TOOLSETS, Endpoint
from binance_margin_mcp.errors import InvalidArguments
from binance_margin_mcp.schema import annotation_hints, input_schema
from binance_margin_mcp.service import Outcome

DEFAULT_RESULTS = 10
MAX_RESULTS = 30  # a whole toolset (trade has 26 tools) fits
SUMMARY_CHARS = 140
# Where a query word is found counts: in the name most, then the toolset, the title, the description.
WEIGHTS = (("name", 4), ("toolset", 3), ("title", 2), ("description", 1))
# Words of a question that name nothing ("how much can I borrow" searches for "borrow").
STOP_WORDS = frozenset(("a", "an", "and", "are", "by", "can", "do", "doe", "for", "from", "how", "i", "in", "is"))
STOP_WORDS |= {"it", "me", "much", "my", "of", "on", "or", "the", "to", "want", "what", "which", "with"}
VIEW_TOOLSET = "account"  # the hand-written account views (risk, positions, watch) search like account tools
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words(text: str) -> list[str]:
    """Lower-case words, camelCase and snake_case split, a trailing plural 's' dropped."""
    found = re.findall(r"[a-z0-9]+", _CAMEL.sub(" ", text).lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in found]


class Discovery:
    """The available endpoints, which of them `tools/list` shows, and the three discovery answers."""

    def __init__(
        self,
        entries: Iterable[Endpoint],
        listed: Collection[str],
        local: Collection[str] = (),
        searchable: Mapping[str, str] | None = None,
    ) -> None:
        self.entries = {entry.name: entry for entry in entries}
        self.listed = frozenset(listed)
        self.local = frozenset(local)  # the hand-written tools: always listed, called directly
        self._index = {name: _fields(entry) for name, entry in self.entries.items()}
        # Hand-written tools that searches find too (name -> description; listed, called directly).
        # Only while account endpoints are available (--toolsets without "account" keeps searches to its toolsets).
        with_views = any(entry.toolset == VIEW_TOOLSET for entry in self.entries.values())
        self.searchable = dict(searchable or {}) if with_views else {}
        for name, description in self.searchable.items():
            self._index[name] = _fields_of(name, VIEW_TOOLSET, "", description)

    def find(self, name: Any) -> Endpoint:
        """The available endpoint of that name, or a refusal saying why it cannot be run here."""
        if not isinstance(name, str) or not name:
            raise InvalidArguments("name must be the name of an endpoint tool, e.g. from search_tools.", "name")
        entry = self.entries.get(name)
        if entry is not None:
            return entry
        if name in self.local:
            raise InvalidArguments(f"{name} is not an endpoint tool; it is listed: call it directly.", "name")
        if name in CATALOG:
            raise InvalidArguments(
                f"{name} is not available on this server: the operator's --read-only or --toolsets leave it out. "
                "Nothing was sent.",
                "name",
            )
        close = difflib.get_close_matches(name, sorted(self.entries), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else " Find tools with search_tools."
        raise InvalidArguments(f"No endpoint tool named {name[:64]!r}.{hint}", "name")

    def search(self, query: str, limit: int | None) -> Outcome:
        toolset = query.strip().lower().replace(" ", "-")
        if toolset in TOOLSETS:
            found = sorted((e for e in self.entries.values() if e.toolset == toolset), key=lambda e: e.name)
            limit = limit or MAX_RESULTS
        else:
            found = self._ranked(query)
            limit = limit or DEFAULT_RESULTS
        rows = [self._row(entry) if isinstance(entry, Endpoint) else self._view_row(entry) for entry in found[:limit]]
        data: dict[str, Any] = {"query": query, "results": rows, "more": max(0, len(found) - limit)}
        lines = [f"{r['name']}: {r['summary']}{' [transaction]' if r['transaction'] else ''}" for r in rows]
        if data["more"]:
            lines.append(f"... {data['more']} more: refine the query or raise limit (at most {MAX_RESULTS}).")
        if not rows:
            lines.append(f"No available endpoint tool matches. Toolsets: {', '.join(self._toolsets())}.")
        else:
            lines.append("describe_tool(name) shows a tool's arguments; execute_tool(name, arguments) runs it.")
        return Outcome(data, text="\n".join(lines))

    def describe(self, name: Any) -> Outcome:
        entry = self.find(name)
        data = {
            "name": entry.name,
            "title": entry.title,
            "description": entry.description,
            "inputSchema": input_schema(entry),
            "annotations": annotation_hints(entry),
            "toolset": entry.toolset,
            "endpoint": entry.endpoint_id,
            "listed": entry.name in self.listed,
        }
        return Outcome(data)

    def _ranked(self, query: str) -> list[Endpoint | str]:
        wanted = list(dict.fromkeys(w for w in words(query) if w not in STOP_WORDS))
        scored = []
        for name, fields in self._index.items():
            matched = [max((weight for field, weight in WEIGHTS if w in fields[field]), default=0) for w in wanted]
            hits = sum(1 for m in matched if m)
            if hits:
                scored.append((-hits, -sum(matched), name))
        return [self.entries.get(name, name) for _, _, name in sorted(scored)]

    def _view_row(self, name: str) -> dict[str, Any]:
        summary_text = summary(self.searchable[name]) + " (hand-written, listed: call it directly)"
        return {"name": name, "summary": summary_text, "toolset": VIEW_TOOLSET, "transaction": False, "listed": True}

    def _row(self, entry: Endpoint) -> dict[str, Any]:
        return {
            "name": entry.name,
            "summary": summary(entry.description),
            "toolset": entry.toolset,
            "transaction": entry.transaction,
            "listed": entry.name in self.listed,
        }

    def _toolsets(self) -> list[str]:
        present = {entry.toolset for entry in self.entries.values()}
        return [t for t in TOOLSETS if t in present]


def _fields(entry: Endpoint) -> dict[str, set[str]]:
    return _fields_of(entry.name, entry.toolset, entry.title, entry.description)


def _fields_of(name: str, toolset: str, title: str, description: str) -> dict[str, set[str]]:
    return {
        "name": set(words(name.replace("_", " "))),
        "toolset": set(words(toolset.replace("-", " "))),
        "title": set(words(title)),
        "description": set(words(description)),
    }


def summary(description: str) -> str:
    """The first sentence, at most SUMMARY_CHARS characters."""
    first = re.split(r"(?<=[.!?])\s", description, maxsplit=1)[0]
    return first if len(first) <= SUMMARY_CHARS else first[: SUMMARY_CHARS - 3].rstrip() + "..."
