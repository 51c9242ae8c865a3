"""Listen keys (risk data stream, v1 and v2) and margin special (low-latency) API keys.

(The keys the HTTP front end authenticates with live in `keys.py`; this module is the exchange's
side: the special keys an account creates through the API.)

A listen key lives 60 minutes from its creation or last keepalive; asking for one while a key is
active returns that key, extended. A special key created without publicKey is HMAC (a secret is
generated and returned once); with an RSA or Ed25519 public key no secret exists. Every new key is
reported through `on_new_key` after the call has been committed.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from .context import Context
from .errors import SimError
from .state import UserState
from .util import DAY_MS, HOUR_MS, Params, bad_param, invalid, mandatory

Handler = Callable[[Context, UserState, Params], dict]
LISTEN_KEY_TTL = HOUR_MS
_ALPHABET = string.ascii_letters + string.digits
NOT_FOUND = "Not found, authenticated, or authorized"


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def no_listen_key() -> SimError:
    return SimError(-1125, "This listenKey does not exist.")


def expire_listen_keys(ctx: Context, us: UserState, now: int) -> None:
    for version, entry in list(us.listen_keys.items()):
        if entry["expires"] <= now:
            del us.listen_keys[version]
            ctx.touch(us)


def _start(version: str) -> Handler:
    def start(ctx: Context, us: UserState, p: Params) -> dict:
        entry = us.listen_keys.get(version)
        if entry is None:
            entry = us.listen_keys[version] = {"key": _random(60)}
        entry["expires"] = ctx.now() + LISTEN_KEY_TTL
        return {"listenKey": entry["key"]}

    return start


def _keepalive(version: str) -> Handler:
    def keepalive(ctx: Context, us: UserState, p: Params) -> dict:
        entry = us.listen_keys.get(version)
        if entry is None or entry["key"] != p.required("listenKey"):
            raise no_listen_key()
        entry["expires"] = ctx.now() + LISTEN_KEY_TTL
        return {}

    return keepalive


def _close(version: str) -> Handler:
    def close(ctx: Context, us: UserState, p: Params) -> dict:
        entry = us.listen_keys.get(version)
        given = p.str("listenKey")
        if entry is None or given not in (None, entry["key"]):
            raise no_listen_key()
        del us.listen_keys[version]
        return {}

    return close


def key_type(public_key: str) -> str:
    """RSA or Ed25519, from a PEM (SPKI) text or its bare base64 body."""
    text = public_key.strip()
    if "-----BEGIN" in text:
        lines = [line for line in text.splitlines() if line.strip() and "-----" not in line]
        text = "".join(lines)
    try:
        key = load_der_public_key(base64.b64decode(text.replace(" ", "+"), validate=True))
    except ValueError:
        raise invalid("publicKey") from None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    raise invalid("publicKey")


def _scope(ctx: Context, p: Params) -> str | None:
    symbol = p.str("symbol")
    if symbol is not None:
        ctx.market.spec(symbol)
    return symbol


def create_special_key(ctx: Context, us: UserState, p: Params) -> dict:
    name, symbol, public = p.required("apiName"), _scope(ctx, p), p.str("publicKey")
    if ctx.now() < us.special_cooldown_until:
        raise bad_param()
    ip = p.str("ip") or "0.0.0.0"
    if len(ip.split(",")) > 30:
        raise invalid("ip")
    api_key = _random(64)
    if public is None:
        kind, shown, secret = "HMAC", "HMAC_SHA256", _random(64)
        material = secret
    else:
        kind = shown = key_type(public)
        secret, material = None, public
    mode = (p.str("permissionMode") or "TRADE") if kind == "Ed25519" else "TRADE"
    entry = {"apiName": name, "apiKey": api_key, "ip": ip, "type": shown, "permissionMode": mode, "symbol": symbol}
    entry.update({"kind": kind, "material": material})  # kept so a restarted server can re-register the key
    us.special_keys.append(entry)
    us.special_mode = True
    callback, user = ctx.on_new_key, us.name
    if callback is not None:
        ctx.hooks.append(lambda: callback(user, api_key, kind, material))
    return {"apiKey": api_key, "secretKey": secret, "type": shown}


def stored_keys(us: UserState) -> list[tuple[str, str, str, str]]:
    """(user, apiKey, kind, material) of every special key, for re-registering after a restart."""
    return [(us.name, k["apiKey"], k["kind"], k["material"]) for k in us.special_keys]


def _public(entry: dict) -> dict:
    return {k: entry[k] for k in ("apiName", "apiKey", "ip", "type", "permissionMode")}


def _in_scope(us: UserState, symbol: str | None, api_key: str | None) -> list[dict]:
    return [k for k in us.special_keys if k["symbol"] == symbol and (api_key is None or k["apiKey"] == api_key)]


def get_special_key(ctx: Context, us: UserState, p: Params) -> dict:
    found = _in_scope(us, _scope(ctx, p), p.str("apiKey"))
    if not found:
        raise SimError(-1099, NOT_FOUND)
    entry = _public(found[-1])
    return {k: entry[k] for k in ("apiKey", "ip", "apiName", "type", "permissionMode")}


def list_special_keys(ctx: Context, us: UserState, p: Params) -> list:
    return [_public(k) for k in _in_scope(us, _scope(ctx, p), None)]


def delete_special_key(ctx: Context, us: UserState, p: Params) -> dict:
    symbol, api_key, name = _scope(ctx, p), p.str("apiKey"), p.str("apiName")
    if api_key is None and name is None:
        raise mandatory("apiName")
    doomed = [k for k in _in_scope(us, symbol, api_key) if api_key is not None or k["apiName"] == name]
    us.special_keys = [k for k in us.special_keys if k not in doomed]
    return {}


def update_special_key_ip(ctx: Context, us: UserState, p: Params) -> dict:
    ip = p.required("ip")
    if len(ip.split(",")) > 30:
        raise invalid("ip")
    found = _in_scope(us, _scope(ctx, p), p.str("apiKey"))
    if not found:
        raise SimError(-1099, NOT_FOUND)
    for entry in found:
        entry["ip"] = ip
    return {}


def exit_special_key_mode(ctx: Context, us: UserState, p: Params) -> dict:
    """Leave special key mode: needs no cross debt; deletes the cross special keys; 24 h cooldown."""
    if not us.special_mode:
        return {}
    if any(b.liability > 0 for b in us.cross.values()):
        raise bad_param()
    us.special_keys = [k for k in us.special_keys if k["symbol"] is not None]
    us.special_mode = False
    us.special_cooldown_until = ctx.now() + DAY_MS
    return {}


HANDLERS = {
    "start_margin_user_data_stream": _start("v1"),
    "keepalive_margin_user_data_stream": _keepalive("v1"),
    "close_margin_user_data_stream": _close("v1"),
    "start_margin_user_data_stream_v2": _start("v2"),
    "keepalive_margin_user_data_stream_v2": _keepalive("v2"),
    "close_margin_user_data_stream_v2": _close("v2"),
    "create_margin_special_key": create_special_key,
    "get_margin_special_key": get_special_key,
    "list_margin_special_keys": list_special_keys,
    "delete_margin_special_key": delete_special_key,
    "update_margin_special_key_ip": update_special_key_ip,
    "exit_margin_special_key_mode": exit_special_key_mode,
}
