"""The plugin's tables. Their schema is created by ``rapport_webforms/migrations``."""

from piccolo.columns import JSON, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class WebForm(Table, tablename="webforms_form"):
    """A form an administrator built. ``key`` is the public name used in embedding URLs
    (random, so forms cannot be enumerated); ``fields`` is the list of field definitions
    (see :mod:`rapport_webforms.definitions`)."""

    key = Varchar(length=32, unique=True)
    title = Varchar(length=200)
    language = Varchar(length=8, default="en")
    fields = JSON(default="[]")
    thank_you = Text(default="")
    redirect_url = Varchar(length=500, default="")
    tags = JSON(default="[]")
    source = Varchar(length=100, default="")
    rule_id = Integer(null=True, default=None)
    pipeline = Varchar(length=100, default="")
    stage = Varchar(length=100, default="")
    allowed_origins = JSON(default="[]")
    min_fill_seconds = Integer(default=3)
    accept_untimed = Boolean(default=False)  # pasted static HTML carries no fill-time token
    hook_mode = Varchar(length=16, default="off")  # off, hmac, shared_key
    hook_secret = Varchar(length=200, default="")
    hook_header = Varchar(length=100, default="Typeform-Signature")
    hook_mapping = JSON(default="{}")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Submission(Table, tablename="webforms_submission"):
    """One submission, kept raw (as received) and mapped (onto contact fields).

    ``status``: ``received`` (stored and acknowledged, waiting for the worker), ``created``
    (a new contact), ``attached`` (an existing contact matched), ``failed`` (processing
    raised: ``error`` says why; re-processing is offered),
    ``spam`` (refused by a spam defence or marked by a person), ``invalid`` (kept for a
    form service whose payload failed validation). ``differences`` lists values that differ
    from the matched contact's, for a person to review; nothing is overwritten.
    """

    form_id = Integer(index=True)
    received_at = Timestamptz(default=TimestamptzNow())
    channel = Varchar(length=16, default="html")  # snippet, iframe, html, webhook
    status = Varchar(length=16, default="created", index=True)
    spam_reason = Varchar(length=40, default="")
    raw = JSON(default="{}")
    mapped = JSON(default="{}")
    context = JSON(default="{}")
    differences = JSON(default="{}")
    contact_id = Integer(null=True, default=None, index=True)
    assigned_to = Integer(null=True, default=None)
    ip = Varchar(length=64, default="")
    error = Text(default="")
