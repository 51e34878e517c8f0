"""The core's API resources, one module per area."""

from rapport.rest.resources import activities, catalog, contacts, users

CORE_RESOURCES = [*contacts.ROUTES, *activities.ROUTES, *catalog.ROUTES, *users.ROUTES]
