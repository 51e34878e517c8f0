"""Live pushes to a user's open pages: server-sent events over Litestar channels.

Every signed-in page keeps one ``GET /live`` stream open (``base.html``, htmx's SSE
extension). Each user has one channel; :func:`push_to_user` publishes an HTML fragment on it
and htmx swaps the fragment into the page by event name (``notification`` goes to the
``#live-notifications`` box).

Transport, by deployment:

* one process (``rapport serve``, which also runs the background worker in process): an
  in-memory channels backend; a job or a request handler in that process pushes directly;
* several processes: set ``REDIS_URL`` and every web process subscribes through Redis
  pub/sub, while a process without the web app (``rapport worker``, the CLI) publishes to
  Redis directly. Without ``REDIS_URL`` such a process cannot reach the browsers, and
  :func:`push_to_user` is a no-op there (logged at debug level).

A push is a courtesy on top of durable state: nothing is queued for users who are offline, a
delivery failure is logged and never raised to the caller, and whatever a notification says
must also be findable in the CRM itself.

Streams end when the client goes away, when the session is signed out or expires (checked
about once a minute) and when the server shuts down. Servers such as uvicorn wait for open
responses before running the application's shutdown, so the streams are also closed as soon
as the process receives SIGINT or SIGTERM; otherwise an open tab would hold a shutdown
forever.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
import signal
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import anyio
from jinja2 import Environment
from litestar import Litestar, Request, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.subscriber import Subscriber
from litestar.config.app import AppConfig
from litestar.exceptions import ServiceUnavailableException
from litestar.plugins import InitPlugin
from litestar.response import ServerSentEvent, ServerSentEventMessage

from rapport.settings import Settings
from rapport.web import i18n

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0  # a comment line this often keeps proxies from closing idle streams
SESSION_CHECK_EVERY = 4  # heartbeats between checks that the session is still signed in
RETRY_MS = 3000  # how soon a browser reconnects after a stream ended
MAX_BACKLOG = 100  # undelivered events kept per stream; the oldest are dropped first
NOTIFICATION_EVENT = "notification"
NOTIFICATION_TEMPLATE = "live/notification.html"
_EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
_HEARTBEAT = object()  # what a stream's wait returns when nothing arrived in time


# --- channels -----------------------------------------------------------------------------------


def instance_key(settings: Settings) -> str:
    """A short name for this instance, the same in each of its processes (they share the
    secret key), so that two instances sharing one Redis never see each other's pushes."""
    return hashlib.sha256(b"rapport-live:" + settings.secret_key.encode()).hexdigest()[:12]


def channel_for(user_id: int, settings: Settings) -> str:
    """The one channel of a user, ``rapport.<instance>.user:<id>``."""
    return f"rapport.{instance_key(settings)}.user:{int(user_id)}"


class LiveSubscriber(Subscriber):
    """A channels subscriber a stream can wait on with a timeout (for its heartbeat)."""

    async def next_event(self, within: float) -> bytes | object | None:
        """The next published message, ``None`` once the stream must end, or the heartbeat
        marker after ``within`` seconds of silence. Cancelling the wait loses nothing."""
        try:
            async with asyncio.timeout(within):
                item = await self._queue.get()
        except TimeoutError:
            return _HEARTBEAT
        self._queue.task_done()
        return item


def _backend(settings: Settings) -> tuple[ChannelsBackend, Any]:
    """The backend, and the Redis client to close at shutdown (None in memory)."""
    if not settings.redis_url:
        return MemoryChannelsBackend(), None
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend

    try:
        from redis.asyncio import Redis
    except ImportError as exc:
        raise RuntimeError(
            "REDIS_URL is set but the Redis client is not installed: pip install 'rapport[redis]'"
        ) from exc

    client = Redis.from_url(settings.redis_url)
    return RedisChannelsPubSubBackend(redis=client), client


def channels_plugin(backend: ChannelsBackend) -> ChannelsPlugin:
    """Litestar's channels plugin, one channel per user created on first subscription."""
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_class=LiveSubscriber,
        subscriber_max_backlog=MAX_BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )


# --- the app's side -----------------------------------------------------------------------------


@dataclass
class _Running:
    """The channels plugin of a running app, with the loop it runs on and its open streams."""

    plugin: ChannelsPlugin
    settings: Settings
    loop: asyncio.AbstractEventLoop
    streams: set[LiveSubscriber] = field(default_factory=set)
    closing: bool = False

    def close(self) -> None:
        """End every open stream (their browsers reconnect to another process or later)."""
        self.closing = True
        for stream in list(self.streams):
            stream.put_nowait(None)


# The running app of this process, for pushes from code outside a request (jobs, services).
_running: _Running | None = None


class LivePlugin(InitPlugin):
    """Adds the channels plugin, ``GET /live`` and the streams' lifecycle to the app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        backend, self._redis = _backend(settings)
        self.channels = channels_plugin(backend)
        self.running: _Running | None = None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if self._redis is not None:
            app_config.lifespan.append(self._close_redis)  # left after the channels plugin
        self.channels.on_app_init(app_config)
        # Added after the channels plugin's own lifespan: entered once it runs, left before
        # it stops, so streams end while their channels still work.
        app_config.lifespan.append(self._lifespan)
        app_config.route_handlers.append(live_stream)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        global _running
        running = _Running(self.channels, self.settings, asyncio.get_running_loop())
        self.running = _running = running
        restore = _close_on_exit_signals(lambda: running.loop.call_soon_threadsafe(running.close))
        try:
            yield
        finally:
            restore()
            running.close()
            self.running = None
            if _running is running:
                _running = None

    @asynccontextmanager
    async def _close_redis(self, _app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self._redis.aclose()


def _close_on_exit_signals(close: Callable[[], None]) -> Callable[[], None]:
    """Call ``close`` first when the process is asked to stop, then the server's own handler.

    Only where a server installed a Python handler (uvicorn does, in the main thread): with
    the default disposition the process ends anyway. Returns a function restoring the
    previous handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    installed: dict[int, tuple[Any, Any]] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def chained(number: int, frame: FrameType | None, _previous: Any = previous) -> None:
            close()
            _previous(number, frame)

        signal.signal(signum, chained)
        installed[signum] = (previous, chained)

    def restore() -> None:
        for number, (previous, chained) in installed.items():
            if signal.getsignal(number) is chained:
                signal.signal(number, previous)

    return restore


@get("/live", include_in_schema=False, name="live")
async def live_stream(request: Request) -> ServerSentEvent:
    """The signed-in user's event stream (``text/event-stream``)."""
    plugin = request.app.plugins.get(LivePlugin)
    running = plugin.running
    if running is None or running.closing:
        raise ServiceUnavailableException("the server is restarting")
    user = request.scope["user"]  # type: ignore[typeddict-item]
    token = request.scope.get("session_token")  # type: ignore[typeddict-item]
    channel = channel_for(user["id"], plugin.settings)
    return ServerSentEvent(
        _stream(running, channel, token),
        headers={"X-Accel-Buffering": "no"},  # nginx: pass each event through at once
    )


async def _stream(
    running: _Running, channel: str, token: str | None
) -> AsyncGenerator[ServerSentEventMessage, None]:
    subscriber = await running.plugin.subscribe(channel)
    assert isinstance(subscriber, LiveSubscriber)
    running.streams.add(subscriber)
    try:
        # Sent once subscribed: from here on, nothing pushed to the user is missed.
        yield ServerSentEventMessage(data=None, comment="connected", retry=RETRY_MS)
        beats = 0
        while True:
            item = await subscriber.next_event(HEARTBEAT_SECONDS)
            if item is None:
                return
            if item is _HEARTBEAT:
                beats += 1
                if beats % SESSION_CHECK_EVERY == 0 and not await session_alive(token):
                    return
                yield ServerSentEventMessage(data=None, comment="ping")
                continue
            message = _decode(item)  # type: ignore[arg-type]
            if message is not None:
                yield message
    finally:
        running.streams.discard(subscriber)
        # The client may be gone and this task cancelled: unsubscribe regardless.
        with anyio.CancelScope(shield=True):
            await running.plugin.unsubscribe(subscriber, channel)


async def session_alive(token: str | None) -> bool:
    """Whether a session is still signed in, without counting as activity (an open tab must
    not keep a session from idling out)."""
    from rapport.users.sessions import IDLE_TIMEOUT, _hash
    from rapport.users.tables import UserSession

    if not token:
        return False
    since = dt.datetime.now(dt.UTC) - IDLE_TIMEOUT
    return await UserSession.exists().where(
        (UserSession.token_hash == _hash(token))
        & (UserSession.last_seen_at > since)
        & (UserSession.user.is_active == True)  # noqa: E712 - a SQL comparison
    )


def _encode(event: str, html: str) -> bytes:
    return json.dumps({"event": event, "html": html}).encode()


def _decode(data: bytes) -> ServerSentEventMessage | None:
    try:
        message = json.loads(data)
        event, html = str(message["event"]), str(message["html"])
    except (ValueError, KeyError, TypeError):
        log.warning("live: dropped a malformed message (%d bytes)", len(data))
        return None
    return ServerSentEventMessage(event=event, data=html)


# --- pushing ------------------------------------------------------------------------------------


async def push_to_user(user_id: int, html: str, event: str = NOTIFICATION_EVENT) -> None:
    """Send an HTML fragment to every page ``user_id`` has open, as SSE event ``event``.

    Pages pick events up by name (``sse-swap="notification"``). The HTML is sent as given:
    render it from an autoescaping template. Raises :class:`ValueError` for an event name
    that is not a plain word; delivery problems are logged, not raised.
    """
    if not _EVENT_NAME.fullmatch(event):
        raise ValueError(f"not a usable event name: {event!r}")
    message = _encode(event, html)
    try:
        await _publish(int(user_id), message)
    except Exception:  # a push must never break the caller's work
        log.warning("live push to user %s failed", user_id, exc_info=True)


async def _publish(user_id: int, message: bytes) -> None:
    running = _running
    if running is not None and not running.closing:
        await _publish_in_app(running, message, channel_for(user_id, running.settings))
        return
    settings = _settings()
    if settings is not None and settings.redis_url:
        await _publish_to_redis(settings.redis_url, message, channel_for(user_id, settings))
        return
    log.debug(
        "live push to user %s dropped: no web app runs in this process and REDIS_URL is not set",
        user_id,
    )


async def _publish_in_app(running: _Running, message: bytes, channel: str) -> None:
    publish = running.plugin.wait_published(message, [channel])
    if asyncio.get_running_loop() is running.loop:
        await publish
    else:  # called from another thread's loop (a test client, a thread pool)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(publish, running.loop))


async def _publish_to_redis(url: str, message: bytes, channel: str) -> None:
    """Publish the way Litestar's Redis pub/sub backend does (a plain PUBLISH), so web
    processes subscribed through it receive the message. A connection per push: pushes from
    outside the web app are rare, and a kept client would be tied to one event loop."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.publish(channel, message)
    finally:
        await client.aclose()


def _settings() -> Settings | None:
    from rapport.runtime import current

    try:
        return current().settings
    except RuntimeError:
        return None


# --- notifications ------------------------------------------------------------------------------


async def notify_user(user_id: int, title: str, body: str = "", url: str | None = None) -> None:
    """Push a small notification box (title, optional text and link) to a user's pages.

    ``title`` and ``body`` are shown escaped, as given: translate them into the user's
    language first (:func:`user_language`). ``url`` must be a path on this site or an
    http(s) address; anything else raises :class:`ValueError`.
    """
    if url is not None and not _safe_url(url):
        raise ValueError(f"not a usable notification link: {url!r}")
    with speaking(await user_language(user_id)):
        html = render(NOTIFICATION_TEMPLATE, title=title, body=body, url=url)
    await push_to_user(user_id, html, NOTIFICATION_EVENT)


def _safe_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    return not parts.scheme and not parts.netloc and url.startswith("/")


async def user_language(user_id: int) -> str:
    """The language a user reads the interface in (their own, else the instance's)."""
    from rapport.users.tables import User

    row = await User.select(User.language).where(User.id == int(user_id)).first()
    if row and row["language"]:
        return str(row["language"])
    settings = _settings()
    return settings.language if settings else i18n.DEFAULT_LANGUAGE


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Translate in ``language`` inside the block (for text meant for another user)."""
    previous = i18n.current_language()
    i18n.set_language(language)
    try:
        yield
    finally:
        i18n.set_language(previous)


def render(template: str, **context: Any) -> str:
    """Render a theme template outside a request (the current request's theme, if any)."""
    from rapport.web.themes import current_theme

    return _environment(current_theme()).get_template(template).render(**context)


@lru_cache(maxsize=8)
def _environment(theme: str) -> Environment:
    from rapport.web.themes import installed_themes, template_environment

    return template_environment(dict(installed_themes()), theme)


__all__ = [
    "LivePlugin",
    "channel_for",
    "notify_user",
    "push_to_user",
    "render",
    "speaking",
    "user_language",
]
