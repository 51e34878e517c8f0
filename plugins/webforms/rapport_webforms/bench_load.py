"""The intake benchmark's load generator, run in its own process by ``rapport_webforms.bench``.

``python -m rapport_webforms.bench_load BASE KEY SECONDS CONNECTIONS MIN_FILL OUT RUN``

It takes a fill-time token from the form's config endpoint as the snippet does, waits the
form's minimum fill time, prints ``ready``, then posts JSON submissions over ``CONNECTIONS``
concurrent keep-alive connections for ``SECONDS`` (closed loop: each connection sends its
next submission when the previous answer arrived). Every acknowledged (2xx) submission is
kept with its id and its unique email, and written to ``OUT`` as JSON at the end. A refused
or broken connection (the server was killed) is counted and retried after a short pause, so
the run keeps its length whatever happens to the server. Imports nothing of Rapport.

The requests are written and the answers read with plain asyncio streams (HTTP/1.1,
``Content-Length`` bodies, which is what the server sends): a general client such as httpx
spent about 3.5 ms of CPU per request here, as much as the server's whole acceptance, so on
two cores the load generator rather than the server set the rate.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from urllib.parse import urlsplit


class Broken(Exception):
    """The server's answer was cut off or not HTTP/1.1 as expected."""


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened after an error."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.writer.write(head.encode() + body)
            status_line = await self.reader.readuntil(b"\r\n")
            headers = (await self.reader.readuntil(b"\r\n\r\n")).lower()
            length = 0
            for line in headers.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                elif line.startswith(b"transfer-encoding:"):
                    raise Broken("chunked answers are not read here")
            data = await self.reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if b"connection: close" in headers:
            self.close()
        parts = status_line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            self.close()
            raise Broken(status_line.decode(errors="replace"))
        return int(parts[1]), data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, Broken, ValueError)


async def _worker(
    base: tuple[str, int],
    key: str,
    token: str,
    run: str,
    number: int,
    until: float,
    acked: list[tuple[int, str, float]],
    statuses: Counter[str],
) -> None:
    connection = Connection(*base)
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
            status, data = await connection.request(
                "POST", f"/forms/{key}/submit", json.dumps(body).encode()
            )
        except ERRORS as exc:
            statuses[type(exc).__name__] += 1
            await asyncio.sleep(0.05)
            continue
        statuses[str(status)] += 1
        if 200 <= status < 300:
            acked.append((int(json.loads(data)["submission_id"]), email, time.time()))
    connection.close()


async def load(argv: list[str]) -> dict[str, object]:
    base, key, seconds, connections, min_fill, run = argv
    parts = urlsplit(base)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    first = Connection(*address)
    status, data = await first.request("GET", f"/forms/{key}/config")
    first.close()
    if status != 200:
        raise SystemExit(f"config: {status} {data[:200]!r}")
    token = json.loads(data)["token"]
    await asyncio.sleep(float(min_fill) + 0.5)
    started = time.time()
    print("ready", flush=True)
    until = time.monotonic() + float(seconds)
    acked: list[tuple[int, str, float]] = []
    statuses: Counter[str] = Counter()
    await asyncio.gather(
        *(
            _worker(address, key, token, run, number, until, acked, statuses)
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
