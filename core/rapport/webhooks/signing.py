"""Signing outgoing webhook requests, and checking a signature on the receiving side.

A request carries ``Rapport-Signature: t=<unix seconds>,v1=<hex>`` where the hex digest is
``HMAC-SHA256(secret, f"{t}.{body}")`` over the exact bytes of the body. Receivers recompute
it with the subscription's secret and refuse a timestamp older than five minutes, so a
captured request cannot be replayed later. The scheme follows the widely used
timestamp-dot-body layout (Stripe's ``Stripe-Signature`` header is the best known example).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Rapport-Signature"
EVENT_ID_HEADER = "Rapport-Event-Id"
EVENT_TYPE_HEADER = "Rapport-Event-Type"
TIMESTAMP_HEADER = "Rapport-Timestamp"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` with ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str | list[str], timestamp: int, body: bytes) -> str:
    """The value of the ``Rapport-Signature`` header for one request: one ``v1=`` entry per
    secret (two while a rotated secret's grace lasts, the new one first)."""
    secrets = [secret] if isinstance(secret, str) else secret
    entries = "".join(f",v1={signature(s, timestamp, body)}" for s in secrets)
    return f"t={timestamp}{entries}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (a ``Rapport-Signature`` value) signs ``body`` with ``secret``
    within ``tolerance`` seconds of ``now``.

    Pass the raw request body, before any JSON parsing. Several ``v1=`` entries may be present
    (while a secret is being rotated); any one matching is enough. The comparison is constant
    time. Receivers can copy this function as it is: it needs only the standard library.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
