"""Event-type patterns of a subscription: ``contact.created``, ``contact.*`` or ``*``."""

from __future__ import annotations

import re

from rapport.events.consumers import type_matches

PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


def valid_pattern(pattern: str) -> bool:
    return bool(PATTERN.match(pattern))


def matches_any(patterns: tuple[str, ...] | list[str], event_type: str) -> bool:
    return any(type_matches(p, event_type) for p in patterns)
