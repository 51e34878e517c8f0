"""ASGI middleware: who is signing in, which language, which plugins; security headers."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rapport.rest import is_api_path
from rapport.rest.auth import authenticate_api_request
from rapport.runtime import current
from rapport.users.sessions import user_for_session
from rapport.web.i18n import set_language

SESSION_COOKIE = "rapport_session"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


def context_middleware(app: ASGIApp) -> ASGIApp:
    """Put the signed-in user (or None) in ``scope["user"]`` and set the request language.

    Also re-reads the enabled plugin set when due, before guards decide anything.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            from rapport.plugins.state import sync

            await sync()
            if is_api_path(scope["path"]):
                # The API authenticates by bearer token only: a browser's cookie must never
                # act there, so API calls need no CSRF token.
                token = None
                user = await authenticate_api_request(scope)
            else:
                token = ASGIConnection(scope).cookies.get(SESSION_COOKIE)
                user = await user_for_session(token) if token else None
            scope["user"] = user  # type: ignore[typeddict-unknown-key]
            scope["session_token"] = token if user else None  # type: ignore[typeddict-unknown-key]
            language = (user or {}).get("language") or current().settings.language
            set_language(language)
        await app(scope, receive, send)

    return middleware


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    """Standard headers on every response; a handler may relax ``frame-ancestors`` through
    ``opt={"frame_ancestors": "https://site.example"}`` (embeddable forms)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                frame = _frame_ancestors(scope)
                policy = CONTENT_SECURITY_POLICY
                extra = list(SECURITY_HEADERS)
                if frame:
                    policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {frame}")
                    extra = [h for h in extra if h[0] != b"x-frame-options"]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", policy.encode()))
                headers.extend(h for h in extra if h[0] not in present)
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _frame_ancestors(scope: Scope) -> str | None:
    handler = scope.get("route_handler")
    opt = getattr(handler, "opt", None) or {}
    value = opt.get("frame_ancestors")
    return str(value) if value else None
