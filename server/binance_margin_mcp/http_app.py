"""The HTTP half of the MCP adapter: the streamable HTTP app behind the Host/Origin and bearer checks.

With adapter.py, this is the only module that imports `mcp` (the rule reads "adapter.py and http_app.py").
The decisions (bind address, token, allowed Hosts and Origins) are made in http_auth.py; this module
applies them with the SDK's own pieces and serves the result with uvicorn (which comes with mcp).

Request order, for every path:
1. Host and Origin, checked by the SDK's TransportSecurityMiddleware with our lists (not only for the
   literal 127.0.0.1/localhost the SDK protects by itself): a foreign Host gets **421** (Misdirected
   Request), a foreign Origin **403**; no Origin header is fine (non-browser clients).
2. The bearer token (http_auth.BearerAuth): missing or wrong -> **401** with `WWW-Authenticate: Bearer`.
3. The SDK's streamable HTTP app at /mcp, given the same TransportSecuritySettings.
"""

from __future__ import annotations

from typing import Any

from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request

from binance_margin_mcp.http_auth import ASGIApp, BearerAuth, HttpPolicy, Receive, Scope, Send

MCP_PATH = "/mcp"


class HostOriginCheck:
    """ASGI middleware: the SDK's Host/Origin validation, applied to every request before anything else."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        self.app = app
        self._check = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await self._check.validate_request(Request(scope, receive), is_post=False)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        elif scope["type"] == "websocket":  # no websocket route exists; refuse before anything reads it
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def security_settings(policy: HttpPolicy) -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(policy.allowed_hosts),
        allowed_origins=list(policy.allowed_origins),
    )


def build_http_app(server: Any, policy: HttpPolicy) -> ASGIApp:
    """`server` (an MCPServer) as an ASGI app at /mcp: Host/Origin check, then bearer check, then MCP."""
    security = security_settings(policy)
    inner = server.streamable_http_app(streamable_http_path=MCP_PATH, transport_security=security, host=policy.host)
    return HostOriginCheck(BearerAuth(inner, policy.token), security)


def run_http(server: Any, policy: HttpPolicy, *, log_level: str = "WARNING") -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM)."""
    import uvicorn

    config = uvicorn.Config(
        build_http_app(server, policy), host=policy.host, port=policy.port, log_level=log_level.lower()
    )
    uvicorn.Server(config).run()
