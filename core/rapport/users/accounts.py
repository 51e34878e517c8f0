"""Creating users and checking their passwords."""

from __future__ import annotations

from typing import Any

from rapport.users.passwords import MIN_LENGTH, dummy_hash, hashed, needs_rehash, password_matches
from rapport.users.permissions import ROLES
from rapport.users.tables import User


class UserError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    email: str, name: str, password: str, role: str = "staff", language: str | None = None
) -> dict[str, Any]:
    email = normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise UserError("email", "is not an email address")
    if role not in ROLES:
        raise UserError("role", f"must be one of {', '.join(ROLES)}")
    if len(password) < MIN_LENGTH:
        raise UserError("password", f"must have at least {MIN_LENGTH} characters")
    if await User.exists().where(User.email == email):
        raise UserError("email", "a user with this email exists")
    rows = await User.insert(
        User(
            email=email,
            name=name.strip() or email,
            password_hash=await hashed(password),
            role=role,
            language=language,
        )
    ).returning(User.id, User.email, User.name, User.role)
    return rows[0]


async def authenticate(email: str, password: str) -> dict[str, Any] | None:
    """The active user with this email and password, or None (same cost either way)."""
    row = await User.select().where(User.email == normalise_email(email)).first()
    if row is None or not row["is_active"]:
        # Hash anyway so response time does not tell which emails exist.
        await password_matches(dummy_hash(), password)
        return None
    if not await password_matches(row["password_hash"], password):
        return None
    if needs_rehash(row["password_hash"]):
        await User.update({User.password_hash: await hashed(password)}).where(User.id == row["id"])
    return row

