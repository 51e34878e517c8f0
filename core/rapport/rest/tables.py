"""Tables of the REST API: tokens, stored idempotent responses, rate-limit windows."""

from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from rapport.users.tables import User


class ApiToken(Table, tablename="rapport_api_token"):
    """A user's API token. Only the SHA-256 of the secret is stored; it is shown once."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=16)  # the first characters, to tell tokens apart in the list
    scopes = JSON(default="[]")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ApiIdempotentRequest(Table, tablename="rapport_api_idempotency"):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed to retries.

    ``(token, key)`` is unique (index in the migration); ``status`` is 0 while the first
    request is still running.
    """

    token = ForeignKey(ApiToken, on_delete=OnDelete.cascade)
    key = Varchar(length=255)
    request_hash = Varchar(length=64)
    status = Integer(default=0)
    content_type = Varchar(length=100, default="")
    location = Varchar(length=500, default="")
    body = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(default=TimestamptzNow(), index=True)


class ApiRateWindow(Table, tablename="rapport_api_rate"):
    """Requests one token made in one fixed window; ``(token_id, window_start)`` is unique."""

    token_id = Integer()
    window_start = Integer()  # seconds since the epoch
    hits = Integer(default=0)
