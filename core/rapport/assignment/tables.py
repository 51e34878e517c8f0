"""The assignment rules, in the order they are tried."""

from piccolo.columns import JSON, Boolean, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AssignmentRule(Table, tablename="rapport_assignment_rule"):
    """One rule. ``kind`` says how it picks an owner:

    * ``round_robin`` — the next of ``user_ids`` in turn, skipping users marked away;
      ``counter`` counts the assignments made, updated in the assigning transaction;
    * ``territory`` — ``target_user`` when the contact's ``match_field`` (region, city or
      country) is one of ``match_values`` (compared case-insensitively);
    * ``source`` — ``target_user`` when the contact's source is one of ``match_values``;
    * ``fallback`` — always ``target_user``.
    """

    position = Integer(default=0, index=True)
    name = Varchar(length=150)
    kind = Varchar(length=20)
    match_field = Varchar(length=20, default="")
    match_values = JSON(default="[]")
    user_ids = JSON(default="[]")
    target_user = Integer(null=True, default=None)
    counter = Integer(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
