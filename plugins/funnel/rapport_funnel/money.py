"""Amounts: parsed from what people type, kept as integer minor units, shown per locale.

Templates of single records use the core's ``money`` filter; the board formats a thousand
amounts per page, so it uses :func:`format_money`, which asks Babel for the locale's pattern
once per language and currency and then formats with plain string operations.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency
from rapport.api import current_language, settings

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


@lru_cache(maxsize=64)
def _pattern(language: str, currency: str) -> tuple[str, str, str, str]:
    """(prefix, group separator, decimal separator, suffix) of the locale's currency format,
    read from how Babel writes a sample amount."""
    sample = format_currency(Decimal("1234567.89"), currency, locale=language)
    start, end = sample.index("1"), sample.rindex("9")
    number = sample[start : end + 1]
    return sample[:start], number[1], number[-3], sample[end + 1 :]


def format_money(minor: int | float | None, currency: str = "") -> str:
    """``1250050, "RUB"`` → ``"12 500,50 ₽"`` (ru) or ``"RUB12,500.50"`` (en); whole amounts
    without decimals."""
    code = (currency or instance_currency() or "XXX").upper()
    prefix, group, decimal, suffix = _pattern(current_language(), code)
    value = int(minor or 0)
    whole, cents = divmod(abs(value), 100)
    text = f"{whole:,}".replace(",", group)
    if cents:
        text += f"{decimal}{cents:02d}"
    return f"{'-' if value < 0 else ''}{prefix}{text}{suffix}"
