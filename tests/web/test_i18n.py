"""Every UI string has a Russian translation, and pages come out in the user's language."""

from pathlib import Path

from babel.messages.pofile import read_po
from rapport.web.catalog_check import ui_messages
from rapport.web.i18n import LOCALE_DIR, fmt_money, set_language, translations

ROOT = Path(__file__).resolve().parents[2]


def _russian_catalog() -> dict[str, str]:
    messages: dict[str, str] = {}
    for po in sorted((LOCALE_DIR / "ru" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="ru"):
                if message.id and message.string:
                    # A plural entry translates its singular and its plural msgid alike.
                    keys = message.id if isinstance(message.id, tuple) else (message.id,)
                    value = (
                        message.string[0] if isinstance(message.string, tuple) else message.string
                    )
                    if value:
                        messages.update(dict.fromkeys(keys, value))
    return messages


def test_every_ui_string_of_core_and_default_theme_is_translated_to_russian():
    used = ui_messages([ROOT / "core" / "rapport", ROOT / "themes" / "default"])
    translated = _russian_catalog()
    missing = {msgid: where for msgid, where in used.items() if msgid not in translated}
    assert not missing, "untranslated:\n" + "\n".join(f"{w}: {m!r}" for m, w in missing.items())


def test_language_switch_changes_text_and_money_format():
    set_language("ru")
    assert translations("ru").gettext("Sign in") == "Войти"
    assert fmt_money(1234.5, "RUB").replace("\xa0", " ").replace("\u202f", " ") == "1 234,50 ₽"
    set_language("en")
    assert fmt_money(1234.5, "RUB").replace("\xa0", "") == "RUB1,234.50"


def test_datetime_filter_writes_what_babel_writes_in_every_language_and_named_format():
    """The timeline's date filter builds the named formats itself (faster than Babel's own
    path); it must give Babel's text exactly: every hour and minute boundary, two-digit years,
    AM/PM, naive and non-UTC values, and the formats whose fields it leaves to Babel."""
    import datetime as dt
    import random

    from babel.dates import format_datetime
    from rapport.web.i18n import LANGUAGES, fmt_datetime

    rng = random.Random(7)
    start = dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    values = [start + dt.timedelta(seconds=rng.randrange(0, 40 * 365 * 86400)) for _ in range(300)]
    values += [
        dt.datetime(2026, 1, 2, hour, minute, tzinfo=dt.UTC)
        for hour in range(24)
        for minute in (0, 9, 59)
    ]
    values += [
        dt.datetime(2026, 5, 3, 13, 7),
        dt.datetime(2026, 5, 3, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))),
    ]
    try:
        for language in LANGUAGES:
            set_language(language)
            for name in ("short", "medium", "long", "full"):
                for value in values:
                    assert fmt_datetime(value, name) == format_datetime(
                        value, format=name, locale=language
                    ), (language, name, value)
            assert fmt_datetime(None, "short") == ""
    finally:
        set_language("en")
