"""Timeline entries about a deal link to the deal page (the core's ``resolve_subject_links``)."""

from __future__ import annotations

from rapport.api import SubjectLink
from rapport.api import gettext as _

from rapport_funnel.deals import SUBJECT
from rapport_funnel.tables import FunnelDeal


async def deal_links(subject_type: str, subject_ids: list[str]) -> dict[str, SubjectLink] | None:
    if subject_type != SUBJECT:
        return None
    ids = [int(i) for i in subject_ids if i.isdigit()]
    if not ids:
        return {}
    rows = await FunnelDeal.select(FunnelDeal.id, FunnelDeal.title).where(FunnelDeal.id.is_in(ids))
    return {
        str(row["id"]): SubjectLink(_("Deal: %(title)s", title=row["title"]),
                                    f"/funnel/deals/{row['id']}")
        for row in rows
    }
