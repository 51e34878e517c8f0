"""The PostgreSQL test databases: cloned ahead from the template, every one dropped behind."""

import asyncio
import os
import uuid

import pytest
from rapport.testing import TEST_DATABASE_ENV
from rapport.testing_pg import CloneSupply, admin_connection, run_admin

SERVER = os.environ.get(TEST_DATABASE_ENV)
pytestmark = pytest.mark.skipif(not SERVER, reason="PostgreSQL only: this run uses SQLite")


async def _databases(prefix: str) -> set[str]:
    connection = await admin_connection(SERVER)
    try:
        rows = await connection.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"
        )
    finally:
        await connection.close()
    return {row["datname"] for row in rows}


def test_clones_carry_the_template_and_are_all_dropped_at_close():
    template = f"clone_tpl_{uuid.uuid4().hex[:8]}"
    asyncio.run(run_admin(SERVER, f'CREATE DATABASE "{template}"'))
    try:
        asyncio.run(_mark_template(template))
        supply = CloneSupply(SERVER, template, ahead=2, prefix=f"{template}_c")
        taken = [supply.take() for _ in range(3)]
        assert len(set(taken)) == 3
        assert asyncio.run(_marker(taken[1])) == "from the template"
        for name in taken:
            supply.give_back(name)
        supply.close()
        # Given back and made ahead but never taken: none is left on the server.
        assert asyncio.run(_databases(f"{template}_c")) == set()
    finally:
        asyncio.run(run_admin(SERVER, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))


async def _mark_template(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_url(name))
    try:
        await connection.execute("CREATE TABLE marker (note text)")
        await connection.execute("INSERT INTO marker VALUES ('from the template')")
    finally:
        await connection.close()


async def _marker(name: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(_url(name))
    try:
        return await connection.fetchval("SELECT note FROM marker")
    finally:
        await connection.close()


def _url(database: str) -> str:
    from rapport.testing import _with_database

    return _with_database(SERVER, database)
