"""The fake exchange rejects what Binance rejects and accepts requests signed by hand (hashlib)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from fakes import FakeBinance, RecordedRequest, split_signed, verify_ed25519, verify_hmac, verify_rsa

# Official example credentials and vectors (fact sheet §1.6).
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
TS = 1499827319559
H1_QUERY = f"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp={TS}"
H1_HEX = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
H4_QUERY = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
H4_BODY = f"quantity=1&price=0.1&recvWindow=5000&timestamp={TS}"
H4_HEX = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"

ORDER = "/sapi/v1/margin/order"  # TRADE, Weight(UID)
ACCOUNT = "/sapi/v1/margin/account"  # USER_DATA, Weight(IP): 10
LISTEN_KEY = "/sapi/v1/margin/listen-key"  # USER_STREAM
ALL_PAIRS = "/sapi/v1/margin/allPairs"  # MARKET_DATA
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KEY = {"X-MBX-APIKEY": API_KEY}


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def hex_sig(payload: str | bytes, secret: str = SECRET) -> str:
    data = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def signed(query: str, secret: str = SECRET) -> str:
    return f"{query}&signature={hex_sig(query, secret)}"


@pytest.fixture
def clock() -> Clock:
    return Clock(TS + 500)


@pytest.fixture
def fake(clock: Clock) -> FakeBinance:
    exchange = FakeBinance(now_ms=clock)
    exchange.add_hmac_key(API_KEY, SECRET)
    return exchange


@pytest.fixture(params=["mock", "http"])
def client(request: pytest.FixtureRequest, fake: FakeBinance) -> Iterator[httpx.Client]:
    """The same tests run through MockTransport and through the loopback HTTP server."""
    if request.param == "mock":
        with httpx.Client(transport=fake.transport(), base_url="https://api.binance.com") as c:
            yield c
    else:
        with fake.serve() as url, httpx.Client(base_url=url, timeout=5) as c:
            yield c


def assert_error(response: httpx.Response, status: int, code: int, msg: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    if msg is not None:
        assert body["msg"] == msg


# -- accepting correct requests ------------------------------------------------------------------
def test_accepts_the_published_h1_request_signed_by_hand(client: httpx.Client, fake: FakeBinance) -> None:
    """H1 payload + hashlib HMAC (== Binance's published hex) is accepted; the bytes arrive unchanged."""
    signature = hex_sig(H1_QUERY)
    assert signature == H1_HEX
    response = client.post(f"{ORDER}?{H1_QUERY}&signature={signature}", headers=KEY)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert fake.requests[-1].raw_query == f"{H1_QUERY}&signature={H1_HEX}".encode()
    assert fake.requests[-1].headers["x-mbx-apikey"] == API_KEY


def test_accepts_h1_as_a_form_body(client: httpx.Client) -> None:
    """The same bytes work as a body (fact sheet §1.6)."""
    response = client.post(ORDER, content=f"{H1_QUERY}&signature={H1_HEX}", headers=KEY | FORM)
    assert response.status_code == 200, response.text


def test_mixed_query_and_body_are_joined_without_a_separator(client: httpx.Client) -> None:
    """H4: query + body signed as '...GTCquantity=1...'; the '&'-joined H1 signature must fail."""
    accepted = client.post(f"{ORDER}?{H4_QUERY}", content=f"{H4_BODY}&signature={H4_HEX}", headers=KEY | FORM)
    assert accepted.status_code == 200, accepted.text
    rejected = client.post(f"{ORDER}?{H4_QUERY}", content=f"{H4_BODY}&signature={H1_HEX}", headers=KEY | FORM)
    assert_error(rejected, 400, -1022, "Signature for this request is not valid.")


def test_hmac_hex_is_case_insensitive(client: httpx.Client) -> None:
    response = client.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX.upper()}", headers=KEY)
    assert response.status_code == 200, response.text


def test_signature_is_checked_over_the_raw_bytes_without_reencoding(client: httpx.Client, fake: FakeBinance) -> None:
    """Lower-case %2f, literal ~ * + and UTF-8 escapes pass untouched; a re-encoded variant fails."""
    query = f"symbol=%EF%BC%91%EF%BC%92&newClientOrderId=a%2fb~c*d+e&timestamp={TS}"
    response = client.post(f"{ORDER}?{signed(query)}", headers=KEY)
    assert response.status_code == 200, response.text
    assert fake.requests[-1].raw_query.startswith(query.encode())
    assert ("newClientOrderId", "a/b~c*d e") in fake.requests[-1].params()

    # Same decoded values, signed over upper-case %2F: valid for those bytes only, not for ours.
    other = query.replace("%2f", "%2F")
    response = client.post(f"{ORDER}?{query}&signature={hex_sig(other)}", headers=KEY)
    assert_error(response, 400, -1022)


def test_signing_the_decoded_text_is_rejected(client: httpx.Client) -> None:
    """Negative control H2: a signature over the un-encoded full-width symbol is invalid."""
    query = f"symbol=%EF%BC%91%EF%BC%92%EF%BC%93&timestamp={TS}"
    decoded = f"symbol=１２３&timestamp={TS}"
    assert_error(client.post(f"{ORDER}?{query}&signature={hex_sig(decoded)}", headers=KEY), 400, -1022)
    assert client.post(f"{ORDER}?{signed(query)}", headers=KEY).status_code == 200


# -- rejections ----------------------------------------------------------------------------------
def test_rejects_a_bad_signature(client: httpx.Client) -> None:
    flipped = ("0" if H1_HEX[0] != "0" else "1") + H1_HEX[1:]
    response = client.post(f"{ORDER}?{H1_QUERY}&signature={flipped}", headers=KEY)
    assert_error(response, 400, -1022, "Signature for this request is not valid.")


def test_rejects_a_signature_made_with_another_secret(client: httpx.Client) -> None:
    response = client.post(f"{ORDER}?{signed(H1_QUERY, secret='not-the-secret')}", headers=KEY)
    assert_error(response, 400, -1022)


def test_rejects_a_parameter_changed_after_signing(client: httpx.Client) -> None:
    tampered = H1_QUERY.replace("price=0.1", "price=0.2")
    response = client.post(f"{ORDER}?{tampered}&signature={H1_HEX}", headers=KEY)
    assert_error(response, 400, -1022)


def test_rejects_a_missing_signature(client: httpx.Client) -> None:
    response = client.post(f"{ORDER}?{H1_QUERY}", headers=KEY)
    assert_error(response, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")


def test_rejects_a_signature_sent_twice(client: httpx.Client) -> None:
    response = client.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX}&signature={H1_HEX}", headers=KEY)
    assert_error(response, 400, -1101)


@pytest.mark.parametrize("headers", [{"X-MBX-APIKEY": "unknown-key"}, {}], ids=["unknown", "missing"])
def test_rejects_an_unknown_or_missing_api_key(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX}", headers=headers)
    assert_error(response, 401, -2015, "Invalid API-key, IP, or permissions for action.")


@pytest.mark.parametrize(
    ("age_ms", "recv_window", "accepted"),
    [(5000, None, True), (5001, None, False), (60000, 60000, True), (60001, 60000, False), (2, "1.5", False)],
)
def test_stale_timestamps_are_outside_the_recv_window(
    client: httpx.Client, clock: Clock, age_ms: int, recv_window: str | None, accepted: bool
) -> None:
    """now - timestamp <= recvWindow (default 5000) is accepted, one millisecond more is not."""
    clock.now = TS + age_ms
    query = f"symbol=BTCUSDT&timestamp={TS}" + (f"&recvWindow={recv_window}" if recv_window else "")
    response = client.post(f"{ORDER}?{signed(query)}", headers=KEY)
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, -1021, "Timestamp for this request is outside of the recvWindow.")


@pytest.mark.parametrize(("ahead_ms", "accepted"), [(999, True), (1000, False), (86_400_000, False)])
def test_future_timestamps_must_be_less_than_one_second_ahead(
    client: httpx.Client, clock: Clock, ahead_ms: int, accepted: bool
) -> None:
    """timestamp < now + 1000 (strict): 999 ms ahead passes, 1000 ms ahead is rejected."""
    clock.now = TS - ahead_ms
    response = client.post(f"{ORDER}?{signed(f'symbol=BTCUSDT&timestamp={TS}')}", headers=KEY)
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def test_rejects_recv_window_above_60000(client: httpx.Client) -> None:
    response = client.post(f"{ORDER}?{signed(f'recvWindow=60001&timestamp={TS}')}", headers=KEY)
    assert_error(response, 400, -1131, "recvWindow must be less than 60000")


@pytest.mark.parametrize("query", ["symbol=BTCUSDT", "symbol=BTCUSDT&timestamp=", "timestamp=1e12", "timestamp=１２"])
def test_rejects_a_missing_or_malformed_timestamp(client: httpx.Client, query: str) -> None:
    response = client.get(f"{ACCOUNT}?{signed(query)}", headers=KEY)
    assert_error(response, 400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")


def test_query_value_wins_over_body_value(client: httpx.Client, clock: Clock) -> None:
    """Binance takes the query's timestamp when both carry one; the body's fresh one does not help."""
    clock.now = TS + 10_000
    query, body = f"timestamp={TS}", f"timestamp={clock.now}"
    response = client.post(f"{ORDER}?{query}", content=f"{body}&signature={hex_sig(query + body)}", headers=KEY | FORM)
    assert_error(response, 400, -1021)


# -- RSA and Ed25519 keys ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rsa_sign(key: rsa.RSAPrivateKey, payload: str) -> str:
    return base64.b64encode(key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _ed_sign(key: ed25519.Ed25519PrivateKey, payload: str) -> str:
    return base64.b64encode(key.sign(payload.encode())).decode()


def test_rsa_key_requests_verify_with_the_registered_public_key(
    client: httpx.Client, fake: FakeBinance, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Percent-encoded base64 RSA signatures pass; a tampered payload fails."""
    fake.add_public_key("rsa-key", rsa_key.public_key())
    headers = {"X-MBX-APIKEY": "rsa-key"}
    signature = quote(_rsa_sign(rsa_key, H1_QUERY), safe="")
    assert client.post(f"{ORDER}?{H1_QUERY}&signature={signature}", headers=headers).status_code == 200
    tampered = H1_QUERY.replace("BUY", "SELL")
    assert_error(client.post(f"{ORDER}?{tampered}&signature={signature}", headers=headers), 400, -1022)


def test_ed25519_key_requests_verify_and_need_a_percent_encoded_plus(client: httpx.Client, fake: FakeBinance) -> None:
    """Ed25519 passes when encoded; an un-encoded '+' reads as a space in form decoding and fails."""
    key = ed25519.Ed25519PrivateKey.generate()
    fake.add_public_key("ed-key", key.public_key())
    headers = {"X-MBX-APIKEY": "ed-key"}
    # Find a payload whose signature contains '+' (about 3 in 4 do), deterministic for this key.
    query, signature = next(
        (q, s)
        for q in (f"symbol=BTCUSDT&newClientOrderId=n{i}&timestamp={TS}" for i in range(200))
        if "+" in (s := _ed_sign(key, q))
    )
    assert client.post(f"{ORDER}?{query}&signature={quote(signature, safe='')}", headers=headers).status_code == 200
    assert_error(client.post(f"{ORDER}?{query}&signature={signature}", headers=headers), 400, -1022)
    tampered = query.replace("BTCUSDT", "ETHUSDT")
    assert_error(client.post(f"{ORDER}?{tampered}&signature={quote(signature, safe='')}", headers=headers), 400, -1022)


def test_a_key_is_checked_with_its_own_algorithm(client: httpx.Client, fake: FakeBinance) -> None:
    """An HMAC hex signature sent with an Ed25519 key's API key is not valid."""
    fake.add_public_key("ed-key", ed25519.Ed25519PrivateKey.generate().public_key())
    response = client.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX}", headers={"X-MBX-APIKEY": "ed-key"})
    assert_error(response, 400, -1022)


# -- security types, routes, headers -------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"X-MBX-APIKEY": "unknown-key"}], ids=["missing", "unknown"])
def test_user_stream_needs_a_known_api_key(client: httpx.Client, headers: dict[str, str]) -> None:
    assert_error(client.post(LISTEN_KEY, headers=headers), 401, -2015)


def test_user_stream_and_market_data_need_no_timestamp_or_signature(client: httpx.Client) -> None:
    """Key only for USER_STREAM; nothing for MARKET_DATA; a stray bad signature is ignored."""
    assert client.post(LISTEN_KEY, headers=KEY).status_code == 200
    assert client.put(f"{LISTEN_KEY}?listenKey=abc", headers=KEY).status_code == 200
    assert client.get(ALL_PAIRS).status_code == 200
    assert client.get(f"{ALL_PAIRS}?timestamp=1&signature=bad", headers=KEY).status_code == 200


def test_market_data_rejects_an_unknown_key_when_one_is_sent(client: httpx.Client) -> None:
    assert_error(client.get(ALL_PAIRS, headers={"X-MBX-APIKEY": "unknown-key"}), 401, -2015)


def test_unknown_route_is_an_html_404_like_the_gateway(client: httpx.Client) -> None:
    response = client.get("/sapi/v1/margin/no-such-thing", headers=KEY)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html"
    assert response.text == "<html><body><h1>404 Not Found</h1></body></html>"
    assert client.get(LISTEN_KEY, headers=KEY).status_code == 404  # known path, method not in the TSV


def test_server_time_endpoint_reports_the_clock(client: httpx.Client, clock: Clock) -> None:
    response = client.get("/api/v3/time")
    assert response.json() == {"serverTime": clock.now}
    assert response.headers["x-mbx-used-weight-1m"] == "1"


def test_weight_headers_follow_the_tsv_and_reset_each_minute(client: httpx.Client, clock: Clock) -> None:
    """IP vs UID header per endpoint, per-endpoint running count, rejected requests included."""
    first = client.get(f"{ACCOUNT}?{signed(f'timestamp={TS}')}", headers=KEY)
    second = client.get(ACCOUNT, headers=KEY)  # rejected (no timestamp) but still weighed
    assert first.headers["x-sapi-used-ip-weight-1m"] == "10"
    assert second.headers["x-sapi-used-ip-weight-1m"] == "20"
    assert "x-sapi-used-uid-weight-1m" not in first.headers
    order = client.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX}", headers=KEY)
    assert order.headers["x-sapi-used-uid-weight-1m"] == "6"
    clock.now += 60_000
    third = client.get(ACCOUNT, headers=KEY)
    assert third.headers["x-sapi-used-ip-weight-1m"] == "10"


# -- canned replies, one-shot failures and timeouts ----------------------------------------------
def test_respond_sets_a_fixed_reply_after_the_checks(client: httpx.Client, fake: FakeBinance) -> None:
    fake.respond("post", ORDER, {"orderId": 1}, headers={"X-Extra": "yes"})
    ok = client.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX}", headers=KEY)
    assert ok.json() == {"orderId": 1}
    assert ok.headers["x-extra"] == "yes"
    assert_error(client.post(f"{ORDER}?{H1_QUERY}&signature=00", headers=KEY), 400, -1022)


def test_fail_next_is_one_shot_and_only_hits_a_request_that_passes_the_checks(
    client: httpx.Client, fake: FakeBinance
) -> None:
    fake.fail_next("POST", ORDER, status=400, code=-2010, msg="Account has insufficient balance for requested action.")
    assert_error(client.post(f"{ORDER}?{H1_QUERY}", headers=KEY), 400, -1102)  # bad request: failure kept
    good = f"{ORDER}?{H1_QUERY}&signature={H1_HEX}"
    assert_error(client.post(good, headers=KEY), 400, -2010, "Account has insufficient balance for requested action.")
    assert client.post(good, headers=KEY).status_code == 200


def test_fail_next_can_send_a_server_error_with_headers(client: httpx.Client, fake: FakeBinance) -> None:
    fake.fail_next(
        "GET", "/api/v3/time", status=429, code=-1003, msg="Too many requests queued.", headers={"Retry-After": "7"}
    )
    response = client.get("/api/v3/time")
    assert_error(response, 429, -1003)
    assert response.headers["retry-after"] == "7"


def test_timeout_next_records_the_request_and_sends_no_answer(
    request: pytest.FixtureRequest, client: httpx.Client, fake: FakeBinance
) -> None:
    """MockTransport raises ReadTimeout; the HTTP server hangs up without a status line."""
    fake.timeout_next("POST", ORDER)
    url = f"{ORDER}?{H1_QUERY}&signature={H1_HEX}"
    expected = httpx.ReadTimeout if request.node.callspec.params["client"] == "mock" else httpx.RemoteProtocolError
    with pytest.raises(expected):
        client.post(url, headers=KEY)
    assert fake.requests[-1].raw_query.endswith(H1_HEX.encode())
    assert client.post(url, headers=KEY).status_code == 200
    assert len(fake.requests) == 2


def test_configuring_an_unknown_route_is_an_error(fake: FakeBinance) -> None:
    """Catches typos in tests: replies can only be set for routes the fake serves."""
    with pytest.raises(ValueError, match="not a known route"):
        fake.respond("GET", "/sapi/v1/margin/orders", [])
    fake.add_route("GET", "/api/v3/exchangeInfo", weight="Weight(IP): 20")
    fake.respond("GET", "/api/v3/exchangeInfo", {"symbols": []})


async def test_works_with_async_clients(fake: FakeBinance) -> None:
    """The project's transport is async: both front ends serve httpx.AsyncClient."""
    async with httpx.AsyncClient(transport=fake.transport(), base_url="https://api.binance.com") as c:
        assert (await c.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX}", headers=KEY)).status_code == 200
        assert_error(await c.post(f"{ORDER}?{H1_QUERY}&signature=00", headers=KEY), 400, -1022)
    with fake.serve() as url:
        async with httpx.AsyncClient(base_url=url, timeout=5) as c:
            assert (await c.post(f"{ORDER}?{H1_QUERY}&signature={H1_HEX}", headers=KEY)).status_code == 200
            assert_error(await c.post(f"{ORDER}?{H1_QUERY}&signature=00", headers=KEY), 400, -1022)


# -- verify.py and RecordedRequest units ---------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "body", "payload", "signature"),
    [
        (b"a=1&signature=ab%2Bc%3D", b"", b"a=1", "ab+c="),
        (b"a=1&signature=x&b=2", b"", b"a=1&b=2", "x"),
        (b"signature=x", b"a=1", b"a=1", "x"),
        (b"a=1", b"b=2&signature=x", b"a=1b=2", "x"),
        (b"a=%2f&c=1+2", b"", b"a=%2f&c=1+2", None),
        (b"a=1", b"signature=a+b", b"a=1", "a b"),
        (b"", b"", b"", None),
    ],
)
def test_split_signed_keeps_raw_bytes_and_decodes_only_the_signature(
    query: bytes, body: bytes, payload: bytes, signature: str | None
) -> None:
    assert split_signed(query, body) == (payload, signature)


def test_split_signed_refuses_two_signatures() -> None:
    with pytest.raises(ValueError):
        split_signed(b"signature=a", b"signature=b")


def test_verify_functions_reject_garbage_without_raising(rsa_key: rsa.RSAPrivateKey) -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    assert verify_hmac(SECRET, H1_QUERY.encode(), H1_HEX.upper())
    assert not verify_hmac(SECRET, H1_QUERY.encode(), "é" * 64)
    assert not verify_hmac(SECRET, H1_QUERY.encode(), "")
    assert verify_rsa(rsa_key.public_key(), b"p", _rsa_sign(rsa_key, "p"))
    assert not verify_rsa(rsa_key.public_key(), b"p", "not base64!")
    assert verify_ed25519(ed_key.public_key(), b"p", _ed_sign(ed_key, "p"))
    assert not verify_ed25519(ed_key.public_key(), b"p", base64.b64encode(b"x" * 63).decode())
    assert not verify_ed25519(ed_key.public_key(), b"q", _ed_sign(ed_key, "p"))


def test_recorded_request_params_decode_query_then_form_body() -> None:
    recorded = RecordedRequest(
        "POST", ORDER, b"a=%2F&b=1+2&e=", b"c=%E2%82%AC&a=9", {"content-type": FORM["Content-Type"]}
    )
    assert recorded.params() == [("a", "/"), ("b", "1 2"), ("e", ""), ("c", "€"), ("a", "9")]
    assert recorded.param("a") == "/"
    with pytest.raises(ValueError):
        RecordedRequest("GET", ORDER, b"a=1&&b=2", b"").params()
