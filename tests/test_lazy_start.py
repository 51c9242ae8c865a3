"""Start-up builds only what tools/list needs: httpx, the simulator and `cryptography` load when first used,
the paper exchange opens on the first paper call, and the TLS context is built off the request path."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.settings import Settings
from binance_margin_mcp.transport import BinanceHttp

from conftest import TEST_KEY, TEST_SECRET, account_block, write_tools_md

HEAVY = ("httpx", "httpcore", "cryptography", "binance_margin_mcp.simulator", "sqlite3")
# One fresh interpreter goes through the stages in order and reports, after each, which HEAVY packages it holds.
STAGES = {
    "request path imported": "\n".join(
        f"import binance_margin_mcp.{m}" for m in ("service", "transport", "client", "pretrade", "paper", "signing")
    ),
    "HMAC signed": "from binance_margin_mcp.signing import make_signer\nmake_signer('HMAC', secret='s').sign(b'x=1')",
    "server built": "from binance_margin_mcp.app import build_server\n"
    "from binance_margin_mcp.settings import Settings\n"
    "build_server(Settings(tools_md=TOOLS_MD, paper_state=':memory:', journal_path=None))",
    "RSA key loaded": "from pathlib import Path\ntry:\n"
    "    make_signer('RSA', private_key_file=Path('/nonexistent.pem'))\nexcept Exception:\n    pass",
    # what `binance-margin-mcp` runs before serving: the start-up objects end frozen, the GC running again
    "CLI built": "import gc\nfrom binance_margin_mcp import cli\n"
    "cli._build(Settings(tools_md=TOOLS_MD, paper_state=':memory:', journal_path=None))\n"
    "print(json.dumps(['gc', [gc.isenabled(), gc.get_freeze_count()]]))",
}
REPORT = (
    "print(json.dumps([STAGE, sorted({m.split('.')[0] if not m.startswith('binance') else '.'.join(m.split('.')[:3]) "
    f"for m in sys.modules if m.startswith({HEAVY!r})}})]))"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Stage -> the HEAVY modules (packages; the simulator's by submodule) loaded once that stage ran."""
    tmp = tmp_path_factory.mktemp("lazy")
    tools_md = write_tools_md(tmp / "T.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet")])
    probe = f"import json, sys\nTOOLS_MD = {str(tools_md)!r}\n"
    probe += "".join(f"{code}\nSTAGE = {stage!r}\n{REPORT}\n" for stage, code in STAGES.items())
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(line) for line in done.stdout.splitlines() if line.startswith("["))


def test_the_cli_builds_with_the_gc_paused_then_freezes_what_it_built(loaded):
    """The collector runs again once the server is built; the start-up objects are out of its way."""
    enabled, frozen = loaded["gc"]
    assert enabled and frozen > 50_000


def test_the_request_path_modules_import_nothing_heavy(loaded):
    """Service, transport, client, pre-trade, paper and signing load neither httpx nor cryptography nor the
    simulator (nor sqlite3) at import time."""
    assert loaded["request path imported"] == []


def test_hmac_signing_never_loads_cryptography_and_rsa_does(loaded):
    """HMAC uses the standard library (the known-answer vector is pinned in test_signing)."""
    assert loaded["HMAC signed"] == []
    assert "cryptography" in loaded["RSA key loaded"]


def test_a_built_server_has_not_loaded_httpx_or_the_simulators_front_end(loaded):
    """Building the whole server (what answers tools/list) loads no HTTP client and neither the paper exchange's
    HTTP front end nor its key registry (the paper exchange opens on the first paper call)."""
    built = loaded["server built"]
    assert "httpx" not in built and "httpcore" not in built
    assert "binance_margin_mcp.simulator.http" not in built and "binance_margin_mcp.simulator.keys" not in built


async def test_the_paper_exchange_opens_on_the_first_paper_call(tmp_path: Path):
    """No state file is touched at start; the first paper call creates it and answers from it."""
    state = tmp_path / "paper" / "paper.sqlite"
    settings = Settings(tools_md=tmp_path / "absent.md", paper_state=str(state), journal_path=None)
    service = build_service(settings)
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        listed = await client.list_tools()
        assert listed.tools and not state.parent.exists()
        result = await client.call_tool("get_cross_margin_account", {})
    assert not result.is_error and state.exists()
    service.venue.close()


def test_the_warm_up_builds_one_tls_context_for_every_host():
    """warm_up() builds the TLS context on a thread at once (httpx's imports wait there until start-up is over,
    or until the first request asks); clients then share that one context."""
    http = BinanceHttp()
    http.warm_up()
    assert http._warming is not None
    deadline = time.monotonic() + 30
    while http._tls is None and time.monotonic() < deadline:
        time.sleep(0.01)
    context = http._tls
    assert context is not None
    first, second = http._client("https://api.binance.com"), http._client("https://testnet.binance.vision")
    assert http._tls is context and not http._warming.is_alive()  # the first client woke it and waited for it
    assert first._transport._pool._ssl_context is context is second._transport._pool._ssl_context


def test_an_injected_transport_needs_no_warm_up():
    """Tests and the in-process paper route never start the thread."""
    from fakes.fake_binance import FakeBinance

    http = BinanceHttp(FakeBinance().transport())
    http.warm_up()
    assert http._warming is None
