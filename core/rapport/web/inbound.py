"""Helpers for public routes that receive calls from outside: form services, telephony
providers, a site's own forms.

* :func:`read_body` — the raw request body, refused with 413 past a size limit (signatures
  are computed over the exact bytes, so read them before any parsing);
* :func:`verify_hmac` — an HMAC of the body against a signature header in hex or base64,
  with or without a ``sha256=`` style prefix, compared in constant time;
* :func:`twilio_signature` / :func:`verify_twilio` — Twilio's URL-plus-parameters scheme;
* :func:`check_timestamp` — refuse a request whose signed time is outside a replay window;
* :class:`RateLimit` — a sliding-window counter per endpoint and key (usually the client's
  IP), answering 429 with ``Retry-After``.

The rate limiter counts in this process's memory, or in Redis when ``REDIS_URL`` is set, so
several stateless processes behind a load balancer share one count per key (see
``docs/plugins/inbound-webhooks.md``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import logging
import math
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException

log = logging.getLogger(__name__)

DEFAULT_BODY_LIMIT = 256 * 1024
DEFAULT_REPLAY_WINDOW = 300  # seconds either side of now


class InboundRejected(HTTPException):
    """A refused inbound call. Raised from a handler, it answers with its status code and a
    JSON body ``{"detail": ...}``; ``headers`` carries ``Retry-After`` for 429."""

    status_code = 400


class PayloadTooLarge(InboundRejected):
    status_code = 413


class SignatureInvalid(InboundRejected):
    status_code = 401


class RateLimited(InboundRejected):
    status_code = 429

    def __init__(self, retry_after: int, detail: str = "too many requests") -> None:
        super().__init__(detail=detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


# --- raw body -----------------------------------------------------------------------------------


async def read_body(request: Request, limit: int = DEFAULT_BODY_LIMIT) -> bytes:
    """The request's raw bytes, at most ``limit`` of them (413 beyond).

    A declared ``Content-Length`` over the limit is refused before reading anything; a body
    sent without one is read in chunks and refused as soon as it passes the limit. The bytes
    are kept on the request, so ``await request.form()`` or ``request.json()`` still work.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(detail=f"the body is larger than {limit} bytes")
        except ValueError as exc:
            raise InboundRejected(detail="bad Content-Length") from exc
    if isinstance(request._body, bytes):  # read already (Litestar keeps it on the request)
        body = request._body
    else:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(detail=f"the body is larger than {limit} bytes")
            chunks.append(chunk)
        body = b"".join(chunks)
        # Where Request.body() keeps what it read, so form() and json() parse these bytes.
        request._body = request._connection_state.body = body
    if len(body) > limit:
        raise PayloadTooLarge(detail=f"the body is larger than {limit} bytes")
    return body


# --- HMAC over the body -------------------------------------------------------------------------


def _decode_signature(signature: str) -> list[bytes]:
    """Every reading of a signature string: hex and base64 (standard or URL-safe)."""
    candidates: list[bytes] = []
    text = signature.strip()
    try:
        candidates.append(bytes.fromhex(text))
    except ValueError:
        pass
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            candidates.append(decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            pass
    return candidates


def hmac_digest(secret: str | bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def verify_hmac(
    secret: str | bytes,
    body: bytes,
    signature: str | None,
    *,
    algorithm: str = "sha256",
    prefix: str | None = None,
) -> bool:
    """Whether ``signature`` is the HMAC of ``body`` under ``secret``.

    The signature may be hex (GitHub, Stripe-like services) or base64 (Typeform, Shopify), with
    a prefix such as ``sha256=`` (``prefix=None`` strips ``<algorithm>=`` when present; pass
    ``prefix=""`` to accept none). Compared with :func:`hmac.compare_digest`, so the answer
    takes the same time however many bytes match. A missing or empty signature is ``False``.
    """
    if not signature or not secret:
        return False
    text = signature.strip()
    expected_prefix = f"{algorithm}=" if prefix is None else prefix
    if expected_prefix and text.lower().startswith(expected_prefix.lower()):
        text = text[len(expected_prefix) :]
    elif prefix:
        return False
    expected = hmac_digest(secret, body, algorithm)
    matched = False
    for candidate in _decode_signature(text):
        # Every reading is compared (no early exit) so timing says nothing about which matched.
        matched |= hmac.compare_digest(candidate, expected)
    return matched


def require_hmac(
    secret: str | bytes,
    body: bytes,
    signature: str | None,
    *,
    algorithm: str = "sha256",
    prefix: str | None = None,
) -> None:
    """:func:`verify_hmac`, raising :class:`SignatureInvalid` (401) when it fails."""
    if not verify_hmac(secret, body, signature, algorithm=algorithm, prefix=prefix):
        raise SignatureInvalid(detail="the signature does not match")


# --- Twilio-style signatures ----------------------------------------------------------------------


def twilio_signature(
    auth_token: str, url: str, params: Mapping[str, Any] | Iterable[tuple[str, str]] = ()
) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for a request.

    Twilio's published algorithm (https://www.twilio.com/docs/usage/security#validating-requests):
    take the full URL of the request, query string included; append each POST parameter's
    name immediately followed by its value, ordered by name (a repeated name contributes each
    of its values, the values sorted too, as Twilio's own libraries do); sign the result with
    HMAC-SHA1 keyed with the account's auth token; encode the digest in base64. For a JSON
    body, Twilio adds ``bodySHA256`` to the URL and signs the URL alone (no parameters).
    """
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    flat: list[tuple[str, str]] = []
    for key, value in pairs:
        if isinstance(value, list | tuple):
            flat.extend((key, str(v)) for v in value)
        else:
            flat.append((key, str(value)))
    flat.sort()
    data = url + "".join(key + value for key, value in flat)
    return base64.b64encode(hmac_digest(auth_token, data.encode(), "sha1")).decode()


def verify_twilio(
    auth_token: str,
    url: str,
    params: Mapping[str, Any] | Iterable[tuple[str, str]],
    signature: str | None,
) -> bool:
    """Whether ``signature`` (the ``X-Twilio-Signature`` header) fits ``url`` and ``params``.

    ``url`` must be the address Twilio called, as configured there: behind a proxy, rebuild
    it from the public scheme and host rather than the internal ones.
    """
    if not signature or not auth_token:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


# --- replay window ------------------------------------------------------------------------------


def parse_timestamp(value: str | int | float) -> dt.datetime:
    """A request's timestamp: Unix seconds (milliseconds when too large for seconds) or an
    ISO 8601 time with a zone. Raises :class:`InboundRejected` for anything else."""
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            return _iso_time(text)
    if not math.isfinite(number):
        raise InboundRejected(detail="unreadable timestamp")
    if number > 1e11:  # milliseconds since the epoch
        number /= 1000
    return dt.datetime.fromtimestamp(number, dt.UTC)


def _iso_time(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InboundRejected(detail="unreadable timestamp") from exc
    if parsed.tzinfo is None:
        raise InboundRejected(detail="the timestamp has no time zone")
    return parsed.astimezone(dt.UTC)


def check_timestamp(
    value: str | int | float | None,
    window: float = DEFAULT_REPLAY_WINDOW,
    now: dt.datetime | None = None,
) -> dt.datetime:
    """Refuse (401) a signed request whose time is more than ``window`` seconds from now.

    Pair it with a signature that covers the timestamp, so an attacker who captured a request
    cannot replay it later. Returns the request's time.
    """
    if value is None or value == "":
        raise SignatureInvalid(detail="the timestamp is missing")
    at = parse_timestamp(value)
    now = now or dt.datetime.now(dt.UTC)
    if abs((now - at).total_seconds()) > window:
        raise SignatureInvalid(detail="the timestamp is outside the replay window")
    return at


# --- rate limits --------------------------------------------------------------------------------


def client_ip(request: Request) -> str:
    """The caller's address as the ASGI server reports it.

    Behind a load balancer, let the server read the forwarded header from trusted proxies
    only (``uvicorn --proxy-headers --forwarded-allow-ips=…``, granian likewise); reading
    ``X-Forwarded-For`` here would let any caller pick their own address.
    """
    client = request.client
    return client.host if client else "unknown"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after: int  # seconds until the window resets (0 when allowed)


class _MemoryWindows:
    """Window counts kept in this process: ``(name, key, window number) → count``."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}

    def hit(self, name: str, key: str, window: int) -> tuple[int, int]:
        """Count one call in ``window``; answer (previous window's count, this one's)."""
        slot = (name, key, window)
        count = self.counts.get(slot, 0) + 1
        self.counts[slot] = count
        if len(self.counts) > self.MAX_KEYS:
            # Only this window and the one before it are read; a flood of addresses cannot
            # grow this without bound.
            self.counts = {k: v for k, v in self.counts.items() if k[2] >= window - 1}
        return self.counts.get((name, key, window - 1), 0), count

    def unhit(self, name: str, key: str, window: int) -> None:
        slot = (name, key, window)
        if self.counts.get(slot, 0) > 0:
            self.counts[slot] -= 1

    def clear(self) -> None:
        self.counts.clear()


_memory = _MemoryWindows()
# A Redis client belongs to the event loop it was used on: one per loop and URL, dropped
# with its loop.
_redis_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)


def _redis(url: str) -> Any:
    from redis.asyncio import Redis

    clients = _redis_clients.setdefault(asyncio.get_running_loop(), {})
    if url not in clients:
        clients[url] = Redis.from_url(url)
    return clients[url]


def _redis_url() -> str | None:
    from rapport.runtime import current

    try:
        return current().settings.redis_url
    except RuntimeError:
        return None


def sliding_decision(
    limit: int, period: float, previous: int, counted: int, moment: float
) -> RateDecision:
    """Judge one more call by a sliding window over two fixed ones.

    ``counted`` calls were allowed in the window of ``period`` seconds that holds ``moment``,
    ``previous`` in the window before; the previous count weighs by the share of that window
    still within the last ``period`` seconds. When refused, ``retry_after`` is the seconds
    until the call would be allowed if nothing else came meanwhile (up to ``period × (1 +
    1/limit)`` after a burst: the burst's window has to decay first).
    """
    elapsed = (moment % period) / period  # 0 ≤ elapsed < 1
    used = previous * (1 - elapsed) + counted + 1
    if used <= limit:
        return RateDecision(True, int(limit - used), 0)
    if counted + 1 > limit:
        # This window alone is full: wait for it to become the previous one and decay
        # enough, i.e. until counted·(1 − x) + 1 ≤ limit in the next window.
        wait = (1 - elapsed) + (counted + 1 - limit) / counted
    else:
        # The previous window's share has to decay: previous·(1 − e) + counted + 1 ≤ limit.
        wait = (previous + counted + 1 - limit) / previous - elapsed
    return RateDecision(False, 0, max(1, math.ceil(wait * period)))


class RateLimit:
    """At most ``limit`` calls per ``period`` seconds for each key of one endpoint.

    ``RateLimit("webforms.submit", limit=10, period=60)``; then in the handler
    ``await limiter.check(client_ip(request))`` raises :class:`RateLimited` (429 with
    ``Retry-After``) once a key has used its calls.

    The window slides: calls are counted per fixed window (aligned to multiples of
    ``period``), and a call is judged by this window's count plus the previous window's,
    weighted by how much of it still lies within the last ``period`` seconds. Two counters per
    key, no timestamps kept, and no burst of ``2 × limit`` across a window boundary as a plain
    fixed window allows. Refused calls are not counted.

    Where the count lives: in this process's memory, unless the instance has ``REDIS_URL``,
    then in Redis (``INCR`` plus ``EXPIRE``, and a ``GET`` of the previous window, in one
    transaction), so all processes behind a load balancer share one count. If Redis cannot be
    reached the call is let through and counted in memory: a limiter must not take the
    endpoint down with it.
    """

    def __init__(
        self, name: str, limit: int, period: float = 60.0, *, redis_url: str | None = None
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period > 0")
        self.name = name
        self.limit = limit
        self.period = period
        self.redis_url = redis_url  # None: the instance's REDIS_URL, if any

    async def hit(self, key: str, now: float | None = None) -> RateDecision:
        """Count one call for ``key`` and say whether it is within the limit.

        A refused call is not counted: a client retrying too early is not pushed further
        back, and one that keeps hammering still gets no more than ``limit`` calls per period.
        """
        moment = time.time() if now is None else now
        window = int(moment // self.period)
        previous, current = await self._count(key, window)
        decision = sliding_decision(self.limit, self.period, previous, current - 1, moment)
        if not decision.allowed:
            await self._uncount(key, window)
        return decision

    async def check(self, key: str) -> None:
        decision = await self.hit(key)
        if not decision.allowed:
            raise RateLimited(decision.retry_after)

    async def _count(self, key: str, window: int) -> tuple[int, int]:
        url = self.redis_url or _redis_url()
        if url:
            prefix = f"rapport:ratelimit:{self.name}:{key}:"
            try:
                async with _redis(url).pipeline(transaction=True) as pipe:
                    pipe.incr(f"{prefix}{window}")
                    # The count is read during the next window too.
                    pipe.expire(f"{prefix}{window}", math.ceil(2 * self.period) + 1)
                    pipe.get(f"{prefix}{window - 1}")
                    current, _, previous = await pipe.execute()
                return int(previous or 0), int(current)
            except Exception:  # noqa: BLE001 - fall back rather than fail the request
                log.warning("rate limit %s: Redis unavailable, counting in memory", self.name)
        return _memory.hit(self.name, key, window)

    async def _uncount(self, key: str, window: int) -> None:
        url = self.redis_url or _redis_url()
        if url:
            try:
                await _redis(url).decr(f"rapport:ratelimit:{self.name}:{key}:{window}")
                return
            except Exception:  # noqa: BLE001 - the memory count is the fallback
                pass
        _memory.unhit(self.name, key, window)


def reset_rate_limits() -> None:
    """Forget every in-memory count (for tests, and after an admin raised a limit)."""
    _memory.clear()


__all__ = [
    "DEFAULT_BODY_LIMIT",
    "InboundRejected",
    "PayloadTooLarge",
    "RateDecision",
    "RateLimit",
    "RateLimited",
    "SignatureInvalid",
    "check_timestamp",
    "client_ip",
    "hmac_digest",
    "parse_timestamp",
    "read_body",
    "require_hmac",
    "reset_rate_limits",
    "sliding_decision",
    "twilio_signature",
    "verify_hmac",
    "verify_twilio",
]
