"""Settings: environment over rapport.toml over defaults; the secret key is made once."""

import stat

import pytest
from rapport.settings import SettingsError, load_settings


def test_defaults_put_sqlite_and_secret_in_the_data_dir(tmp_path):
    settings = load_settings(tmp_path, env={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'rapport.sqlite3'}"
    assert settings.phone_region == "RU" and settings.currency == "RUB"
    secret_file = tmp_path / "secret_key"
    assert secret_file.read_text() == settings.secret_key and len(settings.secret_key) >= 48
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert load_settings(tmp_path, env={}).secret_key == settings.secret_key


def test_file_then_environment(tmp_path):
    (tmp_path / "rapport.toml").write_text(
        'phone_region = "GB"\ncurrency = "GBP"\nlanguage = "ru"\ntheme = "dark"\n'
    )
    from_file = load_settings(tmp_path, env={})
    assert (from_file.phone_region, from_file.currency, from_file.language) == ("GB", "GBP", "ru")
    assert from_file.extra == {"theme": "dark"}
    env = {
        "RAPPORT_PHONE_REGION": "de",
        "DATABASE_URL": "postgresql://u@db/x",
        "LANGUAGE": "fr",  # the shell's variable, not ours
        "RAPPORT_SECRET_KEY": "k" * 40,
    }
    overridden = load_settings(tmp_path, env=env)
    assert overridden.phone_region == "DE"
    assert overridden.database_url == "postgresql://u@db/x"
    assert overridden.language == "ru"
    assert overridden.secret_key == "k" * 40


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('phone_region = "XX"', "phone_region"),
        ('currency = "EURO"', "currency"),
        ('language = "xx_YY_ZZ"', "language"),
        ("phone_region = ", "rapport.toml"),
    ],
)
def test_bad_values_name_the_setting(tmp_path, text, field):
    (tmp_path / "rapport.toml").write_text(text + "\n")
    with pytest.raises(SettingsError, match=field):
        load_settings(tmp_path, env={})


async def test_running_starts_and_stops_rapport_for_a_script(rapport_settings):
    from rapport.api import create_contact, get_contact, running
    from rapport.runtime import current

    async with running(rapport_settings) as runtime:
        assert current() is runtime
        contact_id = await create_contact({"first_name": "Script"})
        assert (await get_contact(contact_id))["name"] == "Script"
    with pytest.raises(RuntimeError):
        current()
