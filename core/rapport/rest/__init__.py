"""The REST API under ``/api/v1``: tokens, scopes, problems, pagination and the core resources.

Requests under ``/api/v1`` are authenticated by ``Authorization: Bearer <token>`` only (the
session cookie is never read there, so no CSRF token is needed); every error is an RFC 9457
``application/problem+json`` body. Plugins mount their own resources through the
``register_api_routes`` hook and get the same treatment. See ``docs/api.md``.
"""

API_PREFIX = "/api/v1"


def is_api_path(path: str) -> bool:
    """True for ``/api/v1`` and everything under it."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")
