"""Signing in and out in a real browser."""


def test_sign_in_shows_the_menu_and_sign_out_ends_the_session(new_page, live_server):
    users, password = live_server["users"], live_server["password"]
    page = new_page(None)
    page.goto("/account")
    assert "/login" in page.url  # anonymous visitors are sent to sign in
    page.get_by_label("Email").fill(users["staff"][0])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "The email or the password is wrong."
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")
    assert page.locator("[data-menu=contacts]").is_visible()
    assert page.locator("[data-menu=admin]").count() == 0  # staff do not manage plugins
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto("/account")
    assert "/login" in page.url
