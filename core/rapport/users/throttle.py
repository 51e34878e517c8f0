"""Slowing down password guessing: recent failures per email and per client address."""

from __future__ import annotations

import datetime as dt

from rapport.users.tables import LoginFailure

WINDOW = dt.timedelta(minutes=15)
LIMITS = {"email": 5, "ip": 30}


def keys(email: str, ip: str) -> list[str]:
    return [f"email:{email.strip().lower()}", f"ip:{ip}"]


async def is_throttled(email: str, ip: str) -> bool:
    since = dt.datetime.now(dt.UTC) - WINDOW
    for key in keys(email, ip):
        kind = key.split(":", 1)[0]
        count = await LoginFailure.count().where(
            (LoginFailure.key == key) & (LoginFailure.at > since)
        )
        if count >= LIMITS[kind]:
            return True
    return False


async def record_failure(email: str, ip: str) -> None:
    now = dt.datetime.now(dt.UTC)
    await LoginFailure.insert(*[LoginFailure(key=k, at=now) for k in keys(email, ip)])
    # Old rows are useless; trimming here keeps the table small without a job.
    await LoginFailure.delete().where(LoginFailure.at < now - WINDOW * 4)


async def clear_failures(email: str) -> None:
    await LoginFailure.delete().where(LoginFailure.key == keys(email, "")[0])
