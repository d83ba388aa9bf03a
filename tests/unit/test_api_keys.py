"""The API-key rules that need no database: hashing, permissions, snapshots, settings, guards."""

from types import SimpleNamespace
from typing import Any

import pytest

from fastapi_better_auth import BetterAuthSettings, ConfigurationError
from fastapi_better_auth._errors import ApiKeyRateLimitedError
from fastapi_better_auth.api_keys import hash_api_key, require_api_key_permission
from fastapi_better_auth.api_keys._permissions import permissions_allow
from fastapi_better_auth.api_keys._verify import _config_matches, info_of
from fastapi_better_auth.testing import make_api_key

BASE = {"url": "http://127.0.0.1:3005", "database_url": "sqlite:///x.db"}


def test_hash_is_the_plugins_default_key_hasher() -> None:
    # node -e 'crypto.createHash("sha256").update("XmEiPnTestKey-ü").digest("base64url")'
    assert (
        hash_api_key("XmEiPnTestKey-ü") == "P1HrU1vJN_xclhtqbl7YHv6BRCdLUlSmv0J5SEgahvY"
    )


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        ({"files": ["read", "write"]}, {"files": ["read"]}, True),
        (
            {"files": ["read"], "logs": ["read"]},
            {"files": ["read"], "logs": ["read"]},
            True,
        ),
        ({"files": ["read"]}, {"files": ["read", "write"]}, False),
        ({"files": ["read"]}, {"logs": ["read"]}, False),
        ({"files": ["read"]}, {"files": []}, False),
        ({"files": ["read"]}, {}, False),
        ({"files": "read"}, {"files": ["read"]}, False),
        (None, {"files": ["read"]}, False),
        (["files"], {"files": ["read"]}, False),
    ],
)
def test_permissions_follow_better_auths_role_authorize(
    granted: Any, required: dict[str, list[str]], allowed: bool
) -> None:
    assert permissions_allow(granted, required) is allowed


@pytest.mark.parametrize(
    ("key_config", "expected", "matches"),
    [
        ("default", None, True),
        (None, "default", True),
        ("", "default", True),
        ("partners", "partners", True),
        ("partners", "default", False),
        ("default", "partners", False),
    ],
)
def test_config_ids_match_as_the_plugin_compares_them(
    key_config: str | None, expected: str | None, matches: bool
) -> None:
    assert _config_matches(key_config, expected) is matches


def test_snapshot_parses_json_columns_and_leaves_the_hash_out() -> None:
    row, key = make_api_key("u1", permissions={"files": ["read"]})
    info = info_of(SimpleNamespace(**{**_columns(row), "metadata_": '"{\\"a\\": 1}"'}))
    assert info.metadata == {"a": 1}  # stringified twice by older plugin versions
    assert info.permissions == {"files": ["read"]}
    assert key not in info.model_dump_json()
    assert row.key not in info.model_dump_json()
    broken = info_of(SimpleNamespace(**{**_columns(row), "permissions": "{not json"}))
    assert broken.permissions is None


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.c}


def test_api_key_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BETTER_AUTH_API_KEY_HEADERS", "X-Api-Key, x-partner-key")
    monkeypatch.setenv("BETTER_AUTH_API_KEY_HASHING", "false")
    settings = BetterAuthSettings.load(**BASE)
    assert settings.api_key_headers == ("x-api-key", "x-partner-key")
    assert settings.api_key_hashing is False
    monkeypatch.setenv("BETTER_AUTH_API_KEY_HEADERS", '["a", "b"]')
    assert BetterAuthSettings.load(**BASE).api_key_headers == ("a", "b")
    assert BetterAuthSettings.load(**BASE, api_key_headers=["X-K"]).api_key_headers == (
        "x-k",
    )


def test_no_api_key_header_fails_at_start_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="API_KEY_HEADERS"):
        BetterAuthSettings.load(**BASE, api_key_headers=" , ")


def test_permission_guards_memoise_and_refuse_bad_arguments() -> None:
    first = require_api_key_permission({"files": ["read", "write"], "logs": ["read"]})
    again = require_api_key_permission({"logs": ["read"], "files": ["write", "read"]})
    assert first is again
    bad_arguments: list[Any] = [
        {},
        {"files": []},
        {"files": "read"},
        {"files": [1]},
        ["files"],
    ]
    for bad in bad_arguments:
        with pytest.raises(ValueError, match="require_api_key_permission"):
            require_api_key_permission(bad)


def test_rate_limited_error_rounds_retry_after_up_to_seconds() -> None:
    assert ApiKeyRateLimitedError(retry_after_ms=1).http_headers() == {
        "Retry-After": "1"
    }
    assert ApiKeyRateLimitedError(retry_after_ms=86_399_001).http_headers() == {
        "Retry-After": "86400"
    }


def test_apikey_table_follows_the_naming_settings() -> None:
    from fastapi_better_auth.api_keys import get_api_key_model

    settings = BetterAuthSettings.load(
        **BASE,
        model_names={"apikey": "api_keys"},
        field_names={"apikey": {"referenceId": "owner_id"}},
        column_case="snake",
    )
    table = get_api_key_model(settings.naming).__table__  # type: ignore[attr-defined]
    assert table.name == "api_keys"
    assert table.c.reference_id.name == "owner_id"
    assert table.c.rate_limit_max.name == "rate_limit_max"
    assert table.c.metadata_.name == "metadata"
