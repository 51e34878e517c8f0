"""What the core's API handlers share: the caller, permission checks, ids, input hygiene."""

from __future__ import annotations

from typing import Any

from litestar import Request

from rapport.contacts.dedupe import DuplicateContact
from rapport.contacts.tables import Contact
from rapport.rest.pagination import ApiId
from rapport.rest.problems import ApiProblem, DuplicateRef, FieldError
from rapport.users.roles import has_permission
from rapport.users.visibility import can_see, restricted_to

MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL: a larger one can match nothing

RecordId = ApiId


def user_of(request: Request) -> dict[str, Any]:
    return request.scope["user"]  # type: ignore[typeddict-item]


async def require_permission(request: Request, permission: str) -> None:
    """The token's user must hold ``permission`` (403), whatever the token's scopes."""
    if not await has_permission(user_of(request)["role"], permission):
        raise ApiProblem(
            403,
            "Missing permission",
            f"the token's user lacks the permission {permission}",
            kind="missing-permission",
        )


def not_found(what: str, record_id: int | str) -> ApiProblem:
    return ApiProblem(404, "Not found", f"no {what} {record_id}")


def invalid(errors: dict[str, str]) -> ApiProblem:
    return ApiProblem(
        422,
        "Invalid values",
        "some values break a rule; see errors",
        kind="validation",
        errors=errors,
    )


async def duplicate(request: Request, exc: DuplicateContact) -> ApiProblem:
    """409 naming the existing contacts; those out of the user's sight without their name."""
    restricted = await restricted_to(user_of(request))
    ids = sorted({m.contact_id for m in exc.matches})
    owners = {
        r["id"]: r["owner"]
        for r in await Contact.select(Contact.id, Contact.owner).where(Contact.id.is_in(ids))
    }
    refs = []
    for match in exc.matches:
        visible = can_see(owners.get(match.contact_id), restricted)
        refs.append(
            DuplicateRef(
                id=match.contact_id,
                name=match.name if visible else "",
                channel=match.channel,
                value=match.value,
                archived=match.archived,
                visible=visible,
            )
        )
    return ApiProblem(
        409,
        "Duplicate contact",
        "a contact with the same email or phone exists; see duplicates, or resend with "
        "allow_duplicate=true",
        kind="duplicate-contact",
        duplicates=refs,
    )


def reject_nul(value: Any, path: str = "") -> None:
    """Refuse NUL characters anywhere in the input: no database stores them in text."""
    problems: list[FieldError] = []

    def walk(item: Any, where: str) -> None:
        if isinstance(item, str):
            if "\x00" in item:
                problems.append(
                    FieldError(field=where or "body", message="contains a NUL character")
                )
        elif isinstance(item, dict):
            for key, inner in item.items():
                walk(key, where)
                walk(inner, f"{where}.{key}" if where else str(key))
        elif isinstance(item, list | tuple):
            for index, inner in enumerate(item):
                walk(inner, f"{where}.{index}" if where else str(index))

    walk(value, path)
    if problems:
        raise ApiProblem(
            422,
            "Invalid values",
            "text may not contain NUL characters",
            kind="validation",
            errors=problems,
        )
