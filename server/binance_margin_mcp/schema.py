"""JSON Schema for each catalog parameter, as advertised in `tools/list`.

The schema tells the model the rules; `params.py` enforces them (with messages naming the
parameter), so the SDK is handed the raw values untouched: a decimal never becomes a float.
"""

from __future__ import annotations

from typing import Any

from binance_margin_mcp.catalog.model import ClientIdRole, Param
from binance_margin_mcp.params import CLIENT_ID_MAX, RECV_WINDOW_MAX

DECIMAL_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,20})?$"


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON Schema of one parameter (description included)."""
    schema: dict[str, Any]
    if param.type == "decimal":
        schema = {
            "anyOf": [
                {"type": "string", "pattern": DECIMAL_PATTERN},
                {"type": "number", "exclusiveMinimum": 0},
            ]
        }
    elif param.type == "integer":
        schema = {"type": "integer", "minimum": 0}
        if param.name == "recvWindow":
            schema = {"type": "integer", "minimum": 1, "maximum": RECV_WINDOW_MAX}
    elif param.type == "boolean":
        schema = {"type": "boolean"}
    elif param.type == "enum":
        schema = {"type": "string", "enum": list(param.enum)}
    elif param.client_id is ClientIdRole.NEW:
        schema = {"type": "string", "maxLength": CLIENT_ID_MAX, "pattern": r"^[.A-Za-z0-9:/_-]+$"}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": 512}
    return {**schema, "description": param.description}


ACCOUNT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "description": "TOOLS.md account name. Default: 'main' (or the only account). If several accounts exist and "
    "none is 'main', ask the user which one to use.",
}
