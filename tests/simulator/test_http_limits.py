"""Request weight: headers per limit type, per-IP and per-UID counters, 429 on /sapi, 429 then 418 on /api."""

from __future__ import annotations

import pytest
from test_http_support import (
    ACCOUNT_PATH,
    KEY_B,
    NOW,
    ORDER,
    ORDER_PATH,
    SECRET_B,
    Clock,
    call,
    make_app,
    signed,
)

from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.limits import WeightLimiter

IP_HEADER = "X-SAPI-USED-IP-WEIGHT-1M"
UID_HEADER = "X-SAPI-USED-UID-WEIGHT-1M"
API_HEADER = "X-MBX-USED-WEIGHT-1M"
MINUTE_START = NOW - NOW % 60_000


def test_ip_limited_endpoints_report_x_sapi_used_ip_weight():
    """get_cross_margin_account is 10 (IP): the IP header counts 10, 20 and no UID header appears."""
    app, _, _ = make_app()
    first = call(app, "GET", ACCOUNT_PATH, signed([]))
    second = call(app, "GET", ACCOUNT_PATH, signed([]))
    assert (first.headers[IP_HEADER], second.headers[IP_HEADER]) == ("10", "20")
    assert UID_HEADER not in second.headers and API_HEADER not in second.headers


def test_uid_limited_endpoints_report_x_sapi_used_uid_weight_with_their_conditional_cost():
    """create_margin_order is 6 (UID), or 1500 with sideEffectType=MARGIN_BUY."""
    app, _, _ = make_app()
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).headers[UID_HEADER] == "6"
    answer = call(app, "POST", ORDER_PATH, signed([*ORDER, ("sideEffectType", "MARGIN_BUY")]))
    assert answer.headers[UID_HEADER] == "1506"
    assert IP_HEADER not in answer.headers


def test_public_api_v3_routes_share_one_x_mbx_used_weight_budget_per_ip():
    """/api/* counts per IP across endpoints: time (1) + exchangeInfo (20) + ticker without symbol (4)."""
    app, _, _ = make_app()
    assert call(app, "GET", "/api/v3/time", key=None).headers[API_HEADER] == "1"
    assert call(app, "GET", "/api/v3/exchangeInfo", key=None).headers[API_HEADER] == "21"
    assert call(app, "GET", "/api/v3/ticker/price", key=None).headers[API_HEADER] == "25"
    assert call(app, "GET", "/api/v3/ticker/price", b"symbol=BTCUSDT", key=None).headers[API_HEADER] == "27"
    assert call(app, "GET", "/api/v3/time", key=None, ip="10.0.0.2").headers[API_HEADER] == "1"


def test_errors_after_the_signature_check_carry_the_weight_header_and_earlier_ones_do_not():
    """A -1104 is charged and reports weight; -2015 and -1022 come before charging."""
    app, _, _ = make_app()
    assert call(app, "POST", ORDER_PATH, signed([*ORDER, ("foo", "1")])).headers[UID_HEADER] == "6"
    assert UID_HEADER not in call(app, "POST", ORDER_PATH, signed(ORDER), key="unknownKEY123").headers
    assert UID_HEADER not in call(app, "POST", ORDER_PATH, signed(ORDER, secret="wrong")).headers
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).headers[UID_HEADER] == "12"


def test_ip_counters_are_per_ip_and_endpoint_while_uid_counters_are_per_user_and_endpoint():
    """Two IPs count IP weight apart but share a user's UID weight; another user or endpoint starts at zero."""
    app, _, _ = make_app()
    assert call(app, "GET", ACCOUNT_PATH, signed([]), ip="10.0.0.1").headers[IP_HEADER] == "10"
    assert call(app, "GET", ACCOUNT_PATH, signed([]), ip="10.0.0.2").headers[IP_HEADER] == "10"
    other = call(app, "GET", "/sapi/v1/margin/openOrders", signed([]), ip="10.0.0.1")
    assert other.headers[IP_HEADER] == "10"
    assert call(app, "POST", ORDER_PATH, signed(ORDER), ip="10.0.0.1").headers[UID_HEADER] == "6"
    assert call(app, "POST", ORDER_PATH, signed(ORDER), ip="10.0.0.2").headers[UID_HEADER] == "12"
    bob = call(app, "POST", ORDER_PATH, signed(ORDER, secret=SECRET_B), key=KEY_B, ip="10.0.0.1")
    assert bob.headers[UID_HEADER] == "6"


def test_the_weight_window_starts_again_each_minute():
    """At the next minute boundary the counter restarts."""
    clock = Clock()
    app, _, _ = make_app(clock=clock)
    call(app, "GET", ACCOUNT_PATH, signed([]))
    assert call(app, "GET", ACCOUNT_PATH, signed([])).headers[IP_HEADER] == "20"
    clock.now = MINUTE_START + 60_000
    assert call(app, "GET", ACCOUNT_PATH, signed([], timestamp=clock.now)).headers[IP_HEADER] == "10"


def test_a_sapi_limit_answers_429_each_time_and_never_bans():
    """Limit 25 (IP): two calls of 10 pass; every later one that minute is 429 (Retry-After to the minute),
    none executes, /api/v3/time from the same IP still answers, and the next minute passes again."""
    clock = Clock()
    app, exchange, _ = make_app(WeightLimiter(clock, ip_limit=25), clock)
    for _ in range(2):
        assert call(app, "GET", ACCOUNT_PATH, signed([])).status == 200
    for _ in range(3):
        limited = call(app, "GET", ACCOUNT_PATH, signed([]))
        assert (limited.status, limited.code) == (429, -1003)
        assert limited.msg == (
            "Too much request weight used; current limit is 25 request weight per 1 MINUTE. "
            "Please use WebSocket Streams for live updates to avoid polling the API."
        )
        assert (limited.headers["Retry-After"], limited.headers[IP_HEADER]) == ("40", "20")
    assert len(exchange.calls) == 2
    assert call(app, "GET", "/api/v3/time", key=None).status == 200
    assert app.limiter.banned_until("127.0.0.1") is None

    clock.now = MINUTE_START + 60_000
    assert call(app, "GET", ACCOUNT_PATH, signed([], timestamp=clock.now)).status == 200


def test_an_api_limit_is_429_then_418_and_nothing_executes_from_that_ip_while_banned():
    """/api limit 25: exchangeInfo (20) passes, the next is 429, sending again bans the IP (418, 120 s) on
    every route; another IP is unaffected; the ban ends on time."""
    clock = Clock()
    app, exchange, _ = make_app(WeightLimiter(clock, api_limit=25), clock)
    assert call(app, "GET", "/api/v3/exchangeInfo", key=None).status == 200
    limited = call(app, "GET", "/api/v3/exchangeInfo", key=None)
    assert (limited.status, limited.code, limited.headers["Retry-After"]) == (429, -1003, "40")
    assert limited.headers[API_HEADER] == "20"
    banned = call(app, "GET", "/api/v3/exchangeInfo", key=None)
    assert (banned.status, banned.code) == (418, -1003)
    assert banned.msg == (
        f"Way too much request weight used; IP banned until {NOW + 120_000}. "
        "Please use WebSocket Streams for live updates to avoid bans."
    )
    assert banned.headers["Retry-After"] == "120"
    assert len(exchange.public_calls) == 1

    clock.now = NOW + 60_000  # a new minute, still banned, on any route of that IP
    during = call(app, "POST", ORDER_PATH, signed(ORDER, timestamp=clock.now))
    assert (during.status, during.headers["Retry-After"]) == (418, "60")
    assert call(app, "GET", "/api/v3/time", key=None).status == 418
    assert exchange.calls == []
    assert call(app, "GET", ACCOUNT_PATH, signed([], timestamp=clock.now), ip="10.9.9.9").status == 200

    clock.now = NOW + 120_000  # the ban is over
    assert call(app, "GET", ACCOUNT_PATH, signed([], timestamp=clock.now)).status == 200


def test_uid_limits_answer_429_too():
    """A UID-limited endpoint over its (tiny) limit answers 429 with the UID header."""
    clock = Clock()
    app, exchange, _ = make_app(WeightLimiter(clock, uid_limit=10), clock)
    assert call(app, "POST", ORDER_PATH, signed(ORDER)).status == 200
    for _ in range(3):
        limited = call(app, "POST", ORDER_PATH, signed(ORDER))
        assert (limited.status, limited.headers[UID_HEADER]) == (429, "6")
    assert len(exchange.calls) == 1


def test_a_second_ban_lasts_twice_as_long_and_bans_are_capped():
    """/api bans escalate 120 s, 240 s, ... up to max_ban_seconds."""
    clock = Clock()
    limiter = WeightLimiter(clock, api_limit=1, max_ban_seconds=300)
    retry_after = []
    for _ in range(3):
        limiter.charge("API", "GET /api/v3/time", 1, ip="1.1.1.1")
        with pytest.raises(SimError) as limited:
            limiter.charge("API", "GET /api/v3/time", 1, ip="1.1.1.1")
        assert limited.value.http_status == 429
        with pytest.raises(SimError) as banned:
            limiter.charge("API", "GET /api/v3/time", 1, ip="1.1.1.1")
        assert banned.value.http_status == 418
        retry_after.append(banned.value.headers["Retry-After"])
        assert limiter.banned_until("1.1.1.1") == clock.now + int(retry_after[-1]) * 1000
        clock.now += int(retry_after[-1]) * 1000
        assert limiter.banned_until("1.1.1.1") is None
    assert retry_after == ["120", "240", "300"]


def test_refused_requests_add_no_weight():
    """A 429 does not count: a request that fits afterwards still passes."""
    limiter = WeightLimiter(Clock(), ip_limit=10, strikes_before_ban=5)
    assert limiter.charge("IP", "GET /x", 8, ip="a") == 8
    with pytest.raises(SimError):
        limiter.charge("IP", "GET /x", 5, ip="a")
    assert limiter.charge("IP", "GET /x", 2, ip="a") == 10
    assert limiter.used("IP", "GET /x", ip="a") == 10
