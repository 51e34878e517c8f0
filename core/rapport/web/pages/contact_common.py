"""What the contact pages share: who may do what, loading a contact the user may see, and
turning the services' messages into text for people.

Record visibility is decided here once for every page and partial: a contact the user may not
see answers 404 (not 403), so its existence is not revealed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body

from rapport.contacts.service import ContactNotFound, get_contact
from rapport.db.statements import Statement
from rapport.users.tables import User
from rapport.users.visibility import can_see
from rapport.web.i18n import gettext as _
from rapport.web.i18n import lazy
from rapport.web.rendering import request_restriction, user_permissions

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

VIEW = "contacts.view"
EDIT = "contacts.edit"
ARCHIVE = "contacts.archive"
MERGE = "contacts.merge"
LOG = "activities.log"

# Labels of the core's activity kinds, marked here so the catalog carries them.
KIND_LABELS = {
    "note": lazy("Note"),
    "call": lazy("Call"),
    "email": lazy("Email"),
    "meeting": lazy("Meeting"),
    "task": lazy("Task"),
    "merge": lazy("Merged contact"),
    "assignment": lazy("Owner assigned"),
}
EMAIL_LABELS = {"work": lazy("work"), "personal": lazy("personal"), "other": lazy("other")}
PHONE_LABELS = {
    "mobile": lazy("mobile"),
    "work": lazy("work"),
    "home": lazy("home"),
    "other": lazy("other"),
}


def user_of(request: Request) -> dict[str, Any]:
    return request.scope["user"]  # type: ignore[typeddict-item]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def form_text(data: dict[str, Any], key: str, limit: int = 2000) -> str:
    """One stripped form value (the last, if the browser sent the name twice)."""
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()[:limit]


async def require(request: Request, permission: str) -> None:
    """403 unless the signed-in user's role has ``permission``."""
    if permission not in await user_permissions(request):
        raise PermissionDeniedException(f"missing permission {permission}")


async def abilities(request: Request) -> dict[str, bool]:
    """What the card and list may offer this user, by permission name."""
    granted = await user_permissions(request)
    return {
        "edit": EDIT in granted,
        "archive": ARCHIVE in granted,
        "merge": MERGE in granted,
        "log": LOG in granted,
    }


async def visible_contact(request: Request, contact_id: int) -> dict[str, Any]:
    """The contact, or 404 when it does not exist or the user may not see it (403 for a
    role without ``contacts.view`` at all)."""
    await require(request, VIEW)
    try:
        contact = await get_contact(contact_id)
    except ContactNotFound:
        raise NotFoundException() from None
    if not can_see(contact["owner"], await request_restriction(request)):
        raise NotFoundException()
    return contact


async def user_choices() -> list[tuple[int, str]]:
    """Active users for owner and assignee pickers, by name."""
    rows = (
        await User.select(User.id, User.name)
        .where(User.is_active == True)  # noqa: E712 - Piccolo builds SQL from ==
        .order_by(User.name, User.id)
    )
    return [(r["id"], r["name"]) for r in rows]


@dataclass(frozen=True)
class UserDirectory:
    """Every user's name (former users included: old activities name them) and the active
    users for pickers, by name."""

    names: dict[int, str]
    choices: list[tuple[int, str]]


_DIRECTORY = Statement("SELECT id, name, is_active FROM rapport_user ORDER BY name, id")


async def user_directory(request: Request) -> UserDirectory:
    """The users, read once per request in one fixed statement: the card needs the owner's
    name, the timeline's authors and assignees and the assignee picker, which were three
    queries. Users are a staff list (tens, not millions), as the picker already assumes."""
    cache = request.scope.setdefault("rapport_contacts", {})  # type: ignore[typeddict-item]
    if "users" not in cache:
        rows = await _DIRECTORY.fetch()
        cache["users"] = UserDirectory(
            names={r["id"]: r["name"] for r in rows},
            choices=[(r["id"], r["name"]) for r in rows if r["is_active"]],
        )
    return cache["users"]


async def user_names(ids: set[int | None]) -> dict[int, str]:
    """Names of the given users in one query (authors and assignees of a timeline page)."""
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    rows = await User.select(User.id, User.name).where(User.id.is_in(wanted))
    return {r["id"]: r["name"] for r in rows}


# --- messages -----------------------------------------------------------------------------------

_TOO_LONG = re.compile(r"must be at most (\d+) characters")


def field_message(key: str, message: str) -> str:
    """The services speak English fragments ("is not a phone number"); people get a full,
    translated sentence chosen by the field and the fragment."""
    if match := _TOO_LONG.search(message):
        return _("Too long: at most %(limit)s characters.", limit=match.group(1))
    if key.startswith("emails."):
        return _("This is not an email address.")
    if key.startswith("phones."):
        if "possible" in message:
            return _("This number has too few or too many digits.")
        return _("This is not a phone number.")
    if key.startswith("custom."):
        return _custom_message(message)
    fixed = {
        "a person needs a first or last name": _("Enter a first or a last name."),
        "a company needs a name": _("Enter the company's name."),
        "must be a two-letter ISO country code": _(
            "Use a two-letter country code, such as RU or DE."
        ),
        "no such company": _("There is no such company."),
        "is a person, not a company": _("This is a person, not a company."),
        "a company cannot belong to itself": _("A company cannot belong to itself."),
        "no such user": _("There is no such user."),
        "a tag must be at most 80 characters": _("A tag can have at most 80 characters."),
        "must be person or company": _("Choose a person or a company."),
    }
    return fixed.get(message, _("This value cannot be used."))


def _custom_message(message: str) -> str:
    if "number" in message:
        return _("Enter a number.")
    if "date" in message:
        return _("Enter a date.")
    if "must be one of" in message:
        return _("Pick one of the offered values.")
    if "yes or no" in message:
        return _("Answer yes or no.")
    if "no such custom field" in message:
        return _("This field no longer exists.")
    return _("This value cannot be used.")


def kind_label(kind: str) -> str:
    """A translated label for an activity kind; a plugin's kind shows the label it declared."""
    if kind in KIND_LABELS:
        return _(KIND_LABELS[kind])
    from rapport.runtime import current

    declared = current().activity_kinds.get(kind)
    return _(declared.label) if declared else kind
