"""Inbound webhook helpers: raw body, HMAC and Twilio signatures, replay window, rate limits.

Signatures are checked against vectors published by the services themselves; the HTTP parts
run through a real ASGI app and client.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from litestar import Litestar, Request, post
from litestar.testing import AsyncTestClient
from rapport.api import (
    InboundRejected,
    RateLimit,
    SignatureInvalid,
    check_timestamp,
    client_ip,
    read_body,
    require_hmac,
    twilio_signature,
    verify_hmac,
    verify_twilio,
)
from rapport.web.inbound import reset_rate_limits

SECRET = "whsec-test"


# --- HMAC over the body -------------------------------------------------------------------------


def test_hmac_accepts_hex_base64_and_prefixes_and_refuses_anything_else():
    body = b'{"event":"form_response"}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    hexed, b64 = digest.hex(), base64.b64encode(digest).decode()
    for good in (hexed, hexed.upper(), b64, f"sha256={hexed}", f"sha256={b64}"):
        assert verify_hmac(SECRET, body, good), good
    for bad in ("", None, hexed[:-2] + "00", f"sha1={hexed}", base64.b64encode(b"x" * 32).decode()):
        assert not verify_hmac(SECRET, body, bad), bad
    assert not verify_hmac(SECRET, body + b" ", b64)  # one byte more: another digest
    assert not verify_hmac("", body, b64)  # no secret configured never verifies
    # A required prefix must be there.
    assert verify_hmac(SECRET, body, f"v1={hexed}", prefix="v1=")
    assert not verify_hmac(SECRET, body, hexed, prefix="v1=")
    with pytest.raises(SignatureInvalid):
        require_hmac(SECRET, body, "sha256=nope")


def test_hmac_matches_githubs_published_example():
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    # secret "It's a Secret to Everybody", payload "Hello, World!".
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify_hmac("It's a Secret to Everybody", b"Hello, World!", expected)


def test_twilio_signature_matches_twilios_published_vectors():
    # The vectors of Twilio's own library tests (twilio-python,
    # tests/unit/test_request_validator.py): auth token "12345".
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert verify_twilio("12345", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not verify_twilio("12345", url + "&baz=3", params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not verify_twilio("54321", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    # A repeated parameter name: each value, sorted.
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    # A JSON body: the URL carries bodySHA256 and is signed alone.
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    assert verify_twilio(
        "12345", url + "&bodySHA256=" + body_hash, {}, "a9nBmqA0ju/hNViExpshrM61xv4="
    )


# --- replay window --------------------------------------------------------------------------------


def test_replay_window_takes_unix_seconds_milliseconds_and_iso_times():
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    seconds = int(now.timestamp())
    assert check_timestamp(str(seconds - 299), now=now) == now - dt.timedelta(seconds=299)
    assert check_timestamp(seconds * 1000, now=now) == now
    assert check_timestamp("2026-12-01T12:04:00Z", now=now).minute == 4
    for stale in (str(seconds - 301), str(seconds + 301), "2026-12-01T11:00:00+00:00"):
        with pytest.raises(SignatureInvalid, match="replay window"):
            check_timestamp(stale, now=now)
    for unreadable in ("yesterday", "2026-12-01T12:00:00", "nan"):
        with pytest.raises(InboundRejected):
            check_timestamp(unreadable, now=now)
    with pytest.raises(SignatureInvalid, match="missing"):
        check_timestamp(None, now=now)


# --- over HTTP: raw body and the limiter ------------------------------------------------

limiter = RateLimit("test.hook", limit=3, period=3600)


@post("/hook", opt={"public": True})
async def hook(request: Request) -> dict[str, object]:
    await limiter.check(client_ip(request))
    body = await read_body(request, limit=64)
    require_hmac(SECRET, body, request.headers.get("x-signature"))
    form = await request.form() if body.startswith(b"a=") else {}
    return {"length": len(body), "form": dict(form)}


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    reset_rate_limits()
    yield
    reset_rate_limits()


async def test_raw_body_is_signed_checked_and_still_parseable():
    async with AsyncTestClient(Litestar([hook])) as client:
        body = b"a=1&b=two"
        ok = await client.post(
            "/hook",
            content=body,
            headers={
                "x-signature": _sign(body),
                "content-type": "application/x-www-form-urlencoded",
            },
        )
        assert ok.status_code == 201
        assert ok.json() == {"length": 9, "form": {"a": "1", "b": "two"}}
        bad = await client.post("/hook", content=body, headers={"x-signature": _sign(b"other")})
        assert bad.status_code == 401
        assert "signature" in bad.json()["detail"]


async def test_a_body_over_the_limit_is_refused_with_413():
    async with AsyncTestClient(Litestar([hook])) as client:
        body = b"x" * 65
        response = await client.post("/hook", content=body, headers={"x-signature": _sign(body)})
        assert response.status_code == 413
        assert "larger than 64 bytes" in response.json()["detail"]


async def test_a_streamed_body_without_length_is_cut_off_past_the_limit():
    # Straight ASGI: the body arrives in ten chunks of 10 bytes with no Content-Length.
    app = Litestar([hook])
    chunks = [{"type": "http.request", "body": b"y" * 10, "more_body": i < 9} for i in range(10)]
    sent: list[dict] = []

    async def receive() -> dict:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/hook",
        "raw_path": b"/hook",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"x-signature", b"x")],
        "client": ("192.0.2.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert len(chunks) < 4  # it stopped reading soon after the limit


async def test_the_limiter_answers_429_with_retry_after_per_address():
    async with AsyncTestClient(Litestar([hook])) as client:
        body = b"{}"
        headers = {"x-signature": _sign(body)}
        answers = [(await client.post("/hook", content=body, headers=headers)) for _ in range(4)]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        retry_after = int(answers[-1].headers["retry-after"])
        assert 1 <= retry_after <= 2 * 3600  # a full window decays into the next one
        assert answers[-1].json()["detail"] == "too many requests"
    decision = await limiter.hit("198.51.100.7")  # another address has its own count
    assert decision.allowed and decision.remaining == 2


async def test_the_window_slides_and_says_when_to_come_back():
    limit = RateLimit("test.window", limit=2, period=60)
    start = 1_800_000_000.0  # a multiple of 60
    assert (await limit.hit("k", now=start)).allowed
    assert (await limit.hit("k", now=start + 1)).allowed
    refused = await limit.hit("k", now=start + 15)
    # The refused call is not counted: one more fits once the two calls' window weighs one
    # call, half-way into the next window.
    assert not refused.allowed and refused.retry_after == 75
    assert not (await limit.hit("k", now=start + 89)).allowed
    assert (await limit.hit("k", now=start + 90)).allowed


async def test_no_double_burst_across_a_window_boundary():
    limit = RateLimit("test.boundary", limit=10, period=60)
    start = 1_800_000_000.0
    for second in range(10):
        assert (await limit.hit("k", now=start + 50 + second)).allowed
    # A fixed window would allow ten more here, a second after the boundary.
    assert not (await limit.hit("k", now=start + 61)).allowed
    # Half a window later, half of the previous window's calls still weigh: 5 + 1 + 1 ≤ 10.
    assert (await limit.hit("k", now=start + 90)).allowed


# --- Redis: one count shared by every process -------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip(
            "shared rate-limit count across processes: redis-server is not installed "
            "(.ci/run installs Debian's redis-server where it can)"
        )
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


async def test_with_redis_two_processes_share_one_count(redis_url):
    from redis.asyncio import Redis

    # Two limiters with one name stand for the same endpoint in two processes: the memory
    # count is reset between their calls, so only Redis can carry it.
    first = RateLimit("test.shared", limit=2, period=3600, redis_url=redis_url)
    second = RateLimit("test.shared", limit=2, period=3600, redis_url=redis_url)
    assert (await first.hit("203.0.113.5")).allowed
    reset_rate_limits()
    assert (await second.hit("203.0.113.5")).allowed
    reset_rate_limits()
    refused = await first.hit("203.0.113.5")
    assert not refused.allowed
    client = Redis.from_url(redis_url)
    try:
        keys = await client.keys("rapport:ratelimit:test.shared:*")
        assert len(keys) == 1 and int(await client.get(keys[0])) == 2  # the refused one uncounted
        assert 0 < await client.ttl(keys[0]) <= 7201
    finally:
        await client.aclose()
