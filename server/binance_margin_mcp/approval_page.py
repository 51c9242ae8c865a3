"""The local approval page: one page per browser-channel approval, served on 127.0.0.1 for the human only.

The agent never sees the page URL or its form; the page shows the server's own preview and turns a form
POST into `Gate.answer_page` only when the Host, the Origin and the form's anti-forgery value all check out.
Starlette and uvicorn come with `mcp`; this module does not import `mcp` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import logging
import os
import secrets
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from binance_margin_mcp.gate import CONFIRM_WORD, Approval, Channel, Gate, GateRefusal, State

logger = logging.getLogger("binance_margin_mcp.approval_page")

TITLE = "Approve a Binance Margin transaction"
FOOTER = "Only you can approve this: the AI agent cannot use your browser, and only this page's own form approves."
MAX_FORM_BYTES = 8 * 1024  # the form holds three short fields; anything bigger is not our page's
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": with it, browsers send `Origin: null` on the form's own POST (Fetch spec), and the
    # Origin check below could never pass. "same-origin" still sends the URL (its token) to nobody else.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_STATE_LINES = {
    State.PENDING: "Waiting for your decision. Nothing has been sent.",
    State.APPROVED: "Approved. You can close this tab; the agent will send it.",
    State.USED: "Approved and sent. This approval has been used and cannot be used again.",
    State.REJECTED: "Rejected: {reason}. This is final for this request; nothing will be sent.",
    State.EXPIRED: "Expired: {reason}. Nothing was sent; ask the agent for a fresh preview if you still want it.",
}
_CSS = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:46rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #d8dce3;border-radius:8px}
h1{font-size:1.35rem;margin:0 0 1rem}
pre{background:#f1f3f6;border:1px solid #d8dce3;border-radius:6px;padding:1rem;white-space:pre-wrap;
word-break:break-word;font-size:.9rem}
.state{font-weight:600;padding:.6rem .8rem;border-radius:6px;background:#eef2f8}
.state-approved,.state-used{background:#e5f5e9;color:#14532d}
.state-rejected,.state-expired{background:#fdecec;color:#7f1d1d}
.message{padding:.6rem .8rem;border-radius:6px;background:#fff6e0;color:#6b4500}
label{display:block;margin:1rem 0 .3rem}
input[name=confirmation]{font:inherit;padding:.4rem .6rem;width:12rem;letter-spacing:.08em}
.buttons{margin-top:1rem;display:flex;gap:.8rem}
button{font:inherit;padding:.45rem 1.2rem;border-radius:6px;border:1px solid #8a93a3;background:#fff;cursor:pointer}
button[value=approve]{background:#14532d;border-color:#14532d;color:#fff}
footer{margin-top:1.5rem;font-size:.85rem;color:#5a6270}
"""


def _document(body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{TITLE}</title><style>{_CSS}</style></head>\n<body><main>\n<h1>{TITLE}</h1>\n{body}\n"
        f"<footer>{FOOTER}</footer>\n</main></body></html>\n"
    )


def _plain(status: int, line: str) -> HTMLResponse:
    """A page with no detail at all: unknown pages, refused Hosts and Origins."""
    return HTMLResponse(_document(f"<p>{html.escape(line)}</p>"), status_code=status)


def _approval_page(approval: Approval, message: str = "", status: int = 200) -> HTMLResponse:
    state = approval.state
    line = _STATE_LINES[state].format(reason=approval.reason)
    parts = [f'<p class="state state-{state.value}">{html.escape(line)}</p>']
    if message:
        parts.append(f'<p class="message" role="alert">{html.escape(message)}</p>')
    parts.append(f"<pre>{html.escape(approval.text)}</pre>")
    if state is State.PENDING:
        parts.append(
            f'<form method="post" action="/approve/{html.escape(approval.page_token)}">'
            f'<input type="hidden" name="csrf" value="{html.escape(approval.csrf)}">'
            f'<label for="confirmation">Type <strong>{CONFIRM_WORD}</strong> to approve</label>'
            '<input id="confirmation" name="confirmation" autocomplete="off" autocapitalize="characters" '
            'spellcheck="false" autofocus>'
            '<div class="buttons"><button type="submit" name="decision" value="approve">Approve</button>'
            '<button type="submit" name="decision" value="reject">Reject</button></div></form>'
        )
    return HTMLResponse(_document("\n".join(parts)), status_code=status)


class _Guard:
    """ASGI middleware: a wrong Host (DNS rebinding) is refused first; every response gets the security headers."""

    def __init__(self, app: Any, expected_host: Callable[[], str]) -> None:
        self.app = app
        self._expected_host = expected_host

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan is off and no websocket is served
            return
        headers = Headers(scope=scope)

        async def send_secured(message: Any) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        if headers.getlist("host") != [self._expected_host()]:
            await _plain(421, "Misdirected request.")(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


class ApprovalPage:
    """The approval pages of one Gate, served by uvicorn in a background task of the running loop."""

    def __init__(self, gate: Gate, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:  # the page must never be reachable from another machine
            raise ValueError(f"the approval page binds a loopback address only, not {host!r}")
        self._gate = gate
        self._host = host
        self._port = port
        self._bound_port: int | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.app = _Guard(
            Starlette(
                routes=[Route("/approve/{token}", self._handle, methods=["GET", "POST"])],
                exception_handlers={404: self._not_found},
            ),
            lambda: self._netloc,
        )

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._server is not None and self._server.started and self._task is not None and not self._task.done()

    @property
    def origin(self) -> str:
        if self._bound_port is None:
            raise RuntimeError("the approval page is not started")
        return f"http://{self._netloc}"

    def url_for(self, approval: Approval) -> str:
        return f"{self.origin}/approve/{approval.page_token}"

    async def start(self) -> None:
        """Bind and serve; returns once connections are accepted. Calling it again does nothing."""
        async with self._lock:
            if self.started:
                return
            sock = self._bind()
            config = uvicorn.Config(
                self.app,
                log_config=None,  # never touch logging config; uvicorn's loggers propagate to stderr handlers
                log_level="warning",
                access_log=False,  # stdout is the MCP stdio channel: uvicorn must print nothing
                lifespan="off",
                ws="none",
                proxy_headers=False,  # no proxy sits in front of a loopback page; X-Forwarded-* mean nothing
                server_header=False,
                timeout_graceful_shutdown=2,
            )
            server = _EmbeddedServer(config)
            task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="approval-page")
            self._server, self._task, self._bound_port = server, task, sock.getsockname()[1]
            while not server.started:
                if task.done():  # startup failed: surface its error instead of waiting forever
                    self._server = self._task = self._bound_port = None
                    sock.close()
                    task.result()
                    raise RuntimeError("the approval page stopped while starting")
                await asyncio.sleep(0.005)
            logger.info("approval page listening on %s", self.origin)

    async def stop(self) -> None:
        async with self._lock:
            server, task = self._server, self._task
            self._server = self._task = self._bound_port = None
            if server is None or task is None:
                return
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.bind((self._host, self._port))
            sock.listen(16)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    @property
    def _netloc(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._bound_port}"

    # -- requests ---------------------------------------------------------------------------

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return _plain(404, "Not found.")

    async def _handle(self, request: Request) -> Response:
        token = request.path_params["token"]
        approval = self._gate.page_view(token)
        if approval is None or approval.channel is not Channel.BROWSER:
            return _plain(404, "Not found.")
        if request.method == "GET":  # a GET only shows: it never decides anything
            return _approval_page(approval)
        return await self._post(request, token)

    async def _post(self, request: Request, token: str) -> Response:
        # The browser names the page that sent the form; only this page's own origin may decide.
        if request.headers.getlist("origin") != [self.origin]:
            return _plain(403, "Refused: this form must be sent from the approval page itself. Nothing was decided.")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return _plain(415, "Refused: not this page's form. Nothing was decided.")
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > MAX_FORM_BYTES:
            return _plain(413, "Refused: not this page's form. Nothing was decided.")
        form = await request.form()
        field = {name: str(form.get(name, "")) for name in ("csrf", "decision", "confirmation")}
        approval = self._gate.page_view(token)  # again: the state may have moved while the body was read
        if approval is None:
            return _plain(404, "Not found.")
        if approval.state is not State.PENDING:
            # A replay, a second tab or a late click: the decision stands and is shown as it is.
            return _approval_page(approval, "This approval was already decided; nothing changed.", 409)
        if not secrets.compare_digest(field["csrf"].encode(), approval.csrf.encode()):  # the gate checks it too
            return _plain(403, "Refused: the form's anti-forgery value is wrong. Nothing was decided.")
        try:
            decided = self._gate.answer_page(token, field["csrf"], field["decision"], field["confirmation"])
        except GateRefusal as refusal:  # a typo or an unknown decision: ask again, still pending
            return _approval_page(approval, str(refusal), 400)
        logger.info("approval %s %s on the approval page", decided.id, decided.state.value)
        return _approval_page(decided)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside another program: the MCP server owns SIGINT/SIGTERM, so the page must not capture them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def open_in_browser(
    url: str,
    *,
    opener: Callable[[str], bool] = webbrowser.open,
    environ: Mapping[str, str] = os.environ,
) -> None:
    """Open `url` in the human's browser from a thread: never blocks the loop, never raises."""
    if sys.platform not in ("darwin", "win32") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        # Without a display, webbrowser falls back to console browsers (lynx, w3m) that would take over
        # this process's stdin/stdout, which are the MCP stdio channel.
        logger.info("no graphical display: not opening a browser for the approval page")
        return

    def run() -> None:
        try:
            if not opener(url):
                logger.info("no browser could be opened for the approval page")
        except Exception as exc:  # a missing or broken browser must never break the tool call
            logger.info("opening a browser for the approval page failed: %s", type(exc).__name__)

    try:
        threading.Thread(target=run, name="approval-page-browser", daemon=True).start()
    except Exception as exc:
        logger.info("could not start the browser thread: %s", type(exc).__name__)
