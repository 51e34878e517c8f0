"""The signed fill-time token: proof of when a visitor was shown the form.

The page (or the snippet's config request) carries ``<issued>.<mac>``, where ``mac`` is an
HMAC-SHA256 of the form's id and the issue time under the instance's secret key. A
submission sent sooner than the form's minimum fill time after that is a bot's; one older
than :data:`MAX_AGE` came from a page left open for days or from a token harvested once and
replayed. The token is stateless: any process of the instance can check it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from rapport.api import settings

MAX_AGE = 24 * 3600


def _mac(form_id: int, issued: int) -> str:
    key = ("webforms-fill-time:" + settings().secret_key).encode()
    digest = hmac.new(key, f"{form_id}:{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def issue_token(form_id: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_mac(form_id, issued)}"


def check_token(form_id: int, token: str, min_seconds: int, now: float | None = None) -> str | None:
    """None when the token is good; else why not: ``missing``, ``forged``, ``too_fast``,
    ``expired``."""
    if not token:
        return "missing"
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit() or not hmac.compare_digest(
        mac.encode(), _mac(form_id, int(issued_text)).encode()
    ):
        return "forged"
    age = (time.time() if now is None else now) - int(issued_text)
    if age < min_seconds:
        return "too_fast"
    if age > MAX_AGE:
        return "expired"
    return None
