"""A closed-loop HTTP load generator for when ``wrk`` is not installed.

``python -m bench.loadgen BASE COOKIE SECONDS CONNECTIONS PATH...`` prints JSON: rate,
p50_ms, p99_ms, errors, requests.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import httpx


async def _main(base: str, cookie: str, seconds: float, connections: int, paths: list[str]) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=base, cookies={"rapport_session": cookie}, limits=limits
    ) as client:

        async def one(worker: int) -> None:
            nonlocal errors
            n = worker
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(paths[n % len(paths)])
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200
                n += connections

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else None,
        "errors": errors,
        "requests": len(latencies),
    }


if __name__ == "__main__":
    base, cookie, seconds, connections, *paths = sys.argv[1:]
    print(json.dumps(asyncio.run(_main(base, cookie, float(seconds), int(connections), paths))))
