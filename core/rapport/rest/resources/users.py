"""``/api/v1/users``: who works in the instance (read only)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get

from rapport.rest.pagination import ApiCursor, ApiLimit, cursor_page, decode_cursor
from rapport.rest.problems import ApiProblem
from rapport.rest.resources.common import RecordId
from rapport.rest.scopes import requires_scope
from rapport.users.tables import User


class UserOut(msgspec.Struct):
    """A user of the instance."""

    id: int
    name: str
    email: str
    role: str
    is_active: bool
    language: str | None


class UserPage(msgspec.Struct):
    data: list[UserOut]
    next_cursor: str | None


COLUMNS = (User.id, User.name, User.email, User.role, User.is_active, User.language)


def _user(row: dict[str, Any]) -> UserOut:
    return UserOut(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        is_active=row["is_active"],
        language=row["language"],
    )


@get("/users", guards=[requires_scope("users:read")], operation_id="listUsers")
async def list_users(limit: ApiLimit = 50, cursor: ApiCursor = None) -> UserPage:
    """Users by id; deactivated ones included (``is_active`` false)."""
    query = User.select(*COLUMNS)
    after = decode_cursor("users", cursor, 1)
    if after is not None:
        query = query.where(User.id > int(after[0]))
    rows = await query.order_by(User.id).limit(limit + 1)
    page, next_cursor = cursor_page(rows, limit, "users", lambda r: [r["id"]])
    return UserPage(data=[_user(r) for r in page], next_cursor=next_cursor)


@get("/users/me", guards=[requires_scope("users:read")], operation_id="getCurrentUser")
async def current_user(request: Request) -> UserOut:
    """The user the token belongs to."""
    return _user(request.scope["user"])  # type: ignore[typeddict-item]


@get("/users/{user_id:int}", guards=[requires_scope("users:read")], operation_id="getUser")
async def get_user(user_id: RecordId) -> UserOut:
    row = await User.select(*COLUMNS).where(User.id == user_id).first()
    if row is None:
        raise ApiProblem(404, "Not found", f"no user {user_id}")
    return _user(row)


ROUTES = [list_users, current_user, get_user]
