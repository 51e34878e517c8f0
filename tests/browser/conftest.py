"""Browser tests: a real ``rapport serve`` process driven by Playwright in Debian's chromium.

One server per test session (started from a migrated template database, with an admin, a
manager and two staff users); each test creates the data it needs with unique names.
Skipped, with the reason printed, when chromium or Playwright is not installed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "browser-pass-1"
USERS = {
    "admin": ("admin@browser.example", "Ada Admin", "admin", "en"),
    "manager": ("manager@browser.example", "Max Manager", "manager", "en"),
    "staff": ("staff@browser.example", "Sam Staff", "staff", "en"),
    "staff2": ("staff2@browser.example", "Sofia Staff", "staff", "ru"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _seed(settings) -> dict[str, int]:
    from rapport import bootstrap
    from rapport.users.accounts import create_user

    await bootstrap.start(settings, call_startup=False)
    try:
        ids = {}
        for key, (email, name, role, language) in USERS.items():
            ids[key] = (await create_user(email, name, PASSWORD, role, language))["id"]
        return ids
    finally:
        await bootstrap.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, rapport_template: str) -> Iterator[dict]:
    if not Path(CHROMIUM).exists():
        pytest.skip("browser tests: chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser tests: playwright is not installed")
    from rapport.testing import TEST_DATABASE_ENV, _settings, _with_database
    from rapport.testing_pg import run_admin

    data_dir = tmp_path_factory.mktemp("browser")
    server_db = os.environ.get(TEST_DATABASE_ENV)
    if server_db:
        name = f"rapport_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(run_admin(server_db, f'CREATE DATABASE "{name}" TEMPLATE "{rapport_template}"'))
        url = _with_database(server_db, name)
    else:
        shutil.copyfile(rapport_template, data_dir / "rapport.sqlite3")
        url = f"sqlite:///{data_dir / 'rapport.sqlite3'}"
    settings = _settings(data_dir, url)
    ids = asyncio.run(_seed(settings))
    port = _free_port()
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(data_dir),
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_SECRET_KEY": settings.secret_key,
    }
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "rapport", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((data_dir / "server.log").read_text()[-4000:])
        time.sleep(0.2)
    yield {
        "url": base,
        "user_ids": ids,
        "users": USERS,
        "password": PASSWORD,
        "settings": settings,
        "log": data_dir / "server.log",
    }
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    if server_db:
        asyncio.run(run_admin(server_db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def browser(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable]:
    """``new_page("staff")`` → a Playwright page signed in as that user (None: anonymous)."""
    contexts = []

    def make(who: str | None = "admin", width: int = 1280):
        context = browser.new_context(
            base_url=live_server["url"], viewport={"width": width, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if who:
            page.goto("/login")
            page.get_by_label("Email").fill(USERS[who][0])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def unique() -> str:
    """A short unique token for names, so tests sharing the server never collide."""
    return uuid.uuid4().hex[:6]
