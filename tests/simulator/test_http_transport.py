"""Front ends and faults: the in-process httpx transport, the loopback server, run_forever, fault injection."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from test_http_support import (
    ACCOUNT_PATH,
    KEY,
    NOW,
    ORDER,
    ORDER_PATH,
    SECRET,
    call,
    encode,
    hmac_hex,
    make_app,
    signed,
)

from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.serve import run_forever, serve

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_the_in_process_transport_serves_an_async_client_with_raw_query_and_form_body():
    """httpx.AsyncClient(transport=app.transport()) reaches the app; query + body are verified as sent."""
    app, exchange, _ = make_app()
    query = encode(ORDER[:3])
    body = encode([*ORDER[3:], ("timestamp", str(NOW))])
    signature = hmac_hex(SECRET, query + body)
    async with httpx.AsyncClient(transport=app.transport(), base_url="http://paper.local") as client:
        response = await client.post(
            f"{ORDER_PATH}?{query.decode()}",
            content=body + b"&signature=" + signature.encode(),
            headers={"X-MBX-APIKEY": KEY, **FORM},
        )
        missing = await client.get("/sapi/v1/margin/nope")
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True}
    assert response.headers["x-sapi-used-uid-weight-1m"] == "6"
    assert exchange.calls[0][2] == dict(ORDER)
    assert (missing.status_code, missing.headers["content-type"]) == (404, "text/html")


def test_the_transport_also_serves_a_sync_client():
    """The same transport object works for httpx.Client."""
    app, exchange, _ = make_app()
    with httpx.Client(transport=app.transport(), base_url="http://paper.local") as client:
        response = client.get(f"{ACCOUNT_PATH}?{signed([]).decode()}", headers={"X-MBX-APIKEY": KEY})
    assert response.status_code == 200, response.text
    assert len(exchange.calls) == 1


def test_the_loopback_server_serves_httpx_with_keep_alive_and_exact_bytes():
    """A real socket: signed requests (percent-encoded Ed25519 signature), weight headers, 404 HTML, HTTP/1.1."""
    app, exchange, _ = make_app()
    private = ed25519.Ed25519PrivateKey.generate()
    app.keys.add_public_key("edKEYloopback0001", private.public_key(), "eddie")
    payload = encode([*ORDER, ("newClientOrderId", "my id"), ("timestamp", str(NOW))])
    signature = quote(base64.b64encode(private.sign(payload)).decode(), safe="")
    with serve(app, port=0) as base_url, httpx.Client(base_url=base_url) as client:
        assert base_url.startswith("http://127.0.0.1:")
        first = client.get(f"{ACCOUNT_PATH}?{signed([]).decode()}", headers={"X-MBX-APIKEY": KEY})
        second = client.post(
            f"{ORDER_PATH}?{payload.decode()}&signature={signature}", headers={"X-MBX-APIKEY": "edKEYloopback0001"}
        )
        missing = client.get("/sapi/v1/margin/nope")
    assert first.status_code == 200, first.text
    assert first.headers["x-sapi-used-ip-weight-1m"] == "10"
    assert first.http_version == "HTTP/1.1" and first.headers.get("connection") != "close"
    assert second.status_code == 200, second.text
    assert exchange.calls[1][:2] == ("eddie", "create_margin_order")
    assert exchange.calls[1][2]["newClientOrderId"] == "my id"
    assert missing.status_code == 404 and missing.text.startswith("<html")


def test_the_loopback_server_reads_form_bodies():
    """A POST whose parameters are all in a form body is verified and executed."""
    app, exchange, _ = make_app()
    with serve(app, port=0) as base_url, httpx.Client(base_url=base_url) as client:
        response = client.post(ORDER_PATH, content=signed(ORDER), headers={"X-MBX-APIKEY": KEY, **FORM})
    assert response.status_code == 200, response.text
    assert exchange.calls[0][2] == dict(ORDER)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "example.com"])
def test_serve_and_run_forever_refuse_non_loopback_addresses(host):
    """Keys are accepted there, so only loopback binds are allowed."""
    app, _, _ = make_app()
    with pytest.raises(ValueError, match="loopback"), serve(app, host=host, port=0):
        pass
    with pytest.raises(ValueError, match="loopback"):
        run_forever(app, host=host, port=0)


def test_run_forever_logs_its_address_to_stderr_and_serves():
    """The CLI entry point prints 'paper exchange listening on http://127.0.0.1:<port>' and answers requests."""
    program = textwrap.dedent(
        """
        from binance_margin_mcp.simulator.http import SimulatorApp
        from binance_margin_mcp.simulator.keys import KeyRegistry
        from binance_margin_mcp.simulator.serve import run_forever

        class Exchange:
            def handle(self, user, endpoint, params): return {}
            def public(self, path, params): return {"serverTime": 42}
            def ensure_user(self, user): pass

        run_forever(SimulatorApp(Exchange(), KeyRegistry()), "127.0.0.1", 0)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(SERVER_DIR)}
    process = subprocess.Popen([sys.executable, "-c", program], stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stderr.readline().strip()
        assert line.startswith("paper exchange listening on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1]
        assert httpx.get(f"{url}/api/v3/time", timeout=5).json()["serverTime"] > 1_700_000_000_000
    finally:
        process.terminate()
        process.wait(timeout=5)
        process.stderr.close()


# -- faults ----------------------------------------------------------------------------------------


def test_http_500_answers_500_without_executing_and_is_one_shot():
    """The next request gets 500 -1000 and does not reach the exchange; the one after is normal."""
    app, exchange, _ = make_app()
    app.inject("http_500")
    answer = call(app, "POST", ORDER_PATH, signed(ORDER))
    assert (answer.status, answer.code) == (500, -1000)
    assert exchange.calls == []
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).status == 200
    assert len(exchange.calls) == 1


def test_http_500_after_apply_executes_then_answers_500():
    """The order is applied but reported as an internal error."""
    app, exchange, _ = make_app()
    app.inject("http_500_after_apply")
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).status == 500
    assert len(exchange.calls) == 1


def test_html_502_answers_an_html_bad_gateway_without_executing():
    """A gateway error page, not JSON, and nothing executed."""
    app, exchange, _ = make_app()
    app.inject("html_502")
    answer = call(app, "POST", ORDER_PATH, signed(ORDER))
    assert (answer.status, answer.headers["Content-Type"]) == (502, "text/html")
    assert answer.raw.startswith(b"<html")
    assert exchange.calls == []


def test_truncated_json_executes_and_sends_a_cut_body():
    """The exchange runs; the body is a strict prefix of the real JSON and does not parse."""
    app, exchange, _ = make_app()
    exchange.result = {"orderId": 1, "status": "NEW"}
    app.inject("truncated_json")
    answer = call(app, "POST", ORDER_PATH, signed(ORDER))
    assert answer.status == 200
    full = b'{"orderId":1,"status":"NEW"}'
    assert full.startswith(answer.raw) and answer.raw != full
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.raw)
    assert len(exchange.calls) == 1


async def test_timeout_after_apply_executes_then_raises_read_timeout_in_process():
    """In process the client sees httpx.ReadTimeout although the order was applied."""
    app, exchange, _ = make_app()
    app.inject("timeout_after_apply")
    async with httpx.AsyncClient(transport=app.transport(), base_url="http://paper.local") as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{ORDER_PATH}?{signed(ORDER).decode()}", headers={"X-MBX-APIKEY": KEY})
    assert len(exchange.calls) == 1


def test_an_after_apply_fault_also_hides_a_rejection_by_the_exchange():
    """The exchange's answer is lost whatever it was: a rejected order dropped in transit still times out."""
    app, exchange, _ = make_app()
    exchange.error = SimError(-2010, "Account has insufficient balance for requested action.")
    app.inject("timeout_after_apply")
    with httpx.Client(transport=app.transport(), base_url="http://paper.local") as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(f"{ORDER_PATH}?{signed(ORDER).decode()}", headers={"X-MBX-APIKEY": KEY})
        answer = client.post(f"{ORDER_PATH}?{signed(ORDER).decode()}", headers={"X-MBX-APIKEY": KEY})
    assert (answer.status_code, answer.json()["code"]) == (400, -2010)
    assert len(exchange.calls) == 2


def test_timeout_before_apply_raises_read_timeout_without_executing():
    """The request is lost before the exchange sees it."""
    app, exchange, _ = make_app()
    app.inject("timeout_before_apply")
    with (
        httpx.Client(transport=app.transport(), base_url="http://paper.local") as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post(f"{ORDER_PATH}?{signed(ORDER).decode()}", headers={"X-MBX-APIKEY": KEY})
    assert exchange.calls == []


def test_timeout_after_apply_drops_the_connection_on_the_loopback_server():
    """Over a socket the server hangs up without a status line after applying the request."""
    app, exchange, _ = make_app()
    app.inject("timeout_after_apply")
    with serve(app, port=0) as base_url, httpx.Client(base_url=base_url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(f"{ORDER_PATH}?{signed(ORDER).decode()}", headers={"X-MBX-APIKEY": KEY})
        assert len(exchange.calls) == 1
        again = client.post(f"{ORDER_PATH}?{signed(ORDER).decode()}", headers={"X-MBX-APIKEY": KEY})
    assert again.status_code == 200


def test_a_fault_can_target_one_endpoint_and_waits_for_a_request_that_passes_the_checks():
    """A fault for create_margin_order skips other endpoints and rejected requests, then fires once."""
    app, exchange, _ = make_app()
    app.inject("http_500", endpoint="create_margin_order")
    assert call(app, "GET", ACCOUNT_PATH, signed([])).status == 200
    assert call(app, "POST", ORDER_PATH, signed(ORDER, secret="wrong")).code == -1022
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).status == 500
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).status == 200
    assert [endpoint for _, endpoint, _ in exchange.calls] == ["get_cross_margin_account", "create_margin_order"]
    assert len(app.faults) == 0


def test_a_callable_fault_may_replace_the_reply_and_markers_may_be_pushed_directly():
    """fn(endpoint, params) returning a reply short-circuits; a marker appended to faults works like inject()."""
    app, exchange, _ = make_app()
    seen = []

    def fault(endpoint, params):
        seen.append((endpoint, params["symbol"]))
        return 503, {"Retry-After": "1"}, {"code": -1008, "msg": "busy"}

    app.inject(fault)
    answer = call(app, "POST", ORDER_PATH, signed(ORDER))
    assert (answer.status, answer.code, answer.headers["Retry-After"]) == (503, -1008, "1")
    assert seen == [("create_margin_order", "BTCUSDT")]
    app.faults.append("http_500")
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).status == 500
    assert exchange.calls == []


def test_inject_refuses_unknown_faults_and_endpoints():
    """A typo in a fault name or endpoint fails loudly instead of never firing."""
    app, _, _ = make_app()
    with pytest.raises(ValueError, match="unknown fault"):
        app.inject("http_501")
    with pytest.raises(ValueError, match="no route"):
        app.inject("http_500", endpoint="create_margin_ordr")
    assert app.inject("http_500", endpoint="POST /sapi/v1/margin/order").endpoint == "POST /sapi/v1/margin/order"
