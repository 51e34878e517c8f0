"""schemathesis against the live OpenAPI document of the ASGI app, with a valid token.

The app runs with its own lifespan (schemathesis calls it in-process on its event loop), on
a fresh copy of the migrated test database holding a few contacts and an admin's token with
every scope. A bounded number of examples per operation keeps CI fast; the checks are that no
answer is a server error and none contradicts the document (status, content type, headers,
body schema).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


async def _seed(instance_settings: Any) -> str:
    from rapport import bootstrap
    from rapport.api import create_contact, log_activity
    from rapport.plugins import state
    from rapport.rest.scopes import available_scopes
    from rapport.rest.tokens import create_token
    from rapport.users.accounts import create_user

    await bootstrap.start(instance_settings, call_startup=False)
    try:
        await state.enable("hello")
        admin = await create_user("fuzz@example.com", "Fuzz Admin", "fuzz-password", "admin")
        acme = await create_contact({"kind": "company", "name": "Acme"})
        anna = await create_contact(
            {"first_name": "Anna", "company_id": acme, "emails": ["anna@example.com"]}
        )
        await log_activity(anna, "note", body="first call")
        token = await create_token(
            admin["id"], "schemathesis", [s.name for s in available_scopes()]
        )
        return token.secret
    finally:
        await bootstrap.stop()


@pytest.fixture(scope="module")
def fuzzed_instance(
    tmp_path_factory: pytest.TempPathFactory, rapport_template: str
) -> Iterator[dict[str, Any]]:
    from rapport.testing import TEST_DATABASE_ENV, _settings, _with_database
    from rapport.testing_pg import run_admin

    data_dir = tmp_path_factory.mktemp("schemathesis")
    server = os.environ.get(TEST_DATABASE_ENV)
    name = f"rapport_fuzz_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if server:
        asyncio.run(run_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{rapport_template}"'))
        url = _with_database(server, name)
    else:
        path = Path(data_dir) / "rapport.sqlite3"
        shutil.copyfile(rapport_template, path)
        url = f"sqlite:///{path}"
    base = _settings(data_dir, url)
    # The examples must not spend the token's budget: the rate limit has its own test.
    instance_settings = base.with_overrides(extra={**base.extra, "api": {"rate_limit": 10**6}})
    token = asyncio.run(_seed(instance_settings))
    yield {"settings": instance_settings, "token": token}
    from schemathesis.python.asgi import shutdown_lifespans

    shutdown_lifespans()  # the app's on_shutdown stops the instance it started
    if server:
        asyncio.run(run_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _operations(fuzzed_instance: dict[str, Any]) -> list[Any]:
    from rapport.web.app import create_app

    app = create_app(fuzzed_instance["settings"])
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_the_api_keeps_to_its_schema(fuzzed_instance: dict[str, Any]) -> None:
    # One test walking the operations (schemathesis' lazy pytest loader does not run under
    # this pytest); every failing operation is reported with its smallest example.
    headers = {"Authorization": f"Bearer {fuzzed_instance['token']}"}
    operations = _operations(fuzzed_instance)
    assert len(operations) >= 20
    failures: list[str] = []
    for operation in operations:
        for mode, examples in ((GenerationMode.POSITIVE, 25), (GenerationMode.NEGATIVE, 10)):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                check()
            except (AssertionError, BaseExceptionGroup) as exc:  # report every failing operation
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
