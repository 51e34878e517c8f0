"""Who is calling the API: the bearer token of the request, never the session cookie."""

from __future__ import annotations

from typing import Any

from litestar.types import Scope

from rapport.rest.tokens import authenticate


def bearer_secret(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
            return None
    return None


async def authenticate_api_request(scope: Scope) -> dict[str, Any] | None:
    """Put the token's user in ``scope["user"]`` and the token in ``scope["api_token"]``.

    Returns the user, or None (with the reason in ``scope["api_auth_error"]``, which the
    401 problem shows).
    """
    scope["api_token"] = None  # type: ignore[typeddict-unknown-key]
    secret = bearer_secret(scope)
    if secret is None:
        scope["api_auth_error"] = "send Authorization: Bearer <token>"  # type: ignore[typeddict-unknown-key]
        return None
    found = await authenticate(secret)
    if isinstance(found, str):
        scope["api_auth_error"] = found  # type: ignore[typeddict-unknown-key]
        return None
    token, user = found
    scope["api_token"] = token  # type: ignore[typeddict-unknown-key]
    return user
