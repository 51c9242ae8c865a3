"""Binance's own margin SDK, pointed at the standalone paper exchange, cannot tell it from Binance."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from binance_margin_mcp.simulator.serve import serve
from binance_margin_mcp.simulator.standalone import build_app

from conftest import TEST_KEY, TEST_SECRET, account_block, write_tools_md

sdk = pytest.importorskip("binance_sdk_margin_trading.margin_trading")
ED_KEY = "SDKed25519key" + "7" * 51


def ed25519_pem(path: Path) -> bytes:
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    return pem


def test_the_official_sdk_trades_on_the_paper_exchange_with_hmac_and_ed25519(tmp_path):
    """HMAC and Ed25519 clients from binance-sdk-margin-trading: account, borrow, order, open orders, coefficients."""
    pem = ed25519_pem(tmp_path / "ed.pem")
    blocks = [
        account_block("hmac", TEST_KEY, TEST_SECRET, "Paper"),
        f"### ed\n- API Key: {ED_KEY}\n- Private Key File: {tmp_path / 'ed.pem'}\n- Signing: Ed25519\n"
        "- Environment: Paper\n",
    ]
    app = build_app(write_tools_md(tmp_path / "TOOLS.md", blocks), ":memory:")
    with serve(app, port=0) as url:
        configs = [
            sdk.ConfigurationRestAPI(api_key=TEST_KEY, api_secret=TEST_SECRET, base_path=url, timeout=5000),
            sdk.ConfigurationRestAPI(api_key=ED_KEY, private_key=pem, base_path=url, timeout=5000),
        ]
        for config in configs:
            api = sdk.MarginTrading(config_rest_api=config).rest_api
            assert api.query_cross_margin_account_details().data().margin_level == "999"
            borrowed = api.margin_account_borrow_repay(asset="USDT", is_isolated="FALSE", amount="100", type="BORROW")
            assert borrowed.data().tran_id > 0
            order = api.margin_account_new_order(
                symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=0.001, price=50000, time_in_force="GTC"
            ).data()
            assert order.status == "NEW" and order.symbol == "BTCUSDT"
            assert [o.order_id for o in api.query_margin_accounts_open_orders(symbol="BTCUSDT").data()] == [
                order.order_id
            ]
            bars = api.get_summary_of_margin_account().data()
            assert (bars.margin_call_bar, bars.force_liquidation_bar) == ("1.3", "1.1")
