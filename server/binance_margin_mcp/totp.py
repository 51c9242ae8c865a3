"""TOTP confirmation (RFC 6238: SHA1, 6 digits, 30 s): check a relayed code, enrol an account from a terminal.

The secret lives in its own 0600 file named by TOOLS.md; no result, message or log line carries it or a code.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import logging
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from binance_margin_mcp import tools_md_writer
from binance_margin_mcp.errors import AccountError
from binance_margin_mcp.private_file import Refused, read_private
from binance_margin_mcp.settings import default_config_dir, resolve_tools_md
from binance_margin_mcp.tools_md_parser import ACCOUNT_NAME, ACCOUNT_NAME_RULE, has_control_chars, parse_accounts

ISSUER = "Binance Margin MCP"
DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1  # the previous and the next step are accepted too: clocks drift, humans type slowly
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length
_MAX_SECRET_FILE = 4096
_CODE = re.compile(r"[0-9]{6}")  # ASCII digits only (str.isdigit would accept other scripts' digits)

logger = logging.getLogger("binance_margin_mcp.totp")


def _totp(key: bytes) -> TOTP:
    return TOTP(key, DIGITS, SHA1(), STEP_SECONDS)


def check_code(secret_file: Path, code: str, now: float) -> int | None:
    """The time step `code` belongs to (current ±1), else None: the gate refuses a step used before.

    None also when the secret file is unsafe or unreadable. Every candidate step is compared (in constant
    time); when a code matches two steps the latest is returned, so a replay can never match a fresh step.
    """
    if not _CODE.fullmatch(code):
        return None
    key = read_secret(secret_file)
    if key is None:
        return None
    totp, matched = _totp(key), None
    current = int(now) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        try:
            totp.verify(code.encode("ascii"), step * STEP_SECONDS)
            matched = step
        except InvalidToken:
            pass
    return matched


def read_secret(path: Path) -> bytes | None:
    """The decoded secret of a regular file owned by this user and closed to group and others, else None.

    private_file refuses symlinks, FIFOs (without blocking), devices, other users' and open files.
    """
    try:
        data = read_private(path, _MAX_SECRET_FILE + 1)
    except Refused as refused:
        logger.warning("TOTP secret file refused (%s): %s", refused, path)
        return None
    return _decode(data)


def _decode(data: bytes) -> bytes | None:
    """Base32, case-insensitive, whitespace and '=' padding ignored; a key under 128 bits is refused."""
    text = b"".join(data.split()).rstrip(b"=").upper()
    try:
        key = base64.b32decode(text + b"=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        key = b""
    if len(data) > _MAX_SECRET_FILE or len(key) < 16:  # cryptography refuses keys under 128 bits
        logger.warning("TOTP secret file does not hold a base32 secret of at least 128 bits")
        return None
    return key


# --- enrolment (a human's terminal, never an MCP tool) ---------------------------------------------


def default_secret_file(account: str, environ: Mapping[str, str]) -> Path:
    return default_config_dir(environ) / "totp" / f"{account}.secret"


def enrol(tools_md: Path, account: str, secret_file: Path | None, environ: Mapping[str, str]) -> str:
    """New secret for `account`: its 0600 file, the two TOOLS.md lines, and the otpauth URI to scan.

    Everything else in TOOLS.md keeps its bytes. Raises AccountError (nothing written) for an unknown or
    broken account or an unusable path.
    """
    if not ACCOUNT_NAME.fullmatch(account):
        raise AccountError(f"Account name must be {ACCOUNT_NAME_RULE}")
    try:
        path = Path(os.path.abspath((secret_file or default_secret_file(account, environ)).expanduser()))
    except RuntimeError:  # "~user" that does not exist, or no home directory
        raise AccountError("the secret file path starts with '~' but that home directory is unknown") from None
    if str(path) != str(path).strip() or has_control_chars(str(path)):
        raise AccountError("the secret file path must not contain control characters or edge spaces")
    if os.path.realpath(path) == os.path.realpath(tools_md):
        raise AccountError("the secret file must not be TOOLS.md itself")
    if not tools_md.is_file():  # checked before locking: the lock would create its directory
        raise AccountError(f"{tools_md} does not exist: add the account first")
    key = secrets.token_bytes(SECRET_BYTES)
    with tools_md_writer.locked(tools_md):
        text = _read(tools_md)
        fields = {"Confirm With": "TOTP", "TOTP Secret File": str(path)}
        new_text = tools_md_writer.set_fields(text, account, fields)
        _check_loads(text, new_text, account, tools_md)
        _write_secret(path, base64.b32encode(key) + b"\n")
        tools_md_writer.write(tools_md, new_text)
    logger.info("enrolled account '%s' for TOTP confirmation", account)
    return _totp(key).get_provisioning_uri(account, ISSUER)


def _read(tools_md: Path) -> str:
    try:
        return tools_md.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise AccountError(f"{tools_md} does not exist: add the account first") from None
    except UnicodeDecodeError:
        raise AccountError(f"{tools_md} is not UTF-8 text") from None
    except OSError as exc:
        raise AccountError(f"Cannot read {tools_md}: {exc.strerror or exc}") from None


def _check_loads(text: str, new_text: str, account: str, tools_md: Path) -> None:
    """Defense in depth: never write a TOOLS.md where the account does not load with TOTP, or another is lost."""
    base_dir = Path(os.path.abspath(tools_md)).parent
    before, after = parse_accounts(text, base_dir), parse_accounts(new_text, base_dir)
    loaded = after.accounts.get(account)
    if loaded is None or loaded.confirm_with != "TOTP" or not before.accounts.keys() <= after.accounts.keys():
        found = [p.message for p in after.problems if p.name == account]
        raise AccountError("; ".join(found) or f"Account '{account}' would not load with TOTP; nothing written")


def _write_secret(path: Path, data: bytes) -> None:
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o700, parents=True)
            os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
        tools_md_writer.write_private(path, data)
    except OSError as exc:
        raise AccountError(f"Could not write {path}: {exc.strerror or exc}") from None


def _enrol_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="binance-margin-mcp totp-enroll",
        description="Give ACCOUNT a new TOTP secret: mainnet transactions on it are then confirmed by the "
        "human typing 'CONFIRM <6-digit code>' from an authenticator app.",
    )
    parser.add_argument("account", metavar="ACCOUNT", help="the TOOLS.md account (### heading) to enrol")
    parser.add_argument(
        "--tools-md", help="TOOLS.md path (else $BINANCE_MARGIN_TOOLS_MD, else ~/.config/binance-margin-mcp/TOOLS.md)"
    )
    parser.add_argument("--secret-file", help="where to keep the secret (default <config dir>/totp/ACCOUNT.secret)")
    return parser


def enrol_command(argv: Sequence[str]) -> int:
    """`binance-margin-mcp totp-enroll`: print the otpauth URI; on error one line on stderr and exit status 2."""
    args = _enrol_parser().parse_args(argv)
    tools_md = resolve_tools_md(args.tools_md, os.environ)
    try:
        uri = enrol(tools_md, args.account, Path(args.secret_file) if args.secret_file else None, os.environ)
    except AccountError as exc:
        print(f"binance-margin-mcp totp-enroll: error: {exc.message}", file=sys.stderr)
        return 2
    print(uri)
    print(
        f"\nAdd this URI to your authenticator app (paste it, or show it as a QR code with e.g. `qrencode -t "
        f"ansiutf8 'URI'`). It contains the secret: never paste it into the chat. From now on, to approve a "
        f"mainnet transaction on '{args.account}', check the preview and type CONFIRM followed by the current "
        "6-digit code, e.g. CONFIRM 123456."
    )
    return 0
