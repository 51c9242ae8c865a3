"""The TOOLS.md account store: load accounts on every call, add and remove them with locked atomic writes.

The public names of the account model, the parser and the base-URL rules stay importable from here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shlex
from pathlib import Path

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
from binance_margin_mcp.tools_md_parser import (
    ACCOUNT_NAME,
    ACCOUNT_NAME_RULE,
    ENV_VAR,
    FIELDS,
    LIMIT_FIELDS,
    TOKEN,
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
            if has_control_chars(description):
                raise AccountError("description must be a single line without control characters")
            fields.append(("Description", description.strip()))
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

    def plan_account(
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
    ) -> dict[str, str]:
        """What add_account would write, checked and masked, without writing (for an approval preview)."""
        fields = _new_fields(name, environment, signing, credentials_file, private_key_file, passphrase_env)
        values = dict(fields)
        env = values["Environment"]
        url = validate_base_url(base_url, env) if base_url is not None and base_url.strip() else DEFAULT_BASE_URLS[env]
        if any(block.name == name for block in parse_document(self._read_text(check_mode=False)).blocks):
            raise AccountError(f"Account '{name}' already exists in TOOLS.md")
        key = values["API Key"]
        plan = {"environment": env, "signing": values["Signing"], "baseUrl": url, "maskedKey": mask_api_key(key)}
        plan["fingerprint"] = hashlib.sha256(key.encode()).hexdigest()[:16]
        if description is not None and description.strip() and not has_control_chars(description):
            plan["description"] = description.strip()
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


BINANCE_TOKEN = re.compile(r"[A-Za-z0-9]{16,128}")


def _new_fields(
    name: str,
    environment: str,
    signing: str,
    credentials: Path | None,
    key_file: Path | None,
    passphrase_env: str | None,
) -> list[tuple[str, str]]:
    """Validated fields of a new account, in file order; ends with ("Environment", env)."""
    env, mode = canonical(environment, ENVIRONMENTS), canonical(signing, SIGNING_MODES)
    if not ACCOUNT_NAME.fullmatch(name):
        raise AccountError(f"Account name must be {ACCOUNT_NAME_RULE}")
    if env is None or mode is None:
        field, allowed = ("Environment", ENVIRONMENTS) if env is None else ("Signing", SIGNING_MODES)
        raise AccountError(f"{field} must be one of {' | '.join(allowed)}")
    if credentials is None:
        raise AccountError("credentials_file is required: the API key on line 1, the secret (HMAC) on line 2")
    text = _read_head(Path(credentials), "credentials_file", 65536).decode("utf-8-sig", errors="replace")
    values = [line.strip() for line in text.splitlines() if line.strip()][: 2 if mode == "HMAC" else 1]
    if len(values) < (2 if mode == "HMAC" else 1):
        raise AccountError("credentials_file needs the API key on line 1 and, for HMAC, the secret on line 2")
    if not all(TOKEN.fullmatch(v) for v in values):
        raise AccountError("credentials_file: the API key and secret must each be one word of printable ASCII")
    # Binance keys and secrets are long runs of letters and digits. Anything else means the path points at some
    # other file, whose masked first/last characters must not be shown to the model.
    if not all(BINANCE_TOKEN.fullmatch(v) for v in values):
        raise AccountError(
            "credentials_file does not look like Binance credentials (line 1: API key, line 2: secret, each 16-128 "
            "letters and digits); nothing was added"
        )
    if mode == "HMAC":
        if key_file is not None or passphrase_env:
            raise AccountError("private_key_file and passphrase_env are only for RSA or Ed25519 signing")
        return [("API Key", values[0]), ("Secret", values[1]), ("Signing", mode), ("Environment", env)]
    if key_file is None:
        raise AccountError(f"private_key_file (a PEM private key) is required for {mode} signing")
    fields = [("API Key", values[0]), ("Private Key File", _check_pem(Path(key_file)))]
    if passphrase_env:
        if not ENV_VAR.fullmatch(passphrase_env):
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
    if absolute != absolute.strip() or has_control_chars(absolute):
        raise AccountError("private_key_file path must not contain control characters or edge spaces")
    return absolute
