"""TOOLS.md credential store: parsing, masking, secret hygiene, safe atomic and concurrent writes."""

from __future__ import annotations

import copy
import dataclasses
import logging
import multiprocessing
import os
import pickle
import stat
from pathlib import Path

import pytest

from binance_margin_mcp import credentials
from binance_margin_mcp.credentials import (
    CREDENTIALS_RULE,
    DEFAULT_BASE_URLS,
    PEM_RULE,
    Account,
    LoadResult,
    Secret,
    ToolsMdStore,
    mask_api_key,
    mask_secret,
    parse_accounts,
    validate_base_url,
)
from binance_margin_mcp.errors import AccountError

MAIN_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
MAIN_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ED_KEY = "EdKeyAAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKKKllllMMMMnnnn1234"
NEW_KEY = "NewKeyZZZZyyyyXXXXwwwwVVVVuuuuTTTTssssRRRRqqqqPPPPooooNNNNmm5678"
NEW_SECRET = "NewSecretQQQQppppOOOOnnnnMMMMllllKKKKjjjjIIIIhhhhGGGGfffEEEaws1x"
ALL_SECRETS = (MAIN_KEY, MAIN_SECRET, ED_KEY, NEW_KEY, NEW_SECRET)

EXAMPLE = f"""# My tools

Some notes before.

## Binance Accounts

### main
- API Key: {MAIN_KEY}
- Secret: {MAIN_SECRET}
- Signing: HMAC
- Environment: Mainnet
- Description: Primary trading account

<!-- a comment
### not-an-account
-->
### ed-key
- api key: {ED_KEY}
- Private Key File: ~/keys/ed25519.pem
- Private Key Passphrase Env: BINANCE_ED_PASSPHRASE
- signing: ed25519
- environment: testnet
- Base URL: http://127.0.0.1:8765/

## Other notes (preserved untouched)

- API Key: this line is outside the accounts section
"""


def write_tools(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "TOOLS.md"
    path.write_bytes(text.encode())
    path.chmod(mode)
    return path


def write_creds(tmp_path: Path, *lines: str, name: str = "creds.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def write_pem(tmp_path: Path, body: str = "PRIVATE KEY", name: str = "key.pem") -> Path:
    path = tmp_path / name
    path.write_text(f"-----BEGIN {body}-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END {body}-----\n")
    path.chmod(0o600)
    return path


def assert_no_secret(text: str) -> None:
    for value in ALL_SECRETS:
        assert value not in text
        assert value[:12] not in text


def account_block(name: str, *fields: str) -> str:
    return "\n".join([f"### {name}", *fields]) + "\n"


GOOD = account_block("good", f"- API Key: {MAIN_KEY}", f"- Secret: {MAIN_SECRET}", "- Environment: Testnet")


# --- parsing ---------------------------------------------------------------------------------------


def test_the_example_parses_into_typed_accounts_with_defaults_and_canonical_casing(tmp_path, monkeypatch):
    """Both example accounts load with exact values, canonical enums and the right default URLs."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = ToolsMdStore(write_tools(tmp_path, EXAMPLE)).load()
    assert result.problems == []
    assert list(result.accounts) == ["main", "ed-key"]
    main, ed = result.accounts["main"], result.accounts["ed-key"]
    assert (main.environment, main.signing, main.line) == ("Mainnet", "HMAC", 7)
    assert main.api_key.reveal() == MAIN_KEY and main.secret is not None
    assert main.secret.reveal() == MAIN_SECRET
    assert main.base_url == DEFAULT_BASE_URLS["Mainnet"] == "https://api.binance.com"
    assert main.description == "Primary trading account" and main.limits == {}
    assert (main.private_key_file, main.passphrase_env) == (None, None)
    assert (ed.environment, ed.signing, ed.secret) == ("Testnet", "Ed25519", None)
    assert ed.api_key.reveal() == ED_KEY
    assert ed.private_key_file == tmp_path / "home" / "keys" / "ed25519.pem"
    assert ed.passphrase_env == "BINANCE_ED_PASSPHRASE"
    assert ed.base_url == "http://127.0.0.1:8765"
    assert ed.description == ""


def test_signing_defaults_to_hmac_and_each_environment_has_its_default_url(tmp_path):
    """Without Signing the account is HMAC; Testnet and Paper get their default base URLs."""
    text = "## binance accounts\n" + "".join(
        account_block(env.lower(), f"- API Key: {MAIN_KEY}", f"- Secret: {MAIN_SECRET}", f"- Environment: {env}")
        for env in ("Testnet", "Paper")
    )
    accounts = parse_accounts(text, tmp_path).accounts
    assert accounts["testnet"].signing == "HMAC"
    assert accounts["testnet"].base_url == "https://testnet.binance.vision"
    assert accounts["paper"].base_url == "paper://local"


def test_relative_private_key_path_resolves_against_the_tools_md_directory(tmp_path):
    """A relative Private Key File is taken relative to TOOLS.md, not to the working directory."""
    text = "## Binance Accounts\n" + account_block(
        "rsa",
        f"- API Key: {MAIN_KEY}",
        "- Private Key File: keys/rsa.pem",
        "- Signing: rsa",
        "- Environment: Paper",
    )
    path = write_tools(tmp_path, text)
    account = ToolsMdStore(path).load().accounts["rsa"]
    assert account.signing == "RSA"
    assert account.private_key_file == tmp_path / "keys" / "rsa.pem"


def test_operator_limits_are_kept_raw_under_their_canonical_names(tmp_path):
    """Limit fields are stored as raw strings keyed by the canonical field name."""
    text = "## Binance Accounts\n" + account_block(
        "lim",
        f"- API Key: {MAIN_KEY}",
        f"- Secret: {MAIN_SECRET}",
        "- Environment: Testnet",
        "- max order notional: 500 USDT",
        "- Allowed Symbols: BTCUSDT, ETHUSDT",
        "- TRADING: disabled",
    )
    account = parse_accounts(text, tmp_path).accounts["lim"]
    assert account.limits == {
        "Max Order Notional": "500 USDT",
        "Allowed Symbols": "BTCUSDT, ETHUSDT",
        "Trading": "disabled",
    }


def test_a_file_without_the_accounts_section_has_no_accounts(tmp_path):
    """Only the '## Binance Accounts' section is read; field lines elsewhere are ignored."""
    path = write_tools(tmp_path, "# Tools\n\n## Other\n- API Key: x\n### main\n- Secret: y\n")
    assert ToolsMdStore(path).load() == LoadResult({}, [])


def test_headings_inside_code_fences_and_comments_are_not_structure(tmp_path):
    """A fenced or commented '## Binance Accounts' / '### x' neither opens a section nor an account."""
    text = f"""# T
```
## Binance Accounts
### fenced
```
<!--
## Binance Accounts
-->
## Binance Accounts
<!-- ### commented -->
{GOOD}"""
    result = parse_accounts(text, tmp_path)
    assert (list(result.accounts), result.problems) == (["good"], [])
    assert result.accounts["good"].line == 11


def test_a_missing_file_means_no_accounts_and_no_error(tmp_path):
    """load() on a path that does not exist returns an empty result."""
    assert ToolsMdStore(tmp_path / "nope" / "TOOLS.md").load() == LoadResult({}, [])


# --- masking and secret hygiene --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("su1QcAAAAAAAAAAAAAAAA8akf", "su1Qc...8akf"),
        ("abcdefghijkl", "abcde...ijkl"),
        ("abcdefghijk", "***"),
        ("", "***"),
    ],
)
def test_api_keys_are_masked_to_first_five_and_last_four(key, masked):
    """mask_api_key shows first 5 + last 4, and nothing at all for keys under 12 characters."""
    assert mask_api_key(key) == masked


@pytest.mark.parametrize(
    ("secret", "masked"),
    [("xxxxxxxxxxxxxxxaws1x", "...aws1x"), ("abcdefghij", "...fghij"), ("abcdefghi", "***")],
)
def test_secrets_are_masked_to_their_last_five(secret, masked):
    """mask_secret shows only the last 5 characters, and nothing for secrets under 10 characters."""
    assert mask_secret(secret) == masked


def test_reprs_strings_and_formats_never_show_a_secret(tmp_path, monkeypatch):
    """repr/str/format of Secret, Account and LoadResult contain no key or secret."""
    monkeypatch.setenv("HOME", str(tmp_path))
    result = ToolsMdStore(write_tools(tmp_path, EXAMPLE)).load()
    main = result.accounts["main"]
    assert repr(main) == "Account(name='main', environment='Mainnet', signing='HMAC', api_key='vmPUZ...Eh8A')"
    assert str(main.secret) == repr(main.secret) == f"{main.secret}" == "Secret(***)"
    assert f"{main.secret:>20}".strip() == "Secret(***)"
    for text in (repr(main), str(main), repr(result), str(result), repr(result.accounts), f"{main}"):
        assert_no_secret(text)


def test_masked_view_follows_the_skill_masking_rules(tmp_path, monkeypatch):
    """masked() shows masked key, last 5 of secret or key path, base URL, and omits an empty description."""
    monkeypatch.setenv("HOME", "/home/u")
    accounts = ToolsMdStore(write_tools(tmp_path, EXAMPLE)).load().accounts
    assert accounts["main"].masked() == {
        "account": "main",
        "environment": "Mainnet",
        "signing": "HMAC",
        "apiKey": "vmPUZ...Eh8A",
        "secret": "...ATj0j",
        "baseUrl": "https://api.binance.com",
        "description": "Primary trading account",
    }
    assert accounts["ed-key"].masked() == {
        "account": "ed-key",
        "environment": "Testnet",
        "signing": "Ed25519",
        "apiKey": "EdKey...1234",
        "privateKeyFile": "...9.pem",
        "baseUrl": "http://127.0.0.1:8765",
    }


def test_secret_compares_by_value_refuses_pickling_and_survives_asdict(tmp_path):
    """Secrets are equal by value, cannot be pickled, and copying keeps them wrapped."""
    assert Secret("abc") == Secret("abc") and Secret("abc") != Secret("abd")
    with pytest.raises(TypeError):
        pickle.dumps(Secret(MAIN_SECRET))
    account = parse_accounts(EXAMPLE, tmp_path).accounts["main"]
    with pytest.raises(TypeError):
        pickle.dumps(account)
    assert copy.deepcopy(account) == account
    assert_no_secret(repr(dataclasses.asdict(account)))


def test_load_logs_problems_without_any_secret(tmp_path, caplog):
    """Problems are logged under binance_margin_mcp.credentials and never include values."""
    text = EXAMPLE.replace("- Signing: HMAC", f"- Signing: {MAIN_SECRET}")
    with caplog.at_level(logging.DEBUG, logger="binance_margin_mcp.credentials"):
        result = ToolsMdStore(write_tools(tmp_path, text)).load()
    assert [p.line for p in result.problems] == [10]
    assert caplog.records and all(r.name == "binance_margin_mcp.credentials" for r in caplog.records)
    assert_no_secret(caplog.text)


# --- malformed accounts ----------------------------------------------------------------------------


KEY, SECRET = f"- API Key: {MAIN_KEY}", f"- Secret: {MAIN_SECRET}"
BAD_CASES = [  # (id, lines of account "bad", problem line minus the heading line, fragment)
    ("missing API Key", [SECRET, "- Environment: Testnet"], 0, "'API Key' is missing"),
    ("missing Secret", [KEY, "- Environment: Testnet"], 0, "'Secret' is missing"),
    (
        "secret with RSA",
        [KEY, SECRET, "- Private Key File: /k.pem", "- Signing: RSA", "- Environment: Paper"],
        2,
        "'Secret' is not used with RSA",
    ),
    ("missing key file", [KEY, "- Signing: Ed25519", "- Environment: Testnet"], 0, "'Private Key File' is missing"),
    ("unknown field", [KEY, SECRET, "- Environment: Testnet", f"- {MAIN_SECRET}: x"], 4, "unknown field"),
    ("bad environment", [KEY, SECRET, "- Environment: Moonnet"], 3, "'Environment' is not one of"),
    ("missing environment", [KEY, SECRET], 0, "'Environment' is missing"),
    ("bad signing", [KEY, SECRET, f"- Signing: {MAIN_SECRET}", "- Environment: Paper"], 3, "'Signing' is not one of"),
    ("duplicate field", [KEY, SECRET, "- Environment: Paper", f"- secret: {MAIN_SECRET}"], 4, "(first at line 7)"),
    ("bad base URL", [KEY, SECRET, "- Environment: Paper", "- Base URL: https://evil.io"], 4, "not an official"),
    (
        "mainnet URL on testnet",
        [KEY, SECRET, "- Environment: Testnet", "- Base URL: https://api.binance.com"],
        4,
        "is Testnet",
    ),
    ("non-field line", [KEY, MAIN_SECRET, "- Environment: Paper"], 2, "'- Field: value'"),
    ("empty value", ["- API Key:", SECRET, "- Environment: Paper"], 1, "'API Key' is empty"),
    (
        "spaced key",
        [f"- API Key: {MAIN_KEY[:20]} {MAIN_KEY[20:]}", SECRET, "- Environment: Paper"],
        1,
        "printable ASCII",
    ),
    (
        "passphrase instead of its variable name",
        [
            KEY,
            "- Private Key File: /k.pem",
            "- Signing: RSA",
            "- Environment: Paper",
            f"- Private Key Passphrase Env: {MAIN_SECRET[:20]}!",
        ],
        5,
        "environment variable NAME",
    ),
]


@pytest.mark.parametrize(("fields", "offset", "fragment"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_a_malformed_account_becomes_a_problem_on_its_line_and_others_still_load(tmp_path, fields, offset, fragment):
    """The broken account is skipped with 'TOOLS.md line N: ...' naming no value; the good one loads."""
    text = "# T\n\n## Binance Accounts\n\n" + account_block("bad", *fields) + "\n" + GOOD
    result = parse_accounts(text, tmp_path)
    assert list(result.accounts) == ["good"]
    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    assert (problem.line, problem.name) == (5 + offset, "bad")
    assert problem.message.startswith(f"TOOLS.md line {problem.line}: ") and fragment in problem.message
    assert_no_secret(repr(result))


def test_a_duplicate_account_name_refuses_the_second_and_keeps_the_first(tmp_path):
    """The second '### good' is a problem on its heading line; the first still loads."""
    text = "## Binance Accounts\n" + GOOD + GOOD.replace("Testnet", "Mainnet")
    result = parse_accounts(text, tmp_path)
    assert result.accounts["good"].environment == "Testnet"
    assert [(p.line, p.name) for p in result.problems] == [(6, "good")]
    assert "already defined at line 2" in result.problems[0].message


def test_an_invalid_account_heading_is_a_problem_without_a_name(tmp_path):
    """'### bad name!' is refused on its line; a '####' heading inside an account is a bad line."""
    text = "## Binance Accounts\n### bad name!\n- API Key: x\n" + GOOD + "#### sub\n"
    result = parse_accounts(text, tmp_path)
    assert [(p.line, p.name) for p in result.problems] == [(2, None), (8, "good")]
    assert result.accounts == {}


def test_fields_before_the_first_account_and_second_sections_are_reported(tmp_path):
    """A field line outside any account and a repeated section are problems, not silent data."""
    text = f"## Binance Accounts\n- API Key: {MAIN_KEY}\n" + GOOD + "## Binance Accounts\n" + GOOD
    result = parse_accounts(text, tmp_path)
    assert list(result.accounts) == ["good"]
    assert [(p.line, p.name) for p in result.problems] == [(7, None), (2, None)]
    assert_no_secret(repr(result))


# --- base URL --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://api.binance.com", "https://api.binance.com"),
        ("https://API.Binance.com/", "https://api.binance.com"),
        ("https://api3.binance.com", "https://api3.binance.com"),
        ("https://api-gcp.binance.com:443", "https://api-gcp.binance.com:443"),
        ("https://testnet.binance.vision", "https://testnet.binance.vision"),
        ("https://demo-api.binance.com", "https://demo-api.binance.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.3.2.1", "http://127.3.2.1"),
        ("http://localhost", "http://localhost"),
        ("https://localhost:9443/", "https://localhost:9443"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_official_hosts_over_https_and_loopback_hosts_are_accepted(url, normalized):
    """validate_base_url accepts and normalizes official Binance hosts and loopback addresses."""
    assert validate_base_url(url) == normalized


@pytest.mark.parametrize(
    "url",
    [
        "http://api.binance.com",
        "https://evil.example",
        "https://api.binance.com.evil.io",
        "https://user@api.binance.com",
        "https://user:pw@api.binance.com",
        "http://127.0.0.1.nip.io",
        "https://api.binance.com/sapi",
        "https://api.binance.com?x=1",
        "https://api.binance.com#frag",
        "https://api.binance.com:8443",
        "https://api5.binance.com",
        "https://api.binance.com.",
        "ftp://127.0.0.1",
        "http://127.1",
        "http://[127.0.0.1]",
        "http://[::2]",
        "http://127.0.0.1:99999",
        "https://api.bin\tance.com",
        "api.binance.com",
        "",
    ],
)
def test_other_hosts_schemes_paths_and_user_info_are_refused(url):
    """Anything but https to an official host or a bare loopback origin raises AccountError."""
    with pytest.raises(AccountError) as info:
        validate_base_url(url)
    assert "pw" not in info.value.message and "evil" not in info.value.message


@pytest.mark.parametrize(
    ("url", "environment", "ok"),
    [
        ("https://api.binance.com", "Mainnet", True),
        ("https://api.binance.com", "Testnet", False),
        ("https://api.binance.com", "Paper", False),
        ("https://testnet.binance.vision", "Mainnet", False),
        ("https://testnet.binance.vision", "Testnet", True),
        ("http://127.0.0.1:8765", "Paper", True),
        ("http://localhost:1", "Mainnet", True),
        ("paper://local", "Paper", True),
        ("paper://local", "Mainnet", False),
    ],
)
def test_a_base_url_must_belong_to_the_accounts_environment(url, environment, ok):
    """A Testnet or Paper account can never be pointed at mainnet (it would skip the mainnet gate)."""
    if ok:
        assert validate_base_url(url, environment)
    else:
        with pytest.raises(AccountError):
            validate_base_url(url, environment)


# --- add / remove ----------------------------------------------------------------------------------


def test_an_added_hmac_account_loads_back_identically(tmp_path, caplog):
    """add_account returns the same Account that a fresh load() reads from disk, and logs no secret."""
    store = ToolsMdStore(tmp_path / "TOOLS.md")
    creds = write_creds(tmp_path, "", NEW_KEY, "", NEW_SECRET)
    with caplog.at_level(logging.DEBUG, logger="binance_margin_mcp.credentials"):
        added = store.add_account(
            name="new.acct", environment="testnet", signing="hmac", credentials_file=creds, description=" Bot 1 "
        )
    assert "added account 'new.acct' (Testnet, HMAC)" in caplog.text
    assert_no_secret(caplog.text)
    assert store.load() == LoadResult({"new.acct": added}, [], ("new.acct",))
    assert (added.environment, added.signing, added.description) == ("Testnet", "HMAC", "Bot 1")
    assert added.api_key.reveal() == NEW_KEY and added.secret == Secret(NEW_SECRET)
    assert added.masked()["secret"] == "...aws1x"
    assert store.path.read_text() == (
        f"## Binance Accounts\n\n### new.acct\n- API Key: {NEW_KEY}\n- Secret: {NEW_SECRET}\n"
        "- Signing: HMAC\n- Environment: Testnet\n- Description: Bot 1\n"
    )


def test_an_added_ed25519_account_stores_the_absolute_key_path(tmp_path, monkeypatch):
    """RSA/Ed25519 use only the key line of the credentials file and store an absolute PEM path."""
    monkeypatch.chdir(tmp_path)
    write_pem(tmp_path)
    store = ToolsMdStore(tmp_path / "cfg" / "TOOLS.md")
    added = store.add_account(
        name="ed",
        environment="Mainnet",
        signing="ED25519",
        credentials_file=write_creds(tmp_path, NEW_KEY),
        private_key_file=Path("key.pem"),
        passphrase_env="ED_PASS",
        base_url="https://api1.binance.com/",
    )
    assert added.private_key_file == tmp_path / "key.pem"
    assert (added.signing, added.passphrase_env, added.base_url) == (
        "Ed25519",
        "ED_PASS",
        "https://api1.binance.com",
    )
    assert added.secret is None and store.load().accounts["ed"] == added
    assert stat.S_IMODE(os.stat(tmp_path / "cfg").st_mode) == 0o700


def test_add_preserves_everything_outside_the_new_block_byte_for_byte(tmp_path, monkeypatch):
    """The new block is inserted at the end of the section; every other byte stays where it was."""
    monkeypatch.setenv("HOME", str(tmp_path))
    path = write_tools(tmp_path, EXAMPLE)
    store = ToolsMdStore(path)
    store.add_account(
        name="new",
        environment="Paper",
        signing="HMAC",
        credentials_file=write_creds(tmp_path, NEW_KEY, NEW_SECRET),
    )
    after = path.read_text()
    cut = EXAMPLE.index("\n## Other notes")
    block = f"\n### new\n- API Key: {NEW_KEY}\n- Secret: {NEW_SECRET}\n- Signing: HMAC\n- Environment: Paper\n"
    assert after == EXAMPLE[:cut] + block + EXAMPLE[cut:]
    assert list(store.load().accounts) == ["main", "ed-key", "new"]


def test_add_keeps_crlf_line_endings_and_creates_a_missing_section(tmp_path):
    """A CRLF file gets a CRLF block; a file without the section gets it appended at the end."""
    original = "# Notes\r\n\r\nkeep me"
    path = write_tools(tmp_path, original)
    ToolsMdStore(path).add_account(
        name="a",
        environment="Paper",
        signing="HMAC",
        credentials_file=write_creds(tmp_path, NEW_KEY, NEW_SECRET),
    )
    after = path.read_bytes().decode()
    assert after.startswith(original + "\r\n\r\n## Binance Accounts\r\n\r\n### a\r\n")
    assert "\n" not in after.replace("\r\n", "")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "main"}, "already exists"),
        ({"name": "bad name"}, "Account name"),
        ({"name": "-x"}, "Account name"),
        ({"environment": "prod"}, "Environment must be"),
        ({"signing": "ecdsa"}, "Signing must be"),
        ({"base_url": "https://evil.example"}, "not an official"),
        ({"base_url": "https://api.binance.com", "environment": "Testnet"}, "Environment is Testnet"),
        ({"credentials_file": None}, "credentials_file is required"),
        ({"credentials_file": "missing.txt"}, CREDENTIALS_RULE),
        ({"credentials_file": "."}, CREDENTIALS_RULE),
        ({"credentials_file": "key-only.txt"}, CREDENTIALS_RULE),
        ({"credentials_file": "bad-key.txt"}, CREDENTIALS_RULE),
        ({"description": "two\nlines"}, "single line"),
        ({"private_key_file": "key.pem"}, "only for RSA or Ed25519"),
        ({"signing": "RSA"}, "private_key_file"),
        ({"signing": "RSA", "private_key_file": "key.pem"}, CREDENTIALS_RULE),  # line 2 is not for RSA
        ({"signing": "RSA", "credentials_file": "key-only.txt", "private_key_file": "missing.pem"}, PEM_RULE),
        ({"signing": "RSA", "credentials_file": "key-only.txt", "private_key_file": "creds.txt"}, PEM_RULE),
        ({"signing": "RSA", "credentials_file": "key-only.txt", "private_key_file": "pub.pem"}, PEM_RULE),
        (
            {"signing": "RSA", "private_key_file": "key.pem", "passphrase_env": "hunter 2"},
            "NAME of an environment",
        ),
    ],
)
def test_add_refuses_bad_input_without_echoing_key_or_secret(tmp_path, monkeypatch, kwargs, fragment):
    """Every refusal is an AccountError whose message holds no key/secret, and the file is untouched."""
    monkeypatch.chdir(tmp_path)
    path = write_tools(tmp_path, EXAMPLE)
    write_creds(tmp_path, NEW_KEY, NEW_SECRET)
    write_creds(tmp_path, NEW_KEY, name="key-only.txt")
    write_creds(tmp_path, NEW_KEY[:20] + " " + NEW_KEY[20:], NEW_SECRET, name="bad-key.txt")
    write_pem(tmp_path), write_pem(tmp_path, "PUBLIC KEY", "pub.pem")
    args = {
        "name": "new",
        "environment": "Paper",
        "signing": "HMAC",
        "credentials_file": "creds.txt",
    } | kwargs
    for key in ("credentials_file", "private_key_file"):
        args[key] = Path(args[key]) if args.get(key) else None
    with pytest.raises(AccountError) as info:
        ToolsMdStore(path).add_account(**args)
    assert fragment in info.value.message
    assert_no_secret(info.value.message)
    assert "creds.txt" not in info.value.message
    assert path.read_text() == EXAMPLE


def test_remove_drops_only_that_block_and_preserves_the_rest(tmp_path, monkeypatch):
    """Removing 'main' deletes its heading through the line before the next heading; nothing else."""
    monkeypatch.setenv("HOME", str(tmp_path))
    path = write_tools(tmp_path, EXAMPLE)
    store = ToolsMdStore(path)
    store.remove_account("main")
    start, end = EXAMPLE.index("### main"), EXAMPLE.index("### ed-key")
    assert path.read_text() == EXAMPLE[:start] + EXAMPLE[end:]
    assert list(store.load().accounts) == ["ed-key"]
    store.remove_account("ed-key")
    assert path.read_text() == EXAMPLE[:start] + EXAMPLE[EXAMPLE.index("## Other notes") :]


def test_remove_drops_every_block_of_a_duplicated_name(tmp_path):
    """A refused duplicate is removed too, so removing a name never promotes a hidden second copy."""
    path = write_tools(tmp_path, "## Binance Accounts\n" + GOOD + GOOD.replace("Testnet", "Mainnet") + "## End\n")
    ToolsMdStore(path).remove_account("good")
    assert path.read_text() == "## Binance Accounts\n## End\n"


def test_remove_of_an_unknown_name_lists_the_known_accounts(tmp_path):
    """An unknown name raises AccountError carrying the known account names."""
    store = ToolsMdStore(write_tools(tmp_path, EXAMPLE))
    with pytest.raises(AccountError) as info:
        store.remove_account("ghost")
    assert info.value.accounts == ["main", "ed-key"] and "main, ed-key" in info.value.message
    assert store.path.read_text() == EXAMPLE


# --- file safety -----------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_written_file_is_0600_even_if_it_was_more_open(tmp_path):
    """After any write TOOLS.md is owner-only, whatever its mode was before."""
    path = write_tools(tmp_path, EXAMPLE, mode=0o644)
    store = ToolsMdStore(path)
    store.add_account(
        name="x",
        environment="Paper",
        signing="HMAC",
        credentials_file=write_creds(tmp_path, NEW_KEY, NEW_SECRET),
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.remove_account("x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_group_or_world_readable_file_is_refused_unless_overridden(tmp_path):
    """load() refuses a 0644 TOOLS.md with a chmod 600 hint; allow_insecure_permissions loads it."""
    path = write_tools(tmp_path, EXAMPLE, mode=0o640)
    with pytest.raises(AccountError) as info:
        ToolsMdStore(path).load()
    assert "chmod 600" in info.value.message and str(tmp_path) not in info.value.message
    assert_no_secret(info.value.message)
    assert list(ToolsMdStore(path, allow_insecure_permissions=True).load().accounts) == ["main", "ed-key"]


def test_a_crash_before_the_rename_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    """If os.replace fails, TOOLS.md is unchanged and the temp file is removed."""
    path = write_tools(tmp_path, EXAMPLE)
    creds = write_creds(tmp_path, NEW_KEY, NEW_SECRET)
    before = sorted(p.name for p in tmp_path.iterdir())

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr(credentials.os, "replace", crash)
    with pytest.raises(AccountError, match="Could not write"):
        ToolsMdStore(path).add_account(name="new", environment="Paper", signing="HMAC", credentials_file=creds)
    assert path.read_text() == EXAMPLE
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == before


def _add_in_child(path: str, index: int, creds: str, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    ToolsMdStore(Path(path)).add_account(
        name=f"acct-{index}", environment="Paper", signing="HMAC", credentials_file=Path(creds)
    )


def test_concurrent_adders_in_separate_processes_lose_no_account(tmp_path):
    """Eight processes adding at once all end up in TOOLS.md, thanks to the lock file."""
    path = write_tools(tmp_path, EXAMPLE)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(8)
    procs = []
    for i in range(8):
        creds = write_creds(tmp_path, NEW_KEY, NEW_SECRET, name=f"c{i}.txt")
        procs.append(ctx.Process(target=_add_in_child, args=(str(path), i, str(creds), barrier)))
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * 8
    accounts = ToolsMdStore(path, allow_insecure_permissions=True).load().accounts
    assert sorted(accounts) == sorted(["main", "ed-key", *(f"acct-{i}" for i in range(8))])


def test_accounts_are_plain_frozen_dataclasses(tmp_path):
    """Account is immutable: assigning a field raises."""
    account: Account = parse_accounts(EXAMPLE, tmp_path).accounts["main"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        account.name = "other"  # type: ignore[misc]


def test_shipped_example_tools_md_loads_every_account():
    """TOOLS.md.example is a valid file: all of its accounts load with no problem."""
    example = Path(__file__).parent.parent / "TOOLS.md.example"
    result = ToolsMdStore(example, allow_insecure_permissions=True).load()
    assert result.problems == []
    assert list(result.accounts) == ["main", "ed25519-bot", "practice", "local-sim"]
