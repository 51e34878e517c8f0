"""Finding UI strings in the code and templates, for the translation completeness check.

The same extraction ``pybabel extract`` does (Python ``_()``/``gettext`` calls and Jinja
``{{ _("…") }}``), run in process over the given folders.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from babel.messages.extract import extract_from_dir

METHOD_MAP = [("**.py", "python"), ("**.html", "jinja2")]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy": None}


def ui_messages(folders: Iterable[Path]) -> dict[str, str]:
    """msgid → ``file:line`` of its first use."""
    found: dict[str, str] = {}
    for folder in folders:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(folder), METHOD_MAP, OPTIONS, keywords=KEYWORDS
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, f"{folder.name}/{filename}:{lineno}")
    return found
