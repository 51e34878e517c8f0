"""Translations and locale formatting for the web UI.

Catalogs are gettext ``.po`` files (``rapport/locale/<lang>/LC_MESSAGES/*.po``, one per area
of the UI), read
with Babel and compiled in memory at start-up, so no compiled files need to be shipped or
built. The language of a request is a context variable: the user's own language, else the
instance default.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import gettext as gettext_module
import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import (
    DateTimeFormat,
    DateTimePattern,
    format_date,
    format_datetime,
    format_timedelta,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"

_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "rapport_language", default=DEFAULT_LANGUAGE
)
_extra_dirs: list[Path] = []


def add_catalog_dir(path: Path) -> None:
    """Let a plugin or theme add its own ``<lang>/LC_MESSAGES/messages.po`` files."""
    if path not in _extra_dirs:
        _extra_dirs.append(path)
        translations.cache_clear()


@lru_cache(maxsize=16)
def translations(language: str) -> gettext_module.NullTranslations:
    result: gettext_module.NullTranslations | None = None
    for directory in [LOCALE_DIR, *_extra_dirs]:
        # Every .po file of the language is read: areas of the UI keep their own catalogs.
        for po in sorted((directory / language / "LC_MESSAGES").glob("*.po")):
            loaded = _load(po, language)
            if result is None:
                result = loaded
            else:
                result.add_fallback(loaded)
    return result or gettext_module.NullTranslations()


def _load(po: Path, language: str) -> gettext_module.GNUTranslations:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def set_language(language: str | None) -> contextvars.Token[str]:
    return _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language code (``"en"``, ``"ru"``) of the request or task being served."""
    return _language.get()


def gettext(message: str, **variables: object) -> str:
    text = translations(_language.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(_language.get()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def lazy(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


def locale() -> Locale:
    return _parsed_locale(_language.get())


@lru_cache(maxsize=64)
def _parsed_locale(code: str) -> Locale:
    # Parsed once per language: a timeline page formats dozens of dates, and parsing the
    # code each time was a tenth of the card's rendering.
    return Locale.parse(code)


# The locale's named formats ("short", "medium"...), composed the way Babel's
# format_datetime composes them.
_NAMED_FORMATS = ("full", "long", "medium", "short")


class _Fields:
    """The values of a date or time pattern's fields, as Babel's ``DateTimeFormat`` gives
    them: the plain numbers (day, month, year, hours, minutes, seconds) and the AM/PM marker
    are written here; any other field (month and weekday names, time zones...) is asked of
    Babel itself. Babel's own path looks each number up through several layers and reads
    the locale's period names for every time it formats; a timeline page formats dozens."""

    __slots__ = ("_babel", "_periods", "_value")

    def __init__(self, value: Any, periods: dict[int, tuple[str, str]], babel: Any) -> None:
        self._value = value
        self._periods = periods
        self._babel = babel  # () -> DateTimeFormat, for the fields not written here

    def __getitem__(self, name: str) -> str:
        char, num, value = name[0], len(name), self._value
        if char == "d":
            return f"{value.day:0{num}d}"
        if char == "M" and num <= 2:
            return f"{value.month:0{num}d}"
        if char == "y":
            year = f"{value.year:0{num}d}"
            return year[-2:] if num == 2 else year
        if char == "H":
            return f"{value.hour:0{num}d}"
        if char == "h":
            return f"{value.hour % 12 or 12:0{num}d}"
        if char == "m":
            return f"{value.minute:0{num}d}"
        if char == "s":
            return f"{value.second:0{num}d}"
        if char == "a" and num in self._periods:
            return self._periods[num][value.hour >= 12]
        return self._babel()[name]


@lru_cache(maxsize=32)
def _named_format(code: str, format: str) -> tuple[str, DateTimePattern, DateTimePattern, dict]:
    """What a named format is made of in a locale: the combining pattern (``{1}, {0}``), the
    date and time patterns, and the AM/PM marker of each width the time pattern uses."""
    parsed = _parsed_locale(code)
    combined = str(parsed.datetime_formats[format]).replace("'", "")
    date_pattern = parsed.date_formats[format]
    time_pattern = parsed.time_formats[format]
    periods: dict[int, tuple[str, str]] = {}
    for num in range(1, 6):
        am = DateTimeFormat(dt.time(0, 0), parsed).format_period("a", num)
        pm = DateTimeFormat(dt.time(12, 0), parsed).format_period("a", num)
        periods[num] = (am, pm)
    return combined, date_pattern, time_pattern, periods


def fmt_datetime(value: dt.datetime | None, format: str = "medium") -> str:
    """What ``babel.dates.format_datetime(value, format, locale=...)`` returns, the same
    text, for the locale's named formats faster (``tests/web/test_i18n.py`` holds the two
    equal); other patterns go to Babel."""
    if value is None:
        return ""
    code = _language.get()
    if format not in _NAMED_FORMATS or not isinstance(value, dt.datetime):
        return format_datetime(value, format=format, locale=_parsed_locale(code))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # as Babel reads a naive value
    combined, date_pattern, time_pattern, periods = _named_format(code, format)
    parsed = _parsed_locale(code)
    moment = value

    def time_fields() -> DateTimeFormat:
        return DateTimeFormat(moment.timetz(), parsed, reference_date=moment.date())

    def date_fields() -> DateTimeFormat:
        return DateTimeFormat(moment.date(), parsed)

    time_text = time_pattern.format % _Fields(value, periods, time_fields)
    date_text = date_pattern.format % _Fields(value, periods, date_fields)
    return combined.replace("{0}", time_text).replace("{1}", date_text)


def fmt_date(value: dt.date | dt.datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return format_date(value, format=format, locale=locale())


def fmt_ago(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    delta = value - dt.datetime.now(dt.UTC)
    return format_timedelta(delta, add_direction=True, locale=locale())


def fmt_number(value: float | int | Decimal | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=locale())


def fmt_money(value: float | int | Decimal | None, currency: str) -> str:
    if value is None:
        return ""
    return format_currency(value, currency, locale=locale())
