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
