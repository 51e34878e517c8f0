"""Server-side sign-in sessions: the cookie carries a random token, the database its hash.

Signing out deletes the row, so a copied cookie stops working at once; a password change
deletes every other session of the user. A session idle longer than ``IDLE_TIMEOUT`` or older
than ``MAX_AGE`` is refused and removed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import Any

from rapport.db.statements import Statement
from rapport.users.tables import User, UserSession

IDLE_TIMEOUT = dt.timedelta(hours=8)
MAX_AGE = dt.timedelta(days=30)
# last_seen_at is written at most this often, so reading pages does not write each time.
TOUCH_EVERY = dt.timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create_session(user_id: int, user_agent: str = "") -> str:
    token = secrets.token_urlsafe(32)
    now = _now()
    await UserSession.insert(
        UserSession(
            token_hash=_hash(token),
            user=user_id,
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:300],
        )
    )
    return token


@functools.cache
def _session_query() -> Statement:
    """The session and its user in one statement, built once: this runs on every request,
    and building it with Piccolo's query builder (which copies every user column for the
    join) cost more than the query itself — 40% of a small page's time."""
    user_columns = ", ".join(
        f's_user."{c._meta.db_column_name}" AS "user.{c._meta.name}"'
        for c in User._meta.columns
        if c._meta.name != "password_hash"
    )
    return Statement(
        "SELECT s.id AS id, s.created_at AS created_at, s.last_seen_at AS last_seen_at, "
        + user_columns
        + ' FROM rapport_session s JOIN rapport_user s_user ON s_user.id = s."user"'
        " WHERE s.token_hash = {} LIMIT 1"
    )


async def user_for_session(token: str) -> dict[str, Any] | None:
    """The active user a session token belongs to, or None (expired sessions are removed)."""
    if not token or len(token) > 200:
        return None
    rows = await _session_query().fetch(_hash(token))
    if not rows:
        return None
    row = rows[0]
    now = _now()
    changed = row["user.password_changed_at"]
    if (
        now - row["last_seen_at"] > IDLE_TIMEOUT
        or now - row["created_at"] > MAX_AGE
        or not row["user.is_active"]
        or (changed is not None and changed > row["created_at"])
    ):
        await UserSession.delete().where(UserSession.id == row["id"])
        return None
    if now - row["last_seen_at"] > TOUCH_EVERY:
        await UserSession.update({UserSession.last_seen_at: now}).where(UserSession.id == row["id"])
    user = {k.removeprefix("user."): v for k, v in row.items() if k.startswith("user.")}
    user.pop("password_hash", None)
    return user


async def end_session(token: str) -> None:
    await UserSession.delete().where(UserSession.token_hash == _hash(token))


async def end_other_sessions(user_id: int, keep_token: str | None = None) -> None:
    query = UserSession.delete().where(UserSession.user == user_id)
    if keep_token:
        query = query.where(UserSession.token_hash != _hash(keep_token))
    await query


async def change_password(user_id: int, new_password: str, keep_token: str | None) -> None:
    from rapport.users.passwords import MIN_LENGTH, hashed

    if len(new_password) < MIN_LENGTH:
        raise ValueError(f"must have at least {MIN_LENGTH} characters")
    await User.update(
        {User.password_hash: await hashed(new_password), User.password_changed_at: _now()}
    ).where(User.id == user_id)
    await end_other_sessions(user_id, keep_token)
    if keep_token:
        # The session that changed the password stays valid although it is older.
        await UserSession.update({UserSession.created_at: _now()}).where(
            UserSession.token_hash == _hash(keep_token)
        )
