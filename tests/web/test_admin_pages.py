"""The admin area over HTTP: permissions, plugins, the business-type wizard, users and roles,
settings (theme included) and custom fields — against the real app and database."""

from __future__ import annotations

import re
import types

import pytest
from litestar.testing import AsyncTestClient
from rapport.hookspecs import hookimpl
from rapport.plugins.manifest import Manifest
from rapport.plugins.presets import BusinessType
from rapport.plugins.registry import PluginRegistry, QuarantinedPlugin
from rapport.testing import in_app, sign_in
from rapport.web.app import create_app
from rapport.web.slots import MenuItem

PASSWORD = "admin-pass-123"
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _menu_plugin(name: str = "menu_demo", requires: tuple[str, ...] = ()) -> types.ModuleType:
    """A plugin with one menu item and a place in the retail preset."""
    module = types.ModuleType(f"rapport_test_{name}")
    module.manifest = Manifest(
        name=name,
        title=f"{name.replace('_', ' ').title()}",
        version="1.2.3",
        description="Adds a menu item, for the admin tests.",
        category="Testing",
        requires=requires,
    )

    @hookimpl
    def menu_items(request):
        return [MenuItem(f"{name} menu", f"/{name}", order=50, key=name)]

    @hookimpl
    def register_business_types():
        return [BusinessType("retail", "", plugins=(name, "loyalty_not_here"))]

    module.menu_items = menu_items
    module.register_business_types = register_business_types
    return module


def _registry(*modules: types.ModuleType) -> PluginRegistry:
    """Only the given plugins, whatever else is installed in the environment."""
    registry = PluginRegistry(discover=False)
    for module in modules:
        registry.add(module)
    return registry


async def _sign_in(client: AsyncTestClient, email: str, password: str = PASSWORD) -> str:
    return await sign_in(client, email, password)


async def _admin(client: AsyncTestClient, email: str = "root@example.com") -> str:
    from rapport.users.accounts import create_user

    in_app(client, lambda: create_user(email, "Root Admin", PASSWORD, "admin"))
    return await _sign_in(client, email)


def _set_business_type(client: AsyncTestClient, name: str = "custom") -> None:
    from rapport.plugins.presets_service import apply_preset

    in_app(client, lambda: apply_preset(name))


# --- permissions ---------------------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin",
    "/admin/plugins",
    "/admin/setup",
    "/admin/users",
    "/admin/users/new",
    "/admin/roles",
    "/admin/settings",
    "/admin/fields",
]


async def test_staff_get_403_on_every_admin_page_and_action(rapport_settings):
    from rapport.users.accounts import create_user

    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        in_app(client, lambda: create_user("staff@example.com", "Sam", PASSWORD, "staff"))
        token = await _sign_in(client, "staff@example.com")
        for url in ADMIN_PAGES:
            response = await client.get(url, headers={"accept": "text/html"})
            assert response.status_code == 403, url
            assert "You do not have access to this page." in response.text
        for url, data in [
            ("/admin/plugins/menu_demo/enable", {}),
            ("/admin/setup", {"preset": "custom"}),
            ("/admin/users", {"email": "x@example.com"}),
            ("/admin/roles", {"grant": "staff:users.manage"}),
            ("/admin/settings", {"theme": "default"}),
            ("/admin/fields", {"key": "x"}),
        ]:
            response = await client.post(url, data={**data, "_csrf_token": token})
            assert response.status_code == 403, url
        home = await client.get("/account")
        assert 'data-menu="admin"' not in home.text


async def test_a_user_with_only_users_manage_sees_only_the_users_sections(rapport_settings):
    from rapport.users.accounts import create_user
    from rapport.users.tables import RolePermission

    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        grant = RolePermission(role="manager", permission="users.manage")
        in_app(client, lambda: RolePermission.insert(grant).run())
        in_app(client, lambda: create_user("boss@example.com", "Boss", PASSWORD, "manager"))
        await _sign_in(client, "boss@example.com")
        index = await client.get("/admin")  # no business type yet, but not theirs to choose
        assert index.status_code == 200
        assert 'data-admin="users"' in index.text and 'data-admin="plugins"' not in index.text
        assert (await client.get("/admin/users")).status_code == 200
        assert (await client.get("/admin/settings")).status_code == 403


# --- plugins -------------------------------------------------------------------------------------


async def test_enabling_a_plugin_shows_its_menu_item_on_the_next_page_and_disabling_hides_it(
    rapport_settings,
):
    app = create_app(rapport_settings, _registry(_menu_plugin()))
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        listing = await client.get("/admin/plugins")
        assert 'data-plugin="menu_demo" data-state="disabled"' in listing.text
        assert "version 1.2.3" in listing.text and "Adds a menu item" in listing.text
        assert 'data-menu="menu_demo"' not in listing.text

        enabled = await client.post(
            "/admin/plugins/menu_demo/enable", data={"_csrf_token": token}, follow_redirects=False
        )
        assert enabled.status_code in (302, 303)
        after = await client.get(enabled.headers["location"])
        assert 'data-plugin="menu_demo" data-state="enabled"' in after.text
        assert "Enabled: menu_demo." in after.text
        assert 'data-menu="menu_demo"' in after.text
        assert 'data-menu="menu_demo"' in (await client.get("/account")).text

        disabled = await client.post(
            "/admin/plugins/menu_demo/disable", data={"_csrf_token": token}
        )
        assert disabled.status_code == 200
        assert 'data-plugin="menu_demo" data-state="disabled"' in disabled.text
        assert 'data-menu="menu_demo"' not in (await client.get("/account")).text


async def test_disabling_a_plugin_others_need_is_refused_with_their_names(rapport_settings):
    base = _menu_plugin("base_demo")
    top = _menu_plugin("top_demo", requires=("base_demo",))
    app = create_app(rapport_settings, _registry(base, top))
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        enabled = await client.post("/admin/plugins/top_demo/enable", data={"_csrf_token": token})
        assert "Enabled: base_demo, top_demo." in enabled.text  # requirements come along
        refused = await client.post("/admin/plugins/base_demo/disable", data={"_csrf_token": token})
        assert refused.status_code == 409
        assert "base_demo cannot be disabled: top_demo need it." in refused.text
        assert 'data-plugin="base_demo" data-state="enabled"' in refused.text
        unknown = await client.post("/admin/plugins/nothing/enable", data={"_csrf_token": token})
        assert unknown.status_code == 409
        assert "There is no installed plugin named nothing." in unknown.text


async def test_a_plugin_whose_set_up_fails_stays_off_and_the_page_says_why(rapport_settings):
    module = _menu_plugin("fragile_demo")

    @hookimpl
    def plugin_enabled(name):
        raise RuntimeError("seed data missing")

    module.plugin_enabled = plugin_enabled
    app = create_app(rapport_settings, _registry(module))
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        refused = await client.post(
            "/admin/plugins/fragile_demo/enable", data={"_csrf_token": token}
        )
        assert refused.status_code == 409
        assert (
            "fragile_demo could not be enabled: its set-up failed (RuntimeError)." in refused.text
        )
        assert 'data-plugin="fragile_demo" data-state="disabled"' in refused.text
        assert 'data-menu="fragile_demo"' not in (await client.get("/account")).text


async def test_a_quarantined_plugin_is_listed_with_its_reason_and_collapsible_traceback(
    rapport_settings,
):
    registry = _registry()
    registry.quarantined["broken_demo"] = QuarantinedPlugin(
        "broken_demo",
        "failed to import: ModuleNotFoundError: No module named 'missing_lib'",
        'Traceback (most recent call last):\n  File "broken_demo.py", line 1\n<script>',
    )
    app = create_app(rapport_settings, registry)
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        listing = await client.get("/admin/plugins")
        assert 'data-plugin="broken_demo" data-state="quarantined"' in listing.text
        assert "No module named &#39;missing_lib&#39;" in listing.text
        assert "<details" in listing.text and "Traceback (most recent call last)" in listing.text
        assert "&lt;script&gt;" in listing.text and "<script>" not in listing.text.split("<main")[1]
        refused = await client.post(
            "/admin/plugins/broken_demo/enable", data={"_csrf_token": token}
        )
        assert refused.status_code == 409
        assert "broken_demo is quarantined" in refused.text


# --- business-type wizard ------------------------------------------------------------------------


async def test_first_admin_visit_opens_the_wizard_and_applying_reports_enabled_and_missing(
    rapport_settings,
):
    app = create_app(rapport_settings, _registry(_menu_plugin()))
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        first = await client.get("/admin", follow_redirects=False)
        assert first.status_code in (302, 303) and first.headers["location"] == "/admin/setup"
        wizard = await client.get("/admin/setup")
        for preset in ("retail", "b2b", "services", "custom"):
            assert f'data-preset="{preset}"' in wizard.text
        assert "Retail and e-commerce" in wizard.text
        assert "not installed" in wizard.text  # loyalty_not_here

        bad = await client.post("/admin/setup", data={"preset": "nope", "_csrf_token": token})
        assert bad.status_code == 400 and "Pick one of the business types." in bad.text

        done = await client.post("/admin/setup", data={"preset": "retail", "_csrf_token": token})
        assert done.status_code == 200
        enabled = re.search(r'data-result="enabled">(.*?)</ul>', done.text, re.S).group(1)
        missing = re.search(r'data-result="missing">(.*?)</ul>', done.text, re.S).group(1)
        assert "Menu Demo" in enabled and "loyalty_not_here" in missing
        assert 'data-menu="menu_demo"' in done.text  # the preset's plugin is on at once

        index = await client.get("/admin", follow_redirects=False)
        assert index.status_code == 200 and "Now: Retail and e-commerce." in index.text
        again = await client.get("/admin/setup")  # the wizard can be re-run later
        assert 'value="retail" required' in again.text and "current" in again.text


# --- users and roles -----------------------------------------------------------------------------


async def test_creating_a_user_shows_field_errors_and_then_creates_them(rapport_settings):
    from rapport.users.accounts import authenticate

    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        form = {"name": "Nina", "role": "staff", "language": "ru", "password": "nina-pass-1"}
        bad = await client.post(
            "/admin/users", data={**form, "email": "not-an-email", "_csrf_token": token}
        )
        assert bad.status_code == 400
        assert 'id="email" name="email" type="email" value="not-an-email"' in bad.text
        assert 'aria-invalid="true" aria-describedby="email-error"' in bad.text
        assert re.search(r'id="email-error">Enter an email address', bad.text)
        assert 'value="Nina"' in bad.text  # nothing typed is lost

        short = await client.post(
            "/admin/users",
            data={**form, "email": "nina@example.com", "password": "short", "_csrf_token": token},
        )
        assert short.status_code == 400 and 'id="password-error"' in short.text

        created = await client.post(
            "/admin/users",
            data={**form, "email": "Nina@Example.com", "_csrf_token": token},
            follow_redirects=False,
        )
        assert created.status_code in (302, 303)
        listing = await client.get(created.headers["location"])
        assert 'data-user="nina@example.com"' in listing.text
        assert in_app(client, lambda: authenticate("nina@example.com", "nina-pass-1")) is not None

        duplicate = await client.post(
            "/admin/users", data={**form, "email": "nina@example.com", "_csrf_token": token}
        )
        assert "A user with this email exists." in duplicate.text


async def test_deactivating_a_user_ends_their_sessions_and_password_reset_works(rapport_settings):
    from rapport.users.accounts import authenticate, create_user
    from rapport.users.sessions import create_session, user_for_session
    from rapport.users.tables import User, UserSession

    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        staff = in_app(client, lambda: create_user("sam@example.com", "Sam", PASSWORD, "staff"))
        session = in_app(client, lambda: create_session(staff["id"]))
        edit = await client.get(f"/admin/users/{staff['id']}")
        assert "1 open session" in edit.text

        changed = await client.post(
            f"/admin/users/{staff['id']}",
            data={"name": "Sam S.", "role": "manager", "language": "ru", "_csrf_token": token},
            follow_redirects=False,
        )
        assert changed.status_code in (302, 303)
        row = in_app(client, lambda: User.select().where(User.id == staff["id"]).first().run())
        assert (row["name"], row["role"], row["language"], row["is_active"]) == (
            "Sam S.",
            "manager",
            "ru",
            False,
        )
        sessions = UserSession.count().where(UserSession.user == staff["id"])
        assert in_app(client, sessions.run) == 0
        assert in_app(client, lambda: user_for_session(session)) is None

        await client.post(
            f"/admin/users/{staff['id']}",
            data={"name": "Sam S.", "role": "staff", "is_active": "on", "_csrf_token": token},
        )
        reset = await client.post(
            f"/admin/users/{staff['id']}/password",
            data={"password": "brand-new-pass", "_csrf_token": token},
            follow_redirects=False,
        )
        assert reset.status_code in (302, 303)
        assert in_app(client, lambda: authenticate("sam@example.com", "brand-new-pass")) is not None
        too_short = await client.post(
            f"/admin/users/{staff['id']}/password", data={"password": "x", "_csrf_token": token}
        )
        assert too_short.status_code == 400 and 'id="password-error"' in too_short.text


async def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(rapport_settings):
    from rapport.users.tables import User

    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        me = in_app(
            client, User.select(User.id).where(User.email == "root@example.com").first().run
        )
        refused = await client.post(
            f"/admin/users/{me['id']}",
            data={"name": "Root", "role": "staff", "is_active": "on", "_csrf_token": token},
        )
        assert refused.status_code == 400 and "last active administrator" in refused.text
        role = User.select(User.role).where(User.id == me["id"]).first()
        assert in_app(client, role.run)["role"] == "admin"


async def test_the_role_matrix_grants_and_revokes_and_admin_keeps_everything(rapport_settings):
    from rapport.users.roles import permissions_of

    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        matrix = await client.get("/admin/roles")
        assert "Merge duplicate contacts" in matrix.text
        assert 'value="admin:users.manage"\n                 checked disabled' in matrix.text
        before = in_app(client, lambda: permissions_of("staff"))
        assert "contacts.export" not in before and "contacts.view" in before
        grants = [f"staff:{p}" for p in sorted(before - {"activities.log"})]
        grants += ["staff:contacts.export", "manager:contacts.view", "staff:not.declared"]
        saved = await client.post(
            "/admin/roles", data={"grant": grants, "_csrf_token": token}, follow_redirects=False
        )
        assert saved.status_code in (302, 303)
        after = in_app(client, lambda: permissions_of("staff"))
        assert "contacts.export" in after and "activities.log" not in after
        assert "not.declared" not in after
        assert in_app(client, lambda: permissions_of("manager")) == {"contacts.view"}
        page = await client.get("/admin/users")  # the admin still has every permission
        assert page.status_code == 200


# --- settings ------------------------------------------------------------------------------------


async def test_settings_are_validated_stored_and_applied_without_restart(rapport_settings):
    from rapport.runtime import current
    from rapport.users.visibility import visibility_mode

    settings_form = {
        "language": "ru",
        "phone_region": "de",
        "currency": "EUR",
        "record_visibility": "own",
        "theme": "default",
    }
    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        _set_business_type(client)
        bad = await client.post(
            "/admin/settings",
            data={**settings_form, "phone_region": "XX", "currency": "ZZZ", "_csrf_token": token},
        )
        assert bad.status_code == 400
        assert 'id="phone_region-error"' in bad.text and 'id="currency-error"' in bad.text
        assert current().settings.phone_region == "RU"

        saved = await client.post(
            "/admin/settings", data={**settings_form, "_csrf_token": token}, follow_redirects=False
        )
        assert saved.status_code in (302, 303)
        assert in_app(client, visibility_mode) == "own"
        assert (current().settings.language, current().settings.phone_region) == ("ru", "DE")
        assert current().settings.currency == "EUR"
        page = await client.get("/admin/settings")
        assert '<html lang="ru">' in page.text  # the admin has no language of their own
        assert '<option value="DE" selected>' in page.text
        assert (
            'id="record_visibility-own" name="record_visibility" value="own" checked' in page.text
        )

    # A restart reads the stored values back (the startup hook applies them).
    async with AsyncTestClient(create_app(rapport_settings, _registry())):
        assert current().settings.phone_region == "DE" and current().settings.language == "ru"


def _stylesheets(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


async def test_switching_the_theme_changes_the_stylesheet_on_the_next_page(rapport_settings):
    from rapport.web.themes import installed_themes

    if "dark" not in installed_themes():
        pytest.skip("rapport-theme-dark is not installed")
    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        before = await client.get("/account")
        assert "/static/themes/dark/dark.css" not in _stylesheets(before.text)
        saved = await client.post(
            "/admin/settings",
            data={
                "language": "en",
                "phone_region": "RU",
                "currency": "RUB",
                "record_visibility": "all",
                "theme": "dark",
                "_csrf_token": token,
            },
            follow_redirects=False,
        )
        assert saved.status_code in (302, 303)
        after = await client.get("/account")
        sheets = _stylesheets(after.text)
        assert "/static/themes/dark/dark.css" in sheets
        assert sheets.index("/static/rapport.css") < sheets.index("/static/themes/dark/dark.css")
        css = await client.get("/static/themes/dark/dark.css")
        assert css.status_code == 200 and "color-scheme: dark" in css.text
        # Error pages follow the theme too: the dark theme overrides error.html.
        missing = await client.get("/admin/users/999999", headers={"accept": "text/html"})
        assert missing.status_code == 404 and 'class="dark-panel"' in missing.text


async def test_a_theme_stored_by_another_process_is_picked_up_within_the_refresh_interval(
    rapport_settings, monkeypatch
):
    from rapport import settings_store
    from rapport.plugins.tables import InstanceSetting
    from rapport.web.themes import installed_themes

    if "dark" not in installed_themes():
        pytest.skip("rapport-theme-dark is not installed")
    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        await _admin(client)
        assert "dark.css" not in (await client.get("/account")).text
        # Written straight to the table, as another process would.
        row = InstanceSetting(key="theme", value='"dark"')
        in_app(client, InstanceSetting.insert(row).run)
        monkeypatch.setattr(settings_store, "REFRESH_INTERVAL", 0.0)
        assert "/static/themes/dark/dark.css" in (await client.get("/account")).text


# --- custom fields -------------------------------------------------------------------------------


async def test_custom_fields_are_created_validated_and_edited(rapport_settings):
    from rapport.contacts.custom_fields_store import declare_fields, defined_fields
    from rapport.contacts.tables import CustomFieldDefinition
    from rapport.web.pages.admin_fields import parse_choices

    assert parse_choices("a\n b ,a\n\nc") == ["a", "b", "c"]
    app = create_app(rapport_settings, _registry())
    async with AsyncTestClient(app) as client:
        token = await _admin(client)
        in_app(client, lambda: declare_fields([_plugin_field()], declared_by="loyalty"))
        bad = await client.post(
            "/admin/fields",
            data={"key": "Shoe Size", "label": "", "type": "choice", "_csrf_token": token},
        )
        assert bad.status_code == 400
        for name in ("key", "label", "choices"):
            assert f'id="{name}-error"' in bad.text, name

        created = await client.post(
            "/admin/fields",
            data={
                "key": "shoe_size",
                "label": "Shoe size",
                "type": "choice",
                "choices": "38\n39\n40",
                "_csrf_token": token,
            },
            follow_redirects=False,
        )
        assert created.status_code in (302, 303)
        fields = in_app(client, defined_fields)
        assert fields["shoe_size"].label == "Shoe size"
        assert fields["shoe_size"].choices == ("38", "39", "40")

        listing = await client.get(created.headers["location"])
        assert "Field shoe_size saved." in listing.text
        assert 'data-field="tier"' in listing.text and "Plugin: loyalty" in listing.text

        again = await client.post(
            "/admin/fields",
            data={"key": "shoe_size", "label": "Again", "type": "text", "_csrf_token": token},
        )
        assert "A field with this key exists." in again.text

        query = CustomFieldDefinition.select().where(CustomFieldDefinition.key == "shoe_size")
        row = in_app(client, query.first().run)
        edited = await client.post(
            f"/admin/fields/{row['id']}",
            data={
                "label": "Shoe (EU)",
                "choices": "39\n40\n41",
                "position": "-5",
                "_csrf_token": token,
            },
            follow_redirects=False,
        )
        assert edited.status_code in (302, 303)
        fields = in_app(client, defined_fields)
        assert fields["shoe_size"].label == "Shoe (EU)"
        assert fields["shoe_size"].choices == ("39", "40", "41")
        assert next(iter(fields)) == "shoe_size"  # position -5 sorts first


def _plugin_field():
    from rapport.contacts.custom_fields import CustomField

    return CustomField("tier", "Loyalty tier", "choice", ("silver", "gold"))


# --- the page in Russian -------------------------------------------------------------------------


async def test_admin_pages_come_out_in_russian_for_a_russian_admin(rapport_settings):
    from rapport.users.accounts import create_user

    app = create_app(rapport_settings, _registry(_menu_plugin()))
    async with AsyncTestClient(app) as client:
        in_app(client, lambda: create_user("ru@example.com", "Ру", PASSWORD, "admin", "ru"))
        await _sign_in(client, "ru@example.com")
        wizard = await client.get("/admin")
        assert "Какой у вас бизнес?" in wizard.text and "Розница и интернет-магазины" in wizard.text
        _set_business_type(client)
        for url in [
            "/admin",
            "/admin/plugins",
            "/admin/users",
            "/admin/users/new",
            "/admin/roles",
            "/admin/settings",
            "/admin/fields",
        ]:
            response = await client.get(url)
            assert response.status_code == 200, url
            assert "Администрирование" in response.text, url
