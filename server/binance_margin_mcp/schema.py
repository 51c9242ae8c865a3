"""Every tool's JSON Schema, as advertised in `tools/list`, built from plain data without pydantic.

The schema tells the model the rules; `params.py` enforces them for endpoints and `read_args` for the
hand-written tools (with messages naming the parameter), so the SDK hands over the raw values untouched: a
decimal never becomes a float. Schemas stay compact: every byte of `tools/list` is context the model pays
for on every turn. A description appears only where the name, type and enum do not say enough, and what
every endpoint shares (the `account` parameter) is explained once, in the server instructions.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from binance_margin_mcp.catalog.model import ClientIdRole, Endpoint, Param
from binance_margin_mcp.errors import InvalidArguments
from binance_margin_mcp.params import CLIENT_ID_MAX, SERVER_SET

DECIMAL_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,20})?$"
# A decimal string (preferred) or a JSON number; `pattern` constrains only the string. Zero and negative amounts
# are refused by params.py with a message naming the parameter.
DECIMAL_SCHEMA: dict[str, Any] = {"type": ["string", "number"], "pattern": DECIMAL_PATTERN}
ACCOUNT_SCHEMA: dict[str, Any] = {"type": "string"}  # a TOOLS.md account name; see the server instructions
DRY_RUN_SCHEMA: dict[str, Any] = {"type": "boolean"}  # transactions only: preview, send nothing (server instructions)
_CLIENT_ID_PATTERN = r"^[.A-Za-z0-9:/_-]+$"


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON Schema of one endpoint parameter; its description only when it says more than the name."""
    schema: dict[str, Any]
    if param.type == "decimal":
        schema = dict(DECIMAL_SCHEMA)
    elif param.type == "integer":
        schema = {"type": "integer", "minimum": 0}
    elif param.type == "boolean":
        schema = {"type": "boolean"}
    elif param.type == "enum":
        schema = {"type": "string", "enum": list(param.enum)}
    elif param.client_id is ClientIdRole.NEW:
        schema = {"type": "string", "maxLength": CLIENT_ID_MAX, "pattern": _CLIENT_ID_PATTERN}
    else:
        schema = {"type": "string"}
    if not param.self_evident:
        schema["description"] = param.description
    return schema


def input_schema(entry: Endpoint) -> dict[str, Any]:
    """An endpoint tool's inputSchema: its caller-set parameters in catalog order, then `account` (and `dryRun`
    for a transaction)."""
    shown = [p for p in entry.params if p.name not in SERVER_SET]
    properties = {p.name: param_schema(p) for p in shown}
    properties["account"] = ACCOUNT_SCHEMA
    if entry.transaction:
        properties["dryRun"] = DRY_RUN_SCHEMA
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [p.name for p in shown if p.required]
    if required:
        schema["required"] = required
    return schema


# MCP's assumptions about a tool whose annotations say nothing: it writes, destructively, not idempotently, and
# reaches the outside world. Only hints that differ from these are sent.
DEFAULT_HINTS: dict[str, bool] = {
    "readOnlyHint": False,
    "destructiveHint": True,
    "idempotentHint": False,
    "openWorldHint": True,
}


def compact_hints(**hints: bool) -> dict[str, bool]:
    """The hints (wire names) that differ from MCP's defaults. A read-only tool sends no destructiveHint or
    idempotentHint: MCP reads them only when readOnlyHint is false."""
    if hints.get("readOnlyHint"):
        hints = {name: value for name, value in hints.items() if name in ("readOnlyHint", "openWorldHint")}
    return {name: value for name, value in hints.items() if DEFAULT_HINTS[name] != value}


def annotation_hints(entry: Endpoint) -> dict[str, bool]:
    """An endpoint's hints, derived from its method and risk."""
    return compact_hints(
        readOnlyHint=entry.read_only,
        destructiveHint=entry.destructive_hint,
        idempotentHint=entry.idempotent,
        openWorldHint=True,
    )


# -- the hand-written tools' arguments ------------------------------------------------------------

ArgType = Literal["string", "integer", "decimal", "object"]


@dataclass(frozen=True)
class Arg:
    """One argument of a hand-written tool: its schema and the rule `read_args` enforces."""

    name: str
    type: ArgType = "string"
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = dict(DECIMAL_SCHEMA) if self.type == "decimal" else {"type": self.type}
        if self.enum:
            schema["enum"] = list(self.enum)
        for key in ("minimum", "maximum", "default"):
            if getattr(self, key) is not None:
                schema[key] = getattr(self, key)
        if self.description:
            schema["description"] = self.description
        return schema


def local_schema(args: tuple[Arg, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {a.name: a.schema() for a in args}}
    required = [a.name for a in args if a.required]
    if required:
        schema["required"] = required
    return schema


def read_args(tool: str, args: tuple[Arg, ...], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as the handler takes them, or InvalidArguments naming the argument (unknown ones too)."""
    known = {a.name for a in args}
    for name in raw:
        if name not in known:
            close = difflib.get_close_matches(str(name), sorted(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            taken = ", ".join(sorted(known)) or "no arguments"
            raise InvalidArguments(
                f"{tool} does not take an argument named {str(name)[:64]!r}.{hint} It takes: {taken}."
            )
    values: dict[str, Any] = {}
    for arg in args:
        value = raw.get(arg.name)
        if value is None:
            if arg.required:
                raise InvalidArguments(f"{arg.name} is required by {tool}.", arg.name)
            values[arg.name] = arg.default
            continue
        values[arg.name] = _checked(arg, value)
    return values


def _checked(arg: Arg, value: Any) -> Any:
    name = arg.name
    if arg.type == "string":
        if not isinstance(value, str):
            raise InvalidArguments(f"{name} must be a string.", name)
        if arg.enum and value not in arg.enum:
            raise InvalidArguments(f"{name} must be one of {', '.join(arg.enum)}.", name)
        return value
    if arg.type == "integer":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArguments(f"{name} must be a whole number.", name)
        if (arg.minimum is not None and value < arg.minimum) or (arg.maximum is not None and value > arg.maximum):
            raise InvalidArguments(f"{name} must be between {arg.minimum} and {arg.maximum}.", name)
        return value
    if arg.type == "decimal":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidArguments(f'{name} must be a decimal string like "0.001".', name)
        return value
    if isinstance(value, str):  # some clients send an object as JSON text
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if not isinstance(value, dict):
        raise InvalidArguments(f"{name} must be a JSON object.", name)
    return value
