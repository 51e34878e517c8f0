"""The intake benchmark's load generator, run in its own process by ``rapport_webforms.bench``.

``python -m rapport_webforms.bench_load BASE KEY SECONDS CONNECTIONS MIN_FILL OUT RUN``

It takes a fill-time token from the form's config endpoint as the snippet does, waits the
form's minimum fill time, prints ``ready``, then posts JSON submissions over ``CONNECTIONS``
concurrent connections for ``SECONDS`` (closed loop: each connection sends its next
submission when the previous answer arrived). Every acknowledged (2xx) submission is kept
with its id and its unique email, and written to ``OUT`` as JSON at the end. A refused
connection (the server was killed) is counted and retried after a short pause, so the run
keeps its length whatever happens to the server. Imports nothing of Rapport.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

import httpx


async def _worker(
    client: httpx.AsyncClient,
    key: str,
    token: str,
    run: str,
    number: int,
    until: float,
    acked: list[tuple[int, str, float]],
    statuses: Counter[str],
) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        email = f"intake-{run}-{number}-{n}@bench.example"
        body = {
            "values": {"name": f"Intake {number}-{n}", "email": email, "consent": "on"},
            "_t": token,
            "context": {"last": {"utm_source": "bench"}},
        }
        try:
            response = await client.post(f"/forms/{key}/submit", json=body)
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
            await asyncio.sleep(0.05)
            continue
        statuses[str(response.status_code)] += 1
        if 200 <= response.status_code < 300:
            acked.append((int(response.json()["submission_id"]), email, time.time()))


async def load(argv: list[str]) -> dict[str, object]:
    base, key, seconds, connections, min_fill, run = argv
    limits = httpx.Limits(max_connections=int(connections))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        config = (await client.get(f"/forms/{key}/config")).json()
        token = config["token"]
        await asyncio.sleep(float(min_fill) + 0.5)
        started = time.time()
        print("ready", flush=True)
        until = time.monotonic() + float(seconds)
        acked: list[tuple[int, str, float]] = []
        statuses: Counter[str] = Counter()
        await asyncio.gather(
            *(
                _worker(client, key, token, run, number, until, acked, statuses)
                for number in range(int(connections))
            )
        )
    return {"started": started, "acked": acked, "statuses": dict(statuses)}


def main(argv: list[str]) -> int:
    out = argv.pop(5)
    result = asyncio.run(load(argv))
    with open(out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
