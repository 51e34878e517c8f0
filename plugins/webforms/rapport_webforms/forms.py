"""Reading and writing form definitions.

The intake reads a form on every submission; :func:`form_by_key` keeps the definitions of
this process for a second, so a burst of submissions costs no query for the form itself and
an administrator's change is seen everywhere within a second.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rapport_webforms.definitions import DEFAULT_FIELDS, FormField, parse_fields
from rapport_webforms.tables import WebForm

CACHE_SECONDS = 1.0
_cache: dict[str, tuple[float, Form | None]] = {}


@dataclass(frozen=True)
class Form:
    id: int
    key: str
    title: str
    language: str
    fields: list[FormField]
    thank_you: str
    redirect_url: str
    tags: list[str]
    source: str
    rule_id: int | None
    pipeline: str
    stage: str
    allowed_origins: list[str]
    min_fill_seconds: int
    accept_untimed: bool
    hook_mode: str
    hook_secret: str
    hook_header: str
    hook_mapping: dict[str, str]
    active: bool

    def allows_origin(self, origin: str | None, own_origin: str) -> bool:
        """Whether a request from ``origin`` may submit. The instance's own pages (the
        hosted form, the iframe) always may; other sites only when listed. No ``Origin``
        header (a plain form in an old browser, a server-side post) is let through: the
        other defences still apply to it."""
        if not origin:
            return True
        origin = normalise_origin(origin)
        return origin == normalise_origin(own_origin) or origin in self.allowed_origins


def normalise_origin(value: str) -> str:
    """``https://Example.com:443/path`` → ``https://example.com``; '' when not an origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _loads(value: Any, empty: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value or json.dumps(empty))
    return value if value is not None else empty


def from_row(row: dict[str, Any]) -> Form:
    return Form(
        id=row["id"],
        key=row["key"],
        title=row["title"],
        language=row["language"] or "en",
        fields=parse_fields(row["fields"]),
        thank_you=row["thank_you"] or "",
        redirect_url=row["redirect_url"] or "",
        tags=[str(t) for t in _loads(row["tags"], [])],
        source=row["source"] or "",
        rule_id=row["rule_id"],
        pipeline=row["pipeline"] or "",
        stage=row["stage"] or "",
        allowed_origins=[normalise_origin(o) for o in _loads(row["allowed_origins"], [])],
        min_fill_seconds=int(row["min_fill_seconds"] or 0),
        accept_untimed=bool(row["accept_untimed"]),
        hook_mode=row["hook_mode"] or "off",
        hook_secret=row["hook_secret"] or "",
        hook_header=row["hook_header"] or "",
        hook_mapping={str(k): str(v) for k, v in _loads(row["hook_mapping"], {}).items()},
        active=bool(row["active"]),
    )


async def form_by_key(key: str) -> Form | None:
    """The form with public key ``key`` (cached for a second per process), or None."""
    now = time.monotonic()
    cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    row = await WebForm.select().where(WebForm.key == key).first()
    form = from_row(row) if row else None
    if len(_cache) > 1000:
        _cache.clear()
    _cache[key] = (now, form)
    return form


async def form_by_id(form_id: int) -> Form | None:
    row = await WebForm.select().where(WebForm.id == form_id).first()
    return from_row(row) if row else None


def forget_cached() -> None:
    _cache.clear()


def new_key() -> str:
    return secrets.token_urlsafe(9)


async def create_form(title: str, **values: Any) -> Form:
    """A new form with the default fields unless ``fields`` is given; returns it."""
    columns: dict[str, Any] = {
        "key": new_key(),
        "title": title,
        "fields": json.dumps(values.pop("fields", DEFAULT_FIELDS)),
    }
    for name in ("tags", "allowed_origins", "hook_mapping"):
        if name in values:
            columns[name] = json.dumps(values.pop(name))
    columns.update(values)
    rows = await WebForm.insert(WebForm(**columns)).returning(WebForm.id)
    form = await form_by_id(rows[0]["id"])
    assert form is not None
    forget_cached()
    return form
