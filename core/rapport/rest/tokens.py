"""Creating, listing, revoking and checking API tokens.

A token is ``rpt_`` followed by 32 random bytes (URL-safe base64). It is shown once, when it
is created; the database keeps only its SHA-256, which is the right hash for a high-entropy
secret (a slow password hash would only cost time on every request). Revoking sets
``revoked_at``: the token is refused from the next request on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from rapport.rest.tables import ApiToken

TOKEN_PREFIX = "rpt_"
# last_used_at is written at most this often, so a busy integration does not write each time.
TOUCH_EVERY = dt.timedelta(minutes=1)
MAX_NAME = 100


class TokenError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class NewToken:
    id: int
    secret: str  # the only time the full token exists outside the client


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create_token(
    user_id: int, name: str, scopes: list[str], *, expires_at: dt.datetime | None = None
) -> NewToken:
    """Create a token for ``user_id`` with ``scopes``; raises :class:`TokenError`."""
    from rapport.rest.scopes import available_scopes

    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "give the token a name"
    elif len(name) > MAX_NAME:
        errors["name"] = f"must be at most {MAX_NAME} characters"
    known = {s.name for s in available_scopes()}
    unknown = sorted(set(scopes) - known)
    if unknown:
        errors["scopes"] = f"unknown scopes: {', '.join(unknown)}"
    elif not scopes:
        errors["scopes"] = "choose at least one scope"
    if expires_at is not None:
        if expires_at.tzinfo is None:
            errors["expires_at"] = "must carry a time zone"
        elif expires_at <= _now():
            errors["expires_at"] = "must be in the future"
    if errors:
        raise TokenError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    rows = await ApiToken.insert(
        ApiToken(
            user=user_id,
            name=name,
            token_hash=hash_token(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            scopes=json.dumps(sorted(set(scopes))),
            created_at=_now(),
            expires_at=expires_at,
        )
    ).returning(ApiToken.id)
    return NewToken(rows[0]["id"], secret)


async def tokens_of(user_id: int) -> list[dict[str, Any]]:
    """The user's tokens, newest first, revoked ones included (never the secret)."""
    return (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.scopes,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.expires_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user == user_id)
        .order_by(ApiToken.id, ascending=False)
        .output(load_json=True)
    )


async def revoke_token(user_id: int, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when there is no such live token."""
    live = await ApiToken.exists().where(
        (ApiToken.id == token_id) & (ApiToken.user == user_id) & ApiToken.revoked_at.is_null()
    )
    if not live:
        return False
    await ApiToken.update({ApiToken.revoked_at: _now()}).where(ApiToken.id == token_id)
    return True


async def authenticate(secret: str) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """The (token, user) a bearer secret stands for, or the reason it is refused."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return "the token is malformed"
    row = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.scopes,
            ApiToken.last_used_at,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            *ApiToken.user.all_columns(),
        )
        .where(ApiToken.token_hash == hash_token(secret))
        .first()
        .output(load_json=True)
    )
    if row is None:
        return "the token is unknown"
    now = _now()
    if row["revoked_at"] is not None:
        return "the token was revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return "the token has expired"
    if not row["user.is_active"]:
        return "the token's user is deactivated"
    if row["last_used_at"] is None or now - row["last_used_at"] > TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    user = {k.removeprefix("user."): v for k, v in row.items() if k.startswith("user.")}
    user.pop("password_hash", None)
    user.pop("calendar_token", None)
    token = {"id": row["id"], "scopes": list(row["scopes"] or [])}
    return token, user
