"""pytest plugin for Rapport and its plugins: a real database per test, started the real way.

Installed with the ``rapport`` distribution (entry point ``pytest11``), so a plugin's own
test-suite gets these fixtures with nothing to import:

* ``rapport_settings`` — settings for a fresh database: a SQLite file in ``tmp_path``, or,
  when ``RAPPORT_TEST_DATABASE_URL`` names a PostgreSQL server, a new database cloned from a
  migrated template.
* ``rapport`` — a started :class:`rapport.runtime.Runtime` on that database with every
  installed plugin loaded and the plugins named by ``@pytest.mark.enable("name", ...)``
  enabled.
* ``captured_events`` — a list that receives every event dispatched in process during the test.
* :func:`sign_in` — sign an HTTP test client in through the real form, CSRF token included.
* ``web_client`` — an HTTP client on the real web app (same database, marked plugins
  enabled), not signed in; ``admin_client``, ``manager_client`` and ``staff_client`` — the
  same, signed in as a new user of that role (see "Signed-in web clients" below).
* :func:`app_client` — the same web app as a context manager, for tests that seed first.
* :func:`make_user` — create a user (owner, rep, manager) for a test.
* :func:`enable_plugin` — enable a plugin in a started instance.
* :func:`deliver_outbox` — run the enabled outbox consumers until they are idle, as the
  worker does.
* :func:`set_away` — mark a user away (skipped by round-robin assignment).
* :func:`missing_translations` — a plugin's UI strings its catalogs do not translate.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse, urlunparse

import pytest

from rapport.settings import Settings
from rapport.testing_pg import CloneSupply, run_admin

TEST_DATABASE_ENV = "RAPPORT_TEST_DATABASE_URL"
_counter = itertools.count()


CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def sign_in(client: Any, email: str, password: str) -> str:
    """Sign in through the real form with an HTTP test client; return the CSRF token.

    Works with ``litestar.testing.AsyncTestClient`` and ``httpx.AsyncClient`` alike. Post
    later forms with ``data={"_csrf_token": token, ...}`` or header ``x-csrftoken``.
    """
    login = await client.get("/login")
    token = CSRF_FIELD.search(login.text).group(1)
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), f"sign-in as {email} failed: {response.text}"
    return token


def missing_translations(package: Path, language: str = "ru") -> dict[str, str]:
    """UI strings of a plugin's package (``_()``/``gettext`` in Python, ``{{ _("…") }}`` in
    its templates) that neither the core's catalogs nor the package's own
    ``locale/<language>/LC_MESSAGES/*.po`` translate: msgid → where it is used."""
    from babel.messages.pofile import read_po

    from rapport.web.catalog_check import ui_messages
    from rapport.web.i18n import LOCALE_DIR

    translated: set[str] = set()
    for directory in (LOCALE_DIR, Path(package) / "locale"):
        for po in sorted((directory / language / "LC_MESSAGES").glob("*.po")):
            with po.open("rb") as fh:
                for message in read_po(fh, locale=language):
                    if message.id and message.string:
                        ids = message.id if isinstance(message.id, tuple) else (message.id,)
                        translated.update(ids)
    used = ui_messages([Path(package)])
    return {msgid: where for msgid, where in used.items() if msgid not in translated}


async def make_user(
    email: str,
    name: str = "",
    role: str = "staff",
    password: str = "test-pass-word-1",
    language: str | None = None,
) -> int:
    """Create a user in the started instance (for plugins' tests); return its id."""
    from rapport.users.accounts import create_user

    user = await create_user(email, name or email.split("@")[0], password, role, language)
    return user["id"]


async def set_away(user_id: int, away: bool = True) -> None:
    """Mark a user away (or back), as the account page does."""
    from rapport.users.tables import User

    await User.update({User.away: away}).where(User.id == user_id)


async def deliver_outbox(max_wait: float = 5.0) -> int:
    """Run every enabled outbox consumer until none makes progress, as the worker would;
    return how many events were handled. For tests of plugins that work through consumers."""
    from rapport.events.delivery import Delivery, DeliveryOptions, deliver_all
    from rapport.runtime import current

    stats = await deliver_all(
        current().plugins, Delivery("tests", DeliveryOptions(budget=30.0)), max_wait=max_wait
    )
    return stats.delivered


async def enable_plugin(name: str) -> None:
    """Enable a plugin in the started instance the way an administrator does (seeding too)."""
    from rapport.plugins import state

    await state.enable(name)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "enable(*names): plugins to enable for the test")


def _settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        phone_region="RU",
        currency="RUB",
        language="en",
    )


def _with_database(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{name}"))


async def _build_template(settings: Settings) -> None:
    from rapport import bootstrap

    await bootstrap.start(settings, migrate=True, call_startup=False)
    await bootstrap.stop()


@pytest.fixture(scope="session")
def rapport_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to copy for each test: a SQLite file path or a PostgreSQL name."""
    server = os.environ.get(TEST_DATABASE_ENV)
    if server:
        name = f"rapport_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(run_admin(server, f'CREATE DATABASE "{name}"'))
        asyncio.run(
            _build_template(_settings(tmp_path_factory.mktemp("tpl"), _with_database(server, name)))
        )
        yield name
        asyncio.run(run_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        directory = tmp_path_factory.mktemp("template")
        path = directory / "template.sqlite3"
        asyncio.run(_build_template(_settings(directory, f"sqlite:///{path}")))
        yield str(path)


@pytest.fixture(scope="session")
def _postgres_clones(rapport_template: str) -> Iterator[CloneSupply | None]:
    """On PostgreSQL, the supply of per-test databases cloned from the template."""
    server = os.environ.get(TEST_DATABASE_ENV)
    if not server:
        yield None
        return
    supply = CloneSupply(server, rapport_template)
    try:
        yield supply
    finally:
        supply.close()


@pytest.fixture
def rapport_settings(
    tmp_path: Path, rapport_template: str, _postgres_clones: CloneSupply | None
) -> Iterator[Settings]:
    server = os.environ.get(TEST_DATABASE_ENV)
    if server and _postgres_clones is not None:
        name = _postgres_clones.take()
        try:
            yield _settings(tmp_path, _with_database(server, name))
        finally:
            _postgres_clones.give_back(name)
    else:
        path = tmp_path / "rapport.sqlite3"
        shutil.copyfile(rapport_template, path)
        for suffix in ("-wal", "-shm"):
            if Path(rapport_template + suffix).exists():
                shutil.copyfile(rapport_template + suffix, str(path) + suffix)
        yield _settings(tmp_path, f"sqlite:///{path}")


@pytest.fixture
async def rapport(rapport_settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A started instance; enable plugins with ``@pytest.mark.enable("name")``."""
    from rapport import bootstrap
    from rapport.plugins import state

    runtime = await bootstrap.start(rapport_settings)
    for marker in request.node.iter_markers("enable"):
        for name in marker.args:
            await state.enable(name)
    try:
        yield runtime
    finally:
        await bootstrap.stop()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Every test starts with no calls counted by the in-memory rate limiters."""
    from rapport.web.inbound import reset_rate_limits

    reset_rate_limits()
    yield
    reset_rate_limits()


@pytest.fixture
def captured_events(rapport: Any) -> Iterator[list[tuple[Any, Any]]]:
    """Every (event, meta) dispatched in process while the test runs, in order."""
    import sys
    import types

    from rapport.hookspecs import hookimpl

    seen: list[tuple[Any, Any]] = []
    module = types.ModuleType("rapport_captured_events")

    @hookimpl
    def handle_event(event: Any, meta: Any) -> None:
        seen.append((event, meta))

    module.handle_event = handle_event  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    rapport.plugins.pm.register(module, name="test.captured_events")
    yield seen
    rapport.plugins.pm.unregister(name="test.captured_events")
    sys.modules.pop(module.__name__, None)


# --- Signed-in web clients ---------------------------------------------------------------------
#
# The app runs in the test client's own thread and event loop (Litestar's AsyncTestClient), so
# database work for a client's app goes through :func:`in_app`. One app, and so one client,
# per test: ``admin_client``, ``manager_client`` and ``staff_client`` are the same client
# signed in as different users; to act as several roles in one test, take ``web_client`` and
# call :func:`sign_in_as` for each in turn.

T = TypeVar("T")
TEST_PASSWORD = "test-password-123"
ROLES = ("admin", "manager", "staff")


def in_app(client: Any, make: Callable[[], Awaitable[T]]) -> T:
    """Run ``await make()`` in the app's event loop and return its result.

    ``make`` is a function returning a coroutine (``lambda: create_contact({...})``): the app
    and its database pool live in the client's thread, not in the test's loop.
    """

    async def run() -> T:
        return await make()

    return client.blocking_portal.call(run)


async def sign_in_as(client: Any, role: str, email: str | None = None) -> dict[str, Any]:
    """Create an active user of ``role`` and sign ``client`` in as them (signing out whoever
    was signed in). Returns the user with its ``csrf_token`` for later form posts."""
    from rapport.users.accounts import create_user

    email = email or f"{role}-{next(_counter)}@example.com"
    user = in_app(client, lambda: create_user(email, role.title(), TEST_PASSWORD, role))
    client.cookies.clear()
    token = await sign_in(client, email, TEST_PASSWORD)
    return {**user, "csrf_token": token}


@contextlib.asynccontextmanager
async def app_client(
    settings: Settings, *enable: str, base_url: str = "http://testserver.local"
) -> AsyncIterator[Any]:
    """The real web app on ``settings``' database (every installed plugin loaded, the
    ``enable`` ones enabled) behind a ``litestar.testing.AsyncTestClient``.

    The app starts Rapport itself, as ``rapport serve`` does, in the client's own thread and
    event loop: seed before opening it (``async with rapport.api.running(settings): ...``) or
    run database work through ``client.run(lambda: some_coroutine())`` (:func:`in_app`)::

        async with app_client(rapport_settings, "webforms") as client:
            user = client.run(lambda: make_user("rep@example.com"))
            response = await client.get("/webforms")
    """
    from litestar.testing import AsyncTestClient

    from rapport.plugins import state
    from rapport.web.app import create_app

    async with AsyncTestClient(create_app(settings), base_url=base_url) as client:
        client.run = lambda make: in_app(client, make)  # type: ignore[attr-defined]
        for name in enable:
            in_app(client, lambda name=name: state.enable(name))
        yield client


@pytest.fixture
async def web_client(
    rapport_settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """An HTTP client on the real app for this test's database, with the plugins named by
    ``@pytest.mark.enable`` enabled; nobody is signed in."""
    names = [name for marker in request.node.iter_markers("enable") for name in marker.args]
    async with app_client(rapport_settings, *names) as client:
        yield client


def _role_client(role: str) -> Any:
    @pytest.fixture
    async def signed_in(web_client: Any) -> Any:
        web_client.user = await sign_in_as(web_client, role)
        return web_client

    signed_in.__doc__ = (
        f"``web_client`` signed in as a new {role} user (``client.user`` holds the user and "
        "its ``csrf_token``)."
    )
    return signed_in


admin_client = _role_client("admin")
manager_client = _role_client("manager")
staff_client = _role_client("staff")


# --- REST API client --------------------------------------------------------------------------


class ApiClient:
    """Makes HTTP clients for the REST API, each with a fresh user and a token of chosen scopes.

    ``client = await api_client.new(scopes=["contacts:read"], role="staff")`` returns an
    ``httpx.AsyncClient`` against the app (base URL ``http://testserver.local``) sending
    ``Authorization: Bearer <token>``; ``client.user`` is the user's row and ``client.token``
    the secret. ``await api_client.new()`` gives every scope the instance offers.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._clients: list[Any] = []
        self._made = itertools.count(1)

    async def new(
        self, scopes: list[str] | None = None, role: str = "admin", name: str = ""
    ) -> Any:
        import httpx

        from rapport.rest.scopes import available_scopes
        from rapport.rest.tokens import create_token
        from rapport.users.accounts import create_user

        number = next(self._made)
        user = await create_user(
            f"api-{number}-{uuid.uuid4().hex[:6]}@example.com",
            name or f"API user {number}",
            "api-test-password",
            role=role,
        )
        wanted = scopes if scopes is not None else [s.name for s in available_scopes()]
        token = await create_token(user["id"], f"test token {number}", wanted)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://testserver.local",
            headers={"Authorization": f"Bearer {token.secret}"},
        )
        client.user = user  # type: ignore[attr-defined]
        client.token = token.secret  # type: ignore[attr-defined]
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@pytest.fixture
async def api_client(rapport: Any) -> AsyncIterator[ApiClient]:
    """An :class:`ApiClient` over the app of the started instance (``rapport`` fixture).

    The app is called in the test's event loop with the instance already started, so no
    lifespan runs; plugins enabled with ``@pytest.mark.enable`` answer on their API routes.
    """
    from rapport.web.app import create_app

    maker = ApiClient(create_app(rapport.settings, rapport.plugins))
    try:
        yield maker
    finally:
        await maker.close()
