"""The plugin's own tables. Their schema is created by ``rapport_hello/migrations``."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class HelloGreeting(Table, tablename="hello_greeting"):
    """One greeting sent to one contact.

    ``contact_id`` is a plain indexed integer rather than a foreign key: the plugin refers to
    core records only by id, as the public API hands them out, and moves its rows itself when
    contacts are merged (the ``merge_contacts`` hook).
    """

    contact_id = Integer(index=True)
    text = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class HelloPhrase(Table, tablename="hello_phrase"):
    """The phrases greetings are made from; ``{name}`` stands for the contact's name.

    Seeded when the plugin is enabled (``plugin_enabled``); an administrator may add more.
    """

    text = Varchar(length=200, unique=True)
