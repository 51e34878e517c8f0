from piccolo.columns import JSON, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from rapport.contacts.tables import Contact
from rapport.users.tables import User


class Activity(Table, tablename="rapport_activity"):
    contact = ForeignKey(Contact, on_delete=OnDelete.cascade)
    kind = Varchar(length=60)
    occurred_at = Timestamptz(default=TimestamptzNow())
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    subject_type = Varchar(length=60, default="")  # e.g. "deal", "loyalty_card", "form"
    subject_id = Varchar(length=64, default="")
    body = Text(default="")
    payload = JSON(default="{}")
    # Tasks only: when due, who does it, when done.
    due_at = Timestamptz(null=True, default=None)
    assignee = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    done_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
