"""Admin: users (list, create, edit, password reset) and the roles' permission matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.db.transaction import transaction
from rapport.runtime import current
from rapport.users.accounts import UserError, create_user, normalise_email
from rapport.users.passwords import MIN_LENGTH
from rapport.users.permissions import ROLES
from rapport.users.sessions import change_password
from rapport.users.tables import RolePermission, User, UserSession
from rapport.web.i18n import LANGUAGES
from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import (
    USERS,
    Form,
    admin_page,
    current_user,
    guarded,
    many,
    text,
)

PAGE_SIZE = 50
LIST_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.role,
    User.language,
    User.is_active,
    User.away,
)


def role_labels() -> dict[str, str]:
    return {"admin": _("Administrator"), "manager": _("Manager"), "staff": _("Staff")}


def _form_context(**context: Any) -> dict[str, Any]:
    return {"roles": role_labels(), "languages": LANGUAGES, "min_length": MIN_LENGTH, **context}


# --- list ----------------------------------------------------------------------------------------


async def users_after(after: str | None, prefix: str) -> tuple[list[dict[str, Any]], str | None]:
    """One page of users ordered by email, keyset-paginated on the unique email index; an
    email prefix narrows the range on the same index."""
    query = User.select(*LIST_COLUMNS).order_by(User.email).limit(PAGE_SIZE + 1)
    if prefix:
        query = query.where((User.email >= prefix) & (User.email < prefix + "\uffff"))
    if after:
        query = query.where(User.email > after)
    rows = await query
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1]["email"] if more and rows else None)


@get("/admin/users", name="admin-users", **guarded(USERS))
async def users_page(
    request: Request,
    after: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    created: FromQuery[int | None] = None,
) -> Template:
    prefix = normalise_email(q or "")[:254]
    rows, next_after = await users_after(after, prefix)
    return await admin_page(
        request,
        "admin/users.html",
        "users",
        users=rows,
        next_after=next_after,
        q=prefix,
        paged=bool(after),
        created=created,
        **_form_context(),
    )


# --- create --------------------------------------------------------------------------------------


def _create_message(error: UserError) -> str:
    """The account service's English reasons, as the admin's language says them."""
    if error.field == "email":
        if "exists" in error.message:
            return _("A user with this email exists.")
        return _("Enter an email address, like name@example.com.")
    if error.field == "password":
        return _("The password must have at least %(count)s characters.", count=MIN_LENGTH)
    if error.field == "role":
        return _("Pick one of the roles.")
    return error.message


def _check_new_user(values: dict[str, str], password: str) -> dict[str, str]:
    """Every problem at once, so the form shows each next to its field; the account service
    checks again (and alone knows whether the email is taken)."""
    errors: dict[str, str] = {}
    email = normalise_email(values["email"])
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        errors["email"] = _("Enter an email address, like name@example.com.")
    if len(password) < MIN_LENGTH:
        errors["password"] = _(
            "The password must have at least %(count)s characters.", count=MIN_LENGTH
        )
    if not values["name"]:
        errors["name"] = _("Enter the person's name.")
    if values["language"] and values["language"] not in LANGUAGES:
        errors["language"] = _("Pick one of the languages.")
    if values["role"] not in ROLES:
        errors["role"] = _("Pick one of the roles.")
    return errors


@get("/admin/users/new", name="admin-user-new", **guarded(USERS))
async def new_user_page(request: Request) -> Template:
    values = {"email": "", "name": "", "role": "staff", "language": ""}
    return await admin_page(
        request, "admin/user_new.html", "users", values=values, errors={}, **_form_context()
    )


@post("/admin/users", **guarded(USERS))
async def create_user_action(request: Request, data: Form) -> Template | Redirect:
    values = {
        "email": text(data, "email", 254),
        "name": text(data, "name", 200),
        "role": text(data, "role", 40),
        "language": text(data, "language", 16),
    }
    password = str(data.get("password", ""))
    errors = _check_new_user(values, password)
    if not errors:
        try:
            user = await create_user(
                values["email"],
                values["name"],
                password,
                values["role"],
                values["language"] or None,
            )
        except UserError as exc:
            errors[exc.field] = _create_message(exc)
        else:
            return Redirect(f"/admin/users?created={user['id']}")
    return await admin_page(
        request,
        "admin/user_new.html",
        "users",
        status_code=400,
        values=values,
        errors=errors,
        **_form_context(),
    )


# --- edit ----------------------------------------------------------------------------------------


async def _user_or_404(user_id: int) -> dict[str, Any]:
    row = await User.select(*LIST_COLUMNS, User.created_at).where(User.id == user_id).first()
    if row is None:
        raise NotFoundException()
    return row


async def _other_active_admins(user_id: int) -> int:
    return await User.count().where(
        (User.role == "admin") & User.is_active.eq(True) & (User.id != user_id)
    )


async def _edit_page(
    request: Request, user: dict[str, Any], status_code: int = 200, **context: Any
) -> Template:
    sessions = await UserSession.count().where(UserSession.user == user["id"])
    context.setdefault("errors", {})
    context.setdefault("password_errors", {})
    return await admin_page(
        request,
        "admin/user_edit.html",
        "users",
        status_code=status_code,
        person=user,
        sessions=sessions,
        **context,
        **_form_context(),
    )


@get("/admin/users/{user_id:int}", name="admin-user", **guarded(USERS))
async def edit_user_page(
    request: Request, user_id: FromPath[int], saved: FromQuery[str | None] = None
) -> Template:
    return await _edit_page(request, await _user_or_404(user_id), saved=saved)


@post("/admin/users/{user_id:int}", **guarded(USERS))
async def update_user(request: Request, user_id: FromPath[int], data: Form) -> Template | Redirect:
    """Change role, language and active flag; deactivating signs the person out everywhere."""
    user = await _user_or_404(user_id)
    changes = {
        "name": text(data, "name", 200) or user["name"],
        "role": text(data, "role", 40),
        "language": text(data, "language", 16) or None,
        "is_active": text(data, "is_active") == "on",
        "away": text(data, "away") == "on",
    }
    errors: dict[str, str] = {}
    if changes["role"] not in ROLES:
        errors["role"] = _("Pick one of the roles.")
    if changes["language"] and changes["language"] not in LANGUAGES:
        errors["language"] = _("Pick one of the languages.")
    loses_admin = (
        user["role"] == "admin"
        and user["is_active"]
        and (changes["role"] != "admin" or not changes["is_active"])
    )
    if loses_admin and not await _other_active_admins(user_id):
        errors["role"] = _("This is the last active administrator: keep the role and stay active.")
    if errors:
        return await _edit_page(request, {**user, **changes}, 400, errors=errors)
    async with transaction():
        await User.update(
            {
                User.name: changes["name"],
                User.role: changes["role"],
                User.language: changes["language"],
                User.is_active: changes["is_active"],
                User.away: changes["away"],
            }
        ).where(User.id == user_id)
        if not changes["is_active"]:
            await UserSession.delete().where(UserSession.user == user_id)
    return Redirect(f"/admin/users/{user_id}?saved=user")


@post("/admin/users/{user_id:int}/password", **guarded(USERS))
async def reset_password(
    request: Request, user_id: FromPath[int], data: Form
) -> Template | Redirect:
    """Set a new password; the person's other sessions end (an admin resetting their own
    password keeps the session doing it)."""
    user = await _user_or_404(user_id)
    password = str(data.get("password", ""))
    if len(password) < MIN_LENGTH:
        errors = {
            "password": _("The password must have at least %(count)s characters.", count=MIN_LENGTH)
        }
        return await _edit_page(request, user, 400, password_errors=errors)
    keep = request.scope.get("session_token") if user_id == current_user(request)["id"] else None  # type: ignore[typeddict-item]
    await change_password(user_id, password, keep)
    return Redirect(f"/admin/users/{user_id}?saved=password")


# --- roles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixRow:
    name: str
    description: str
    granted: frozenset[str]  # roles holding the permission (admin always does)


async def permission_matrix() -> list[MatrixRow]:
    """Every permission the core and the enabled plugins declare, with the roles holding it."""
    declared = current().permissions
    rows = await RolePermission.select(RolePermission.role, RolePermission.permission).where(
        RolePermission.permission.is_in(list(declared) or [""])
    )
    holders: dict[str, set[str]] = {name: {"admin"} for name in declared}
    for row in rows:
        holders[row["permission"]].add(row["role"])
    return [
        MatrixRow(name, _(p.description) if p.description else "", frozenset(holders[name]))
        for name, p in sorted(declared.items())
    ]


@get("/admin/roles", name="admin-roles", **guarded(USERS))
async def roles_page(request: Request, saved: FromQuery[str | None] = None) -> Template:
    return await admin_page(
        request,
        "admin/roles.html",
        "roles",
        matrix=await permission_matrix(),
        roles=role_labels(),
        editable=[r for r in ROLES if r != "admin"],
        saved=bool(saved),
    )


@post("/admin/roles", **guarded(USERS))
async def save_roles(request: Request, data: Form) -> Redirect:
    """Make the grants of the editable roles exactly the ticked boxes, for the permissions
    declared now (grants of a disabled plugin's permissions are kept for when it returns)."""
    declared = set(current().permissions)
    wanted = {
        tuple(value.split(":", 1))
        for value in many(data, "grant")
        if ":" in value and value.split(":", 1)[0] in ROLES and value.split(":", 1)[1] in declared
    }
    editable = [r for r in ROLES if r != "admin"]
    existing = {
        (r["role"], r["permission"])
        for r in await RolePermission.select(RolePermission.role, RolePermission.permission).where(
            RolePermission.role.is_in(editable) & RolePermission.permission.is_in(list(declared))
        )
    }
    wanted = {pair for pair in wanted if pair[0] in editable}
    async with transaction():
        for role, permission in existing - wanted:
            await RolePermission.delete().where(
                (RolePermission.role == role) & (RolePermission.permission == permission)
            )
        new = [RolePermission(role=role, permission=perm) for role, perm in wanted - existing]
        if new:
            await RolePermission.insert(*new)
    return Redirect("/admin/roles?saved=1")


ROUTES = [
    users_page,
    new_user_page,
    create_user_action,
    edit_user_page,
    update_user,
    reset_password,
    roles_page,
    save_roles,
]
