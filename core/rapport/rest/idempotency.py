"""``Idempotency-Key`` on POST: a retried request gets the first answer, not a second record.

For a POST carrying the header, the first request with a given key (per token) runs and its
successful (2xx) answer is stored for ``KEEP_FOR``; a retry with the same key and the same
method, path, query and body gets that answer again, marked ``Idempotent-Replayed: true``. The
same key with a different request is refused (422), and a retry that arrives while the first
request still runs gets 409 with ``Retry-After``. Answers of 4xx or 5xx are not stored: the
client may fix the request and retry with the same key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rapport.rest.problems import ApiProblem, FieldError
from rapport.rest.tables import ApiIdempotentRequest

HEADER = b"idempotency-key"
MAX_KEY = 255
KEEP_FOR = dt.timedelta(hours=24)
# A first request still marked running after this long died with its process: start afresh.
ABANDONED_AFTER = dt.timedelta(minutes=2)
Row = ApiIdempotentRequest


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _replay(row: dict[str, Any], send: Send) -> None:
    headers = [(b"content-type", row["content_type"].encode()), (b"idempotent-replayed", b"true")]
    if row["location"]:
        headers.append((b"location", row["location"].encode()))
    await send({"type": "http.response.start", "status": row["status"], "headers": headers})
    await send({"type": "http.response.body", "body": row["body"].encode()})


async def _claim(token_id: int, key: str, fingerprint: str) -> dict[str, Any] | None:
    """Record the key as running; return the stored row instead when there is one."""
    now = _now()
    stored = await Row.select().where((Row.token == token_id) & (Row.key == key)).first()
    if stored is not None:
        abandoned = stored["status"] == 0 and now - stored["created_at"] > ABANDONED_AFTER
        if stored["expires_at"] > now and not abandoned:
            return stored
        await Row.delete().where(Row.id == stored["id"])
    await Row.delete().where((Row.token == token_id) & (Row.expires_at < now))
    try:
        await Row.insert(
            Row(
                token=token_id,
                key=key,
                request_hash=fingerprint,
                status=0,
                created_at=now,
                expires_at=now + KEEP_FOR,
            )
        )
    except Exception:
        # Another process claimed the key between the read and the insert (unique index).
        stored = await Row.select().where((Row.token == token_id) & (Row.key == key)).first()
        if stored is None:
            raise
        return stored
    return None


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" else None
        token = scope.get("api_token")
        if scope.get("method") != "POST" or key is None or token is None:
            await app(scope, receive, send)
            return
        if not key.strip() or len(key) > MAX_KEY:
            raise ApiProblem(
                400,
                "Bad Idempotency-Key",
                f"the key must have 1 to {MAX_KEY} characters",
                kind="invalid-request",
                errors=[
                    FieldError(field="Idempotency-Key", message="bad length", location="header")
                ],
            )
        body = await _read_body(receive)
        fingerprint = _fingerprint(scope, body)
        stored = await _claim(token["id"], key, fingerprint)
        if stored is not None:
            if stored["request_hash"] != fingerprint:
                raise ApiProblem(
                    422,
                    "Idempotency-Key reused",
                    "this key was used for a different request; use a new key",
                    kind="idempotency-key-reused",
                )
            if stored["status"] == 0:
                raise ApiProblem(
                    409,
                    "Request in progress",
                    "the first request with this key is still running",
                    kind="idempotency-in-progress",
                    headers={"Retry-After": "1"},
                )
            await _replay(stored, send)
            return
        await _run_and_store(app, scope, receive, send, body, token["id"], key)

    return middleware


async def _run_and_store(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, body: bytes, token_id: int, key: str
) -> None:
    delivered = False

    async def replay_receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        await send(message)

    where = (Row.token == token_id) & (Row.key == key)
    try:
        await app(scope, replay_receive, capture)
    except BaseException:
        await Row.delete().where(where)
        raise
    status = int(start.get("status", 500))
    if not 200 <= status < 300:
        await Row.delete().where(where)
        return
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])
    }
    await Row.update(
        {
            Row.status: status,
            Row.content_type: headers.get("content-type", "application/json")[:100],
            Row.location: headers.get("location", "")[:500],
            Row.body: b"".join(chunks).decode("utf-8", errors="replace"),
        }
    ).where(where)
