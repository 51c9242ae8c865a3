"""Keep tool results readable: an answer whose text would pass 60,000 characters is cut to valid JSON.

The largest list in the data (at the top level, or one level down) keeps as many leading rows as fit, and a
`truncated` note says how many were left out and which of the tool's own parameters narrow the query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

MAX_TEXT = 60_000
NOTE_KEY = "truncated"
# Parameters that narrow an answer, in the order they are suggested (startTime/endTime go together).
NARROWING = ("limit", "size", "startTime", "endTime", "fromId", "symbol", "symbols", "asset", "isolatedSymbol")


def render(data: Any) -> str:
    """The JSON text of a result, as the adapter sends it (exact decimals become strings)."""
    return json.dumps(data, ensure_ascii=False, default=str)


def narrowing_hints(optional_params: Sequence[str]) -> list[str]:
    """The tool's own parameters that narrow its answer, e.g. ["limit", "startTime/endTime", "symbol"]."""
    names = [name for name in NARROWING if name in optional_params]
    if "startTime" in names and "endTime" in names:
        names[names.index("startTime")] = "startTime/endTime"
        names.remove("endTime")
    return names


def fit(data: dict[str, Any], text: str, hints: Sequence[str] = ()) -> tuple[dict[str, Any], str] | None:
    """(data, text) cut to at most MAX_TEXT characters, or None when the text fits or no list can be cut."""
    if len(text) <= MAX_TEXT:
        return None
    found = _largest_list(data)
    if found is None:
        return None
    path, rows = found
    sizes = [len(render(row)) + 2 for row in rows]  # each row plus its ", " separator
    keep = _rows_that_fit(data, path, rows, sizes, len(text), hints)
    while True:
        trimmed = _with_rows(data, path, rows[:keep], _note(path, keep, len(rows), len(text), hints))
        body = render(trimmed)
        if len(body) <= MAX_TEXT or keep == 0:
            return trimmed, body
        keep -= 1


def _largest_list(data: dict[str, Any]) -> tuple[tuple[str, ...], list[Any]] | None:
    candidates: list[tuple[tuple[str, ...], list[Any]]] = []
    for key, value in data.items():
        if isinstance(value, list):
            candidates.append(((key,), value))
        elif isinstance(value, dict):
            candidates += [((key, inner), v) for inner, v in value.items() if isinstance(v, list)]
    if not candidates:
        return None
    return max(candidates, key=lambda c: len(render(c[1])))


def _rows_that_fit(
    data: dict[str, Any], path: tuple[str, ...], rows: list[Any], sizes: list[int], full: int, hints: Sequence[str]
) -> int:
    """How many leading rows fit, estimated from the row sizes (the caller verifies by rendering)."""
    base = len(render(_with_rows(data, path, [], _note(path, len(rows), len(rows), full, hints))))
    budget, keep = MAX_TEXT - base, 0
    for size in sizes:
        if budget - size < 0:
            break
        budget -= size
        keep += 1
    return keep


def _with_rows(data: dict[str, Any], path: tuple[str, ...], rows: list[Any], note: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if len(path) == 1:
        out[path[0]] = rows
    else:
        out[path[0]] = {**data[path[0]], path[1]: rows}
    out[NOTE_KEY] = note
    return out


def _note(path: tuple[str, ...], shown: int, total: int, full: int, hints: Sequence[str]) -> dict[str, Any]:
    where = ".".join(path)
    narrow = f"narrow the query with {', '.join(hints)}" if hints else "narrow the query"
    message = (
        f"Shown {shown:,} of {total:,} rows of {where}: the full answer ({full:,} characters) is longer than "
        f"{MAX_TEXT:,}. To see the rest, {narrow}."
    )
    return {"field": where, "shown": shown, "total": total, "note": message}
