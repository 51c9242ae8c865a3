"""The paper exchange's HTTP front end: routing, keys, timestamp, signature, parameters, errors.

Every check is exercised so that the test fails if the check were missing: each rejection also
asserts that the exchange was never called, and each acceptance that it was.
"""

from __future__ import annotations

import logging

import pytest
from test_http_support import (
    ACCOUNT_PATH,
    KEY,
    NOW,
    ORDER,
    ORDER_PATH,
    SECRET,
    USER,
    Clock,
    call,
    encode,
    hmac_hex,
    make_app,
    signed,
)

from binance_margin_mcp.simulator.errors import SimError

# Binance's published example credentials and vectors (fact sheet §1.6).
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_TIME = 1499827319559
H1_PAYLOAD = (
    b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
H1_SIGNATURE = b"c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
H4_QUERY = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
H4_BODY = b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
H4_SIGNATURE = b"0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"


def doc_app():
    app, exchange, _ = make_app(clock=Clock(DOC_TIME))
    app.keys.add_hmac(DOC_KEY, DOC_SECRET, "doc")
    return app, exchange


def mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


# -- routing ---------------------------------------------------------------------------------------


def test_an_unknown_path_gets_an_html_404_like_binance_s_gateway():
    """An unknown route answers HTTP 404 with an HTML page, no JSON code and no weight header."""
    app, exchange, _ = make_app()
    answer = call(app, "GET", "/sapi/v1/margin/nope", signed([]))
    assert answer.status == 404
    assert answer.headers == {"Content-Type": "text/html"}
    assert answer.raw.startswith(b"<html")
    assert exchange.calls == []


@pytest.mark.parametrize(("method", "path"), [("PATCH", ORDER_PATH), ("GET", "/sapi/v1/margin/listen-key")])
def test_a_known_path_with_a_method_it_does_not_serve_is_a_404(method, path):
    """Routes are (METHOD, path) pairs: the right path with the wrong method is not found."""
    app, exchange, _ = make_app()
    assert call(app, method, path, signed(ORDER)).status == 404
    assert exchange.calls == []


# -- signatures ------------------------------------------------------------------------------------


def test_a_correctly_signed_request_reaches_the_exchange_without_timestamp_signature_or_recv_window():
    """The exchange gets the user, the catalog tool name and only the endpoint's own parameters."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed([*ORDER, ("recvWindow", "5000")]))
    assert answer.status == 200, answer.raw
    assert answer.raw == b'{"ok":true}'
    assert answer.headers["Content-Type"] == "application/json"
    assert exchange.calls == [(USER, "create_margin_order", dict(ORDER))]
    call(app, "POST", ORDER_PATH, signed(ORDER))
    assert exchange.ensured == [USER], "ensure_user runs once per user"


def test_binance_s_published_query_string_vector_is_accepted():
    """Fact sheet H1: the documented request, signed by Binance's example secret, passes as sent."""
    app, exchange = doc_app()
    answer = call(app, "POST", ORDER_PATH, H1_PAYLOAD + b"&signature=" + H1_SIGNATURE, key=DOC_KEY)
    assert answer.status == 200, answer.raw
    assert exchange.calls[0][0] == "doc"


def test_query_and_body_are_signed_as_one_string_with_no_separator_at_the_join():
    """Fact sheet H4: payload = query + body; the H1 signature (with an '&' at the join) must fail."""
    app, exchange = doc_app()
    good = call(app, "POST", ORDER_PATH, H4_QUERY, H4_BODY + b"&signature=" + H4_SIGNATURE, key=DOC_KEY)
    assert good.status == 200, good.raw
    bad = call(app, "POST", ORDER_PATH, H4_QUERY, H4_BODY + b"&signature=" + H1_SIGNATURE, key=DOC_KEY)
    assert (bad.status, bad.code, bad.msg) == (400, -1022, "Signature for this request is not valid.")
    assert len(exchange.calls) == 1


def test_a_wrong_signature_is_1022_and_nothing_executes():
    """A signature made with another secret is refused with HTTP 400 -1022."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed(ORDER, secret="not-the-secret"))
    assert (answer.status, answer.code) == (400, -1022)
    assert exchange.calls == []


def test_one_tampered_byte_after_signing_invalidates_the_signature():
    """Changing a single byte of a signed request makes it fail verification."""
    app, exchange, _ = make_app()
    query = signed(ORDER).replace(b"quantity=0.001", b"quantity=0.002")
    assert call(app, "POST", ORDER_PATH, query).code == -1022
    assert exchange.calls == []


def test_upper_case_hmac_hex_is_accepted():
    """Binance compares HMAC hex case-insensitively."""
    app, exchange, _ = make_app()
    payload = encode([*ORDER, ("timestamp", str(NOW))])
    answer = call(app, "POST", ORDER_PATH, payload + b"&signature=" + hmac_hex(SECRET, payload).upper().encode())
    assert answer.status == 200, answer.raw
    assert len(exchange.calls) == 1


def test_the_signature_covers_the_bytes_as_sent_and_never_a_re_encoding():
    """'my+id' and 'my%20id' each verify when signed as sent, and fail when signed in the other spelling."""
    app, exchange, _ = make_app()
    base = b"symbol=BTCUSDT&side=SELL&type=MARKET&quantity=1&newClientOrderId="
    for spelling, other in ((b"my+id", b"my%20id"), (b"my%20id", b"my+id")):
        payload = base + spelling + b"&timestamp=" + str(NOW).encode()
        good = call(app, "POST", ORDER_PATH, payload + b"&signature=" + hmac_hex(SECRET, payload).encode())
        assert good.status == 200, good.raw
        assert exchange.calls[-1][2]["newClientOrderId"] == "my id"
        wrong = hmac_hex(SECRET, payload.replace(spelling, other)).encode()
        assert call(app, "POST", ORDER_PATH, payload + b"&signature=" + wrong).code == -1022
    decoded = base + b"my id&timestamp=" + str(NOW).encode()
    sent = decoded.replace(b"my id", b"my%20id")
    assert call(app, "POST", ORDER_PATH, sent + b"&signature=" + hmac_hex(SECRET, decoded).encode()).code == -1022
    assert len(exchange.calls) == 2


def test_a_signature_anywhere_in_the_query_is_removed_with_its_ampersand():
    """The signature pair may come first or in the middle; the rest is verified byte for byte."""
    app, exchange, _ = make_app()
    payload = encode([*ORDER, ("timestamp", str(NOW))])
    signature = b"signature=" + hmac_hex(SECRET, payload).encode()
    assert call(app, "POST", ORDER_PATH, signature + b"&" + payload).status == 200
    head, tail = payload.split(b"&type=")
    assert call(app, "POST", ORDER_PATH, head + b"&" + signature + b"&type=" + tail).status == 200
    assert len(exchange.calls) == 2


def test_empty_segments_stay_in_the_signed_payload():
    """'a=1&&b=2' is verified as sent: dropping the empty segment before hashing would break the signature."""
    app, exchange, _ = make_app()
    payload = encode(ORDER[:3]) + b"&&" + encode([*ORDER[3:], ("timestamp", str(NOW))])
    answer = call(app, "POST", ORDER_PATH, payload + b"&signature=" + hmac_hex(SECRET, payload).encode())
    assert answer.status == 200, answer.raw
    assert exchange.calls[0][2] == dict(ORDER)


def test_a_missing_or_empty_signature_is_1102_naming_signature():
    """A signed endpoint without a signature value is -1102 for 'signature'."""
    app, exchange, _ = make_app()
    unsigned = encode([*ORDER, ("timestamp", str(NOW))])
    for query in (unsigned, unsigned + b"&signature="):
        answer = call(app, "POST", ORDER_PATH, query)
        assert (answer.status, answer.code, answer.msg) == (400, -1102, mandatory("signature"))
    assert exchange.calls == []


def test_a_signature_sent_twice_is_a_duplicate_parameter():
    """Two signatures, in one part or one in the query and one in the body, are -1101."""
    app, exchange, _ = make_app()
    query = signed(ORDER)
    signature = query.rsplit(b"&", 1)[1]
    assert call(app, "POST", ORDER_PATH, query + b"&" + signature).code == -1101
    assert call(app, "POST", ORDER_PATH, query, signature).code == -1101
    assert exchange.calls == []


def test_a_body_that_is_not_a_form_carries_no_parameters():
    """Only application/x-www-form-urlencoded bodies are read; a JSON-typed body leaves timestamp unsent."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, b"", signed(ORDER), headers={"Content-Type": "application/json"})
    assert (answer.code, answer.msg) == (-1102, mandatory("timestamp"))
    assert call(app, "POST", ORDER_PATH, b"", signed(ORDER)).status == 200
    assert len(exchange.calls) == 1


# -- API keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "two words"])
def test_a_missing_or_malformed_api_key_on_a_signed_endpoint_is_2014_with_401(key):
    """No X-MBX-APIKEY (or one that cannot be a key) is -2014 'API-key format invalid.'."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed(ORDER), key=key)
    assert (answer.status, answer.code, answer.msg) == (401, -2014, "API-key format invalid.")
    assert exchange.calls == []


def test_an_unknown_api_key_is_2015_with_401():
    """A well-formed key nobody registered is -2015."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed(ORDER), key="unknownKEY123")
    assert (answer.status, answer.code) == (401, -2015)
    assert answer.msg == "Invalid API-key, IP, or permissions for action."
    assert exchange.calls == []


def test_the_key_header_name_is_case_insensitive():
    """HTTP header names are case-insensitive: x-mbx-apikey works like X-MBX-APIKEY."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed(ORDER), key=None, headers={"x-mbx-apikey": KEY})
    assert answer.status == 200, answer.raw
    assert exchange.calls[0][0] == USER


def test_user_stream_endpoints_need_a_key_but_no_timestamp_or_signature():
    """Listen-key calls pass with just the key; a stray timestamp or signature is ignored and not passed on."""
    app, exchange, _ = make_app()
    path = "/sapi/v1/margin/listen-key"
    assert call(app, "POST", path).status == 200
    assert call(app, "PUT", path, b"listenKey=abc&timestamp=1&signature=junk").status == 200
    assert exchange.calls == [
        (USER, "start_margin_user_data_stream", {}),
        (USER, "keepalive_margin_user_data_stream", {"listenKey": "abc"}),
    ]
    assert call(app, "POST", path, key=None).code == -2014
    assert call(app, "POST", path, key="unknownKEY123").code == -2015
    assert len(exchange.calls) == 2


def test_market_data_needs_a_known_key_and_accepts_a_call_signed_or_not():
    """MARKET_DATA (fact sheet 1.1): no key is -2014, an unknown key -2015; a known key names its user, with or
    without timestamp and signature (the SDK signs some of these), and the signature is not checked."""
    app, exchange, _ = make_app()
    path = "/sapi/v1/margin/delist-schedule"
    assert (call(app, "GET", path, key=None).status, call(app, "GET", path, key=None).code) == (401, -2014)
    assert call(app, "GET", path, key="").code == -2014
    assert call(app, "GET", path, key="unknownKEY123").code == -2015
    assert call(app, "GET", path).status == 200
    assert call(app, "GET", path, signed([])).status == 200
    assert call(app, "GET", path, b"recvWindow=5000&timestamp=1&signature=junk").status == 200
    assert exchange.calls == [(USER, "get_margin_delist_schedule", {})] * 3
    assert exchange.ensured == [USER]


def test_the_public_api_v3_routes_go_to_exchange_public():
    """exchangeInfo and ticker/price need no key and call exchange.public(path, params); /api/v3/time answers
    with the front end's own clock, the one timestamps are judged by."""
    app, exchange, _ = make_app()
    app.clock_ms = lambda: NOW + 4321
    assert call(app, "GET", "/api/v3/time", key=None).json == {"serverTime": NOW + 4321}
    assert call(app, "GET", "/api/v3/ticker/price", b"symbol=BTCUSDT", key=None).status == 200
    assert call(app, "GET", "/api/v3/exchangeInfo", b"symbols=BTCUSDT%2CETHUSDT").status == 200
    assert exchange.public_calls == [
        ("/api/v3/ticker/price", {"symbol": "BTCUSDT"}),
        ("/api/v3/exchangeInfo", {"symbols": "BTCUSDT,ETHUSDT"}),
    ]
    assert call(app, "GET", "/api/v3/exchangeInfo", b"foo=1").code == -1104
    assert exchange.calls == []


# -- timestamp and recvWindow ----------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [None, "", "12a", "-5", "1e12"])
def test_a_missing_or_malformed_timestamp_is_1102_naming_timestamp(timestamp):
    """timestamp must be sent as digits."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=timestamp))
    assert (answer.status, answer.code, answer.msg) == (400, -1102, mandatory("timestamp"))
    assert exchange.calls == []


def test_a_timestamp_older_than_recv_window_is_1021_and_the_boundary_is_inclusive():
    """serverTime - timestamp <= recvWindow (default 5000) passes; one millisecond more fails."""
    app, exchange, _ = make_app()
    stale = call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=NOW - 5001))
    assert (stale.status, stale.code) == (400, -1021)
    assert stale.msg == "Timestamp for this request is outside of the recvWindow."
    assert call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=NOW - 5000)).status == 200
    assert len(exchange.calls) == 1


def test_a_timestamp_a_second_or_more_ahead_is_1021_and_999_ms_ahead_passes():
    """timestamp < serverTime + 1000 is strict."""
    app, exchange, _ = make_app()
    ahead = call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=NOW + 1000))
    assert (ahead.code, ahead.msg) == (-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    assert call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=NOW + 999)).status == 200
    assert len(exchange.calls) == 1


def test_recv_window_above_60000_is_1131_and_60000_widens_the_window():
    """recvWindow 60001 is refused; 60000 accepts a timestamp a minute old that the default would refuse."""
    app, exchange, _ = make_app()
    too_big = call(app, "POST", ORDER_PATH, signed([*ORDER, ("recvWindow", "60001")]))
    assert (too_big.status, too_big.code, too_big.msg) == (400, -1131, "recvWindow must be less than 60000")
    old = NOW - 60000
    assert call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=old)).code == -1021
    assert call(app, "POST", ORDER_PATH, signed([*ORDER, ("recvWindow", "60000")], timestamp=old)).status == 200
    assert call(app, "POST", ORDER_PATH, signed([*ORDER, ("recvWindow", "5e3")])).code == -1130
    assert len(exchange.calls) == 1


def test_recv_window_may_carry_microseconds_and_timestamps_may_be_microseconds():
    """recvWindow '5000.5' and a 16-digit microsecond timestamp are both understood."""
    app, exchange, _ = make_app()
    micro = NOW * 1000 + 500
    assert call(app, "POST", ORDER_PATH, signed([*ORDER, ("recvWindow", "5000.5")], timestamp=micro)).status == 200
    assert call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=NOW * 1000 - 5_000_001)).code == -1021
    assert len(exchange.calls) == 1


# -- parameters ------------------------------------------------------------------------------------


def test_a_missing_mandatory_parameter_is_1102_naming_it():
    """create_margin_order without side: Binance's exact -1102 text with the name."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed([p for p in ORDER if p[0] != "side"]))
    assert (answer.status, answer.code, answer.msg) == (400, -1102, mandatory("side"))
    assert exchange.calls == []


def test_an_empty_value_counts_as_not_sent():
    """'side=' is as good as no side."""
    app, exchange, _ = make_app()
    pairs = [(n, "" if n == "side" else v) for n, v in ORDER]
    assert call(app, "POST", ORDER_PATH, signed(pairs)).msg == mandatory("side")
    assert exchange.calls == []


def test_an_unknown_parameter_is_1104_counting_read_and_sent_parameters():
    """Every sent name counts, timestamp and signature included: 6 + recvWindow + foo + 2 = 10 sent, 9 read."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed([*ORDER, ("recvWindow", "5000"), ("foo", "1")]))
    assert (answer.status, answer.code) == (400, -1104)
    assert answer.msg == "Not all sent parameters were read; read '9' parameter(s) but was sent '10'."
    assert exchange.calls == []


def test_query_values_win_over_body_values_of_the_same_name():
    """quantity in both the query and the body: the exchange sees the query's."""
    app, exchange, _ = make_app()
    query = encode([("quantity", "1")])
    body = encode([*ORDER, ("timestamp", str(NOW))])  # carries quantity=0.001 too
    signature = b"&signature=" + hmac_hex(SECRET, query + body).encode()
    answer = call(app, "POST", ORDER_PATH, query, body + signature)
    assert answer.status == 200, answer.raw
    assert exchange.calls[0][2]["quantity"] == "1"


def test_a_name_repeated_within_one_part_is_1101():
    """quantity twice in the query is 'Duplicate values for a parameter detected.'."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed([*ORDER, ("quantity", "2")]))
    assert (answer.code, answer.msg) == (-1101, "Duplicate values for a parameter detected.")
    assert exchange.calls == []


OTO = [
    ("symbol", "BTCUSDT"),
    ("workingType", "LIMIT"),
    ("workingSide", "BUY"),
    ("workingPrice", "30000"),
    ("workingQuantity", "0.001"),
    ("pendingType", "LIMIT"),
    ("pendingSide", "SELL"),
    ("pendingQuantity", "0.001"),
]
BORROW = [("asset", "USDT"), ("isIsolated", "FALSE"), ("amount", "10"), ("type", "BORROW")]


def _with(pairs, name, value):
    return [(n, value if n == name else v) for n, v in pairs] + ([] if name in dict(pairs) else [(name, value)])


@pytest.mark.parametrize(
    ("path", "pairs", "name", "value", "code", "msg"),
    [
        (ORDER_PATH, ORDER, "side", "HOLD", -1117, "Invalid side."),
        (ORDER_PATH, ORDER, "type", "LIMITED", -1116, "Invalid orderType."),
        (ORDER_PATH, ORDER, "timeInForce", "GTD", -1115, "Invalid timeInForce."),
        (
            ORDER_PATH,
            ORDER,
            "newOrderRespType",
            "ALL",
            -1130,
            "Data sent for parameter 'newOrderRespType' is not valid.",
        ),
        (ORDER_PATH, ORDER, "isIsolated", "true", -1130, "Data sent for parameter 'isIsolated' is not valid."),
        (ORDER_PATH, ORDER, "side", "buy", -1117, "Invalid side."),
        ("/sapi/v1/margin/order/oto", OTO, "workingSide", "HOLD", -1117, "Invalid side."),
        ("/sapi/v1/margin/order/oto", OTO, "pendingType", "ICEBERG", -1116, "Invalid orderType."),
        ("/sapi/v1/margin/order/oto", OTO, "pendingTimeInForce", "GTD", -1115, "Invalid timeInForce."),
        ("/sapi/v1/margin/borrow-repay", BORROW, "type", "LEND", -1130, "Data sent for parameter 'type' is not valid."),
    ],
)
def test_invalid_enum_values_get_binance_s_specific_codes(path, pairs, name, value, code, msg):
    """side -1117, order types -1116, time in force -1115, every other enum -1130; enums are case-sensitive."""
    app, exchange, _ = make_app()
    assert call(app, "POST", path, signed(pairs)).status == 200, "the valid request passes"
    answer = call(app, "POST", path, signed(_with(pairs, name, value)))
    assert (answer.status, answer.code, answer.msg) == (400, code, msg)
    assert len(exchange.calls) == 1


DECIMAL_MSG = "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."


@pytest.mark.parametrize("value", ["1e-05", "-1", "1.", ".5", "1,5", "0x10", "1 ", "1\n", "１", "1" * 21])
def test_decimal_parameters_must_be_plain_digits_with_an_optional_fraction(value):
    """Binance's decimal grammar: exponents, signs, bare points, non-ASCII digits and newlines are -1100."""
    app, exchange, _ = make_app()
    answer = call(app, "POST", ORDER_PATH, signed(_with(ORDER, "quantity", value)))
    assert (answer.status, answer.code, answer.msg) == (400, -1100, DECIMAL_MSG)
    assert exchange.calls == []


def test_plain_decimals_pass_unchanged():
    """Trailing zeros and integers are valid decimals and reach the exchange as sent."""
    app, exchange, _ = make_app()
    assert call(app, "POST", ORDER_PATH, signed(_with(ORDER, "quantity", "0.00100000"))).status == 200
    assert exchange.calls[0][2]["quantity"] == "0.00100000"


@pytest.mark.parametrize("value", ["12a", "-1", "1.0", "1e3"])
def test_integer_parameters_must_be_digits_only(value):
    """orderId '12a' is -1100 with the integer range."""
    app, exchange, _ = make_app()
    pairs = [("symbol", "BTCUSDT"), ("orderId", value)]
    answer = call(app, "GET", ORDER_PATH, signed(pairs))
    assert answer.msg == "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'."
    assert call(app, "GET", ORDER_PATH, signed([("symbol", "BTCUSDT"), ("orderId", "12")])).status == 200
    assert len(exchange.calls) == 1


def test_booleans_are_case_insensitive_and_reach_the_exchange_lower_case():
    """autoRepayAtCancel=TRUE passes as 'true'; 'yes' is -1130."""
    app, exchange, _ = make_app()
    assert call(app, "POST", ORDER_PATH, signed([*ORDER, ("autoRepayAtCancel", "TRUE")])).status == 200
    assert exchange.calls[0][2]["autoRepayAtCancel"] == "true"
    answer = call(app, "POST", ORDER_PATH, signed([*ORDER, ("autoRepayAtCancel", "yes")]))
    assert (answer.code, answer.msg) == (-1130, "Data sent for parameter 'autoRepayAtCancel' is not valid.")
    assert len(exchange.calls) == 1


def test_percent_encoded_non_ascii_values_are_decoded_as_utf8():
    """Binance's full-width symbol example arrives decoded; invalid UTF-8 is -1100."""
    app, exchange, _ = make_app()
    assert call(app, "POST", ORDER_PATH, signed(_with(ORDER, "symbol", "１２３４５６"))).status == 200
    assert exchange.calls[0][2]["symbol"] == "１２３４５６"
    payload = encode([("timestamp", str(NOW))]) + b"&symbol=%FF"
    assert call(app, "GET", ACCOUNT_PATH, payload + b"&signature=" + hmac_hex(SECRET, payload).encode()).code == -1100


# -- results and errors ----------------------------------------------------------------------------


def test_a_sim_error_from_the_exchange_keeps_its_status_code_message_and_headers():
    """SimError -> its HTTP status, {"code","msg"} and its own headers, next to the weight header."""
    app, exchange, _ = make_app()
    exchange.error = SimError(-2010, "Account has insufficient balance for requested action.", 400, {"X-Extra": "1"})
    answer = call(app, "POST", ORDER_PATH, signed(ORDER))
    assert answer.status == 400
    assert answer.raw == b'{"code":-2010,"msg":"Account has insufficient balance for requested action."}'
    assert answer.headers["X-Extra"] == "1"
    assert answer.headers["X-SAPI-USED-UID-WEIGHT-1M"] == "6"
    assert answer.headers["Content-Type"] == "application/json"


def test_an_unexpected_exception_is_500_1000_and_its_traceback_is_logged_without_secrets(caplog):
    """A bug in the exchange becomes Binance's -1000; the log has the traceback and no key or secret."""
    app, exchange, _ = make_app()
    exchange.error = RuntimeError("boom in the core")
    with caplog.at_level(logging.ERROR, logger="binance_margin_mcp.simulator"):
        answer = call(app, "POST", ORDER_PATH, signed(ORDER))
    assert answer.status == 500
    assert answer.json == {"code": -1000, "msg": "An unknown error occurred while processing the request."}
    assert "boom in the core" in caplog.text
    assert "Traceback" in caplog.text
    for secret in (KEY, SECRET):
        assert secret[4:20] not in caplog.text


def test_a_none_result_is_sent_as_an_empty_object():
    """Binance answers {} for calls like a listen-key keepalive; None from the exchange becomes that."""
    app, exchange, _ = make_app()
    exchange.result = None
    assert call(app, "PUT", "/sapi/v1/margin/listen-key", b"listenKey=abc").raw == b"{}"


def test_results_are_compact_json():
    """Lists and nested objects are encoded with separators (',', ':')."""
    app, exchange, _ = make_app()
    exchange.result = [{"price": "1.00", "qty": "2"}]
    assert call(app, "GET", ACCOUNT_PATH, signed([])).raw == b'[{"price":"1.00","qty":"2"}]'
