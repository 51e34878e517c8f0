"""The web forms' part of the benchmark harness (``python -m bench``): data and scenario 8.

``generate()`` stores a form and its past submissions with plain ``sqlite3``. The scenario
creates a form through the admin page, starts ``rapport serve --workers 2``, drives JSON
submissions at it from a second process (:mod:`rapport_webforms.bench_load`), ``kill -9``s
every server process mid-run, then opens the database and looks for every submission the
server acknowledged. The server accepts a submission by storing it (status ``received``); its
side worker turns it into a contact meanwhile. After the kill, once the dead worker's lease on
the consumer has run out, one ``rapport worker --once`` must leave no acknowledged submission
unprocessed. The harness hands over its server machinery and row type through the
session object, so this module imports nothing of ``bench``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rapport_webforms.definitions import DEFAULT_FIELDS

INTAKE_RATE = 500  # submissions per second, the target
CONNECTIONS = 16
LEASE_SECONDS = 30  # the outbox's default consumer lease (rapport.events.delivery)
# The per-address limit, raised for the run as an administrator would for a load test: one
# load generator on 127.0.0.1 stands for thousands of visitors.
RATE_SETTING = "\n[webforms]\nsubmissions_per_minute = 10000000\n"


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


# --- data ------------------------------------------------------------------------------------


def generate(connection: sqlite3.Connection, context: Any) -> dict[str, int]:
    """One contact form and ``context.sizes["submissions"]`` past submissions over a year:
    most created or matched a contact, some were refused as spam."""
    total = int(context.sizes.get("submissions", 10_000))
    rng = random.Random(context.seed * 11 + 3)
    db = connection
    now = dt.datetime.now(dt.UTC)
    form_id = db.execute(
        "INSERT INTO webforms_form (key, title, language, fields, thank_you, redirect_url, tags,"
        " source, rule_id, pipeline, stage, allowed_origins, min_fill_seconds, accept_untimed,"
        " hook_mode, hook_secret, hook_header, hook_mapping, active, created_at) VALUES"
        " (?, 'Contact us', 'ru', ?, '', '', '[]', 'website', NULL, '', '', '[]', 3, 0, 'off',"
        " '', 'Typeform-Signature', '{}', 1, ?) RETURNING id",
        (f"bench{rng.getrandbits(40):x}", json.dumps(DEFAULT_FIELDS), _stamp(now)),
    ).fetchone()[0]
    users = list(context.user_ids)
    rows = []
    for n in range(total):
        received = now - dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
        email = f"visitor{n}@example.org"
        values = {"name": f"Visitor {n}", "email": email, "consent": "on", "message": "Call me"}
        roll = rng.random()
        status, reason = (
            ("spam", rng.choice(["honeypot", "too_fast", "forged"]))
            if roll < 0.1
            else ("attached", "")
            if roll < 0.4
            else ("created", "")
        )
        spam = status == "spam"
        rows.append(
            (
                form_id,
                _stamp(received),
                rng.choice(["snippet", "iframe", "html"]),
                status,
                reason,
                json.dumps({"values": values, "context": {}}),
                "{}" if spam else json.dumps({"name": values["name"], "email": email}),
                json.dumps({"last": {"utm_source": rng.choice(["google", "yandex", "mail"])}}),
                None if spam else rng.randint(1, max(context.contacts, 1)),
                None if spam or not users else rng.choice(users),
                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            )
        )
    db.executemany(
        "INSERT INTO webforms_submission (form_id, received_at, channel, status, spam_reason,"
        " raw, mapped, context, differences, contact_id, assigned_to, ip)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?)",
        rows,
    )
    db.execute("ANALYZE webforms_submission")
    return {"forms": 1, "submissions": len(rows)}


def copy_data_dir(source: Path, target: Path) -> Path:
    """A copy of a data directory (database, WAL, settings, key) the scenario may change.

    Taken while nothing writes: the in-process app is idle between scenarios."""
    for item in source.iterdir():
        if item.is_file() and not item.name.endswith("-shm"):
            shutil.copy2(item, target / item.name)
    return target


# --- scenario 8 ------------------------------------------------------------------------------


def allow_load_test(data: Path) -> None:
    """Raise the per-address submission limit in the instance's ``rapport.toml``."""
    config = data / "rapport.toml"
    text = config.read_text() if config.exists() else ""
    if "[webforms]" not in text:
        config.write_text(text.rstrip() + "\n" + RATE_SETTING)
    elif "submissions_per_minute" not in text:
        config.write_text(text.replace("[webforms]", RATE_SETTING.strip(), 1))


async def new_form(s: Any, title: str) -> tuple[int, str, int]:
    """A form made on the admin page, as an administrator would: id, key, min fill time."""
    response = await s.client.post(
        "/webforms",
        data={"title": title, "language": "en", "_csrf_token": s.csrf},
        follow_redirects=False,
    )
    match = re.fullmatch(r"/webforms/(\d+)", response.headers.get("location", ""))
    if response.status_code not in (302, 303) or match is None:
        raise AssertionError(f"new form: {response.status_code} {response.text[:300]}")
    row = s.baseline.db.execute(
        "SELECT id, key, min_fill_seconds FROM webforms_form WHERE id = ?", (int(match[1]),)
    ).fetchone()
    return row["id"], row["key"], row["min_fill_seconds"]


def _acked_table(db: sqlite3.Connection, acked: list[list[Any]]) -> None:
    db.execute("CREATE TEMP TABLE acked (id INTEGER PRIMARY KEY, email TEXT)")
    db.executemany("INSERT INTO acked VALUES (?, ?)", [(a[0], a[1]) for a in acked])


def missing(database: Path, acked: list[list[Any]]) -> int:
    """Acknowledged submissions whose stored row (with the email sent) is not there."""
    db = sqlite3.connect(database)
    try:
        _acked_table(db, acked)
        found = db.execute(
            "SELECT count(*) FROM acked a JOIN webforms_submission s ON s.id = a.id"
            " AND json_extract(s.raw, '$.values.email') = a.email"
        ).fetchone()[0]
    finally:
        db.close()
    return len(acked) - found


def processed(database: Path, acked: list[list[Any]]) -> int:
    """Acknowledged submissions already turned into a contact with that email."""
    db = sqlite3.connect(database)
    try:
        _acked_table(db, acked)
        return db.execute(
            "SELECT count(*) FROM acked a JOIN webforms_submission s ON s.id = a.id"
            " JOIN rapport_contact_email e ON e.contact = s.contact_id AND e.normalized = a.email"
            " WHERE s.status IN ('created', 'attached')"
        ).fetchone()[0]
    finally:
        db.close()


def finish_processing(data: Path, wait: float) -> float:
    """After ``wait`` (the dead worker's lease), one ``rapport worker --once``; its seconds."""
    time.sleep(wait)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rapport", "--data-dir", str(data), "worker", "--once"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.monotonic() - started


def drive(
    serve: Any, data: Path, key: str, min_fill: int, run: str, seconds: float, kill_after: float
) -> tuple[dict[str, Any], float]:
    """Serve with 2 workers, load from a second process, ``kill -9`` the server group after
    ``kill_after`` seconds of load; the load generator's result and the moment of the kill."""
    port = serve.free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "acked.json"
        with serve.server(serve.rapport_command(data, port, 2), port, {}, "/healthz") as process:
            load = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rapport_webforms.bench_load",
                    base,
                    key,
                    str(seconds),
                    str(CONNECTIONS),
                    str(min_fill),
                    str(out),
                    run,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            if load.stdout is None or load.stdout.readline().strip() != "ready":
                raise AssertionError("the load generator did not start")
            time.sleep(kill_after)
            os.killpg(process.pid, signal.SIGKILL)  # every server process, no shutdown
            killed = time.time()
            process.wait()
            if load.wait(timeout=seconds + 60) != 0:
                raise AssertionError("the load generator failed")
        return json.loads(out.read_text()), killed


class IntakeScenario:
    name = "webforms"

    async def run(self, s: Any) -> list[Any]:
        quick = s.repeats.pages < 10
        run = uuid.uuid4().hex[:8]
        _form_id, key, min_fill = await new_form(s, f"Intake benchmark {run}")
        # The load and the processing run on a copy: thousands of submissions, with their
        # contacts and (with the funnel) deals, would otherwise change the data set every
        # later scenario and run measures.
        with tempfile.TemporaryDirectory(dir=s.data.parent, prefix=".intake-") as tmp:
            data = copy_data_dir(s.data, Path(tmp))
            allow_load_test(data)
            return await self._measure(s, data, key, min_fill, run, quick)

    async def _measure(
        self, s: Any, data: Path, key: str, min_fill: int, run: str, quick: bool
    ) -> list[Any]:
        row_type, serve = s.Row, s.serve
        seconds, kill_after = (3.0, 2.0) if quick else (12.0, 9.0)
        scenario = "8. web-form intake"
        result, killed = await asyncio.to_thread(
            drive, serve, data, key, min_fill, run, seconds, kill_after
        )
        acked = result["acked"]
        before = [a for a in acked if a[2] <= killed]
        window = killed - result["started"]
        rate = len(before) / window if window > 0 else 0.0
        database = data / "rapport.sqlite3"
        lost = missing(database, acked)
        done_at_kill = processed(database, acked)
        statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(result["statuses"].items()))
        rows = [
            row_type(
                scenario,
                f"2 workers, {CONNECTIONS} connections posting JSON",
                unit="/s",
                rapport_rate=rate,
                target=f"≥ {INTAKE_RATE}/s",
                met=rate >= INTAKE_RATE,
                note=f"{len(before):,} acknowledged in the {window:.1f} s before the kill;"
                f" answers {statuses}",
            ),
            row_type(
                scenario,
                "kill -9 of every server process mid-run: acknowledged submissions missing",
                unit="",
                target="0 lost",
                met=lost == 0 and bool(acked),
                note=f"{lost} of {len(acked):,} acknowledged missing (lost {lost})",
            ),
            row_type(
                scenario,
                "processed by the side worker while accepting",
                unit="/s",
                rapport_rate=done_at_kill / window if window > 0 else 0.0,
                target="(none: processing follows acceptance)",
                note=f"{done_at_kill:,} of {len(acked):,} acknowledged had their contact"
                " when the servers were killed",
            ),
        ]
        if not quick:
            # The killed worker's lease on the consumer must run out before another takes it.
            took = await asyncio.to_thread(finish_processing, data, LEASE_SECONDS + 1)
            left = len(acked) - processed(database, acked)
            backlog = len(acked) - done_at_kill
            rows.append(
                row_type(
                    scenario,
                    "after the kill: one `rapport worker --once`, acknowledged left unprocessed",
                    unit="",
                    target="0 left",
                    met=left == 0 and bool(acked),
                    note=f"{left} left; the backlog of {backlog:,} processed in {took:.1f} s"
                    f" ({backlog / took if took else 0:,.0f}/s, start-up included)",
                )
            )
        return rows


def scenarios() -> list[Any]:
    return [IntakeScenario()]
