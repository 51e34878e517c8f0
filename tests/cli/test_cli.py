"""The ``rapport`` command line against a real data directory."""

import pytest
import rapport.cli as rapport_cli
from click.testing import CliRunner


@pytest.fixture(scope="module")
def cli():
    rapport_cli._add_commands()
    return rapport_cli.cli


@pytest.fixture
def run(cli, rapport_settings):
    runner = CliRunner()
    env = {"RAPPORT_DATABASE_URL": rapport_settings.database_url}

    def invoke(*args: str, **kwargs):
        result = runner.invoke(
            cli, ["--data-dir", str(rapport_settings.data_dir), *args], env=env, **kwargs
        )
        return result

    return invoke


def test_migrate_sets_up_a_brand_new_database(cli, tmp_path):
    database = tmp_path / "new.sqlite3"
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path / "data"), "migrate"],
        env={"RAPPORT_DATABASE_URL": f"sqlite:///{database}"},
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Migrated: core")
    import sqlite3

    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"rapport_contact", "rapport_plugin_state", "rapport_outbox"} <= tables


def test_init_migrate_worker_once_then_user_create(run):
    assert run("init").exit_code == 0
    migrated = run("migrate")
    assert migrated.exit_code == 0 and migrated.output.startswith("Migrated: core")
    once = run("worker", "--once")
    assert once.exit_code == 0, once.output
    assert "'jobs'" in once.output  # the pass's summary
    created = run(
        "user",
        "create",
        "--email",
        "Boss@Example.com",
        "--role",
        "admin",
        "--password",
        "s3cret-pass",
    )
    assert created.exit_code == 0, created.output
    assert "Created admin boss@example.com" in created.output
    again = run("user", "create", "--email", "boss@example.com", "--password", "s3cret-pass")
    assert again.exit_code != 0 and "a user with this email exists" in again.output
    short = run("user", "create", "--email", "x@example.com", "--password", "short")
    assert short.exit_code != 0 and "at least 8 characters" in short.output


def test_plugins_and_presets(run):
    listed = run("plugins", "list")
    assert listed.exit_code == 0, listed.output
    missing = run("plugins", "enable", "no_such_plugin")
    assert missing.exit_code != 0 and "not installed" in missing.output
    presets = run("preset", "list")
    assert presets.exit_code == 0
    for name in ("retail", "b2b", "services", "custom"):
        assert name in presets.output
    applied = run("preset", "apply", "custom")
    assert applied.exit_code == 0 and "Applied custom" in applied.output
    unknown = run("preset", "apply", "nope")
    assert unknown.exit_code != 0 and "no preset 'nope'" in unknown.output


def test_demo_creates_clients_without_serving(run, rapport_settings):
    result = run("demo", "--people", "25", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "Sign in as demo@rapport.example" in result.output
    assert "people" in result.output
    again = run("demo", "--no-serve")
    assert "already" in again.output
