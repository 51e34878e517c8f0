"""Opaque cursors for keyset pagination, for the core resources and for plugins.

A cursor is the URL-safe base64 of a small JSON array: a name for the list it belongs to and
the sort key of the last row returned. Clients pass it back as ``?cursor=`` unchanged; one
from another list, or an edited one, is refused with a 400 problem (an integration must not
silently restart from the first page).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from litestar.params import Parameter

from rapport.rest.problems import ApiProblem, FieldError

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

#: Query parameter types for list handlers: ``limit: ApiLimit = 50, cursor: ApiCursor = None``.
ApiLimit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Rows per page (1-200).")]
#: A record id in a path or query: 1 to 2**31-1, the range of the databases' integer ids.
ApiId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]
ApiCursor = Annotated[
    str | None, Parameter(description="The next_cursor of the previous page, unchanged.")
]


def encode_cursor(list_name: str, *key: Any) -> str:
    """An opaque cursor for ``list_name`` holding the sort key ``key`` (JSON values)."""
    raw = json.dumps([list_name, *key], ensure_ascii=False, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(list_name: str, cursor: str | None, size: int) -> list[Any] | None:
    """The ``size`` key values of a cursor from :func:`encode_cursor`, or None for no cursor.

    Raises a 400 :class:`rapport.rest.problems.ApiProblem` for a foreign or broken one.
    """
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError):
        values = None
    if not isinstance(values, list) or len(values) != size + 1 or values[0] != list_name:
        raise ApiProblem(
            400,
            "Bad cursor",
            "pass the next_cursor of the previous page unchanged",
            kind="bad-cursor",
            errors=[
                FieldError(field="cursor", message="is not a cursor of this list", location="query")
            ],
        )
    return values[1:]


def cursor_page(
    rows: Sequence[T], limit: int, list_name: str, key: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """Cut ``rows`` (fetched with ``limit + 1``) to a page and the cursor of the next one."""
    page = list(rows[:limit])
    if len(rows) > limit and page:
        return page, encode_cursor(list_name, *key(page[-1]))
    return page, None
