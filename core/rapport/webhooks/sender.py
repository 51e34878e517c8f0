"""One signed POST to a webhook URL, and its entry in the attempt log."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from rapport.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_header,
)
from rapport.webhooks.tables import WebhookAttempt
from rapport.webhooks.targets import TargetRefused, resolve

TIMEOUT_SECONDS = 10.0
EXCERPT_LIMIT = 1000  # characters of the response body kept in the log
ERROR_LIMIT = 1000
USER_AGENT = "Rapport-Webhooks/1"
DELIVERED, FAILED, REFUSED, GONE = "delivered", "failed", "refused", "gone"
_ssl_context: ssl.SSLContext | None = None


@dataclass(frozen=True)
class Outcome:
    """How one request went."""

    outcome: str
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == DELIVERED

    def summary(self) -> str:
        if self.status_code is not None:
            return f"HTTP {self.status_code}" + (f": {self.error}" if self.error else "")
        return self.error or self.outcome


def event_body(
    event_id: str, event_type: str, version: int, occurred_at: dt.datetime, payload: Any
) -> bytes:
    """The JSON body receivers get (compact, keys in a fixed order)."""
    document = {
        "id": event_id,
        "type": event_type,
        "version": version,
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "payload": payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _context() -> ssl.SSLContext:
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context()
    return _ssl_context


async def post(
    url: str,
    secret: str | list[str],
    event_id: str,
    event_type: str,
    body: bytes,
    *,
    allow_private: bool,
    timeout_seconds: float = TIMEOUT_SECONDS,
) -> Outcome:
    """Send ``body`` to ``url`` signed with ``secret`` (or each of several secrets); never
    raises for the receiver's sake.

    Redirects are not followed (a 3xx counts as a failure): a redirect could lead to an
    address the check refused.
    """
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = await resolve(host, port, allow_private)
    except TargetRefused as exc:
        return Outcome(REFUSED, error=str(exc)[:ERROR_LIMIT], duration_ms=took())
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": parts.netloc.rsplit("@", 1)[-1],
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event_type,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
    }
    target = httpx.URL(url).copy_with(host=str(address), port=port)
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    try:
        async with httpx.AsyncClient(
            verify=_context(), timeout=timeout_seconds, follow_redirects=False, trust_env=False
        ) as client:
            request = client.build_request(
                "POST", target, content=body, headers=headers, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                excerpt = await _excerpt(response)
            finally:
                await response.aclose()
    except httpx.TimeoutException:
        return Outcome(FAILED, error=f"timed out after {timeout_seconds:g}s", duration_ms=took())
    except httpx.HTTPError as exc:
        message = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        return Outcome(FAILED, error=message, duration_ms=took())
    code = response.status_code
    if 200 <= code < 300:
        outcome = DELIVERED
    elif code == 410:
        outcome = GONE
    else:
        outcome = FAILED
    error = "redirects are not followed" if 300 <= code < 400 else ""
    return Outcome(outcome, code, excerpt, error, took())


async def _excerpt(response: httpx.Response) -> str:
    """The start of the response body, without reading more than a few kilobytes."""
    collected = b""
    async for chunk in response.aiter_raw():
        collected += chunk
        if len(collected) >= EXCERPT_LIMIT * 4:
            break
    return collected.decode("utf-8", errors="replace")[:EXCERPT_LIMIT]


async def record(
    subscription_id: int,
    event_id: int | None,
    event_type: str,
    trigger: str,
    outcome: Outcome,
) -> None:
    """Write the attempt to the log the admin pages show."""
    await WebhookAttempt.insert(
        WebhookAttempt(
            subscription_id=subscription_id,
            event_id=event_id,
            event_type=event_type,
            trigger=trigger,
            attempted_at=dt.datetime.now(dt.UTC),
            outcome=outcome.outcome,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
