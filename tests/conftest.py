"""Suite-wide ordering: browser tests run last.

Playwright's sync API keeps an event loop running in the main thread for the session, which
would break every asyncio test collected after it.
"""

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: "/tests/browser/" in str(item.path))
