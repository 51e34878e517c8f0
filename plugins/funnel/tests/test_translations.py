"""Every UI string of the funnel has a Russian translation in the catalog it ships."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parents[1] / "rapport_funnel"
CATALOG = PACKAGE / "locale" / "ru" / "LC_MESSAGES" / "messages.po"


def _messages() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n",
                                        "newstyle_gettext": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PACKAGE, method_map, options_map=options, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_a_russian_translation():
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="ru")
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog
                  if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    messages = _messages()
    assert len(messages) > 150  # the extraction itself works
    assert sorted(messages - translated) == []
