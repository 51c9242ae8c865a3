"""TOOLS.md credential store: parse `## Binance Accounts`, add/remove accounts with locked atomic writes.

Keys and secrets live only inside `Secret`; no message, repr or log line built here contains one.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, NoReturn, cast

from binance_margin_mcp.errors import AccountError

try:
    import fcntl
except ImportError:  # non-POSIX: no advisory lock, single-writer use only
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("binance_margin_mcp.credentials")

Environment = Literal["Mainnet", "Testnet", "Paper"]
SigningMode = Literal["HMAC", "RSA", "Ed25519"]
ENVIRONMENTS: tuple[str, ...] = ("Mainnet", "Testnet", "Paper")
SIGNING_MODES: tuple[str, ...] = ("HMAC", "RSA", "Ed25519")
DEFAULT_BASE_URLS: dict[str, str] = {
    "Mainnet": "https://api.binance.com",
    "Testnet": "https://testnet.binance.vision",
    "Paper": "paper://local",
}
HOST_NETWORK: dict[str, str] = {h: "Mainnet" for h in ("api.binance.com", "api-gcp.binance.com")}
HOST_NETWORK |= {f"api{i}.binance.com": "Mainnet" for i in range(1, 5)}
HOST_NETWORK |= {"testnet.binance.vision": "Testnet", "demo-api.binance.com": "Testnet"}
LIMIT_FIELDS: tuple[str, ...] = ("Max Order Notional", "Max Borrow", "Allowed Symbols", "Trading")
FIELDS: tuple[str, ...] = ("API Key", "Secret", "Private Key File", "Private Key Passphrase Env", "Signing")
FIELDS += ("Environment", "Base URL", "Description", *LIMIT_FIELDS)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_NAME_RULE = "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
_TOKEN = re.compile(r"[\x21-\x7e]+")  # keys travel in an HTTP header: one word of printable ASCII
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMATS = {
    "API Key": (_TOKEN, "one word of printable ASCII"),
    "Secret": (_TOKEN, "one word of printable ASCII"),
    "Private Key Passphrase Env": (_ENV_VAR, "an environment variable NAME, not the passphrase"),
}
_FIELD_LINE = re.compile(r"[ \t]*-[ \t]+([^:]+?)[ \t]*:[ \t]*(.*?)[ \t]*")
_HEADING = re.compile(r"(#{1,6})(?:[ \t]+(.*?))?[ \t]*")
_URL = re.compile(r"(?i)(https?)://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?/?")


class Secret:
    """A secret string that never shows itself: repr, str and format are masked, pickling is refused."""

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]  # equal by value, but no hash of a secret to leak

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Secret cannot be pickled")

    def __copy__(self) -> Secret:  # immutable: copy/deepcopy (and dataclasses.asdict) keep it wrapped
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def mask_api_key(key: str) -> str:
    return "***" if len(key) < 12 else f"{key[:5]}...{key[-4:]}"


def mask_secret(secret: str) -> str:
    return "***" if len(secret) < 10 else f"...{secret[-5:]}"


@dataclass(frozen=True, repr=False)
class Account:
    name: str
    environment: Environment
    signing: SigningMode
    api_key: Secret
    secret: Secret | None
    private_key_file: Path | None
    passphrase_env: str | None
    base_url: str
    description: str
    limits: dict[str, str]
    line: int

    def masked(self) -> dict[str, str]:
        out = {"account": self.name, "environment": self.environment, "signing": self.signing}
        out["apiKey"] = mask_api_key(self.api_key.reveal())
        if self.secret is not None:
            out["secret"] = mask_secret(self.secret.reveal())
        elif self.private_key_file is not None:
            out["privateKeyFile"] = "..." + str(self.private_key_file)[-5:]
        out["baseUrl"] = self.base_url
        if self.description:
            out["description"] = self.description
        return out

    def __repr__(self) -> str:
        shown = f"name={self.name!r}, environment={self.environment!r}, signing={self.signing!r}"
        return f"Account({shown}, api_key={mask_api_key(self.api_key.reveal())!r})"


@dataclass(frozen=True)
class AccountProblem:
    line: int
    name: str | None
    message: str  # names the line and the field, never a value


@dataclass(frozen=True)
class LoadResult:
    accounts: dict[str, Account]
    problems: list[AccountProblem]


def validate_base_url(url: str, environment: str | None = None) -> str:
    """Normalized URL, or AccountError; with `environment`, a host of the other network is refused too."""
    if url == DEFAULT_BASE_URLS["Paper"] and environment in (None, "Paper"):
        return url
    match = _URL.fullmatch(url.strip())
    if match is None:  # never echo the URL: it may carry user info or a pasted secret
        raise AccountError("Base URL must be scheme://host[:port] with no path, query or user info")
    scheme, host, port = match[1].lower(), match[2].lower(), match[3]
    network = HOST_NETWORK.get(host) or _loopback(host)
    if port is not None and not 0 < int(port) < 65536:
        raise AccountError("Base URL has an invalid port")
    if network is None or (network != "loopback" and (scheme != "https" or port not in (None, "443"))):
        raise AccountError(
            "Base URL is not an official Binance API host (https) or a loopback address; the key will not be sent there"
        )
    if environment is not None and network not in ("loopback", environment):
        # Testnet and Paper accounts skip the mainnet confirmation gate: they must never reach mainnet.
        raise AccountError(f"Base URL is a Binance {network} host but the Environment is {environment}")
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def _loopback(host: str) -> str | None:
    if host == "localhost":
        return "loopback"
    try:  # strict dotted IPv4 / bracketed IPv6 only: "127.1" or "127.0.0.1.nip.io" are not loopback
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return "loopback" if ip.is_loopback and (ip.version == 6) == host.startswith("[") else None


# --- Markdown structure ----------------------------------------------------------------------------


class _Line(NamedTuple):
    kind: str  # "heading" | "blank" | "comment" | "text"
    level: int  # heading level, else 0
    text: str  # the line without its ending; for a heading, the heading text


class _Block(NamedTuple):
    name: str
    start: int  # index of the "### name" line
    end: int  # index after its last line


class _Doc(NamedTuple):
    raw: list[str]  # lines with their endings: "".join(raw) == text
    lines: list[_Line]
    sections: list[tuple[int, int]]  # every "## Binance Accounts": (heading index, end index)
    blocks: list[_Block]  # accounts of the first section


def _doc(text: str) -> _Doc:
    parts = text.split("\n")  # "\n" only, so line numbers match what editors show
    raw = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    lines = _classify(raw)
    tops = [i for i, ln in enumerate(lines) if ln.kind == "heading" and ln.level <= 2]
    bounds = zip(tops, [*tops[1:], len(lines)], strict=False)
    sections = [(s, e) for s, e in bounds if _is_accounts_heading(lines[s])]
    if not sections:
        return _Doc(raw, lines, sections, [])
    start, end = sections[0]
    heads = [i for i in range(start + 1, end) if lines[i].kind == "heading" and lines[i].level == 3]
    ends = [*heads[1:], end]
    return _Doc(raw, lines, sections, [_Block(lines[h].text, h, e) for h, e in zip(heads, ends, strict=False)])


def _is_accounts_heading(line: _Line) -> bool:
    return line.level == 2 and line.text.rstrip("#").strip().casefold() == "binance accounts"


def _classify(raw: list[str]) -> list[_Line]:
    """Tag each line; a heading inside an HTML comment or a code fence is not a heading."""
    out: list[_Line] = []
    in_comment = in_fence = False
    for index, line in enumerate(raw):
        text = line.rstrip("\r\n").lstrip("\ufeff" if index == 0 else "")
        stripped, heading = text.strip(), _HEADING.fullmatch(text)
        fence = stripped.startswith(("```", "~~~"))
        if in_comment or (not in_fence and stripped.startswith("<!--")):
            in_comment = "-->" not in (stripped if in_comment else stripped[4:])
            out.append(_Line("comment", 0, text))
        elif in_fence or fence:
            in_fence = in_fence != fence
            out.append(_Line("text", 0, text))
        elif heading is not None:
            out.append(_Line("heading", len(heading[1]), (heading[2] or "").strip()))
        else:
            out.append(_Line("text" if stripped else "blank", 0, text))
    return out


# --- Parser ----------------------------------------------------------------------------------------


def _problem(index: int, name: str | None, message: str) -> AccountProblem:
    return AccountProblem(index + 1, name, f"TOOLS.md line {index + 1}: {message}")


def _unsafe(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value)


def _canonical(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return {a.casefold(): a for a in allowed}.get(value.strip().casefold()) if value is not None else None


def parse_accounts(text: str, base_dir: Path) -> LoadResult:
    """Parse TOOLS.md text: a broken account becomes problems and is skipped, the others still load."""
    doc = _doc(text)
    problems = [_problem(s, None, "a second '## Binance Accounts' section is ignored") for s, _ in doc.sections[1:]]
    if doc.sections:
        start, end = doc.sections[0]
        for i in range(start + 1, doc.blocks[0].start if doc.blocks else end):
            if doc.lines[i].kind == "text" and _FIELD_LINE.fullmatch(doc.lines[i].text):
                problems.append(_problem(i, None, "field line outside any '### <name>' account"))
    accounts: dict[str, Account] = {}
    seen: dict[str, int] = {}
    for block in doc.blocks:
        if not _NAME.fullmatch(block.name):
            problems.append(_problem(block.start, None, f"account name must be {_NAME_RULE}"))
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
    return LoadResult(accounts, problems)


def _read_fields(lines: list[_Line], block: _Block, found: list[AccountProblem]) -> dict[str, tuple[str, int]]:
    fields: dict[str, tuple[str, int]] = {}
    for i in range(block.start + 1, block.end):
        if lines[i].kind in ("blank", "comment"):
            continue
        match = _FIELD_LINE.fullmatch(lines[i].text) if lines[i].kind == "text" else None
        key = _canonical(" ".join(match[1].split()), FIELDS) if match else None
        if match is None:
            found.append(_problem(i, block.name, "expected a '- Field: value' line"))
        elif key is None:  # the unknown name is not echoed: it may be a pasted secret
            found.append(_problem(i, block.name, f"unknown field; allowed: {', '.join(FIELDS)}"))
        elif key in fields:
            found.append(_problem(i, block.name, f"'{key}' is given twice (first at line {fields[key][1] + 1})"))
        elif _unsafe(match[2]) or (not match[2] and key != "Description"):
            found.append(_problem(i, block.name, f"'{key}' is empty or contains control characters"))
        else:
            fields[key] = (match[2], i)
    return fields


def _parse_block(lines: list[_Line], block: _Block, base_dir: Path, found: list[AccountProblem]) -> Account | None:
    fields = _read_fields(lines, block, found)
    value = {key: text for key, (text, _) in fields.items()}

    def fail(key: str, message: str) -> None:
        found.append(_problem(fields[key][1] if key in fields else block.start, block.name, message))

    env = _canonical(value.get("Environment"), ENVIRONMENTS)
    signing = _canonical(value.get("Signing", "HMAC"), SIGNING_MODES)
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
    key_file = _key_path(value["Private Key File"], base_dir, fail) if "Private Key File" in value else None
    if found:
        return None
    return Account(
        name=block.name,
        environment=cast(Environment, env),
        signing=cast(SigningMode, signing),
        api_key=Secret(value["API Key"]),
        secret=Secret(value["Secret"]) if "Secret" in value else None,
        private_key_file=key_file,
        passphrase_env=value.get("Private Key Passphrase Env"),
        base_url=base_url,
        description=value.get("Description", ""),
        limits={key: value[key] for key in LIMIT_FIELDS if key in value},
        line=block.start + 1,
    )


def _key_path(text: str, base_dir: Path, fail: Callable[[str, str], None]) -> Path | None:
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~user" that does not exist, or no home directory
        fail("Private Key File", "'Private Key File' starts with '~' but that home directory is unknown")
        return None
    return path if path.is_absolute() else base_dir / path


# --- Store -----------------------------------------------------------------------------------------


class ToolsMdStore:
    """Reads TOOLS.md on every `load()`; writers hold `<path>.lock` and replace the file atomically."""

    def __init__(self, path: Path, *, allow_insecure_permissions: bool = False) -> None:
        self.path = Path(path)
        self.allow_insecure_permissions = allow_insecure_permissions
        self._reported: set[str] = set()

    def load(self) -> LoadResult:
        result = parse_accounts(self._read_text(check_mode=True), self._base_dir())
        # The file is re-read on every call; say each problem once, not once per tool call.
        for problem in result.problems:
            if problem.message not in self._reported:
                self._reported.add(problem.message)
                logger.warning("%s", problem.message)
        return result

    def add_account(
        self,
        *,
        name: str,
        environment: str,
        signing: str,
        credentials_file: Path | None = None,
        private_key_file: Path | None = None,
        passphrase_env: str | None = None,
        base_url: str | None = None,
        description: str | None = None,
    ) -> Account:
        fields = _new_fields(name, environment, signing, credentials_file, private_key_file, passphrase_env)
        env = fields[-1][1]  # _new_fields ends with ("Environment", canonical name)
        if base_url is not None and base_url.strip():
            fields.append(("Base URL", validate_base_url(base_url, env)))
        if description is not None and description.strip():
            if _unsafe(description):
                raise AccountError("description must be a single line without control characters")
            fields.append(("Description", description.strip()))
        with self._locked():
            text = self._read_text(check_mode=False)
            before = parse_accounts(text, self._base_dir()).accounts
            known = [block.name for block in _doc(text).blocks]
            if name in known:
                raise AccountError(f"Account '{name}' already exists in TOOLS.md", accounts=known)
            result = parse_accounts(new_text := _insert_block(text, name, fields), self._base_dir())
            # Defense in depth: never write a file that would not load back, or that loses an account.
            if name not in result.accounts or not before.keys() <= result.accounts.keys():
                found = [p.message for p in result.problems if p.name == name]
                raise AccountError("; ".join(found) or f"Account '{name}' would not load back; nothing written")
            self._write(new_text)
        logger.info("added account '%s' (%s, %s)", name, env, result.accounts[name].signing)
        return result.accounts[name]

    def remove_account(self, name: str) -> None:
        with self._locked():
            doc = _doc(self._read_text(check_mode=False))
            # Drop every block of that name: keeping a refused duplicate would silently promote it.
            drop = {i for block in doc.blocks if block.name == name for i in range(block.start, block.end)}
            if not drop:
                known = [block.name for block in doc.blocks if _NAME.fullmatch(block.name)]
                label = f"'{name}'" if _NAME.fullmatch(name) else "of that name"
                raise AccountError(f"No account {label} in TOOLS.md; known: {', '.join(known) or 'none'}", known)
            self._write("".join(line for i, line in enumerate(doc.raw) if i not in drop))
        logger.info("removed account '%s'", name)

    def _base_dir(self) -> Path:
        return Path(os.path.abspath(self.path)).parent

    def _read_text(self, *, check_mode: bool) -> str:
        try:
            mode = os.stat(self.path).st_mode
            if check_mode and os.name == "posix" and mode & 0o077 and not self.allow_insecure_permissions:
                raise AccountError(
                    f"{self.path} is readable by other users (mode {mode & 0o777:o}) and holds API secrets: "
                    f"run `chmod 600 {shlex.quote(str(self.path))}` and retry"
                )
            return self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError:
            raise AccountError(f"{self.path} is not UTF-8 text") from None
        except OSError as exc:
            raise AccountError(f"Cannot read {self.path}: {exc.strerror or exc}") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive lock on a sibling file for the whole read-modify-write: no lost updates."""
        target = Path(os.path.realpath(self.path))  # write through a symlink, don't replace it
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(f"{target}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AccountError(f"Cannot lock {self.path}: {exc.strerror or exc}") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _write(self, text: str) -> None:
        try:
            _atomic_write(Path(os.path.realpath(self.path)), text.encode("utf-8"))
        except OSError as exc:
            raise AccountError(f"Could not write {self.path}: {exc.strerror or exc}") from None


def _new_fields(
    name: str,
    environment: str,
    signing: str,
    credentials: Path | None,
    key_file: Path | None,
    passphrase_env: str | None,
) -> list[tuple[str, str]]:
    """Validated fields of a new account, in file order; ends with ("Environment", env)."""
    env, mode = _canonical(environment, ENVIRONMENTS), _canonical(signing, SIGNING_MODES)
    if not _NAME.fullmatch(name):
        raise AccountError(f"Account name must be {_NAME_RULE}")
    if env is None or mode is None:
        field, allowed = ("Environment", ENVIRONMENTS) if env is None else ("Signing", SIGNING_MODES)
        raise AccountError(f"{field} must be one of {' | '.join(allowed)}")
    if credentials is None:
        raise AccountError("credentials_file is required: the API key on line 1, the secret (HMAC) on line 2")
    text = _read_head(Path(credentials), "credentials_file", 65536).decode("utf-8-sig", errors="replace")
    values = [line.strip() for line in text.splitlines() if line.strip()][: 2 if mode == "HMAC" else 1]
    if len(values) < (2 if mode == "HMAC" else 1):
        raise AccountError("credentials_file needs the API key on line 1 and, for HMAC, the secret on line 2")
    if not all(_TOKEN.fullmatch(v) for v in values):
        raise AccountError("credentials_file: the API key and secret must each be one word of printable ASCII")
    if mode == "HMAC":
        if key_file is not None or passphrase_env:
            raise AccountError("private_key_file and passphrase_env are only for RSA or Ed25519 signing")
        return [("API Key", values[0]), ("Secret", values[1]), ("Signing", mode), ("Environment", env)]
    if key_file is None:
        raise AccountError(f"private_key_file (a PEM private key) is required for {mode} signing")
    fields = [("API Key", values[0]), ("Private Key File", _check_pem(Path(key_file)))]
    if passphrase_env:
        if not _ENV_VAR.fullmatch(passphrase_env):
            raise AccountError("passphrase_env must be the NAME of an environment variable, not the passphrase")
        fields.append(("Private Key Passphrase Env", passphrase_env))
    return [*fields, ("Signing", mode), ("Environment", env)]


def _read_head(path: Path, argument: str, size: int) -> bytes:
    """First `size` bytes; errors name the argument, never the path (the skill keeps key locations private)."""
    try:
        with open(path.expanduser(), "rb") as handle:
            return handle.read(size)
    except FileNotFoundError:
        raise AccountError(f"{argument} does not exist") from None
    except OSError:
        raise AccountError(f"{argument} cannot be read (check that it is a readable file)") from None


def _check_pem(path: Path) -> str:
    """Absolute path of something that looks like a PEM private key; the signer parses it later."""
    absolute = os.path.abspath(path.expanduser())
    head = _read_head(Path(absolute), "private_key_file", 8192)
    if b"-----BEGIN" not in head:
        raise AccountError("private_key_file is not a PEM file (no '-----BEGIN' line)")
    if b"PRIVATE KEY-----" not in head:
        raise AccountError("private_key_file is not a private key (register the public key, keep the private)")
    if absolute != absolute.strip() or _unsafe(absolute):
        raise AccountError("private_key_file path must not contain control characters or edge spaces")
    return absolute


def _insert_block(text: str, name: str, fields: list[tuple[str, str]]) -> str:
    """Append the account at the end of the section, before its trailing blank lines; nothing else moves."""
    nl = "\r\n" if "\r\n" in text else "\n"
    block = nl.join([f"### {name}", *(f"- {key}: {value}" for key, value in fields)]) + nl
    doc = _doc(text)
    if not doc.sections:
        head = text if not text or text.endswith("\n") else text + nl
        return head + (nl if head.strip() else "") + f"## Binance Accounts{nl}{nl}" + block
    start, at = doc.sections[0]
    while at > start + 1 and doc.lines[at - 1].kind == "blank":
        at -= 1
    head = "".join(doc.raw[:at])
    return head + ("" if head.endswith("\n") else nl) + nl + block + "".join(doc.raw[at:])


def _atomic_write(target: Path, data: bytes) -> None:
    """Temp file (0600) in the same directory, fsync, rename over the target, fsync the directory."""
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)  # a umask like 0o277 would otherwise leave it unwritable
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every platform can open and fsync a directory
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
