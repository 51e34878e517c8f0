"""Signing in and staying signed in: what an attacker with a browser can and cannot learn or do."""

import datetime as dt
import re

import httpx
import pytest
from litestar.testing import AsyncTestClient
from rapport.plugins.registry import PluginRegistry
from rapport.testing import CSRF_FIELD, sign_in
from rapport.web.app import create_app
from rapport.web.middleware import SESSION_COOKIE

EMAIL = "rep@example.com"
PASSWORD = "right-password-1"


async def _seed(settings) -> None:
    from rapport import bootstrap
    from rapport.users.accounts import create_user

    await bootstrap.start(settings, call_startup=False)
    try:
        await create_user(EMAIL, "Rep", PASSWORD, "staff")
    finally:
        await bootstrap.stop()


@pytest.fixture
async def app(rapport_settings):
    await _seed(rapport_settings)
    return create_app(rapport_settings, PluginRegistry())


async def _post_login(client, email: str, password: str):
    token = CSRF_FIELD.search((await client.get("/login")).text).group(1)
    return await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )


def _refused(response) -> bool:
    """A page request without a valid session: sent to the sign-in form."""
    return response.status_code in (302, 303) and response.headers["location"].startswith("/login")


HTML = {"accept": "text/html"}


def _error(html: str) -> str:
    match = re.search(r'role="alert"[^>]*>(.*?)<', html, re.S)
    assert match, html
    return match.group(1).strip()


async def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(app):
    async with AsyncTestClient(app) as client:
        unknown = await _post_login(client, "nobody@example.com", PASSWORD)
        wrong = await _post_login(client, EMAIL, "wrong-password")
    assert unknown.status_code == wrong.status_code == 400
    assert _error(unknown.text) == _error(wrong.text) == "The email or the password is wrong."
    assert SESSION_COOKIE not in unknown.cookies and SESSION_COOKIE not in wrong.cookies


async def test_repeated_failures_are_throttled_even_with_the_right_password_then(app):
    async with AsyncTestClient(app) as client:
        for _ in range(5):
            assert (await _post_login(client, EMAIL, "guess-guess")).status_code == 400
        blocked = await _post_login(client, EMAIL, PASSWORD)
        assert blocked.status_code == 429
        assert "Too many failed attempts" in blocked.text
        assert SESSION_COOKIE not in blocked.cookies
        # Another account from the same address is not locked out by one account's guesses.
        other = await _post_login(client, "other@example.com", "x-guess-1")
        assert other.status_code == 400


async def test_the_session_cookie_is_http_only_and_same_site(app):
    async with AsyncTestClient(app) as client:
        response = await _post_login(client, EMAIL, PASSWORD)
    assert response.status_code in (302, 303)
    header = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith(SESSION_COOKIE + "=")
    )
    attributes = {part.strip().lower() for part in header.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes  # plain http in the test; https adds Secure


async def test_signing_out_ends_the_session_on_the_server(app):
    async with AsyncTestClient(app) as client:
        token = await sign_in(client, EMAIL, PASSWORD)
        stolen = client.cookies.get(SESSION_COOKIE)
        assert (await client.get("/account")).status_code == 200
        out = await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
        assert out.headers["location"] == "/login"
        # A copy of the cookie taken before signing out no longer opens anything.
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, stolen)
        assert _refused(await client.get("/account", headers=HTML, follow_redirects=False))


async def test_a_password_change_ends_other_sessions_and_keeps_this_one(app):
    async with AsyncTestClient(app) as client:
        # Two devices: two sessions of one user, taken in turn by one client.
        await sign_in(client, EMAIL, PASSWORD)
        phone = client.cookies.get(SESSION_COOKIE)
        client.cookies.clear()
        token = await sign_in(client, EMAIL, PASSWORD)
        laptop = client.cookies.get(SESSION_COOKIE)
        refused = await client.post(
            "/account/password",
            data={"_csrf_token": token, "current": "not-it", "new": "n" * 10, "repeat": "n" * 10},
        )
        assert refused.status_code == 400
        assert "This is not your current password." in refused.text
        changed = await client.post(
            "/account/password",
            data={
                "_csrf_token": token,
                "current": PASSWORD,
                "new": "new-pass-2",
                "repeat": "new-pass-2",
            },
        )
        assert changed.status_code == 200
        assert (await client.get("/account")).status_code == 200
        client.cookies.set(SESSION_COOKIE, phone)
        assert _refused(await client.get("/account", headers=HTML, follow_redirects=False))
        client.cookies.set(SESSION_COOKIE, laptop)
        assert (await client.get("/account")).status_code == 200
        client.cookies.clear()
        assert (await _post_login(client, EMAIL, PASSWORD)).status_code == 400
        assert (await _post_login(client, EMAIL, "new-pass-2")).status_code in (302, 303)


async def test_an_idle_session_is_refused_and_removed(app):
    from rapport.users.sessions import IDLE_TIMEOUT
    from rapport.users.tables import UserSession

    async with AsyncTestClient(app) as client:
        await sign_in(client, EMAIL, PASSWORD)
        assert (await client.get("/account")).status_code == 200
        # The app's loop runs in the client's thread: change the row through it.
        client.blocking_portal.call(
            UserSession.update(
                {UserSession.last_seen_at: dt.datetime.now(dt.UTC) - IDLE_TIMEOUT * 1.1},
                force=True,
            ).run
        )
        assert _refused(await client.get("/account", headers=HTML, follow_redirects=False))
        assert client.blocking_portal.call(UserSession.count().run) == 0


async def test_password_checks_run_off_the_event_loop_while_other_requests_are_served(
    app, monkeypatch
):
    """A sign-in's argon2 check runs on the hashing threads; a page served meanwhile is not
    held up by it (the check waits on an event the concurrent request sets)."""
    import asyncio
    import threading

    from rapport.users import passwords

    loop_thread = threading.get_ident()
    started, release = threading.Event(), threading.Event()
    threads: list[str] = []
    real_verify = passwords.verify_password

    def slow_verify(password_hash: str, password: str) -> bool:
        threads.append(threading.current_thread().name)
        started.set()
        assert threading.get_ident() != loop_thread
        assert release.wait(10), "the concurrent request never ran"
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
    # httpx's own ASGI transport runs the app on this loop (the test client runs it on a
    # portal thread, one request at a time).
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        signing_in = asyncio.ensure_future(_post_login(client, EMAIL, PASSWORD))
        assert await asyncio.to_thread(started.wait, 10), "the sign-in never checked a password"
        meanwhile = await client.get("/login")
        release.set()
        response = await signing_in
    assert "password" in meanwhile.text
    assert response.status_code in (302, 303) and response.headers["location"] == "/"
    assert threads and all(name.startswith("rapport-password") for name in threads)


async def test_a_hash_with_older_parameters_is_upgraded_at_sign_in(app):
    """Hashes made with argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) still verify, and the
    next sign-in stores one with the project's parameters."""
    from argon2 import PasswordHasher, extract_parameters
    from rapport.users import passwords
    from rapport.users.tables import User

    old = PasswordHasher().hash(PASSWORD)
    assert passwords.needs_rehash(old)

    async def stored() -> str:
        row = await User.select(User.password_hash).where(User.email == EMAIL).first()
        return row["password_hash"]

    # On this loop (httpx's ASGI transport), so the test's own queries share the app's engine.
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await User.update({User.password_hash: old}).where(User.email == EMAIL)
        response = await _post_login(client, EMAIL, PASSWORD)
        assert response.status_code in (302, 303) and response.headers["location"] == "/"
        upgraded = await stored()
    assert upgraded != old
    params = extract_parameters(upgraded)
    assert (params.memory_cost, params.time_cost, params.parallelism) == (
        passwords.MEMORY_COST_KIB,
        passwords.TIME_COST,
        passwords.PARALLELISM,
    )
    assert not passwords.needs_rehash(upgraded)
