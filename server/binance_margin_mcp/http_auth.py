"""Who may reach `--transport http`: loopback unless --allow-remote, a bearer token, the Host/Origin allow-lists.

Plain Python (no `mcp` import): `HttpPolicy.from_settings` decides everything before the server is built,
`BearerAuth` is the ASGI check of the token, and `http_app.py` hands the Host/Origin lists to the SDK.

* Bind address: 127.0.0.0/8, ::1 or `localhost`; anything else is refused without `--allow-remote`.
* Token: `--http-token-file PATH` (stripped; refused when empty or readable by group/others), else
  `<config dir>/http-token`, generated at first start (`secrets.token_urlsafe(32)`, mode 0600, created
  with O_CREAT|O_EXCL and published with a hard link, so a concurrent start never sees half a file) and
  reused afterwards. Only the file's path is logged, never the token.
* Allowed Host headers: the bind host with and without the port; on a loopback or wildcard bind also
  127.0.0.1:PORT, localhost:PORT and [::1]:PORT; with --allow-remote the `--allowed-host` values (a value
  without a port allows both forms). Allowed Origins: http:// and https:// of each allowed Host; a request
  without Origin (a non-browser client) is fine.

Refusals, in the order http_app.py checks them: foreign Host -> 421, foreign Origin -> 403, missing or
wrong token -> 401 with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import shlex
import stat
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from binance_margin_mcp.settings import Settings, default_config_dir

logger = logging.getLogger("binance_margin_mcp.http")

TOKEN_FILE_NAME = "http-token"
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: it travels in a header
_PORT = re.compile(r"[0-9]{1,5}")
_HOST_NAME = re.compile(r"[A-Za-z0-9._-]+")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpRefused(Exception):
    """The HTTP server must not start; the message is one line for stderr (no secret in it)."""


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (brackets allowed); hostnames are not resolved."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def host_header(host: str, port: int | None = None) -> str:
    """`host` as it appears in a Host header: lower case, IPv6 literals bracketed, `:port` when given."""
    bare = host.strip("[]").lower()
    name = f"[{bare}]" if ":" in bare else bare
    return name if port is None else f"{name}:{port}"


def _allowed_host_values(value: str, port: int) -> list[str]:
    """One --allowed-host value as Host header values: `name` -> name, name:PORT; `name:p`, `[v6]:p` as given."""
    text = value.strip().lower()
    given: str | None
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        given = rest[1:] if rest.startswith(":") else None
        valid = rest == "" or (given is not None and bool(_PORT.fullmatch(given)))
    elif text.count(":") == 1:
        name, _, given = text.partition(":")
        valid = bool(_PORT.fullmatch(given))
    else:
        name, given, valid = text, None, True
    if ":" in name or text.startswith("["):
        valid = valid and _is_ipv6(name)
    else:
        valid = valid and bool(_HOST_NAME.fullmatch(name))
    if not valid:
        raise HttpRefused(
            f"--allowed-host {value!r} is not a host name or address with an optional port "
            "(examples: mybox.lan, mybox.lan:8000, 192.168.1.5, [fd00::5]:8000)"
        )
    if given is not None:
        return [host_header(name, int(given))]
    return [host_header(name), host_header(name, port)]


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def allowed_hosts(host: str, port: int, extra: tuple[str, ...] = ()) -> list[str]:
    """Host header values the server answers to (see the module docstring)."""
    values = [host_header(host), host_header(host, port)]
    if is_loopback(host) or _is_wildcard(host):
        values += [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"]
    for value in extra:
        values += _allowed_host_values(value, port)
    return list(dict.fromkeys(values))


def allowed_origins(hosts: list[str]) -> list[str]:
    """Origin header values accepted from browsers: http(s):// of an allowed Host."""
    return [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]


@dataclass(frozen=True)
class HttpPolicy:
    """Everything the HTTP server enforces, decided before it starts."""

    host: str
    port: int
    token: str = field(repr=False)
    token_path: Path
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str]) -> HttpPolicy:
        """HttpRefused unless the bind address, the --allowed-host values and the token are acceptable."""
        check_bind(settings.host, allow_remote=settings.allow_remote, extra_hosts=settings.allowed_hosts)
        if not 0 < settings.port < 65536:
            raise HttpRefused(f"--port {settings.port} is not a TCP port (1-65535)")
        hosts = allowed_hosts(settings.host, settings.port, settings.allowed_hosts)
        token, path = load_token(settings.http_token_file, environ)
        return cls(settings.host, settings.port, token, path, tuple(hosts), tuple(allowed_origins(hosts)))


def check_bind(host: str, *, allow_remote: bool, extra_hosts: tuple[str, ...] = ()) -> None:
    """HttpRefused for a non-loopback bind address without --allow-remote (or --allowed-host without it)."""
    if not is_loopback(host) and not allow_remote:
        raise HttpRefused(
            f"refusing to serve MCP on {host} without --allow-remote: the server can trade with your "
            "Binance keys; bind 127.0.0.1 (the default), or pass --allow-remote (bearer token still required)"
        )
    if extra_hosts and not allow_remote:
        raise HttpRefused(
            "--allowed-host needs --allow-remote: on loopback the allowed Hosts are the bind address, "
            "127.0.0.1, localhost and [::1]"
        )


def load_token(token_file: str | None, environ: Mapping[str, str]) -> tuple[str, Path]:
    """(token, its file): --http-token-file if given, else the config directory's http-token (made once)."""
    if token_file:
        path = Path(token_file).expanduser()
        try:
            token = _read_token_file(path)
        except FileNotFoundError:
            raise HttpRefused(f"cannot read the HTTP token file {path}: no such file") from None
        logger.info("HTTP bearer token read from %s", path)
        return token, path
    path = default_config_dir(environ) / TOKEN_FILE_NAME
    try:
        token = _read_token_file(path)
    except FileNotFoundError:
        try:
            token = _create_token_file(path)
            logger.warning(
                "HTTP bearer token generated in %s: clients send 'Authorization: Bearer <that file's contents>'",
                path,
            )
            return token, path
        except FileExistsError:  # another start created it first
            token = _read_token_file(path)
    logger.warning("HTTP bearer token: clients send 'Authorization: Bearer <contents of %s>'", path)
    return token, path


def _read_token_file(path: Path) -> str:
    """The stripped token; FileNotFoundError passes through, every other problem is an HttpRefused."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise HttpRefused(f"cannot read the HTTP token file {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise HttpRefused(f"the HTTP token file {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise HttpRefused(
                f"the HTTP token file {path} is readable by other users (mode {info.st_mode & 0o777:o}): "
                f"run `chmod 600 {shlex.quote(str(path))}` and retry"
            )
        raw = handle.read(4096)
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise HttpRefused(f"the HTTP token file {path} is not UTF-8 text") from None
    if not token:
        raise HttpRefused(f"the HTTP token file {path} is empty: put a long random token in it")
    if not _TOKEN.fullmatch(token):
        raise HttpRefused(f"the HTTP token in {path} must be one word of printable ASCII (it is sent in a header)")
    return token


def _create_token_file(path: Path) -> str:
    """Write a new token to `path` (mode 0600, directory 0700); FileExistsError if someone else did first."""
    token = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(temporary, flags, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(token + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)  # appears complete or not at all; never replaces an existing file
        finally:
            temporary.unlink(missing_ok=True)
    except FileExistsError:
        raise
    except OSError as exc:
        raise HttpRefused(
            f"cannot create the HTTP token file {path}: {exc.strerror or exc}; "
            "pass --http-token-file PATH (a file of mode 0600)"
        ) from None
    return token


def _presented_token(scope: Scope) -> bytes | None:
    """The credentials of the request's single `Authorization: Bearer ...` header, else None."""
    values = [value for name, value in scope.get("headers", ()) if name.lower() == b"authorization"]
    if len(values) != 1:
        return None
    scheme, _, credentials = values[0].strip().partition(b" ")
    credentials = credentials.strip()
    if scheme.lower() != b"bearer" or not credentials:
        return None
    return credentials


class BearerAuth:
    """ASGI middleware: every HTTP request needs `Authorization: Bearer <token>`, else 401.

    The token is compared in constant time (SHA-256 of both sides, then hmac.compare_digest, so not
    even its length leaks). The 401 carries `WWW-Authenticate: Bearer` (with error="invalid_token"
    when a wrong token was presented). Lifespan events pass through.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._digest = hashlib.sha256(token.encode("utf-8")).digest()

    def accepts(self, presented: bytes | None) -> bool:
        if presented is None:
            return False
        return hmac.compare_digest(hashlib.sha256(presented).digest(), self._digest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        presented = _presented_token(scope)
        if self.accepts(presented):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        challenge = b'Bearer realm="binance-margin-mcp"'
        if presented is not None:
            challenge += b', error="invalid_token"'
        body = b"Unauthorized: send 'Authorization: Bearer <token from the server's http-token file>'\n"
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"www-authenticate", challenge),
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
