"""Error answers: a page for people, problem JSON for programs, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from rapport.rest import is_api_path
from rapport.rest.problems import problem_response
from rapport.web.i18n import LANGUAGES, current_language
from rapport.web.i18n import gettext as _

log = logging.getLogger("rapport.web")


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or request.headers.get("hx-request") == "true"


def _problem(status: int, title: str, detail: Any = None) -> Response[Any]:
    body: dict[str, Any] = {"status": status, "title": title}
    if detail:
        body["detail"] = detail
    return Response(body, status_code=status, media_type="application/problem+json")


def _error_page(request: Request, status: int, title: str, message: str) -> Template:
    return Template(
        "error.html",
        context={
            "status": status,
            "title": title,
            "message": message,
            "user": request.scope.get("user"),
            "menu": [],
            "extra_css": [],
            "extra_js": [],
            "lang": current_language(),
            "languages": LANGUAGES,
            "path": request.url.path,
        },
        status_code=status,
    )


def not_authorized(request: Request, exc: NotAuthorizedException) -> Response[Any]:
    if is_api_path(request.url.path):
        return problem_response(request, exc)
    if not wants_html(request):
        return _problem(401, "sign in required")
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if request.headers.get("hx-request") == "true":
        return Response("", status_code=401, headers={"HX-Redirect": f"/login?next={target}"})
    if request.method == "GET":
        return Redirect(f"/login?next={target}")
    return _error_page(
        request, 401, _("Sign in required"), _("Your session has ended. Sign in again.")
    )


def http_error(request: Request, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if is_api_path(request.url.path):
        return problem_response(request, exc)
    if not wants_html(request):
        return _problem(status, exc.detail or "error", getattr(exc, "extra", None))
    titles = {
        403: _("Not allowed"),
        404: _("Not found"),
        429: _("Too many requests"),
    }
    messages = {
        403: _("You do not have access to this page."),
        404: _("There is nothing at this address."),
        429: _("Slow down a little and try again."),
    }
    return _error_page(
        request,
        status,
        titles.get(status, _("Request refused")),
        messages.get(status, str(exc.detail or "")),
    )


def server_error(request: Request, exc: Exception) -> Response[Any]:
    if is_api_path(request.url.path):
        return problem_response(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if not wants_html(request):
        return _problem(500, "internal error")
    return _error_page(
        request,
        500,
        _("Something went wrong"),
        _("The error was logged. Your data is safe; try again in a moment."),
    )


HANDLERS = {
    NotAuthorizedException: not_authorized,
    PermissionDeniedException: http_error,
    HTTPException: http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: server_error,
    Exception: server_error,
}

__all__ = ["HANDLERS", "MediaType", "wants_html"]
