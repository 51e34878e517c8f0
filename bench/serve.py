"""Scenarios 5 and 9: a real server in its own process, loaded from another process.

Rapport runs as ``rapport serve`` (uvicorn; with one worker the background worker runs in the
same process, with two it runs beside them, as in production). The baseline is the bare ASGI
app of :mod:`bench.baseline_app` under the same uvicorn with the same number of workers. The
load is ``wrk`` (closed loop: a fixed number of connections, each sending its next request
when the previous answer arrived, over a rotating list of card URLs); without ``wrk`` a small
``httpx`` load generator in a separate process does the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.results import Row
from bench.samples import Picks

CONNECTIONS = 16
THROUGHPUT_SHARE = 0.5
RSS_LIMIT_MB = 150


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} not ready in {timeout} s")


@contextlib.contextmanager
def server(
    command: list[str], port: int, env: dict[str, str], ready_path: str
) -> Iterator[subprocess.Popen]:
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}{ready_path}", process)
        yield process
    except BaseException:
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-3000:])
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def rapport_command(data: Path, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rapport",
        "--data-dir",
        str(data),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def baseline_command(port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baseline_app:create",
        "--factory",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]


def sign_in(base: str, email: str, password: str) -> tuple[str, str]:
    """The session cookie and CSRF token of a fresh sign-in through the real form."""
    from rapport.testing import CSRF_FIELD

    with httpx.Client(base_url=base) as client:
        token = CSRF_FIELD.search(client.get("/login").text).group(1)
        response = client.post(
            "/login", data={"email": email, "password": password, "_csrf_token": token}
        )
        if "rapport_session" not in client.cookies:
            raise RuntimeError(f"sign-in failed: {response.status_code}")
        return client.cookies["rapport_session"], token


@dataclass
class Load:
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    requests: int


def _wrk_script(paths: list[str], cookie: str) -> str:
    quoted = ", ".join(json.dumps(p) for p in paths)
    return (
        f"local paths = {{{quoted}}}\nlocal n = 0\n"
        f'wrk.headers["Cookie"] = "rapport_session={cookie}"\n'
        "request = function()\n  n = n + 1\n"
        '  return wrk.format("GET", paths[(n % #paths) + 1])\nend\n'
    )


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def load(base: str, paths: list[str], cookie: str, seconds: float) -> Load:
    if shutil.which("wrk"):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_wrk_script(paths, cookie))
        try:
            out = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{CONNECTIONS}",
                    f"-d{max(seconds, 1):.0f}s",
                    "--latency",
                    "-s",
                    script.name,
                    base,
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 60,
            ).stdout
        finally:
            os.unlink(script.name)
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
        p50 = re.search(r"\s50%\s+([\d.]+\w+)", out)
        p99 = re.search(r"\s99%\s+([\d.]+\w+)", out)
        return Load(
            rate,
            _ms(p50.group(1)) if p50 else None,
            _ms(p99.group(1)) if p99 else None,
            errors,
            requests,
        )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            base,
            cookie,
            str(seconds),
            str(CONNECTIONS),
            *paths,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    result = json.loads(out)
    return Load(
        result["rate"], result["p50_ms"], result["p99_ms"], result["errors"], result["requests"]
    )


def probe(base: str, path: str, cookie: str) -> None:
    """One card through the server before it is loaded: a failing page is a harness bug, not
    a fast answer."""
    response = httpx.get(base + path, cookies={"rapport_session": cookie}, timeout=60)
    if response.status_code != 200 or "</html>" not in response.text:
        raise RuntimeError(f"{base}{path}: {response.status_code} {response.text[:300]}")


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident (VmHWM) size of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return rss / 1024, hwm / 1024


def _exercise(base: str, cookie: str, csrf: str, picks: Picks, rounds: int) -> None:
    """Every kind of page once per round: what a working day does to the process."""
    with httpx.Client(base_url=base, cookies={"rapport_session": cookie}) as client:
        for i in range(rounds):
            for path, params in (
                (f"/contacts/{picks.busy_people[i % len(picks.busy_people)]}", {}),
                (f"/contacts/{picks.companies[i % len(picks.companies)]}", {}),
                ("/contacts", {}),
                ("/search", {"q": picks.name_prefixes[i % len(picks.name_prefixes)]}),
                ("/search", {"q": picks.last_six[i % len(picks.last_six)]}),
                ("/my-day", {}),
            ):
                response = client.get(path, params=params)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}")


def run(
    data: Path,
    manifest: dict[str, Any],
    picks: Picks,
    layout: dict[str, Any],
    seconds: float,
    rounds: int,
) -> list[Row]:
    rows: list[Row] = []
    paths = [f"/contacts/{i}" for i in picks.busy_people[:50] + picks.companies[:10]]
    admin = manifest["admin"]
    database = data / "rapport.sqlite3"
    for workers in (1, 2):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server(rapport_command(data, port, workers), port, {}, "/healthz") as process:
            cookie, csrf = sign_in(base, admin["email"], admin["password"])
            if workers == 1:
                idle = rss_mb(process.pid)
            probe(base, paths[0], cookie)
            ours = load(base, paths, cookie, seconds)
            if workers == 1:
                _exercise(base, cookie, csrf, picks, rounds)
                after = rss_mb(process.pid)
        port = free_port()
        env = {
            "BENCH_DATABASE": str(database),
            "BENCH_LAYOUT": json.dumps(layout, default=str),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        with server(baseline_command(port, workers), port, env, paths[0] + "?probe") as _process:
            probe(f"http://127.0.0.1:{port}", paths[0], cookie)
            theirs = load(f"http://127.0.0.1:{port}", paths, cookie, seconds)
        share = ours.rate / theirs.rate if theirs.rate else 0
        errors = ours.errors + theirs.errors
        rows.append(
            Row(
                "5. card throughput, real server",
                f"{workers} worker{'s' if workers > 1 else ''}",
                unit="/s",
                rapport_rate=ours.rate,
                baseline_rate=theirs.rate,
                target=f"≥ {THROUGHPUT_SHARE:.0%} of the raw page",
                met=share >= THROUGHPUT_SHARE and errors == 0,
                note=f"{share:.0%} of the raw page; latency p50/p99"
                f" {ours.p50_ms or 0:.1f}/{ours.p99_ms or 0:.1f} ms"
                f" vs {theirs.p50_ms or 0:.1f}/{theirs.p99_ms or 0:.1f} ms;"
                f" {CONNECTIONS} connections, {seconds:.0f} s"
                + (f"; {errors} failed responses" if errors else ""),
            )
        )
        if workers == 1:
            rows.append(
                Row(
                    "9. resident memory, one serve process",
                    "idle, signed in",
                    unit="MB",
                    rapport_rate=idle[0],
                    target=f"≤ {RSS_LIMIT_MB} MB",
                    met=idle[0] <= RSS_LIMIT_MB,
                    note=f"RSS {idle[0]:.0f} MB (peak so far {idle[1]:.0f} MB)",
                )
            )
            rows.append(
                Row(
                    "9. resident memory, one serve process",
                    "after the card load and every page kind",
                    unit="MB",
                    rapport_rate=after[0],
                    target=f"≤ {RSS_LIMIT_MB} MB",
                    met=after[0] <= RSS_LIMIT_MB and after[1] <= RSS_LIMIT_MB,
                    note=f"RSS {after[0]:.0f} MB, peak (VmHWM) {after[1]:.0f} MB",
                )
            )
    return rows
