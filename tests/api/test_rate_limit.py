"""Per-token rate limits: 429 with Retry-After once a token spends its budget."""

import pytest
from rapport.rest.ratelimit import WINDOW_SECONDS, count_request


@pytest.fixture
def rapport_settings(rapport_settings):
    # A budget of three requests a minute, set the way an operator would in rapport.toml.
    return rapport_settings.with_overrides(
        extra={**rapport_settings.extra, "api": {"rate_limit": 3}}
    )


async def test_the_rate_limit_answers_429_with_retry_after(rapport, api_client):
    client = await api_client.new(scopes=["users:read"])
    other = await api_client.new(scopes=["users:read"])
    statuses = []
    for _ in range(7):  # 4 in one window; up to 7 if the minute turns meanwhile
        limited = await client.get("/api/v1/users/me")
        statuses.append(limited.status_code)
        if limited.status_code != 200:
            break
    assert statuses[:3] == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["type"] == "urn:rapport:problem:rate-limited"
    assert 1 <= int(limited.headers["retry-after"]) <= WINDOW_SECONDS
    # The budget is per token: another token of the instance is not slowed down.
    assert (await other.get("/api/v1/users/me")).status_code == 200


async def test_the_counter_is_per_window_and_forgets_old_windows(rapport):
    start = 1_800_000_000 - 1_800_000_000 % WINDOW_SECONDS
    assert [await count_request(7, start + 1) for _ in range(3)] == [
        (True, WINDOW_SECONDS - 1),
        (True, WINDOW_SECONDS - 1),
        (True, WINDOW_SECONDS - 1),
    ]
    assert await count_request(7, start + 30) == (False, WINDOW_SECONDS - 30)
    assert await count_request(7, start + WINDOW_SECONDS) == (True, WINDOW_SECONDS)
    from rapport.rest.tables import ApiRateWindow

    assert await ApiRateWindow.count().where(ApiRateWindow.token_id == 7) == 1
