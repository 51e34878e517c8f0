from piccolo.columns import Boolean, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="rapport_user"):
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    password_hash = Varchar(length=200, default="")
    role = Varchar(length=40, default="staff", index=True)
    language = Varchar(length=16, null=True, default=None)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class RolePermission(Table, tablename="rapport_role_permission"):
    """One granted permission of a role; the pair is unique (see the core migration)."""

    role = Varchar(length=40, index=True)
    permission = Varchar(length=120)
