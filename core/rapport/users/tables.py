from piccolo.columns import Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="rapport_user"):
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    password_hash = Varchar(length=200, default="")
    role = Varchar(length=40, default="staff", index=True)
    language = Varchar(length=16, null=True, default=None)
    is_active = Boolean(default=True)
    # Away (holiday, sick leave): assignment rules skip the user; set by admins or the user.
    away = Boolean(default=False)
    # Secret part of the user's personal calendar feed URL; rotating it revokes old links.
    calendar_token = Varchar(length=64, null=True, default=None)  # unique index in 0004
    # Sessions older than this were signed in before a password change and are refused.
    password_changed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class RolePermission(Table, tablename="rapport_role_permission"):
    """One granted permission of a role; the pair is unique (see the core migration)."""

    role = Varchar(length=40, index=True)
    permission = Varchar(length=120)


class UserSession(Table, tablename="rapport_session"):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    user_agent = Varchar(length=300, default="")


class LoginFailure(Table, tablename="rapport_login_failure"):
    """A failed sign-in, counted per email and per address to slow down guessing."""

    key = Varchar(length=300, index=True)
    at = Timestamptz(default=TimestamptzNow())
