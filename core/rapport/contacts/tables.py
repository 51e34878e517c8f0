from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from rapport.users.tables import User


class Contact(Table, tablename="rapport_contact"):
    kind = Varchar(length=16, default="person")  # "person" or "company"
    name = Varchar(length=300)  # display name: "First Last" or the company's name
    first_name = Varchar(length=150, default="")
    last_name = Varchar(length=150, default="")
    company = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    position = Varchar(length=150, default="")
    street = Varchar(length=300, default="")
    city = Varchar(length=150, default="")
    region = Varchar(length=150, default="")
    postcode = Varchar(length=32, default="")
    country = Varchar(length=2, default="")
    source = Varchar(length=100, default="", index=True)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    custom = JSON(default="{}")
    archived = Boolean(default=False)
    merged_into = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ContactEmail(Table, tablename="rapport_contact_email"):
    contact = ForeignKey(Contact, on_delete=OnDelete.cascade)
    email = Varchar(length=254)  # as typed
    normalized = Varchar(length=254, index=True)
    label = Varchar(length=40, default="work")


class ContactPhone(Table, tablename="rapport_contact_phone"):
    contact = ForeignKey(Contact, on_delete=OnDelete.cascade)
    raw = Varchar(length=64)  # as typed
    e164 = Varchar(length=20, index=True)
    # Digits of the E.164 number reversed: "the last N digits" becomes an indexed prefix range.
    reversed_digits = Varchar(length=20, index=True)
    label = Varchar(length=40, default="mobile")


class Tag(Table, tablename="rapport_tag"):
    name = Varchar(length=80, unique=True)
    colour = Varchar(length=16, default="")


class ContactTag(Table, tablename="rapport_contact_tag"):
    contact = ForeignKey(Contact, on_delete=OnDelete.cascade)
    tag = ForeignKey(Tag, on_delete=OnDelete.cascade)


class CustomFieldDefinition(Table, tablename="rapport_custom_field"):
    key = Varchar(length=80, unique=True)
    label = Varchar(length=150)
    type = Varchar(length=16)  # text, number, date, choice, bool
    choices = JSON(default="[]")
    declared_by = Varchar(length=100, default="admin")  # "admin" or a plugin's name
    position = Integer(default=0)


class ContactMerge(Table, tablename="rapport_contact_merge"):
    """A merge, recorded so it can be audited: what moved from the loser to the winner."""

    winner = Integer(index=True)
    loser = Integer(index=True)
    moved = JSON(default="{}")
    merged_by = Integer(null=True, default=None)
    merged_at = Timestamptz(default=TimestamptzNow())
