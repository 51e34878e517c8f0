"""Every hook a Rapport plugin can implement.

Hooks come in families, told apart by their prefix:

* ``register_*`` — a plugin declares what it brings (event types, activity kinds, permissions,
  custom fields, routes, jobs, schedules, services, consumers, commands, business types).
  Each implementation returns a list; Rapport concatenates the lists of all enabled plugins.
* ``handle_event`` — react, in process and after commit, to an event on the bus.
* ``resolve_*`` — the first implementation that returns something other than ``None`` wins.
* UI slots — ``menu_items``, ``contact_card_panels``, ``contact_actions``,
  ``dashboard_widgets``, ``extra_css_urls``, ``extra_js_urls``: called per request.
* lifecycle — ``startup``, ``shutdown``, ``plugin_enabled``, ``plugin_disabled``.

Any implementation may be a plain function or an ``async def``; Rapport awaits the result.
Implementations may accept fewer arguments than the specification names (pluggy passes only
those they ask for). The core's own behaviour is written as default plugins on these same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from rapport.events.base import Event, EventMeta
    from rapport.runtime import Runtime

PROJECT = "rapport"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- register_* -------------------------------------------------------------------------------


@hookspec
def register_event_types() -> list[type[Event]]:
    """Return the event classes this plugin publishes.

    Called once per enabled plugin when the plugin set changes. Each class is an
    :class:`rapport.api.Event` subclass with a unique ``type`` such as ``"deal.won"`` and a
    ``version``; registering lets the outbox turn stored rows back into typed events and lets
    the docs list every payload. All lists are concatenated; a duplicate ``type`` from two
    plugins is an error reported at start-up.
    """


@hookspec
def register_activity_kinds() -> list[Any]:
    """Return the :class:`rapport.api.ActivityKind` values this plugin adds to the timeline.

    Called when the plugin set changes. A kind has a ``name`` (``"purchase"``), a ``label`` and
    optionally a JSON-schema-like ``payload_fields`` mapping that the activities service uses
    to check payloads. Activities of an unregistered kind are refused with a clear error.
    """


@hookspec
def register_permissions() -> list[Any]:
    """Return the :class:`rapport.api.Permission` values this plugin defines.

    Called when the plugin set changes. A permission has a dotted ``name``
    (``"funnel.reports.view"``), a description and the roles that get it by default; those
    grants are written when the plugin is first enabled and can then be changed by admins.
    """


@hookspec
def register_custom_fields() -> list[Any]:
    """Return :class:`rapport.api.CustomField` declarations for contacts.

    Called when the plugin is enabled; each field is created once (keyed by ``key``) with the
    plugin recorded as its owner, so values can be typed-checked like admin-declared fields.
    """


@hookspec
def register_routes() -> list[Any]:
    """Return Litestar route handlers, controllers or routers to mount in the web app.

    Called once when the app is built, for every *installed* plugin, enabled or not: routes are
    mounted once and guarded, so enabling a plugin at run time makes them answer and disabling
    it makes them answer 404, without a restart.
    """


@hookspec
def register_api_routes() -> list[Any]:
    """Return Litestar route handlers or controllers to mount under ``/api/v1``.

    Called once when the app is built, for every *installed* plugin, enabled or not. Paths are
    relative to ``/api/v1`` (``@get("/deals")`` answers at ``/api/v1/deals``). Every handler
    gets what the core API has: ``Authorization: Bearer`` token authentication (never the
    session cookie, so no CSRF), errors as ``application/problem+json``, per-token rate
    limits, ``Idempotency-Key`` on POST, and a place in the OpenAPI schema. While the plugin
    is disabled its API answers 404, without a restart. Guard each handler with
    :func:`rapport.api.requires_scope` (``guards=[requires_scope("deals:read")]``); return
    msgspec Structs or dataclasses so the schema is exact. All lists are concatenated.
    """


@hookspec
def register_api_scopes() -> list[Any]:
    """Return the :class:`rapport.api.ApiScope` values this plugin's API resources need.

    Called when scopes are listed or a token is created, for every enabled plugin. A scope is named
    ``"<area>:read"`` or ``"<area>:write"`` (``"deals:read"``); a token holding the ``write``
    scope of an area may also read it. Users pick scopes when they create a token; a token
    keeps a scope of a disabled plugin, which grants nothing until the plugin is enabled
    again. All lists are concatenated; a scope named twice is shown once.
    """


@hookspec
def register_jobs() -> list[Any]:
    """Return :class:`rapport.api.JobDefinition` values: background work this plugin runs.

    Called when the worker starts and when the plugin set changes. A job has a unique
    ``name`` and an (async) function taking the job's JSON ``args``; it is enqueued with
    :func:`rapport.api.enqueue` and retried with back-off when it raises.
    """


@hookspec
def register_schedules() -> list[Any]:
    """Return :class:`rapport.api.Schedule` values: jobs to enqueue on a cron expression.

    Called when the worker starts and when the plugin set changes. ``Schedule(name=...,
    cron="0 3 * * *", job="loyalty.expire_points")`` enqueues the job every night at 03:00
    (instance time zone UTC); a run missed while no worker was up is enqueued once on start.
    """


@hookspec
def register_services() -> list[Any]:
    """Return :class:`rapport.api.Service` values: long-lived tasks run by the worker.

    Called on every worker pass for the enabled plugins. Each service's ``run()`` coroutine is
    awaited in its own task; if it raises it is logged and restarted with back-off (1 s doubling
    to 60 s); it is cancelled at shutdown or when its plugin is disabled. A ``run()`` that
    returns normally is not restarted.
    """


@hookspec
def register_event_consumers() -> list[Any]:
    """Return :class:`rapport.api.Consumer` values: asynchronous readers of the outbox.

    Called on every worker pass for the enabled plugins (an ``async`` implementation may read
    the list from the database). A consumer has a unique ``name``, the event ``types`` it wants
    (names and ``"prefix.*"`` patterns, or ``"*"``) and an async ``handle(event, meta)``; it
    receives each event at least once, in order per event key, with retries and back-off when
    it raises. A new consumer starts reading at the event that recorded its plugin being
    enabled, not at the beginning of history.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``rapport`` command line.

    Called when the ``rapport`` command starts, for every installed plugin. ``cli`` is the
    root :class:`click.Group`; add a group named after the plugin
    (``@cli.group("funnel")``) to keep names apart.
    """


@hookspec
def register_business_types() -> list[Any]:
    """Return :class:`rapport.api.BusinessType` presets.

    Called for every installed plugin. A preset has a ``name``, a ``title`` and the plugins it
    enables; presets with the same name from several plugins are merged (their plugin lists
    joined), so a plugin can add itself to the core's ``retail`` preset.
    """


@hookspec
def register_template_dirs() -> list[Any]:
    """Return directories (``pathlib.Path``) holding this plugin's Jinja templates.

    Called when the web app is built, for every installed plugin. Templates are found after the
    theme's and before the default theme's, so name them under a folder of the plugin's name
    (``funnel/board.html``) and extend ``base.html`` to get the layout.
    """


@hookspec
def register_static_dirs() -> list[Any]:
    """Return directories (``pathlib.Path``) whose files the web app serves for this plugin.

    Called once when the web app is built, for every installed plugin. The files are served
    under ``/static/plugins/<plugin name>/`` without sign-in (like the core's static files),
    and answer 404 while the plugin is disabled. Several directories are layered, the first
    one winning. Link them with ``extra_css_urls`` / ``extra_js_urls`` or from templates.
    """


@hookspec
def register_translations() -> list[Any]:
    """Return directories holding ``<lang>/LC_MESSAGES/messages.po`` catalogs of this plugin.

    Called when the web app is built, for every installed plugin. Messages missing from the
    core's catalog are looked up in these, in plugin order.
    """


# --- UI slots (called per request, only for enabled plugins; each implementation isolated) -----


@hookspec
def menu_items(request: Any) -> list[Any]:
    """Return :class:`rapport.api.MenuItem` entries for the main navigation.

    Called on every full page for every enabled plugin. ``request`` is the Litestar request;
    ``request.scope["user"]`` is the signed-in user. Items whose ``permission`` the user lacks
    are hidden. An implementation that raises is logged and skipped.
    """


@hookspec
def contact_card_panels(contact: dict[str, Any], request: Any) -> list[Any]:
    """Return :class:`rapport.api.CardPanel` boxes for a contact's card.

    Called when a card is shown, for every enabled plugin. ``contact`` is the dict
    :func:`rapport.api.get_contact` returns. An implementation that raises is shown as an error
    box in its place; the rest of the card renders.
    """


@hookspec
def contact_actions(contact: dict[str, Any], request: Any) -> list[Any]:
    """Return :class:`rapport.api.ContactAction` buttons for a contact's card header.

    Called when a card is shown, for every enabled plugin (a click-to-call button, "new
    deal"…). ``POST`` actions are sent as forms carrying the CSRF token.
    """


@hookspec
def dashboard_widgets(request: Any) -> list[Any]:
    """Return :class:`rapport.api.DashboardWidget` boxes for the signed-in user's "My day" page.

    Called for every enabled plugin when the page is shown; a widget that raises becomes an
    error box.
    """


@hookspec
def extra_css_urls(request: Any) -> list[str]:
    """Return URLs of style sheets to link on every page (after the theme's)."""


@hookspec
def extra_js_urls(request: Any) -> list[str]:
    """Return URLs of scripts to load (deferred) on every page, after htmx."""


# --- events -----------------------------------------------------------------------------------


@hookspec
def handle_event(event: Event, meta: EventMeta) -> None:
    """React to ``event`` in process, after the transaction that published it has committed.

    Called once per event for every enabled plugin. ``meta`` carries the outbox id, the time
    and the acting user. Each implementation runs isolated: an exception is logged with the
    plugin's name and does not stop other handlers nor undo the committed change. Work that
    must not be lost belongs in a job or an outbox consumer, not here.
    """


# --- resolvers (first non-None result wins) ---------------------------------------------------


@hookspec(firstresult=True)
def resolve_caller(phone: str) -> Any:
    """Return the contact a phone number belongs to, or ``None`` to let the next plugin try.

    Called by telephony and anything else that meets a number. ``phone`` is in E.164 form. The
    first non-None result wins; the core's default implementation (run last) looks the number
    up in contacts' phones and returns a :class:`rapport.api.ContactRef`.
    """


@hookspec(firstresult=True)
def resolve_subject_links(subject_type: str, subject_ids: list[str]) -> Any:
    """Return ``{subject_id: SubjectLink}`` for subjects of ``subject_type`` this plugin owns.

    Called while a contact's timeline is rendered, once per subject type present on the page,
    with every id of that type on it (as strings, as activities store them). A plugin answers
    for its own types and returns ``None`` for the others; the first non-None result wins.
    Ids left out of the answer (deleted objects, objects the user may not open) get no link.
    An exception is logged and leaves the page's subjects unlinked.
    """


# --- contact lifecycle ------------------------------------------------------------------------


@hookspec
def merge_contacts(winner_id: int, loser_id: int) -> None:
    """Move this plugin's records from contact ``loser_id`` to ``winner_id``.

    Called inside the merge transaction, after the core moved channels, tags and activities and
    before ``contact.merged`` is published. Raising aborts the whole merge, so nothing is half
    moved. Return value ignored.
    """


# --- lifecycle --------------------------------------------------------------------------------


@hookspec
def startup(runtime: Runtime) -> None:
    """Called once per process after the database is reachable and plugins are loaded.

    Called for every enabled plugin. ``runtime`` holds the settings and the plugin registry.
    Keep it short: long-running work belongs in ``register_services``.
    """


@hookspec
def shutdown(runtime: Runtime) -> None:
    """Called once per process when it stops, for every enabled plugin."""


@hookspec
def plugin_enabled(name: str) -> None:
    """Seed this plugin's defaults: called when an administrator enables it.

    Only the enabled plugin's own implementation is called (``name`` is its name), inside the
    transaction that records the change, so seeding that fails leaves the plugin disabled.
    Enabling may happen many times over a plugin's life: seed idempotently.
    """


@hookspec
def plugin_disabled(name: str) -> None:
    """Called when an administrator disables this plugin (its own implementation only).

    Data stays; only routes, panels and handlers stop. Return value ignored.
    """
