"""The TOOLS.md account store: load accounts on every call, add and remove them with locked atomic writes.

The public names of the account model, the parser and the base-URL rules stay importable from here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

from binance_margin_mcp import tools_md_writer
from binance_margin_mcp.account import (
    ENVIRONMENTS,
    SIGNING_MODES,
    Account,
    AccountProblem,
    Environment,
    LoadResult,
    Secret,
    SigningMode,
    mask_api_key,
    mask_secret,
)
from binance_margin_mcp.base_urls import DEFAULT_BASE_URLS, HOST_NETWORK, validate_base_url
from binance_margin_mcp.errors import AccountError
from binance_margin_mcp.private_file import Refused, expand, read_private
from binance_margin_mcp.tools_md_parser import (
    ACCOUNT_NAME,
    ACCOUNT_NAME_RULE,
    ENV_VAR,
    FIELDS,
    LIMIT_FIELDS,
    TOTP_FIELDS,
    canonical,
    field_name,
    has_control_chars,
    parse_accounts,
    parse_document,
)

__all__ = [
    "DEFAULT_BASE_URLS",
    "ENVIRONMENTS",
    "FIELDS",
    "HOST_NETWORK",
    "LIMIT_FIELDS",
    "SIGNING_MODES",
    "Account",
    "AccountProblem",
    "Environment",
    "LoadResult",
    "Secret",
    "SigningMode",
    "ToolsMdStore",
    "mask_api_key",
    "mask_secret",
    "parse_accounts",
    "validate_base_url",
]

logger = logging.getLogger("binance_margin_mcp.credentials")


class ToolsMdStore:
    """Reads TOOLS.md on every `load()` (parsing only when its content changed); writers hold `<path>.lock`
    and replace the file atomically."""

    def __init__(self, path: Path, *, allow_insecure_permissions: bool = False, given: bool = False) -> None:
        self.path = Path(path)
        self.allow_insecure_permissions = allow_insecure_permissions
        self.given = given  # the path came from --tools-md or $BINANCE_MARGIN_TOOLS_MD
        self.parses = 0  # how often the text was actually parsed (the rest came from the cache)
        self._cache: tuple[tuple[bytes, str, str | None], LoadResult] | None = None
        self._reported: set[str] = set()

    @property
    def missing(self) -> bool:
        """The operator named a TOOLS.md that does not exist (a default path that does not exist is normal)."""
        return self.given and not os.path.lexists(self.path)

    def load(self) -> LoadResult:
        """The accounts as the file is now: every edit (keys, secrets, limits) counts from the next call."""
        text = self._read_text(check_mode=True)
        base_dir = self._base_dir()
        # The parse depends on the text, the directory (relative paths) and HOME (`~` paths).
        key = (hashlib.sha256(text.encode()).digest(), str(base_dir), os.environ.get("HOME"))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        result = parse_accounts(text, base_dir)
        self.parses += 1
        self._cache = (key, result)
        # Say each problem once, not once per tool call.
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
        fields = _checked_fields(
            name, environment, signing, credentials_file, private_key_file, passphrase_env, base_url, description
        )
        env = dict(fields)["Environment"]
        with tools_md_writer.locked(self.path):
            text = self._read_text(check_mode=False)
            before = parse_accounts(text, self._base_dir()).accounts
            known = [block.name for block in parse_document(text).blocks]
            if name in known:
                raise AccountError(f"Account '{name}' already exists in TOOLS.md", accounts=known)
            result = parse_accounts(new_text := tools_md_writer.insert_block(text, name, fields), self._base_dir())
            # Defense in depth: never write a file that would not load back, or that loses an account.
            if name not in result.accounts or not before.keys() <= result.accounts.keys():
                found = [p.message for p in result.problems if p.name == name]
                raise AccountError("; ".join(found) or f"Account '{name}' would not load back; nothing written")
            if result.accounts[name].confirm_with or result.accounts[name].totp_secret_file:
                raise AccountError("add_account cannot set a confirmation channel; nothing written")
            tools_md_writer.write(self.path, new_text)
        logger.info("added account '%s' (%s, %s)", name, env, result.accounts[name].signing)
        return result.accounts[name]

    def plan_account(self, **arguments: Any) -> dict[str, str]:
        """What add_account(**arguments) would write, checked and masked, without writing (an approval preview)."""
        values = dict(_checked_fields(**arguments))
        name, env, key = arguments["name"], values["Environment"], values["API Key"]
        if any(block.name == name for block in parse_document(self._read_text(check_mode=False)).blocks):
            raise AccountError(f"Account '{name}' already exists in TOOLS.md")
        plan = {"environment": env, "signing": values["Signing"], "maskedKey": mask_api_key(key)}
        plan["baseUrl"] = values.get("Base URL", DEFAULT_BASE_URLS[env])
        plan["fingerprint"] = hashlib.sha256(key.encode()).hexdigest()[:16]
        if "Description" in values:
            plan["description"] = values["Description"]
        return plan

    def block_text(self, name: str) -> str | None:
        """The raw lines of the account block `name` (None: no such block); never shown, only digested."""
        doc = parse_document(self._read_text(check_mode=False))
        found = [("".join(doc.raw[b.start : b.end])) for b in doc.blocks if b.name == name]
        return "".join(found) if found else None

    def remove_account(self, name: str) -> None:
        with tools_md_writer.locked(self.path):
            doc = parse_document(self._read_text(check_mode=False))
            # Drop every block of that name: keeping a refused duplicate would silently promote it.
            drop = {i for block in doc.blocks if block.name == name for i in range(block.start, block.end)}
            if not drop:
                known = [block.name for block in doc.blocks if ACCOUNT_NAME.fullmatch(block.name)]
                label = f"'{name}'" if ACCOUNT_NAME.fullmatch(name) else "of that name"
                raise AccountError(f"No account {label} in TOOLS.md; known: {', '.join(known) or 'none'}", known)
            # Removing (then re-adding) the account would drop its TOTP confirmation: only the human may.
            if any(field_name(doc.lines[i]) in TOTP_FIELDS for i in drop):
                raise AccountError(
                    f"Account '{name}' is confirmed with TOTP; only the human can remove it, by editing TOOLS.md"
                )
            tools_md_writer.write(self.path, "".join(line for i, line in enumerate(doc.raw) if i not in drop))
        logger.info("removed account '%s'", name)

    def _base_dir(self) -> Path:
        return Path(os.path.abspath(self.path)).parent

    def _read_text(self, *, check_mode: bool) -> str:
        """The file's text ("" when absent). Errors say "TOOLS.md", never its path: they reach the agent."""
        try:
            mode = os.stat(self.path).st_mode
            if check_mode and os.name == "posix" and mode & 0o077 and not self.allow_insecure_permissions:
                raise AccountError(
                    f"TOOLS.md is readable by other users (mode {mode & 0o777:o}) and holds API secrets, so it was "
                    "not used; nothing was sent. Ask the user to run `chmod 600` on it, then retry."
                )
            return self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError:
            raise AccountError("TOOLS.md is not UTF-8 text; nothing was sent") from None
        except OSError as exc:
            raise AccountError(f"TOOLS.md cannot be read ({exc.strerror or type(exc).__name__})") from None


# Binance API keys (HMAC, RSA and Ed25519 alike) and HMAC secret keys are 64 letters and digits.
BINANCE_KEY = re.compile(rb"[A-Za-z0-9]{64}")
CREDENTIALS_RULE = (
    "credentials_file must be a regular file you own, readable only by you (chmod 600), holding the API key on "
    "line 1 and, for HMAC, the secret key on line 2 (64 letters and digits each) and nothing else"
)
PEM_RULE = (
    "private_key_file must be a regular file you own, readable only by you (chmod 600), holding one PEM private "
    "key (PKCS#8 or RSA; the private half, not the public key registered with Binance)"
)
_MAX_CREDENTIALS = 4096
_MAX_PEM = 16384
_PEM = re.compile(
    rb"\s*-----BEGIN (?P<label>(?:ENCRYPTED |RSA )?PRIVATE KEY)-----\r?\n"
    rb"(?:[A-Za-z0-9+/=:,\- ]*\r?\n)+"  # base64 lines (and a traditional encrypted key's headers)
    rb"-----END (?P=label)-----\s*"
)


def _checked_fields(
    name: str,
    environment: str,
    signing: str,
    credentials_file: Path | None = None,
    private_key_file: Path | None = None,
    passphrase_env: str | None = None,
    base_url: str | None = None,
    description: str | None = None,
) -> list[tuple[str, str]]:
    """Every field a new account block gets, validated (files read through the private-file rules)."""
    fields = _new_fields(name, environment, signing, credentials_file, private_key_file, passphrase_env)
    env = fields[-1][1]  # _new_fields ends with ("Environment", canonical name)
    if base_url is not None and base_url.strip():
        fields.append(("Base URL", validate_base_url(base_url, env)))
    if description is not None and description.strip():
        if has_control_chars(description):
            raise AccountError("description must be a single line without control characters")
        fields.append(("Description", description.strip()))
    return fields


def _new_fields(
    name: str,
    environment: str,
    signing: str,
    credentials: Path | None,
    key_file: Path | None,
    passphrase_env: str | None,
) -> list[tuple[str, str]]:
    """Validated fields of a new account, in file order; ends with ("Environment", env).

    Every argument is checked before any file is opened; a file that is not exactly what it should be is
    refused with one message, whatever the reason, and nothing of it is shown.
    """
    env, mode = canonical(environment, ENVIRONMENTS), canonical(signing, SIGNING_MODES)
    if not ACCOUNT_NAME.fullmatch(name):
        raise AccountError(f"Account name must be {ACCOUNT_NAME_RULE}")
    if env is None or mode is None:
        field, allowed = ("Environment", ENVIRONMENTS) if env is None else ("Signing", SIGNING_MODES)
        raise AccountError(f"{field} must be one of {' | '.join(allowed)}")
    if credentials is None:
        raise AccountError("credentials_file is required: the API key on line 1, the secret (HMAC) on line 2")
    if mode == "HMAC" and (key_file is not None or passphrase_env):
        raise AccountError("private_key_file and passphrase_env are only for RSA or Ed25519 signing")
    if mode != "HMAC" and key_file is None:
        raise AccountError(f"private_key_file (a PEM private key) is required for {mode} signing")
    if passphrase_env and not ENV_VAR.fullmatch(passphrase_env):
        raise AccountError("passphrase_env must be the NAME of an environment variable, not the passphrase")
    values = _read_credentials(credentials, 2 if mode == "HMAC" else 1)
    if mode == "HMAC":
        return [("API Key", values[0]), ("Secret", values[1]), ("Signing", mode), ("Environment", env)]
    assert key_file is not None
    fields = [("API Key", values[0]), ("Private Key File", _check_pem(key_file))]
    if passphrase_env:
        fields.append(("Private Key Passphrase Env", passphrase_env))
    return [*fields, ("Signing", mode), ("Environment", env)]


def _read_credentials(path: Path, count: int) -> list[str]:
    """Exactly `count` non-blank lines, each a 64-character Binance key; anything else is refused unseen."""
    data = _read_private_argument(path, _MAX_CREDENTIALS, CREDENTIALS_RULE)
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, as some editors write
        data = data[3:]
    values = [line.strip(b" \t\r") for line in data.split(b"\n") if line.strip(b" \t\r")]
    if len(values) != count or not all(BINANCE_KEY.fullmatch(value) for value in values):
        raise AccountError(f"{CREDENTIALS_RULE}; nothing was added")
    return [value.decode("ascii") for value in values]


def _check_pem(path: Path) -> str:
    """Absolute path of a file that is one PEM private key; the signer parses it later."""
    expanded = expand(path)
    absolute = os.path.abspath(expanded) if expanded is not None else ""
    if not absolute or absolute != absolute.strip() or has_control_chars(absolute):
        raise AccountError(f"{PEM_RULE}; nothing was added")
    if not _PEM.fullmatch(_read_private_argument(Path(absolute), _MAX_PEM, PEM_RULE)):
        raise AccountError(f"{PEM_RULE}; nothing was added")
    return absolute


def _read_private_argument(path: Path, limit: int, rule: str) -> bytes:
    """The file's bytes, or one refusal for every reason: the agent learns nothing about other paths."""
    expanded = expand(path)
    try:
        if expanded is None:
            raise Refused("unknown home directory")
        return read_private(expanded, limit)
    except Refused as refused:
        logger.info("add_account: a file argument was refused (%s)", refused)
        raise AccountError(f"{rule}; nothing was added") from None
