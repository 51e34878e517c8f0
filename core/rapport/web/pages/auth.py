"""Signing in and out, changing one's password and language."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from rapport.users.accounts import authenticate
from rapport.users.passwords import password_matches
from rapport.users.sessions import change_password, create_session, end_session
from rapport.users.tables import User
from rapport.users.throttle import clear_failures, is_throttled, record_failure
from rapport.web.i18n import LANGUAGES
from rapport.web.i18n import gettext as _
from rapport.web.middleware import SESSION_COOKIE
from rapport.web.rendering import page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing tool."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def session_cookie(request: Request, token: str, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
        max_age=max_age,
    )


@get("/login", opt={"public": True}, name="login")
async def login_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    if request.scope.get("user"):
        return Redirect(safe_next(next))
    return await page(request, "login.html", next=safe_next(next), email="", error=None)


@post("/login", opt={"public": True})
async def login(request: Request, data: Form) -> Template | Redirect:
    email = str(data.get("email", "")).strip()
    password = str(data.get("password", ""))
    target = safe_next(data.get("next"))
    ip = request.client.host if request.client else "unknown"
    if await is_throttled(email, ip):
        return await page(
            request,
            "login.html",
            status_code=429,
            next=target,
            email=email,
            error=_("Too many failed attempts. Wait a few minutes and try again."),
        )
    user = await authenticate(email, password) if email and password else None
    if user is None:
        await record_failure(email, ip)
        return await page(
            request,
            "login.html",
            status_code=400,
            next=target,
            email=email,
            error=_("The email or the password is wrong."),
        )
    await clear_failures(email)
    token = await create_session(user["id"], request.headers.get("user-agent", ""))
    return Redirect(target, cookies=[session_cookie(request, token)])


@post("/logout")
async def logout(request: Request) -> Redirect:
    token = request.scope.get("session_token")  # type: ignore[typeddict-item]
    if token:
        await end_session(token)
    return Redirect("/login", cookies=[session_cookie(request, "", max_age=0)])


async def _is_away(request: Request) -> bool:
    user = request.scope["user"]  # type: ignore[typeddict-item]
    row = await User.select(User.away).where(User.id == user["id"]).first()
    return bool(row and row["away"])


@get("/account")
async def account(request: Request) -> Template:
    return await page(
        request, "account.html", errors={}, saved=False, away=await _is_away(request)
    )


@post("/account/away")
async def account_away(request: Request, data: Form) -> Redirect:
    """Mark oneself away (holiday, sick leave) or back: assignment rules skip away users."""
    user = request.scope["user"]  # type: ignore[typeddict-item]
    away = str(data.get("away", "")) == "on"
    await User.update({User.away: away}).where(User.id == user["id"])
    return Redirect("/account")


@post("/account/password")
async def account_password(request: Request, data: Form) -> Template:
    user = request.scope["user"]  # type: ignore[typeddict-item]
    errors: dict[str, str] = {}
    row = await User.select(User.password_hash).where(User.id == user["id"]).first()
    if not await password_matches(row["password_hash"], str(data.get("current", ""))):
        errors["current"] = _("This is not your current password.")
    new = str(data.get("new", ""))
    if new != str(data.get("repeat", "")):
        errors["repeat"] = _("The two new passwords differ.")
    if not errors:
        try:
            await change_password(user["id"], new, request.scope.get("session_token"))  # type: ignore[typeddict-item]
        except ValueError:
            errors["new"] = _("The password must have at least 8 characters.")
    status = 400 if errors else 200
    return await page(
        request,
        "account.html",
        status_code=status,
        errors=errors,
        saved=not errors,
        away=await _is_away(request),
    )


@post("/account/language")
async def account_language(request: Request, data: Form) -> Redirect:
    language = str(data.get("language", ""))
    if language in LANGUAGES:
        user = request.scope["user"]  # type: ignore[typeddict-item]
        await User.update({User.language: language}).where(User.id == user["id"])
    return Redirect(
        safe_next(
            request.headers.get("referer", "/").replace(str(request.base_url).rstrip("/"), "")
        )
    )


ROUTES = [login_form, login, logout, account, account_away, account_password, account_language]
