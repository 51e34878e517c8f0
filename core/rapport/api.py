"""The public plugin API: everything a plugin may import from the core.

A plugin (first-party or third-party) imports ``rapport.api`` and nothing else of
``rapport``; an import-linter contract enforces it for the plugins in this repository.
Names here are stable within a major version of :data:`API_VERSION`.
"""

from rapport.activities.kinds import ActivityKind
from rapport.activities.service import (
    ActivityError,
    ActivityNotFound,
    complete_task,
    log_activity,
    open_tasks,
    timeline,
)
from rapport.activities.subjects import SubjectLink
from rapport.activities.summary import (
    activity_counts,
    open_tasks_of_subjects,
    subject_activities,
)
from rapport.assignment.service import (
    Assignment,
    add_assignment_rule,
    assign_owner,
    choose_owner,
    record_assignment,
)
from rapport.assignment.service import rules_in_order as assignment_rules
from rapport.bootstrap import running
from rapport.contacts.custom_fields import CustomField
from rapport.contacts.custom_fields_store import defined_fields as custom_field_definitions
from rapport.contacts.dedupe import DuplicateContact, DuplicateMatch, find_duplicates
from rapport.contacts.lookup import (
    contact_by_email,
    contact_by_phone,
    contacts_by_email,
    contacts_by_phone,
    match_contact,
)
from rapport.contacts.merge import MergeError, merge_contacts
from rapport.contacts.names import contact_names
from rapport.contacts.phones import PhoneError, format_international, normalise_phone
from rapport.contacts.refs import ContactRef
from rapport.contacts.search import reindex_all, search_contacts
from rapport.contacts.service import (
    ContactNotFound,
    archive_contact,
    create_contact,
    get_contact,
    update_contact,
)
from rapport.contacts.validation import ValidationError
from rapport.db.errors import database_unavailable, limit_lock_wait
from rapport.db.group_commit import GroupCommit
from rapport.db.statements import Statement
from rapport.db.transaction import transaction
from rapport.events.base import Event, EventMeta
from rapport.events.bus import publish
from rapport.events.consumers import Consumer
from rapport.events.core_events import (
    ActivityLogged,
    ContactArchived,
    ContactCreated,
    ContactMerged,
    ContactUpdated,
    LeadReceived,
    PluginDisabled,
    PluginEnabled,
    TaskCompleted,
)
from rapport.hookspecs import hookimpl
from rapport.jobs.definitions import JobDefinition, Schedule, Service
from rapport.jobs.queue import enqueue, get_job, set_progress
from rapport.plugins.manifest import API_VERSION, Manifest, SettingField
from rapport.plugins.presets import BusinessType
from rapport.plugins.settings_values import plugin_setting
from rapport.rest.pagination import (
    ApiCursor,
    ApiId,
    ApiLimit,
    cursor_page,
    decode_cursor,
    encode_cursor,
)
from rapport.rest.problems import ApiProblem
from rapport.rest.scopes import ApiScope, requires_scope
from rapport.rest.visibility import user_can_see_contact
from rapport.runtime import Runtime
from rapport.settings import Settings
from rapport.users.directory import active_users, user_names
from rapport.users.permissions import Permission
from rapport.users.roles import has_permission
from rapport.users.visibility import can_see, restricted_to
from rapport.web.i18n import current_language, gettext, ngettext
from rapport.web.inbound import (
    InboundRejected,
    PayloadTooLarge,
    RateDecision,
    RateLimit,
    RateLimited,
    SignatureInvalid,
    check_timestamp,
    client_ip,
    read_body,
    require_hmac,
    twilio_signature,
    verify_hmac,
    verify_twilio,
)
from rapport.web.live import notify_user, push_to_user, speaking, user_language
from rapport.web.plugin_routes import requires_permission
from rapport.web.rendering import fragment, page, render_html, request_restriction
from rapport.web.rendering import user_permissions as request_permissions
from rapport.web.slots import CardPanel, ContactAction, DashboardWidget, MenuItem
from rapport.web.themes import Theme
from rapport.webhooks.signing import verify_signature


def settings() -> Settings:
    """The instance's settings (phone region, currency, language, data directory…)."""
    from rapport.runtime import current

    return current().settings


async def resolve_caller(phone: str) -> ContactRef | None:
    """Ask every enabled plugin, in order, who calls from ``phone`` (first answer wins)."""
    from rapport.runtime import current

    return await current().plugins.call_first("resolve_caller", phone=phone)


__all__ = [
    "API_VERSION",
    "ActivityError",
    "ActivityKind",
    "ActivityLogged",
    "ActivityNotFound",
    "ApiCursor",
    "ApiId",
    "ApiLimit",
    "ApiProblem",
    "ApiScope",
    "Assignment",
    "BusinessType",
    "CardPanel",
    "Consumer",
    "ContactAction",
    "ContactArchived",
    "ContactCreated",
    "ContactMerged",
    "ContactNotFound",
    "ContactRef",
    "ContactUpdated",
    "CustomField",
    "DashboardWidget",
    "DuplicateContact",
    "DuplicateMatch",
    "Event",
    "EventMeta",
    "GroupCommit",
    "InboundRejected",
    "JobDefinition",
    "LeadReceived",
    "Manifest",
    "MenuItem",
    "MergeError",
    "PayloadTooLarge",
    "Permission",
    "PhoneError",
    "PluginDisabled",
    "PluginEnabled",
    "RateDecision",
    "RateLimit",
    "RateLimited",
    "Runtime",
    "Schedule",
    "Service",
    "SettingField",
    "Settings",
    "SignatureInvalid",
    "Statement",
    "SubjectLink",
    "TaskCompleted",
    "Theme",
    "ValidationError",
    "active_users",
    "activity_counts",
    "add_assignment_rule",
    "archive_contact",
    "assign_owner",
    "assignment_rules",
    "can_see",
    "check_timestamp",
    "choose_owner",
    "client_ip",
    "complete_task",
    "contact_by_email",
    "contact_by_phone",
    "contact_names",
    "contacts_by_email",
    "contacts_by_phone",
    "create_contact",
    "current_language",
    "cursor_page",
    "custom_field_definitions",
    "database_unavailable",
    "decode_cursor",
    "encode_cursor",
    "enqueue",
    "find_duplicates",
    "format_international",
    "fragment",
    "get_contact",
    "get_job",
    "gettext",
    "has_permission",
    "hookimpl",
    "limit_lock_wait",
    "log_activity",
    "match_contact",
    "merge_contacts",
    "ngettext",
    "normalise_phone",
    "notify_user",
    "open_tasks",
    "open_tasks_of_subjects",
    "page",
    "plugin_setting",
    "publish",
    "push_to_user",
    "read_body",
    "record_assignment",
    "reindex_all",
    "render_html",
    "request_permissions",
    "request_restriction",
    "require_hmac",
    "requires_permission",
    "requires_scope",
    "resolve_caller",
    "restricted_to",
    "running",
    "search_contacts",
    "set_progress",
    "settings",
    "speaking",
    "subject_activities",
    "timeline",
    "transaction",
    "twilio_signature",
    "update_contact",
    "user_can_see_contact",
    "user_language",
    "user_names",
    "verify_hmac",
    "verify_signature",
    "verify_twilio",
]
