"""Settings come from BETTER_AUTH_* at startup, derive what Better-Auth signs, and hide secrets."""

import logging

import pytest

from fastapi_better_auth import BetterAuthSettings, ConfigurationError, SchemaNaming
from fastapi_better_auth._settings import async_database_url

BASE = {"url": "https://auth.example.com/", "database_url": "sqlite://"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("BETTER_AUTH_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmp_path))  # no stray .env file


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BETTER_AUTH_URL", "http://127.0.0.1:3005")
    monkeypatch.setenv("BETTER_AUTH_SECRET", "s3cr3t-value")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@db:5432/app")
    monkeypatch.setenv("BETTER_AUTH_ADMIN_ROLES", "admin, owner")
    monkeypatch.setenv("BETTER_AUTH_JWT_ALGORITHMS", '["EdDSA", "ES256"]')
    monkeypatch.setenv(
        "BETTER_AUTH_FIELD_NAMES", '{"user": {"emailVerified": "email_verified"}}'
    )
    settings = BetterAuthSettings.load()
    assert settings.origin == "http://127.0.0.1:3005"
    assert settings.admin_roles == frozenset({"admin", "owner"})
    assert settings.jwt_algorithms == frozenset({"EdDSA", "ES256"})
    assert settings.sqlalchemy_url == "postgresql+asyncpg://u:pw@db:5432/app"
    assert settings.naming.column("user", "emailVerified") == "email_verified"


def test_serial_ids_and_epoch_dates_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BETTER_AUTH_ID_TYPE", "serial")
    monkeypatch.setenv("BETTER_AUTH_SQLITE_DATES", "epoch_ms")
    naming = BetterAuthSettings.load(**BASE).naming
    assert (naming.id_type, naming.sqlite_dates) == ("serial", "epoch_ms")


def test_better_auth_database_url_wins_over_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://a/a")
    monkeypatch.setenv("BETTER_AUTH_DATABASE_URL", "postgres://b/b")
    assert BetterAuthSettings.load(url="http://x").sqlalchemy_url.endswith("//b/b")


def test_missing_variables_are_named_in_one_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        BetterAuthSettings.load()
    assert "BETTER_AUTH_URL" in info.value.message
    assert "BETTER_AUTH_DATABASE_URL" in info.value.message


def test_missing_database_url_is_named_once_not_prefixed_twice() -> None:
    with pytest.raises(ConfigurationError) as info:
        BetterAuthSettings.load(url="http://x")
    assert info.value.message == (
        "invalid settings: BETTER_AUTH_DATABASE_URL: Field required"
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"url": "not a url"}, "BETTER_AUTH_URL"),
        ({"jwt_algorithms": "HS256"}, "BETTER_AUTH_JWT_ALGORITHMS"),
        ({"jwt_algorithms": ""}, "BETTER_AUTH_JWT_ALGORITHMS"),
        ({"freshness": "sometimes"}, "BETTER_AUTH_FRESHNESS"),
        ({"model_names": {"users": "x"}}, "unknown Better-Auth model"),
        ({"id_type": "integer"}, "BETTER_AUTH_ID_TYPE"),
        ({"sqlite_dates": "timestamp"}, "BETTER_AUTH_SQLITE_DATES"),
        ({"api_key_headers": " , "}, "BETTER_AUTH_API_KEY_HEADERS"),
        ({"redis_url": "http://u:pw@cache:6379"}, "BETTER_AUTH_REDIS_URL"),
    ],
)
def test_invalid_values_fail_at_startup_naming_the_variable(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable) as raised:
        BetterAuthSettings.load(**{**BASE, **overrides})
    assert "pw" not in str(raised.value)  # a URL's password is never named


def test_issuer_audience_and_jwks_url_derive_from_the_origin() -> None:
    settings = BetterAuthSettings.load(**BASE)
    assert settings.expected_issuer == "https://auth.example.com"
    assert settings.expected_audiences == frozenset({"https://auth.example.com"})
    assert settings.resolved_jwks_url == "https://auth.example.com/api/auth/jwks"
    assert settings.all_trusted_origins == frozenset({"https://auth.example.com"})
    assert settings.naming == SchemaNaming()


def test_explicit_issuer_audience_jwks_url_and_origins() -> None:
    settings = BetterAuthSettings.load(
        **BASE,
        issuer="https://issuer",
        audience="api-a,api-b",
        jwks_url="https://keys.example.com/jwks.json",
        trusted_origins=["https://app.example.com/"],
    )
    assert settings.expected_issuer == "https://issuer"
    assert settings.expected_audiences == frozenset({"api-a", "api-b"})
    assert settings.resolved_jwks_url == "https://keys.example.com/jwks.json"
    assert "https://app.example.com" in settings.all_trusted_origins


def test_secrets_never_appear_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    settings = BetterAuthSettings.load(
        url="http://x",
        secret="top-secret-value",
        database_url="postgres://u:hunter2@h/d",
    )
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings %s %r", settings, settings)
    for text in (repr(settings), str(settings), caplog.text):
        assert "top-secret-value" not in text
        assert "hunter2" not in text


def test_settings_are_frozen() -> None:
    settings = BetterAuthSettings.load(**BASE)
    with pytest.raises(Exception, match="frozen"):
        settings.url = "http://other"  # type: ignore[assignment,misc]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///./a.db", "sqlite+aiosqlite:///./a.db"),
        ("file:./a.db", "sqlite+aiosqlite:///./a.db"),
        ("weird", "weird"),
    ],
)
def test_async_database_url_picks_the_async_driver(given: str, expected: str) -> None:
    assert async_database_url(given) == expected


def test_an_unknown_keyword_fails_naming_it_and_the_closest_setting() -> None:
    """A typo in a keyword must not be ignored (the environment's other variables still are)."""
    for make in (BetterAuthSettings.load, BetterAuthSettings):
        with pytest.raises(ConfigurationError) as info:
            make(url="http://x", database_url="sqlite:///x.db", freshnes="push")
        assert info.value.message == (
            "unknown setting 'freshnes' (did you mean 'freshness'?): "
            "BetterAuthSettings takes the names of docs/configuration.md"
        )


def test_the_database_url_aliases_are_known_keywords() -> None:
    settings = BetterAuthSettings.load(url="http://x", DATABASE_URL="sqlite:///x.db")
    assert settings.database_url.get_secret_value() == "sqlite:///x.db"
