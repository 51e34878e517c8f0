"""``rapport plugin new``: the generated distribution installs with pip into a fresh virtual
environment, migrates, enables, and passes its own tests there (in a subprocess, on the
database the suite runs on)."""

from __future__ import annotations

import os
import site
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest
import rapport.cli as rapport_cli
from click.testing import CliRunner

NAME = "acme_notes"


@pytest.fixture(scope="module")
def cli():
    rapport_cli._add_commands()
    return rapport_cli.cli


def _throwaway_venv(path: Path) -> Path:
    """A venv that sees this environment's packages but installs into its own site-packages.

    ``--system-site-packages`` alone would expose the base interpreter's packages, not this
    environment's; a ``.pth`` line adds this environment's site directories (``addsitedir``
    also reads their ``.pth`` files, so editable installs of the core resolve too).
    """
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parents = [p for p in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]] if p]
    line = "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in dict.fromkeys(parents))
    (Path(purelib) / "_parent_environment.pth").write_text(line + "\n")
    return python


def test_bad_names_get_a_clear_error(cli, tmp_path):
    result = CliRunner().invoke(
        cli, ["plugin", "new", "Acme-Notes", "--directory", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert (
        "'Acme-Notes' cannot name a plugin" in result.output and "try 'acme_notes'" in result.output
    )
    assert not (tmp_path / "x").exists()


def test_a_generated_plugin_installs_enables_and_passes_its_tests(cli, tmp_path):
    target = tmp_path / "rapport-acme-notes"
    made = CliRunner().invoke(cli, ["plugin", "new", NAME, "--directory", str(target)])
    assert made.exit_code == 0, made.output
    assert (target / "rapport_acme_notes" / "migrations" / "acme_notes_0001_initial.py").exists()
    again = CliRunner().invoke(cli, ["plugin", "new", NAME, "--directory", str(target)])
    assert again.exit_code == 2 and "is not empty" in again.output

    python = _throwaway_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HOME"] = str(tmp_path)  # a fresh entry-point cache

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )

    # A real wheel build (not editable): it proves the templates, catalog and migrations
    # are packaged, as a user installing from PyPI would get them.
    installed = run("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(target))
    assert installed.returncode == 0, installed.stderr

    data = tmp_path / "data"
    for command in (["init"], ["migrate"], ["plugins", "enable", NAME], ["plugins", "list"]):
        done = run("-m", "rapport", "--data-dir", str(data), *command)
        assert done.returncode == 0, done.stdout + done.stderr
    assert NAME in done.stdout

    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=target)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "4 passed" in tests.stdout
