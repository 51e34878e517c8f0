"""The API tokens page and the API reference page in a real browser."""

import httpx


def test_a_token_is_created_shown_once_used_and_revoked(new_page, live_server, unique):
    page = new_page("staff", width=390)  # phone width
    page.goto("/account")
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/account/api-tokens")
    name = f"Shop sync {unique}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("Contacts").select_option("read")
    page.get_by_role("button", name="Create token").click()

    secret = page.locator("[data-new-token]").input_value()
    assert secret.startswith("rpt_")
    assert "shown only once" in page.get_by_role("status").first.inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways at phone width"

    api = f"{live_server['url']}/api/v1/contacts"
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(api, headers=auth).status_code == 200
    refused = httpx.post(api, headers=auth, json={"first_name": "Anna"})
    assert refused.status_code == 403  # read-only token

    page.goto("/account/api-tokens")
    assert secret not in page.content()  # never shown again
    row = page.locator(f"tr[data-token='{name}']")
    assert "contacts:read" in row.inner_text()
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/account/api-tokens?revoked=1")
    assert "Revoked" in page.locator(f"tr[data-token='{name}']").inner_text()
    answer = httpx.get(api, headers=auth)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the token was revoked"


def test_the_token_form_explains_what_is_missing(new_page):
    page = new_page("staff2")  # Russian
    page.goto("/account/api-tokens")
    page.get_by_role("button", name="Создать токен").click()
    assert page.get_by_role("alert").is_visible()
    assert "Дайте токену название" in page.locator("#name-error").inner_text()
    assert "хотя бы к одному разделу" in page.locator("#scopes-error").inner_text()


def test_the_api_reference_renders_without_outside_scripts(new_page, live_server):
    page = new_page(None)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server["url"]) else None,
    )
    page.goto("/api/v1/docs")
    page.locator(".opblock-summary-path", has_text="/api/v1/contacts").first.wait_for()
    text = page.locator("#swagger-ui").inner_text()
    assert "Rapport API" in text and "/api/v1/tasks" in text
    assert outside == [], f"requests outside the instance: {outside}"
    assert not [p for p in problems if "Content Security Policy" in p], problems
