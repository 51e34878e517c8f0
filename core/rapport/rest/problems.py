"""Errors of the API as RFC 9457 problem details (``application/problem+json``).

Every 4xx and 5xx answer under ``/api/v1`` has the members ``type``, ``title``, ``status``,
``detail`` and ``errors`` (field-level details, possibly empty); a duplicate contact adds
``duplicates``. ``type`` is ``about:blank`` for plain HTTP errors (then ``title`` is the
status phrase) or a ``urn:rapport:problem:<name>`` naming a Rapport-specific problem that
``docs/api.md`` lists.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException

log = logging.getLogger("rapport.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_URN = "urn:rapport:problem:"


class FieldError(msgspec.Struct):
    """One bad value: ``field`` is a dotted path into the request (``emails.0``)."""

    field: str
    message: str
    location: str = "body"  # body, query, path or header


class DuplicateRef(msgspec.Struct):
    """An existing contact that shares an email or phone with the one sent. One the token's
    user may not see comes without its name (``visible`` false), as in the UI."""

    id: int
    name: str
    channel: str  # "email" or "phone"
    value: str
    archived: bool
    visible: bool = True


class Problem(msgspec.Struct):
    """An RFC 9457 problem details object."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = msgspec.field(default_factory=list)
    duplicates: list[DuplicateRef] | None = None


class ApiProblem(HTTPException):
    """Raise from an API handler to answer with a problem.

    ``ApiProblem(404, "Not found", "no deal 7")``; ``kind`` names a Rapport problem type
    (``"validation"`` becomes ``urn:rapport:problem:validation``); ``errors`` maps a field to
    its message; ``headers`` are added to the answer (``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        kind: str | None = None,
        errors: dict[str, str] | list[FieldError] | None = None,
        duplicates: list[DuplicateRef] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail or title, status_code=status, headers=headers)
        self.title = title
        self.problem_detail = detail
        self.kind = kind
        if isinstance(errors, dict):
            errors = [FieldError(field=k, message=v) for k, v in errors.items()]
        self.errors = errors or []
        self.duplicates = duplicates


def _is_out_of_range(exc: Exception) -> bool:
    if isinstance(exc, OverflowError):
        return True
    try:
        from asyncpg.exceptions import DataError
    except ImportError:  # pragma: no cover - SQLite-only installs
        return False
    return isinstance(exc, DataError) and "out of" in str(exc) and "range" in str(exc)


def _location(source: Any) -> str:
    """Litestar names the source with a ``ParamType`` enum (or not at all for the body)."""
    value = getattr(source, "value", source)
    return str(value).lower() if value else "body"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_of(exc: Exception, request: Request | None = None) -> tuple[Problem, dict[str, str]]:
    """The problem (and extra headers) an exception stands for."""
    if isinstance(exc, ApiProblem):
        problem = Problem(
            type=PROBLEM_URN + exc.kind if exc.kind else "about:blank",
            title=exc.title if exc.kind else _phrase(exc.status_code),
            status=exc.status_code,
            detail=exc.problem_detail or (exc.title if not exc.kind else ""),
            errors=exc.errors,
            duplicates=exc.duplicates,
        )
        return problem, dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        errors = [
            FieldError(
                field=str(item.get("key") or ""),
                message=str(item.get("message") or "is not valid"),
                location=_location(item.get("source")),
            )
            for item in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(item, dict)
        ]
        return Problem(
            type=PROBLEM_URN + "invalid-request",
            title="The request does not match the schema",
            status=400,
            detail=str(exc.detail or ""),
            errors=errors,
        ), dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        reason = (request.scope.get("api_auth_error") if request else None) or (
            "send Authorization: Bearer <token>"
        )
        return Problem(type="about:blank", title=_phrase(401), status=401, detail=str(reason)), {
            "WWW-Authenticate": 'Bearer realm="rapport"'
        }
    if _is_out_of_range(exc):
        # A number too large for the database's integers can match no row.
        return Problem(
            type=PROBLEM_URN + "invalid-request",
            title="A number is out of range",
            status=400,
            detail="ids and numbers must fit in 32 bits",
        ), {}
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = str(exc.detail or "")
        return Problem(
            type="about:blank",
            title=_phrase(status),
            status=status,
            detail="" if detail == _phrase(status) else detail,
        ), dict(exc.headers or {})
    return Problem(
        type="about:blank",
        title=_phrase(500),
        status=500,
        detail="the error was logged; try again in a moment",
    ), {}


def problem_response(request: Request, exc: Exception) -> Response[Any]:
    """The answer to ``exc`` for a request under ``/api/v1``."""
    problem, headers = problem_of(exc, request)
    if problem.status >= 500:
        log.exception("API error on %s %s", request.method, request.url.path, exc_info=exc)
    body = msgspec.json.encode(_without_nulls(problem))
    return Response(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _without_nulls(problem: Problem) -> dict[str, Any]:
    data = msgspec.to_builtins(problem)
    if data.get("duplicates") is None:
        data.pop("duplicates", None)
    return data
