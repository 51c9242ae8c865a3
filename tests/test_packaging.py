"""Packaging files (issue 12): Dockerfile and .dockerignore, the MCP Bundle manifest, the registry's server.json.

The Dockerfile is checked by parsing it (no Docker engine is needed); the manifest is also validated by the
official `mcpb validate` in `.ci/run`. No JSON schema of server.json ships in an installed package, so its
required fields and the registry's published constraints are checked here by hand.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SECRET_NAMES = ("TOOLS.md", "key.pem", "keys/ed25519.pem", "http-token")


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, backslash continuations joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for plain patterns: a match on the path or on any leading directory of it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.removeprefix("!").strip("/")
        if any(fnmatch(p, body) or (body.startswith("**/") and fnmatch(p, body[3:])) for p in prefixes):
            result = not negate
    return result


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def test_parser_joins_continuations_and_drops_comments() -> None:
    parsed = dockerfile_instructions("# c\nFROM x:1\nRUN a \\\n    && b\n\nuser me\n")
    assert parsed == [("FROM", "x:1"), ("RUN", "a && b"), ("USER", "me")]


def test_base_image_is_a_pinned_slim_python_3_11_or_newer(instructions: list[tuple[str, str]]) -> None:
    bases = [args.split()[0] for word, args in instructions if word == "FROM"]
    assert bases, "no FROM"
    for base in bases:
        match = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", base)
        assert match, f"base image {base!r} is not a pinned python:X.Y.Z-slim tag"
        assert (int(match[1]), int(match[2])) >= (3, 11)


def test_runs_as_a_non_root_user_before_the_entrypoint(instructions: list[tuple[str, str]]) -> None:
    words = [word for word, _ in instructions]
    assert "ENTRYPOINT" in words
    entry = words.index("ENTRYPOINT")
    users = [args for word, args in instructions[:entry] if word == "USER"]
    assert users, "no USER before ENTRYPOINT"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert not any(word == "USER" for word in words[entry:]), "USER changed after ENTRYPOINT"


def test_entrypoint_is_the_console_script_in_exec_form(instructions: list[tuple[str, str]]) -> None:
    entries = [args for word, args in instructions if word == "ENTRYPOINT"]
    assert len(entries) == 1
    assert json.loads(entries[0]) == ["binance-margin-mcp"]
    assert "binance-margin-mcp" in PYPROJECT["project"]["scripts"]
    assert not any(word == "CMD" for word, _ in instructions), "stdio is the default: no CMD arguments"


def test_no_credentials_are_copied_or_set(instructions: list[tuple[str, str]]) -> None:
    for word, args in instructions:
        if word in ("COPY", "ADD"):
            sources = [s for s in shlex.split(args) if not s.startswith("--")][:-1]
            for source in sources:
                assert source not in (".", "./"), "COPY of the whole context"
                assert not re.search(r"TOOLS\.md|\.pem$|\.key$|http-token", source), source
        if word in ("ENV", "ARG"):
            assert not re.search(r"(?i)api[_-]?key|secret|token", args), args


def test_dockerignore_excludes_credentials_and_local_state() -> None:
    patterns = dockerignore_patterns()
    for path in (*SECRET_NAMES, "server/TOOLS.md", ".venv/bin/python", ".git/config", "tests/data/endpoints.tsv"):
        assert ignored(path, patterns), f".dockerignore lets {path} into the build context"
    for path in ("pyproject.toml", "README.md", "LICENSE", "server/binance_margin_mcp/cli.py"):
        assert not ignored(path, patterns), f".dockerignore drops {path}, which the image needs"


def test_mcpbignore_excludes_credentials() -> None:
    lines = (ROOT / ".mcpbignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for path in (*SECRET_NAMES, ".venv/bin/python", ".git/config", "tests/data/endpoints.tsv"):
        assert ignored(path, patterns), f".mcpbignore lets {path} into the bundle"


def test_license_is_mit() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 binance-margin-mcp contributors" in text
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}


def test_manifest_matches_pyproject() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == PYPROJECT["project"]["version"]
    assert manifest["name"] == PYPROJECT["project"]["name"]
    assert manifest["license"] == "MIT"
    server = manifest["server"]
    assert server["type"] == "python"
    assert (ROOT / server["entry_point"]).is_file()
    args = server["mcp_config"]["args"]
    assert args[:2] == ["-m", "binance_margin_mcp"]
    assert args[args.index("--tools-md") + 1] == "${user_config.tools_md}"
    assert manifest["user_config"]["tools_md"]["type"] in ("file", "string")
    assert manifest["compatibility"]["runtimes"]["python"] == PYPROJECT["project"]["requires-python"]


def test_server_json_for_the_registry() -> None:
    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    for field in ("$schema", "name", "description", "version"):
        assert isinstance(server.get(field), str) and server[field], field
    assert re.fullmatch(
        r"https://static\.modelcontextprotocol\.io/schemas/\d{4}-\d{2}-\d{2}/server\.schema\.json", server["$schema"]
    )
    # The registry's constraints: reverse-DNS namespace / name, a description of at most 100 characters.
    assert re.fullmatch(r"io\.github\.[a-zA-Z0-9-]+/[a-zA-Z0-9._-]+", server["name"])
    assert server["name"].endswith("/binance-margin-mcp")
    assert len(server["description"]) <= 100
    assert server["version"] == PYPROJECT["project"]["version"] == manifest["version"]
    (package,) = server["packages"]
    assert package["registryType"] == "pypi"
    assert package["identifier"] == PYPROJECT["project"]["name"]
    assert package["version"] == server["version"]
    assert package["transport"] == {"type": "stdio"}
    for argument in package.get("packageArguments", []):
        assert argument["type"] in ("named", "positional")
        assert argument.get("isRequired") is False, "the server starts without arguments"
    names = [argument["name"] for argument in package["packageArguments"]]
    assert "--tools-md" in names
    # PyPI ownership: the README (the package's long description) carries the mcp-name marker.
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_server_json_arguments_exist_on_the_command_line() -> None:
    from binance_margin_mcp.cli import _serve_parser

    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    options = {option for action in _serve_parser()._actions for option in action.option_strings}
    for argument in server["packages"][0]["packageArguments"]:
        assert argument["name"] in options
