"""Amounts: parsed from what people type, kept as integer minor units.

Templates show them with the core's ``money`` filter: ``(minor / 100)|money(currency)``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from rapport.api import settings

_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_amount(text: str | float | int | None) -> int | None:
    """``"12 500,50"`` → 1250050. None for something that is not an amount."""
    if text is None or text == "":
        return 0
    if isinstance(text, int | float):
        value = Decimal(str(text))
    else:
        cleaned = _SPACES.sub("", str(text)).replace(",", ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            return None
    if not value.is_finite() or value < 0 or value >= Decimal(10) ** 13:
        return None
    return int((value * 100).quantize(Decimal(1)))


def to_major(minor: int | float | None) -> Decimal:
    return (Decimal(int(minor or 0)) / 100).quantize(Decimal("0.01"))


def instance_currency() -> str:
    return (settings().currency or "").upper()
