"""Parse the `## Binance Accounts` section of TOOLS.md: a broken account becomes problems, the rest still load."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, cast

from binance_margin_mcp.account import (
    CONFIRM_WITH,
    ENVIRONMENTS,
    SIGNING_MODES,
    Account,
    AccountProblem,
    LoadResult,
    Secret,
)
from binance_margin_mcp.base_urls import DEFAULT_BASE_URLS, validate_base_url
from binance_margin_mcp.errors import AccountError
from binance_margin_mcp.params import RECV_WINDOW_MAX

if TYPE_CHECKING:
    from binance_margin_mcp.account import Environment, SigningMode

LIMIT_FIELDS: tuple[str, ...] = ("Max Order Notional", "Max Borrow", "Allowed Symbols", "Trading")
FIELDS: tuple[str, ...] = ("API Key", "Secret", "Private Key File", "Private Key Passphrase Env", "Signing")
# Only the human sets these two (`binance-margin-mcp totp-enroll` or an editor); add_account cannot write them.
TOTP_FIELDS: tuple[str, ...] = ("Confirm With", "TOTP Secret File")
FIELDS += ("Environment", "Base URL", "Recv Window", "Description", *LIMIT_FIELDS, *TOTP_FIELDS)

ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
ACCOUNT_NAME_RULE = "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
TOKEN = re.compile(r"[\x21-\x7e]+")  # keys travel in an HTTP header: one word of printable ASCII
ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMATS = {
    "API Key": (TOKEN, "one word of printable ASCII"),
    "Secret": (TOKEN, "one word of printable ASCII"),
    "Private Key Passphrase Env": (ENV_VAR, "an environment variable NAME, not the passphrase"),
}
_RECV_WINDOW = re.compile(r"([0-9]{1,5})(?:[ \t]*ms)?", re.IGNORECASE)
_FIELD_LINE = re.compile(r"[ \t]*-[ \t]+([^:]+?)[ \t]*:[ \t]*(.*?)[ \t]*")
_HEADING = re.compile(r"(#{1,6})(?:[ \t]+(.*?))?[ \t]*")


# --- Markdown structure ----------------------------------------------------------------------------


class Line(NamedTuple):
    kind: str  # "heading" | "blank" | "comment" | "text"
    level: int  # heading level, else 0
    text: str  # the line without its ending; for a heading, the heading text


class Block(NamedTuple):
    name: str
    start: int  # index of the "### name" line
    end: int  # index after its last line


class Doc(NamedTuple):
    raw: list[str]  # lines with their endings: "".join(raw) == text
    lines: list[Line]
    sections: list[tuple[int, int]]  # every "## Binance Accounts": (heading index, end index)
    blocks: list[Block]  # accounts of the first section


def parse_document(text: str) -> Doc:
    """The text as classified lines, its `## Binance Accounts` sections and the accounts of the first one."""
    parts = text.split("\n")  # "\n" only, so line numbers match what editors show
    raw = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    lines = _classify(raw)
    tops = [i for i, ln in enumerate(lines) if ln.kind == "heading" and ln.level <= 2]
    bounds = zip(tops, [*tops[1:], len(lines)], strict=False)
    sections = [(s, e) for s, e in bounds if _is_accounts_heading(lines[s])]
    if not sections:
        return Doc(raw, lines, sections, [])
    start, end = sections[0]
    heads = [i for i in range(start + 1, end) if lines[i].kind == "heading" and lines[i].level == 3]
    ends = [*heads[1:], end]
    return Doc(raw, lines, sections, [Block(lines[h].text, h, e) for h, e in zip(heads, ends, strict=False)])


def _is_accounts_heading(line: Line) -> bool:
    return line.level == 2 and line.text.rstrip("#").strip().casefold() == "binance accounts"


def _classify(raw: list[str]) -> list[Line]:
    """Tag each line; a heading inside an HTML comment or a code fence is not a heading."""
    out: list[Line] = []
    in_comment = in_fence = False
    for index, line in enumerate(raw):
        text = line.rstrip("\r\n").lstrip("\ufeff" if index == 0 else "")
        stripped, heading = text.strip(), _HEADING.fullmatch(text)
        fence = stripped.startswith(("```", "~~~"))
        if in_comment or (not in_fence and stripped.startswith("<!--")):
            in_comment = "-->" not in (stripped if in_comment else stripped[4:])
            out.append(Line("comment", 0, text))
        elif in_fence or fence:
            in_fence = in_fence != fence
            out.append(Line("text", 0, text))
        elif heading is not None:
            out.append(Line("heading", len(heading[1]), (heading[2] or "").strip()))
        else:
            out.append(Line("text" if stripped else "blank", 0, text))
    return out


# --- Parser ----------------------------------------------------------------------------------------


def _problem(index: int, name: str | None, message: str) -> AccountProblem:
    return AccountProblem(index + 1, name, f"TOOLS.md line {index + 1}: {message}")


def has_control_chars(value: str) -> bool:
    """Control characters or line/paragraph separators: anything that would break a one-line field."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value)


def canonical(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return {a.casefold(): a for a in allowed}.get(value.strip().casefold()) if value is not None else None


def field_name(line: Line) -> str | None:
    """The canonical field name of a '- Field: value' line, else None."""
    match = _FIELD_LINE.fullmatch(line.text) if line.kind == "text" else None
    return canonical(" ".join(match[1].split()), FIELDS) if match else None


def parse_accounts(text: str, base_dir: Path) -> LoadResult:
    """Parse TOOLS.md text: a broken account becomes problems and is skipped, the others still load."""
    doc = parse_document(text)
    problems = [_problem(s, None, "a second '## Binance Accounts' section is ignored") for s, _ in doc.sections[1:]]
    if doc.sections:
        start, end = doc.sections[0]
        for i in range(start + 1, doc.blocks[0].start if doc.blocks else end):
            if doc.lines[i].kind == "text" and _FIELD_LINE.fullmatch(doc.lines[i].text):
                problems.append(_problem(i, None, "field line outside any '### <name>' account"))
    accounts: dict[str, Account] = {}
    seen: dict[str, int] = {}
    for block in doc.blocks:
        if not ACCOUNT_NAME.fullmatch(block.name):
            problems.append(_problem(block.start, None, f"account name must be {ACCOUNT_NAME_RULE}"))
        elif block.name in seen:
            message = f"account '{block.name}' is already defined at line {seen[block.name]}; ignored"
            problems.append(_problem(block.start, block.name, message))
        else:
            seen[block.name] = block.start + 1
            found: list[AccountProblem] = []
            account = _parse_block(doc.lines, block, base_dir, found)
            problems += found
            if account is not None:
                accounts[block.name] = account
    entries = tuple(block.name for block in doc.blocks if ACCOUNT_NAME.fullmatch(block.name))
    return LoadResult(accounts, problems, entries)


def _read_fields(lines: list[Line], block: Block, found: list[AccountProblem]) -> dict[str, tuple[str, int]]:
    fields: dict[str, tuple[str, int]] = {}
    for i in range(block.start + 1, block.end):
        if lines[i].kind in ("blank", "comment"):
            continue
        match = _FIELD_LINE.fullmatch(lines[i].text) if lines[i].kind == "text" else None
        key = canonical(" ".join(match[1].split()), FIELDS) if match else None
        if match is None:
            found.append(_problem(i, block.name, "expected a '- Field: value' line"))
        elif key is None:  # the unknown name is not echoed: it may be a pasted secret
            found.append(_problem(i, block.name, f"unknown field; allowed: {', '.join(FIELDS)}"))
        elif key in fields:
            found.append(_problem(i, block.name, f"'{key}' is given twice (first at line {fields[key][1] + 1})"))
        elif has_control_chars(match[2]) or (not match[2] and key != "Description"):
            found.append(_problem(i, block.name, f"'{key}' is empty or contains control characters"))
        else:
            fields[key] = (match[2], i)
    return fields


def _parse_block(lines: list[Line], block: Block, base_dir: Path, found: list[AccountProblem]) -> Account | None:
    fields = _read_fields(lines, block, found)
    value = {key: text for key, (text, _) in fields.items()}

    def fail(key: str, message: str) -> None:
        found.append(_problem(fields[key][1] if key in fields else block.start, block.name, message))

    env = canonical(value.get("Environment"), ENVIRONMENTS)
    signing = canonical(value.get("Signing", "HMAC"), SIGNING_MODES)
    for key, allowed, got in (("Environment", ENVIRONMENTS, env), ("Signing", SIGNING_MODES, signing)):
        if got is None and not found:  # later checks depend on both; unreadable lines are reported first
            fail(key, f"'{key}' is {'not one of' if key in fields else 'missing; use one of'} {' | '.join(allowed)}")
    if found or env is None or signing is None:
        return None
    keyed = signing != "HMAC"  # RSA/Ed25519 sign with a private key file, HMAC with the secret
    rules = {"API Key": True, "Secret": not keyed, "Private Key File": keyed}
    for key, rule in (*rules.items(), ("Private Key Passphrase Env", None if keyed else False)):
        if rule and key not in fields:
            fail(key, f"'{key}' is missing (required for {signing} signing)")
        elif rule is False and key in fields:
            fail(key, f"'{key}' is not used with {signing} signing")
    for key, (pattern, rule) in _FORMATS.items():
        if key in value and not pattern.fullmatch(value[key]):
            fail(key, f"'{key}' must be {rule}")
    base_url = DEFAULT_BASE_URLS[env]
    if "Base URL" in value:
        try:
            base_url = validate_base_url(value["Base URL"], env)
        except AccountError as exc:
            fail("Base URL", exc.message)
    key_file = _path(value, "Private Key File", base_dir, fail)
    confirm_with = _confirm_with(value, fail)
    totp_file = _path(value, "TOTP Secret File", base_dir, fail)
    recv_window = _recv_window(value, fail)
    if found:
        return None
    return Account(
        name=block.name,
        environment=cast("Environment", env),
        signing=cast("SigningMode", signing),
        api_key=Secret(value["API Key"]),
        secret=Secret(value["Secret"]) if "Secret" in value else None,
        private_key_file=key_file,
        passphrase_env=value.get("Private Key Passphrase Env"),
        base_url=base_url,
        description=value.get("Description", ""),
        limits={key: value[key] for key in LIMIT_FIELDS if key in value},
        line=block.start + 1,
        confirm_with=confirm_with,
        totp_secret_file=totp_file,
        recv_window=recv_window,
    )


def _confirm_with(value: dict[str, str], fail: Callable[[str, str], None]) -> str | None:
    """`Confirm With: TOTP` needs its secret file; the value itself is never echoed."""
    if "Confirm With" not in value:
        return None
    channel = canonical(value["Confirm With"], CONFIRM_WITH)
    if channel is None:
        fail("Confirm With", f"'Confirm With' must be {' | '.join(CONFIRM_WITH)}")
    elif "TOTP Secret File" not in value:
        fail("Confirm With", "'Confirm With: TOTP' needs a '- TOTP Secret File: PATH' line (see totp-enroll)")
    return channel


def _recv_window(value: dict[str, str], fail: Callable[[str, str], None]) -> int | None:
    """`Recv Window: 10000` (milliseconds, 1-60000): sent with this account's signed requests instead of Binance's
    default 5000."""
    if "Recv Window" not in value:
        return None
    match = _RECV_WINDOW.fullmatch(value["Recv Window"])
    if match is None or not 1 <= int(match[1]) <= RECV_WINDOW_MAX:
        fail("Recv Window", f"'Recv Window' must be a whole number of milliseconds from 1 to {RECV_WINDOW_MAX}")
        return None
    return int(match[1])


def _path(value: dict[str, str], key: str, base_dir: Path, fail: Callable[[str, str], None]) -> Path | None:
    """A path field: `~` expanded, relative paths taken from the TOOLS.md directory."""
    if key not in value:
        return None
    try:
        path = Path(value[key]).expanduser()
    except RuntimeError:  # "~user" that does not exist, or no home directory
        fail(key, f"'{key}' starts with '~' but that home directory is unknown")
        return None
    return path if path.is_absolute() else base_dir / path
