"""The API's OpenAPI document at ``/api/v1/openapi.json`` and its reference page ``/api/v1/docs``.

Litestar generates the paths and models from the handlers (core and plugins alike); this
module completes the document with what applies to every operation: the bearer security
scheme and the problem answers (400, 401, 403, 404, 429 and, for writes, 409 and 422) with
``application/problem+json`` bodies. Both routes are public: a developer reads the reference
before having a token.
"""

from __future__ import annotations

import copy
import re
from html import escape
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.response import Response

from rapport.rest import API_PREFIX, is_api_path
from rapport.rest.problems import PROBLEM_MEDIA_TYPE, Problem

SCHEMA_PATH = f"{API_PREFIX}/openapi.json"
DOCS_PATH = f"{API_PREFIX}/docs"
SWAGGER = "/static/vendor/swagger-ui-5.35.0"
SECURITY_SCHEME = "bearerToken"
WRITE_METHODS = ("post", "put", "patch", "delete")

DESCRIPTIONS = {
    "400": "The request is malformed: a parameter, the body or the cursor does not fit.",
    "401": "No token, or a token that is unknown, revoked or expired.",
    "403": "The token lacks the scope, or its user the permission, this operation needs.",
    "404": "No such record, or one the token's user may not see.",
    "409": "A conflict: a duplicate contact, or a request with this Idempotency-Key running.",
    "422": "The values break a rule (bad email, bad phone…), or the Idempotency-Key was "
    "used for another request.",
    "429": "The token's rate limit is spent; retry after the time in Retry-After.",
}

IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same key when retrying: the first answer is returned again, "
    "and no second record is created (kept for 24 hours).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

DESCRIPTION = (
    "The REST API of Rapport. Authenticate with `Authorization: Bearer <token>` (users create "
    "tokens on their account page). Errors are RFC 9457 problem details. See docs/api.md."
)


def openapi_config(version: str) -> OpenAPIConfig:
    """Litestar's own schema endpoint, for the app: the completed document, at /schema."""
    return OpenAPIConfig(
        title="Rapport API",
        version=version,
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[CompletedJson()],
        use_handler_docstrings=True,
    )


class CompletedJson(JsonRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return msgspec.json.encode(api_schema(request.app))


def _problem_components() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [Problem], ref_template="#/components/schemas/{name}"
    )
    return components


def _problem_response(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in ("429", "409"):
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        }
    return response


def complete_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The API part of Litestar's document, with security and problem answers added."""
    document = copy.deepcopy(schema)
    document["paths"] = {p: v for p, v in document.get("paths", {}).items() if is_api_path(p)}
    document["servers"] = [{"url": "/"}]
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(_problem_components())
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (rpt_…) created on the account's API tokens page.",
        }
    }
    document["security"] = [{SECURITY_SCHEME: []}]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = ["400", "401", "403", "404", "429"]
            if method in WRITE_METHODS:
                statuses += ["409", "422"]
            for status in statuses:
                operation["responses"][status] = _problem_response(status)
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
            _name(operation, path)
    return document


def _name(operation: dict[str, Any], path: str) -> None:
    """A readable summary from the operation id (``listContacts`` → "List contacts") and a
    tag from the first path segment when the handler gave none, to group the reference."""
    operation_id = operation.get("operationId", "")
    if operation_id and operation_id[0].islower():
        words = re.sub(r"(?<!^)([A-Z])", r" \1", operation_id).lower()
        operation["summary"] = words[:1].upper() + words[1:]
    if not operation.get("tags"):
        operation["tags"] = [path.removeprefix(API_PREFIX + "/").split("/")[0]]


def api_schema(app: Litestar) -> dict[str, Any]:
    """The completed document, built once per app."""
    cached = app.state.get("api_openapi")
    if cached is None:
        cached = complete_schema(app.openapi_schema.to_schema())
        app.state["api_openapi"] = cached
    return cached


@get(SCHEMA_PATH.removeprefix(API_PREFIX), opt={"public": True}, include_in_schema=False)
async def openapi_json(request: Request) -> Response[bytes]:
    return Response(
        msgspec.json.encode(api_schema(request.app)),
        media_type="application/vnd.oai.openapi+json",
    )


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{swagger}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-schema-url="{schema}"></div>
<script src="{swagger}/swagger-ui-bundle.js" defer></script>
<script src="/static/api-docs.js" defer></script>
</body>
</html>
"""


@get(DOCS_PATH.removeprefix(API_PREFIX), opt={"public": True}, include_in_schema=False)
async def api_docs() -> Response[str]:
    """The browsable reference: Swagger UI, served from this instance (no CDN)."""
    html = PAGE.format(title=escape("Rapport API"), swagger=SWAGGER, schema=SCHEMA_PATH)
    return Response(html, media_type="text/html")


SCHEMA_ROUTES = [openapi_json, api_docs]
