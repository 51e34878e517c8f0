"""A minimal in-process HTTP caller for an ASGI app: one scope, one body, the answer collected.

The in-process scenarios measure the app. ``httpx.AsyncClient`` over ``httpx.ASGITransport``
costs about 1 ms a request of its own on this machine (its request and response models, the
cookie jar, URL parsing, the transport's stream wrapping), ten times what a trivial Litestar
route costs when called directly; at that size it is most of a search and a large share of
the baseline-relative ratio. This caller does only what a server hands an app: the scope,
``receive`` giving the body once, ``send`` collected into a status, headers and a body.
Cookies set by the app are kept and sent back, so sign-in and CSRF work as in a browser.

It has the small part of httpx's interface the scenarios use (``get``/``post`` with
``params``, ``headers``, ``data``, ``follow_redirects=False``; an answer's ``status_code``,
``headers``, ``content``, ``text``; ``cookies``), so plugin scenarios written against the
session's client work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from litestar.types import ASGIApp, Message


class Headers:
    """Response headers, looked up without regard to case (as httpx's are)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower().encode("latin-1")
        for key, value in self.raw:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return default

    def get_list(self, name: str) -> list[str]:
        wanted = name.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self.raw if k.lower() == wanted]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class Answer:
    """What the app sent: the status, headers and the whole body."""

    def __init__(self, status_code: int, headers: Headers, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class AsgiCaller:
    """Calls ``app`` directly, one request at a time, keeping its cookies."""

    def __init__(self, app: ASGIApp, host: str = "bench") -> None:
        self.app = app
        self.host = host.encode()
        self.cookies: dict[str, str] = {}

    async def get(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> Answer:
        return await self.request("GET", path, params=params, headers=headers)

    async def post(
        self,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> Answer:
        return await self.request("POST", path, data=data, headers=headers)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Answer:
        path, _, query = path.partition("?")
        if params:
            query = "&".join(p for p in (query, urlencode(params)) if p)
        body = urlencode(data).encode() if data is not None else b""
        raw_headers = [(b"host", self.host)]
        if self.cookies:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            raw_headers.append((b"cookie", cookie.encode("latin-1")))
        if data is not None:
            raw_headers.append((b"content-type", b"application/x-www-form-urlencoded"))
            raw_headers.append((b"content-length", str(len(body)).encode()))
        for key, value in (headers or {}).items():
            raw_headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": (self.host.decode(), 80),
        }
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if sent_body:
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)  # type: ignore[arg-type]
        answer = Answer(status, Headers(response_headers), b"".join(chunks))
        self._keep_cookies(answer.headers.get_list("set-cookie"))
        return answer

    def _keep_cookies(self, lines: list[str]) -> None:
        for line in lines:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(line)
            for name, morsel in parsed.items():
                expired = morsel["max-age"] in ("0", "-1") or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
