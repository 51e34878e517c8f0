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
    first = await client.get("/api/v1/users/me")
    assert first.headers["ratelimit-limit"] == "3"
    assert first.headers["ratelimit-remaining"] == "2"
    assert 1 <= int(first.headers["ratelimit-reset"]) <= WINDOW_SECONDS
    statuses = [first.status_code]
    for _ in range(4):  # the fourth is refused, whenever the minute turns
        limited = await client.get("/api/v1/users/me")
        statuses.append(limited.status_code)
        if limited.status_code != 200:
            break
    assert statuses[:3] == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["type"] == "urn:rapport:problem:rate-limited"
    assert limited.headers["ratelimit-remaining"] == "0"
    # A spent minute decays into the next one: at most a minute and a third here.
    assert 1 <= int(limited.headers["retry-after"]) <= WINDOW_SECONDS * 4 // 3 + 1
    # The budget is per token: another token of the instance is not slowed down.
    assert (await other.get("/api/v1/users/me")).status_code == 200


async def test_the_window_slides_and_old_windows_are_forgotten(rapport):
    from rapport.rest.tables import ApiRateWindow

    start = 1_800_000_000 - 1_800_000_000 % WINDOW_SECONDS
    counted = [await count_request(7, start + 1) for _ in range(3)]
    assert [(c.allowed, c.remaining) for c in counted] == [(True, 2), (True, 1), (True, 0)]
    # Budget spent: one more fits once the three calls' minute weighs two, 20 s into the next.
    refused = await count_request(7, start + 30)
    assert (refused.allowed, refused.retry_after, refused.reset) == (False, 50, 30)
    # A fixed window would reset at the turn of the minute; this one does not.
    assert (await count_request(7, start + WINDOW_SECONDS + 1)).allowed is False
    assert (await count_request(7, start + WINDOW_SECONDS + 20)).allowed is True
    # Two minutes on, the first minute is forgotten: one row per token and window kept.
    assert (await count_request(7, start + 2 * WINDOW_SECONDS + 30)).allowed is True
    rows = await ApiRateWindow.select(ApiRateWindow.window_start).where(
        ApiRateWindow.token_id == 7
    )
    assert sorted(r["window_start"] for r in rows) == [
        start + WINDOW_SECONDS,
        start + 2 * WINDOW_SECONDS,
    ]
