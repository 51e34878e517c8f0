"""The core's API resources, one module per area."""

from rapport.rest.resources import users

CORE_RESOURCES = [*users.ROUTES]
