"""``python -m bench run``: every scenario, Rapport and the raw baseline in the same run."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import platform
import shlex
import time
from pathlib import Path
from typing import Any

from bench import extensions, inprocess, serve
from bench.results import Row, markdown_table, skipped, text_table
from bench.samples import pick

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"
ORDER = ["card", "list", "search", "create", "server", "events", "plugins"]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} × {cpu}{memory}; {platform.system()} {platform.release()};"
        f" Python {platform.python_version()}; SQLite {__import__('sqlite3').sqlite_version}"
    )


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


async def _in_process(
    data: Path, manifest: dict[str, Any], picks: Any, repeats: Any, wanted: list[str]
) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    async with inprocess.Session(data, manifest, picks, repeats) as session:
        for name in ("card", "list", "search", "create", "events"):
            if name in wanted:
                print(f"  {name} ...", flush=True)
                rows.extend(await inprocess.SCENARIOS[name](session))
        layout = dict(session.baseline.layout)
        for found in extensions.all_found():
            if "plugins" not in wanted:
                break
            scenarios = extensions.plugin_scenarios(found)
            if not scenarios:
                number = "7" if found.target.name == "funnel" else "8"
                rows.append(
                    skipped(
                        f"{number}. {found.target.scenario}",
                        found.reason
                        or f"skipped: plugin {found.target.name} ships"
                        " no scenarios() in its bench module",
                    )
                )
                print(f"  {rows[-1].note}", flush=True)
                continue
            for scenario in scenarios:
                rows.extend(await scenario.run(session))
    layout["menu"] = [
        {"url": m.url, "key": m.key, "label": str(m.label)} for m in layout.get("menu", [])
    ]
    return rows, layout


async def _migrate(data: Path) -> None:
    from rapport import bootstrap
    from rapport.settings import load_settings

    await bootstrap.start(load_settings(data), migrate=True, call_startup=False)
    await bootstrap.stop()


def _ordered(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: int(r.scenario.split(".", 1)[0]))


def run_all(data: Path, quick: bool, report: Path, only: list[str]) -> int:
    manifest = json.loads((data / "bench.json").read_text())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    wanted = only or ORDER
    started_at = dt.datetime.now(dt.UTC)
    load_before = _load()
    # A data set generated before a newer migration is brought up to date first, as
    # `rapport serve` would do, so the indexes measured are the current ones.
    asyncio.run(_migrate(data))
    print(f"picking samples from {data} ...", flush=True)
    picks = pick(data / "rapport.sqlite3", want=8 if quick else 60)
    repeats = inprocess.QUICK if quick else inprocess.FULL
    clock = time.perf_counter()
    rows, layout = asyncio.run(_in_process(data, manifest, picks, repeats, wanted))
    if "server" in wanted:
        print("  real servers ...", flush=True)
        rows.extend(
            serve.run(
                data, manifest, picks, layout, seconds=1 if quick else 10, rounds=1 if quick else 20
            )
        )
    rows = _ordered(rows)
    elapsed = time.perf_counter() - clock
    print()
    print(text_table(rows))
    missed = [r for r in rows if r.met is False]
    print(f"\n{len(rows)} rows in {elapsed:.0f} s; {len(missed)} targets missed")
    if str(report) != "-":
        _write_report(
            report, rows, manifest, started_at, elapsed, quick, f"{load_before} → {_load()}", data
        )
        print(f"report written to {report}")
    return 0


def _shown(data: Path) -> str:
    """The data directory relative to here when it is below, as one would type it."""
    relative = os.path.relpath(data)
    return str(data) if relative.startswith("..") else relative


def _write_report(
    report: Path,
    rows: list[Row],
    manifest: dict[str, Any],
    started_at: dt.datetime,
    elapsed: float,
    quick: bool,
    load: str,
    data: Path,
) -> None:
    counts = manifest["counts"]
    plugins = "; ".join(f"{k}: {v}" for k, v in manifest.get("plugins", {}).items())
    generate = manifest["plan"]
    command = (
        "python -m bench run --data "
        + shlex.quote(
            os.path.relpath(data) if not os.path.relpath(data).startswith("..") else str(data)
        )
        + (" --quick" if quick else "")
    )
    section = "\n".join(
        [
            START,
            f"Produced by `{command}` on {started_at:%Y-%m-%d %H:%M} UTC in {elapsed:.0f} s.",
            "",
            f"- Machine: {machine()}; load average {load} (start → end of the run; the machine"
            " is shared, which is why every ratio is against a baseline measured in the same run).",
            f"- Data set: `python -m bench generate --contacts {generate['contacts']}"
            f" --out {_shown(data)}`"
            f" — {counts['contacts']:,} contacts ({manifest['companies']:,} companies),"
            f" {counts['emails']:,} emails, {counts['phones']:,} phones, {counts['tags']:,} tag"
            f" links, {counts['activities']:,} activities, {manifest['users']} users; generated in"
            f" {manifest['seconds']:.0f} s; database {manifest['database_bytes'] / 2**20:,.0f} MiB."
            + (f" Plugins: {plugins}." if plugins else ""),
            "",
            markdown_table(rows),
            END,
        ]
    )
    text = report.read_text() if report.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text)
