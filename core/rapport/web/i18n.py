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

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
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
    return Locale.parse(_language.get())


def fmt_datetime(value: dt.datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, format=format, locale=locale())


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
