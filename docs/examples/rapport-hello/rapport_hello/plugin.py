"""The hello plugin: its manifest and its hook implementations.

The entry point ``hello = "rapport_hello.plugin"`` names this module. Rapport reads
``manifest`` from it and registers every function decorated with ``@hookimpl``. Everything the
plugin uses from Rapport comes from ``rapport.api``.

What it does: every new person (and, when configured, every new company) gets a greeting. The
greeting is stored in the plugin's own table, shown on the contact's timeline as a "greeting"
activity, and announced on the bus as a ``hello.sent`` event.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import click
from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template
from rapport.api import (
    ActivityKind,
    ApiCursor,
    ApiId,
    ApiLimit,
    ApiProblem,
    ApiScope,
    ContactCreated,
    Event,
    EventMeta,
    Manifest,
    MenuItem,
    Permission,
    SettingField,
    Settings,
    cursor_page,
    decode_cursor,
    hookimpl,
    log_activity,
    page,
    publish,
    requires_permission,
    requires_scope,
    running,
    settings,
    transaction,
    user_can_see_contact,
)

from rapport_hello.tables import HelloGreeting, HelloPhrase

manifest = Manifest(
    name="hello",
    title="Hello",
    version="0.1.0",
    description="Greets every new contact and keeps the greetings.",
    category="examples",
    piccolo_app="rapport_hello.piccolo_app",
    settings=(
        SettingField(
            key="greet_companies",
            label="Greet companies as well as people",
            type="bool",
            default=False,
            help="Set in rapport.toml: [hello] greet_companies = true",
        ),
    ),
)

#: Phrases seeded when the plugin is first enabled; ``{name}`` is the contact's name.
DEFAULT_PHRASES = ("Hello, {name}!", "Welcome, {name}!")


def setting(key: str) -> Any:
    """The value of this plugin's setting ``key``.

    Read from the ``[hello]`` table of ``rapport.toml`` (``settings().extra``), falling back to
    the default the manifest declares.
    """
    declared = {field.key: field for field in manifest.settings}
    if key not in declared:
        raise KeyError(f"hello has no setting {key!r}")
    configured = settings().extra.get(manifest.name)
    if isinstance(configured, dict) and key in configured:
        return configured[key]
    return declared[key].default


# --- the event this plugin publishes ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HelloSent(Event):
    """A greeting was stored for a contact.

    Payload: ``contact_id``, ``greeting_id`` (a row of ``hello_greeting``) and ``text``.
    """

    type: ClassVar[str] = "hello.sent"
    version: ClassVar[int] = 1

    contact_id: int
    greeting_id: int
    text: str


# --- the work itself -------------------------------------------------------------------------


async def greet(contact_id: int, name: str, actor_id: int | None = None) -> int:
    """Store a greeting for a contact, put it on the timeline, publish ``hello.sent``.

    All three happen in one transaction: either the contact has its greeting, its timeline
    entry and its event, or none of them. Returns the greeting's id.
    """
    async with transaction():
        phrases = [
            row["text"]
            for row in await HelloPhrase.select(HelloPhrase.text).order_by(HelloPhrase.id)
        ]
        template = phrases[contact_id % len(phrases)] if phrases else DEFAULT_PHRASES[0]
        text = template.replace("{name}", name or "there")
        rows = await HelloGreeting.insert(
            HelloGreeting(contact_id=contact_id, text=text, created_at=dt.datetime.now(dt.UTC))
        ).returning(HelloGreeting.id)
        greeting_id = rows[0]["id"]
        await log_activity(contact_id, "greeting", body=text, payload={"greeting_id": greeting_id})
        await publish(
            HelloSent(contact_id=contact_id, greeting_id=greeting_id, text=text), actor_id
        )
    return greeting_id


async def greetings_of(contact_id: int) -> list[dict[str, Any]]:
    return (
        await HelloGreeting.select(HelloGreeting.id, HelloGreeting.text, HelloGreeting.created_at)
        .where(HelloGreeting.contact_id == contact_id)
        .order_by(HelloGreeting.id)
    )


# --- register_* ------------------------------------------------------------------------------


@hookimpl
def register_event_types() -> list[type[Event]]:
    return [HelloSent]


@hookimpl
def register_activity_kinds() -> list[ActivityKind]:
    return [
        ActivityKind("greeting", "Greeting", icon="wave", payload_fields={"greeting_id": "int"})
    ]


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission(
            "hello.view", "See the greetings of the hello plugin", ("admin", "manager", "staff")
        )
    ]


@get("/hello/{contact_id:int}", name="hello:greetings")
async def contact_greetings(contact_id: FromPath[int]) -> dict[str, Any]:
    """The greetings a contact received, oldest first, as JSON."""
    return {"contact_id": contact_id, "greetings": await greetings_of(contact_id)}


@get("/hello", name="hello:index", guards=[requires_permission("hello.view")])
async def recent_greetings(request: Request) -> Template:
    """A page in the instance's layout: the latest greetings."""
    rows = await HelloGreeting.select().order_by(HelloGreeting.id, ascending=False).limit(20)
    return await page(
        request,
        "hello/index.html",
        title="Greetings",
        empty="No greetings yet: create a contact.",
        greetings=rows,
    )


@hookimpl
def register_routes() -> list[Any]:
    # Mounted once at start-up; Rapport answers 404 while the plugin is disabled and 401 to
    # anonymous requests (the handlers do not declare opt={"public": True}).
    return [contact_greetings, recent_greetings]


# --- the REST API: /api/v1/hello/... --------------------------------------------------------


@dataclass
class GreetingOut:
    """A greeting as the API returns it (a dataclass, so the OpenAPI schema is exact)."""

    id: int
    contact_id: int
    text: str
    created_at: dt.datetime


@dataclass
class GreetingPage:
    data: list[GreetingOut]
    next_cursor: str | None


@get(
    "/hello/contacts/{contact_id:int}/greetings",
    guards=[requires_scope("hello:read")],
    operation_id="listHelloGreetings",
)
async def api_greetings(
    request: Request, contact_id: ApiId, limit: ApiLimit = 50, cursor: ApiCursor = None
) -> GreetingPage:
    """A contact's greetings, oldest first, a page at a time."""
    # 404 rather than 403: a contact the token's user may not see must not seem to exist.
    if not await user_can_see_contact(request.scope["user"], contact_id):
        raise ApiProblem(404, "Not found", f"no contact {contact_id}")
    query = HelloGreeting.select().where(HelloGreeting.contact_id == contact_id)
    after = decode_cursor("hello.greetings", cursor, 1)
    if after is not None:
        query = query.where(HelloGreeting.id > int(after[0]))
    rows = await query.order_by(HelloGreeting.id).limit(limit + 1)
    page, next_cursor = cursor_page(rows, limit, "hello.greetings", lambda r: [r["id"]])
    return GreetingPage(
        data=[GreetingOut(r["id"], r["contact_id"], r["text"], r["created_at"]) for r in page],
        next_cursor=next_cursor,
    )


@hookimpl
def register_api_routes() -> list[Any]:
    # Mounted under /api/v1 with token authentication, problem+json errors and rate limits;
    # 404 while the plugin is disabled.
    return [api_greetings]


@hookimpl
def register_api_scopes() -> list[ApiScope]:
    return [ApiScope("hello:read", "Read the greetings of the hello plugin")]


@hookimpl
def register_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def menu_items(request: Request) -> list[MenuItem]:
    # Shown only while the plugin is enabled, and only to users holding hello.view.
    return [MenuItem("Hello", "/hello", order=500, permission="hello.view", key="hello")]


async def count_greetings(settings: Settings) -> int:
    """How many greetings the instance holds (for the command line)."""
    async with running(settings):
        return await HelloGreeting.count()


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group("hello")
    def hello_commands() -> None:
        """The hello example plugin."""

    @hello_commands.command("count")
    @click.pass_context
    def count(ctx: click.Context) -> None:
        """Print how many greetings have been sent."""
        # The root `rapport` command has read the settings (--data-dir, rapport.toml, env).
        total = asyncio.run(count_greetings(ctx.find_root().obj.settings))
        click.echo(f"{total} greeting{'' if total == 1 else 's'}")


# --- events, resolvers, contact lifecycle ----------------------------------------------------


@hookimpl
async def handle_event(event: Event, meta: EventMeta) -> None:
    """Greet every new contact, after the transaction that created it has committed."""
    if not isinstance(event, ContactCreated):
        return
    if event.kind == "company" and not setting("greet_companies"):
        return
    await greet(event.contact_id, event.name, actor_id=meta.actor_id)


@hookimpl
def resolve_caller(phone: str) -> None:
    """hello knows no phone numbers: ``None`` lets the next plugin, then the core, answer."""
    return None


@hookimpl
async def merge_contacts(winner_id: int, loser_id: int) -> None:
    """Runs inside the merge transaction: the loser's greetings now belong to the winner."""
    await HelloGreeting.update({HelloGreeting.contact_id: winner_id}).where(
        HelloGreeting.contact_id == loser_id
    )


# --- lifecycle -------------------------------------------------------------------------------


@hookimpl
async def plugin_enabled(name: str) -> None:
    """Seed the default phrases, once: when there are phrases already, leave them as they are.

    Runs inside the transaction that enables the plugin, so a failure here leaves it disabled.
    Enabling happens again after every disabling, hence the check.
    """
    if await HelloPhrase.count() == 0:
        await HelloPhrase.insert(*[HelloPhrase(text=text) for text in DEFAULT_PHRASES])
