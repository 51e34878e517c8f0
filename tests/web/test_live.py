"""Live pushes over server-sent events: a real uvicorn server in the test's event loop (the
test client collects whole responses, so a stream needs a real server), read with httpx."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from rapport import bootstrap
from rapport.activities import reminders
from rapport.activities.service import log_activity
from rapport.contacts.service import create_contact
from rapport.jobs.queue import enqueue
from rapport.jobs.worker import run_once
from rapport.plugins.registry import PluginRegistry
from rapport.runtime import current
from rapport.users.accounts import create_user
from rapport.web import live
from rapport.web.app import create_app

PASSWORD = "live-pass-123"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
READ_TIMEOUT = 10.0
REDIS_URL = os.environ.get("RAPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _seed_users(settings) -> dict[str, int]:
    await bootstrap.start(settings, call_startup=False)
    try:
        return {
            "sam": (await create_user("sam@example.com", "Sam", PASSWORD, "staff"))["id"],
            "olga": (await create_user("olga@example.com", "Olga", PASSWORD, "staff", "ru"))["id"],
        }
    finally:
        await bootstrap.stop()


@asynccontextmanager
async def serving(settings) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """The app under uvicorn on a free port, in this loop; stopped (and awaited) on exit."""
    app = create_app(settings, PluginRegistry())
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(15):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        async with asyncio.timeout(15):
            await task


async def sign_in(client: httpx.AsyncClient, email: str) -> str:
    token = CSRF.search((await client.get("/login")).text).group(1)
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "_csrf_token": token}
    )
    assert response.status_code in (200, 302, 303)
    return CSRF.search((await client.get("/account")).text).group(1)


async def next_event(lines: AsyncIterator[str]) -> dict[str, Any]:
    """Read one server-sent event (or comment) block: ``{"event", "data", "comment"}``."""
    block: dict[str, Any] = {"event": None, "data": [], "comment": []}
    async with asyncio.timeout(READ_TIMEOUT):
        async for line in lines:
            if line == "":
                if block["event"] or block["data"] or block["comment"]:
                    return block
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                block["comment"].append(value)
            elif field == "event":
                block["event"] = value
            elif field == "data":
                block["data"].append(value)
    raise AssertionError("the stream ended")


async def wait_for(predicate, within: float = 5.0) -> None:
    """Poll ``predicate`` (state another task changes) until true, at most ``within`` s."""
    for _ in range(int(within / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def _running() -> live._Running:
    assert live._running is not None
    return live._running


@pytest.fixture
async def users(rapport_settings) -> dict[str, int]:
    return await _seed_users(rapport_settings)


async def test_live_refuses_anonymous_requests(rapport_settings):
    async with AsyncTestClient(create_app(rapport_settings, PluginRegistry())) as client:
        response = await client.get("/live", headers={"accept": "text/event-stream"})
    assert response.status_code == 401


async def test_a_push_reaches_the_users_stream_and_only_theirs(rapport_settings, users):
    async with (
        serving(rapport_settings) as (base, _server),
        httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT) as client,
    ):
        await sign_in(client, "sam@example.com")
        async with client.stream("GET", "/live", headers={"accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            hello = await next_event(lines)
            assert hello["comment"] == ["connected"]
            await live.push_to_user(users["olga"], "<p>not for Sam</p>")
            await live.push_to_user(users["sam"], "<p>one</p>\n<p>two</p>")
            event = await next_event(lines)
            assert event["event"] == "notification"
            assert event["data"] == ["<p>one</p>", "<p>two</p>"]
            await live.notify_user(
                users["sam"], "New lead <b>", "From the site form", "/contacts/5"
            )
            note = await next_event(lines)
            html = "\n".join(note["data"])
            assert "New lead &lt;b&gt;" in html and 'href="/contacts/5"' in html
            assert "Dismiss" in html
        # The server notices the client left and drops the subscription.
        await wait_for(lambda: not _running().streams)


async def test_heartbeat_and_the_stream_ends_after_sign_out(rapport_settings, users, monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.setattr(live, "SESSION_CHECK_EVERY", 2)
    async with (
        serving(rapport_settings) as (base, _server),
        httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT) as client,
    ):
        token = await sign_in(client, "sam@example.com")
        async with client.stream("GET", "/live") as stream:
            lines = stream.aiter_lines()
            assert (await next_event(lines))["comment"] == ["connected"]
            assert (await next_event(lines))["comment"] == ["ping"]
            signed_out = await client.post("/logout", data={"_csrf_token": token})
            assert signed_out.status_code in (200, 302, 303)
            async with asyncio.timeout(READ_TIMEOUT):
                async for _line in lines:
                    pass  # the server ends the stream: the session is gone
        assert (await client.get("/live")).status_code == 401


async def test_shutdown_ends_open_streams_at_once(rapport_settings, users):
    """uvicorn waits for open responses before the app's shutdown; the streams must end when
    the process is told to stop, or an open tab would hold the shutdown forever."""
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # what uvicorn re-raises at exit
    try:
        async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client:
            app = create_app(rapport_settings, PluginRegistry())
            port = _free_port()
            server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
            task = asyncio.create_task(server.serve())
            await wait_for(lambda: server.started, 15)
            client.base_url = f"http://127.0.0.1:{port}"
            await sign_in(client, "sam@example.com")
            async with client.stream("GET", "/live") as stream:
                lines = stream.aiter_lines()
                assert (await next_event(lines))["comment"] == ["connected"]
                started = asyncio.get_running_loop().time()
                os.kill(os.getpid(), signal.SIGTERM)
                async with asyncio.timeout(5):
                    async for _line in lines:
                        pass
                    await task
                assert asyncio.get_running_loop().time() - started < 5
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_push_without_an_app_or_redis_is_a_quiet_no_op(rapport, caplog):
    caplog.set_level(logging.DEBUG, logger="rapport.web.live")
    assert live._running is None
    await live.push_to_user(1, "<p>nobody listens</p>")
    assert "REDIS_URL is not set" in caplog.text
    with pytest.raises(ValueError):
        await live.push_to_user(1, "<p>x</p>", event="two\nlines")
    with pytest.raises(ValueError):
        await live.notify_user(1, "Bad link", url="javascript:alert(1)")


async def test_reminder_job_pushes_once_in_the_assignees_language(rapport_settings, users):
    async with (
        serving(rapport_settings) as (base, _server),
        httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT) as client,
    ):
        anna = await create_contact({"first_name": "Анна", "last_name": "Смирнова"})
        now = dt.datetime.now(dt.UTC)
        task = await log_activity(
            anna,
            "task",
            body="Перезвонить",
            due_at=now + dt.timedelta(minutes=10),
            assignee_id=users["olga"],
        )
        later = await log_activity(
            anna,
            "task",
            body="Later",
            due_at=now + dt.timedelta(hours=2),
            assignee_id=users["olga"],
        )
        await sign_in(client, "olga@example.com")
        async with client.stream("GET", "/live") as stream:
            lines = stream.aiter_lines()
            await next_event(lines)
            # Through the job queue and the worker, as the schedule runs it.
            assert await enqueue(reminders.JOB_NAME) is not None
            outcome = await run_once(current())
            assert outcome["jobs"] == {"done": 1}, outcome
            assert await reminders.send_due_reminders() == 0  # reminded once
            html = "\n".join((await next_event(lines))["data"])
            assert "Перезвонить" in html and "Анна Смирнова — срок через 10 минут" in html
            assert f'href="/contacts/{anna}"' in html and "Закрыть" in html
        # Moved to a new time, the task earns a new reminder; the later one comes in time.
        from rapport.activities.tables import Activity

        await Activity.update({Activity.due_at: now + dt.timedelta(minutes=12)}).where(
            Activity.id == task
        )
        assert await reminders.send_due_reminders() == 1
        assert await reminders.send_due_reminders(now + dt.timedelta(hours=1, minutes=50)) == 1
        row = (
            await Activity.select(Activity.payload)
            .where(Activity.id == later)
            .first()
            .output(load_json=True)
        )
        assert row["payload"]["reminded_at"]


def test_reminder_interval_setting(monkeypatch):
    monkeypatch.delenv(reminders.INTERVAL_ENV, raising=False)
    assert reminders.interval_seconds() is None
    assert reminders.reminder_schedules()[0].cron == "* * * * *"
    monkeypatch.setenv(reminders.INTERVAL_ENV, "2")
    assert reminders.interval_seconds() == 2
    assert reminders.reminder_schedules()[0].cron == "* * * * * */2"
    for wrong in ("soon", "0", "90", "1.5"):
        monkeypatch.setenv(reminders.INTERVAL_ENV, wrong)
        assert reminders.interval_seconds() is None


def _redis_answers() -> bool:
    try:
        import redis
    except ImportError:
        return False
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason=f"no Redis answers at {REDIS_URL}")
async def test_a_push_from_another_process_arrives_through_redis(rapport_settings, users):
    settings = rapport_settings.with_overrides(
        redis_url=REDIS_URL, secret_key=f"redis-test-{uuid.uuid4().hex}-" + "x" * 16
    )
    script = (
        "import asyncio\n"
        "from rapport import bootstrap\n"
        "from rapport.settings import load_settings\n"
        "from rapport.web.live import notify_user\n"
        "async def main():\n"
        "    await bootstrap.start(load_settings(), call_startup=False)\n"
        f"    await notify_user({users['sam']}, 'From the worker')\n"
        "    await bootstrap.stop()\n"
        "asyncio.run(main())\n"
    )
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(settings.data_dir),
        "RAPPORT_DATABASE_URL": settings.database_url,
        "RAPPORT_SECRET_KEY": settings.secret_key,
        "REDIS_URL": REDIS_URL,
    }
    async with (
        serving(settings) as (base, _server),
        httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT) as client,
    ):
        await sign_in(client, "sam@example.com")
        async with client.stream("GET", "/live") as stream:
            lines = stream.aiter_lines()
            await next_event(lines)
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                script,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            output, _ = await asyncio.wait_for(worker.communicate(), 60)
            assert worker.returncode == 0, output.decode()
            event = await next_event(lines)
            assert event["event"] == "notification"
            assert "From the worker" in "\n".join(event["data"])
