"""The core's Piccolo app: its tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from rapport.activities.tables import Activity
from rapport.assignment.tables import AssignmentRule
from rapport.contacts.tables import (
    Contact,
    ContactEmail,
    ContactMerge,
    ContactPhone,
    ContactTag,
    CustomFieldDefinition,
    Tag,
)
from rapport.events.tables import ConsumerCursor, DeliveryRetry, OutboxEvent
from rapport.jobs.tables import Job, ScheduleState
from rapport.plugins.tables import InstanceSetting, PluginState
from rapport.rest.tables import ApiIdempotentRequest, ApiRateWindow, ApiToken
from rapport.users.tables import LoginFailure, RolePermission, User, UserSession
from rapport.webhooks.tables import WebhookAttempt, WebhookSubscription

APP_CONFIG = AppConfig(
    app_name="rapport",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[
        User,
        RolePermission,
        Contact,
        ContactEmail,
        ContactPhone,
        Tag,
        ContactTag,
        CustomFieldDefinition,
        ContactMerge,
        Activity,
        OutboxEvent,
        ConsumerCursor,
        DeliveryRetry,
        Job,
        ScheduleState,
        PluginState,
        InstanceSetting,
        UserSession,
        LoginFailure,
        WebhookSubscription,
        WebhookAttempt,
        AssignmentRule,
        ApiToken,
        ApiIdempotentRequest,
        ApiRateWindow,
    ],
    migration_dependencies=[],
    commands=[],
)
