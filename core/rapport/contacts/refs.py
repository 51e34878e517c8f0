"""Small, stable views of a contact that plugins receive from resolvers and lookups."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactRef:
    id: int
    name: str
    kind: str
    owner_id: int | None = None
    archived: bool = False
