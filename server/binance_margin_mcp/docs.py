"""Generate `references/tools.md` from the catalog (`python -m binance_margin_mcp.docs`; `--check` checks it)."""

from __future__ import annotations

import sys
from pathlib import Path

from binance_margin_mcp.catalog import CATALOG, CORE, TOOLSETS, Endpoint
from binance_margin_mcp.catalog.model import Change
from binance_margin_mcp.params import SERVER_SET
from binance_margin_mcp.schema import DECIMAL_PATTERN

PIPE = " \\| "  # a literal | inside a markdown table cell

HEADER = """# Tool reference

GENERATED from the catalog (`server/binance_margin_mcp/catalog/`) by `python -m binance_margin_mcp.docs`.
Do not edit by hand: a test fails when this file is stale.

Every endpoint tool also takes `account` (a TOOLS.md account name; default `main`).
Decimals are sent exactly as given (`{pattern}`); JSON numbers are accepted and written out
without exponents. **Transaction** tools on a Mainnet account are not sent until the human types
CONFIRM. Client order ids on create endpoints get the `agent-` prefix. The server sets `recvWindow`
itself (only when the account's TOOLS.md entry has `- Recv Window: N`); it is not an argument.

**Listed by default** (no `--toolsets`): {core}. Every other endpoint is found with `search_tools`,
shown with `describe_tool` and run with `execute_tool` (the same checks, approvals and journal);
`--toolsets all` lists every endpoint as its own tool. Descriptions marked *(not in the schema)* only
restate the name and are left out of the tool's schema.

Hand-written tools: `list_accounts`, `show_account`, `add_account`, `remove_account`,
`confirm_transaction`, `list_journal` and `recover_journal` (the audit journal, see journal.md), for
the built-in paper exchange `reset_paper_account`, `set_paper_price`, `deposit_paper_funds` and
`get_paper_status`, and for discovery `search_tools`, `describe_tool` and `execute_tool`.
"""


def _param_row(entry: Endpoint, index: int) -> str:
    p = entry.params[index]
    kind = "enum: " + PIPE.join(p.enum) if p.enum else p.type
    flags = "yes" if p.required else ""
    if p.client_id is not None:
        kind += " (agent- id)"
    description = p.description.replace("|", PIPE.strip()) + (" *(not in the schema)*" if p.self_evident else "")
    return f"| `{p.name}` | {kind} | {flags} | {description} |"


def _entry_section(entry: Endpoint) -> list[str]:
    lines = [
        f"### `{entry.name}`: {entry.title}",
        "",
        f"`{entry.endpoint_id}` · security {entry.security.value} · weight {entry.weight.describe()}"
        + (" · **transaction**" if entry.transaction else "")
        + (" · listed by default" if entry.name in CORE else ""),
        "",
        entry.description,
        "",
    ]
    if any(p.name not in SERVER_SET for p in entry.params):
        lines += ["| parameter | type | required | description |", "|---|---|---|---|"]
        lines += [_param_row(entry, i) for i, p in enumerate(entry.params) if p.name not in SERVER_SET]
        lines.append("")
    return lines


CHANGES_INTRO = """## Binance changes since the seed documents

Dated changes Binance made after the documents the catalog was built from (tests/data/endpoints.tsv keeps the
seeds unchanged); each is declared on its catalog entries (`changes`) and tested in tests/test_binance_2026.py.
"""


def _changes_section() -> list[str]:
    """One row per dated change, with every tool it touches and how the server handles it."""
    tools: dict[Change, list[str]] = {}
    for entry in CATALOG.values():
        for change in entry.changes:
            tools.setdefault(change, []).append(entry.name)
    lines = [CHANGES_INTRO, "| date | change | tools | how it is handled |", "|---|---|---|---|"]
    for change in sorted(tools, key=lambda c: c.date):
        cells = (change.date, change.what, ", ".join(f"`{name}`" for name in sorted(tools[change])), change.handled)
        lines.append("| " + " | ".join(cell.replace("|", PIPE.strip()) for cell in cells) + " |")
    return [*lines, ""]


def render() -> str:
    lines = [HEADER.format(pattern=DECIMAL_PATTERN, core=", ".join(f"`{name}`" for name in CORE))]
    lines += _changes_section()
    for toolset in TOOLSETS:
        entries = sorted((e for e in CATALOG.values() if e.toolset == toolset), key=lambda e: e.name)
        lines += [f"## Toolset `{toolset}` ({len(entries)} tools)", ""]
        for entry in entries:
            lines += _entry_section(entry)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m binance_margin_mcp.docs [--output PATH] [--check]`: write the reference, or check it is current."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m binance_margin_mcp.docs",
        description="Generate the tool reference from the catalog.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--output", default="references/tools.md", metavar="PATH", help="the file to write or check")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if PATH differs from what would be generated"
    )
    args = parser.parse_args(argv)
    target = Path(args.output)
    text = render()
    if args.check:
        try:
            current = target.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"{target}: cannot read ({exc.strerror or exc})", file=sys.stderr)
            return 1
        if current != text:
            print(f"{target} is stale: run `python -m binance_margin_mcp.docs --output {target}`", file=sys.stderr)
            return 1
        print(f"{target} is up to date", file=sys.stderr)
        return 0
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
