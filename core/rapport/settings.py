"""Instance settings: environment variables over an optional ``rapport.toml`` over defaults.

Only what a process needs before it can reach the database lives here. What administrators
change at run time (enabled plugins, record visibility, the chosen theme) lives in the
database, so that every process of an instance sees the same thing.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "RAPPORT_"
CONFIG_FILE = "rapport.toml"
SECRET_FILE = "secret_key"
UNPREFIXED = {"database_url", "redis_url"}


class SettingsError(ValueError):
    """A setting has a value Rapport cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    phone_region: str = "RU"
    currency: str = "RUB"
    language: str = "en"
    redis_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def default_data_dir() -> Path:
    return Path(os.environ.get("RAPPORT_DATA_DIR", "rapport-data")).resolve()


def _read_toml(data_dir: Path) -> dict[str, Any]:
    path = data_dir / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from exc


def _secret_key(data_dir: Path, configured: str | None) -> str:
    """Return the configured key, or the one stored in the data directory, creating it once."""
    if configured:
        return configured
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions; the key signs sessions and tokens.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _check_region(region: str) -> str:
    import phonenumbers

    region = region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(
            f"phone_region: {region!r} is not an ISO 3166 region phonenumbers knows"
        )
    return region


def _check_currency(code: str) -> str:
    from babel.numbers import get_currency_name

    code = code.upper()
    if len(code) != 3 or get_currency_name(code) == code:
        raise SettingsError(f"currency: {code!r} is not an ISO 4217 currency code")
    return code


def _check_language(code: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError) as exc:
        raise SettingsError(f"language: {code!r} is not a locale Babel knows") from exc
    return code


def load_settings(
    data_dir: Path | str | None = None, env: dict[str, str] | None = None
) -> Settings:
    """Build the settings: environment first, then ``<data_dir>/rapport.toml``, then defaults."""
    env = dict(os.environ if env is None else env)
    base = (
        Path(data_dir).resolve()
        if data_dir
        else Path(env.get("RAPPORT_DATA_DIR", "rapport-data")).resolve()
    )
    file_values = _read_toml(base)

    def pick(name: str, default: Any = None) -> Any:
        # DATABASE_URL and REDIS_URL are read unprefixed too, as hosting platforms set them;
        # the others are not, since LANGUAGE and the like mean something else to the shell.
        keys = [f"{ENV_PREFIX}{name.upper()}"]
        if name in UNPREFIXED:
            keys.append(name.upper())
        for key in keys:
            if key in env and env[key] != "":
                return env[key]
        return file_values.get(name, default)

    database_url = pick("database_url") or f"sqlite:///{base / 'rapport.sqlite3'}"
    known = {"database_url", "secret_key", "phone_region", "currency", "language", "redis_url"}
    return Settings(
        data_dir=base,
        database_url=database_url,
        secret_key=_secret_key(base, pick("secret_key")),
        phone_region=_check_region(pick("phone_region", "RU")),
        currency=_check_currency(pick("currency", "RUB")),
        language=_check_language(pick("language", "en")),
        redis_url=pick("redis_url"),
        extra={k: v for k, v in file_values.items() if k not in known},
    )
