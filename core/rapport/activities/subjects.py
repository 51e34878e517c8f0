"""Links from timeline entries to the object they are about (a deal, a card, a form).

An activity may name a subject (``subject_type``, ``subject_id``); the plugin that owns that
type says what to show for it through the ``resolve_subject_links`` hook, asked once per type
for a whole timeline page, so a page of fifty entries about twelve deals costs one query.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapport.runtime import current

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubjectLink:
    """What a timeline entry shows for its subject: ``label`` linking to ``url``."""

    label: str
    url: str


async def subject_links(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], SubjectLink]:
    """The link of each ``(subject_type, subject_id)`` among ``rows`` that a plugin resolves.

    Subjects nobody resolves (their plugin is disabled, the object is gone) get no link; a
    resolver that raises is logged and its subjects stay unlinked, the timeline still renders.
    """
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.get("subject_type") and row.get("subject_id"):
            wanted[row["subject_type"]].add(str(row["subject_id"]))
    links: dict[tuple[str, str], SubjectLink] = {}
    for subject_type, ids in wanted.items():
        try:
            found = await current().plugins.call_first(
                "resolve_subject_links", subject_type=subject_type, subject_ids=sorted(ids)
            )
        except Exception:
            log.exception("resolve_subject_links failed for %r", subject_type)
            continue
        for subject_id, link in (found or {}).items():
            if str(subject_id) in ids and isinstance(link, SubjectLink):
                links[(subject_type, str(subject_id))] = link
    return links
