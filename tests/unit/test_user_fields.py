"""Declaring the user's own columns: Better-Auth names and types from a class or the setting."""

import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from fastapi_better_auth import (
    AuthenticatedUser,
    BetterAuth,
    BetterAuthSettings,
    ConfigurationError,
)
from fastapi_better_auth._snapshots import user_from_claims
from fastapi_better_auth._user_fields import CORE, UserField, UserFields

CORE_VALUES: dict[str, Any] = {
    "id": "u1",
    "email": "a@example.com",
    "name": "A",
    "email_verified": True,
}


class AppUser(AuthenticatedUser):
    plan: str = "free"
    seats: int = 1
    ratio: float | None = None
    price: Decimal | None = None
    two_factor_enabled: bool = False
    trial_ends_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    scores: tuple[int, ...] = ()
    flags: frozenset[bool] = frozenset()
    tier: Literal["a", "b"] | None = None
    is_vip: Annotated[bool, Field(json_schema_extra={"better_auth_field": "isVIP"})] = (
        False
    )
    hidden: str | None = Field(default=None, exclude=True)
    levels: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)
    code: int | str | None = None


def test_a_subclass_maps_attributes_to_better_auth_names_and_types() -> None:
    fields = UserFields.of(AppUser)
    assert fields.model is AppUser
    assert fields.source == "user_model=AppUser"
    assert fields.fields == (
        UserField("plan", "plan", "string"),
        UserField("seats", "seats", "number"),
        UserField("ratio", "ratio", "number"),
        UserField("price", "price", "number"),
        UserField("two_factor_enabled", "twoFactorEnabled", "boolean"),
        UserField("trial_ends_at", "trialEndsAt", "date"),
        UserField("tags", "tags", "string[]"),
        UserField("scores", "scores", "number[]"),
        UserField("flags", "flags", "string[]"),
        UserField("tier", "tier", "string"),
        UserField("is_vip", "isVIP", "boolean"),
        UserField("hidden", "hidden", "string"),
        UserField("levels", "levels", "number[]"),
        UserField("code", "code", "string"),
    )
    assert UserFields.of(AuthenticatedUser).fields == ()


def test_a_field_without_default_is_refused() -> None:
    class Required(AuthenticatedUser):
        plan: str

    with pytest.raises(ConfigurationError, match="user_model=Required: field 'plan'"):
        UserFields.of(Required)


def test_a_class_that_is_no_authenticated_user_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must subclass AuthenticatedUser"):
        UserFields.of(dict)  # type: ignore[arg-type]


def test_build_converts_stored_forms_and_keeps_defaults_for_null() -> None:
    fields = UserFields.of(AppUser)
    user = fields.build(
        CORE_VALUES,
        {"two_factor_enabled": 1, "tags": '["x", "y"]', "scores": "[1, 2]",
         "trial_ends_at": "2031-01-02T03:04:05.678Z", "plan": None, "flags": "nope"},
    )  # fmt: skip
    assert isinstance(user, AppUser)
    assert user.two_factor_enabled is True
    assert user.tags == ["x", "y"]
    assert user.scores == (1, 2)
    assert user.trial_ends_at == datetime(2031, 1, 2, 3, 4, 5, 678000, timezone.utc)
    assert user.plan == "free"
    assert user.flags == frozenset()  # not JSON: refused, so the default
    assert "hidden" not in user.model_dump()


def test_build_reads_a_naive_timestamp_as_utc() -> None:
    naive = datetime(
        2031, 1, 2, 3, 4, 5
    )  # a "timestamp" column holds UTC without a zone
    user = UserFields.of(AppUser).build(CORE_VALUES, {"trial_ends_at": naive})
    assert user.trial_ends_at == naive.replace(tzinfo=timezone.utc)  # type: ignore[attr-defined]


def test_build_replaces_refused_values_and_logs_names_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fields = UserFields.of(AppUser)
    with caplog.at_level(logging.WARNING):
        user = fields.build(CORE_VALUES, {"tier": "secret-value", "seats": 3})
    assert (user.tier, user.seats) == (None, 3)  # type: ignore[attr-defined]
    assert "secret-value" not in caplog.text
    assert caplog.records[0].fields == ["tier"]  # type: ignore[attr-defined]


def test_core_build_is_the_plain_snapshot() -> None:
    user = CORE.build(CORE_VALUES, {})
    assert type(user) is AuthenticatedUser


def test_setting_map_builds_an_optional_field_per_entry() -> None:
    fields = UserFields.from_setting(
        {"plan": "string", "twoFactorEnabled": "boolean", "credits": "number",
         "tags": "string[]", "scores": "number[]", "trialEndsAt": "date"}
    )  # fmt: skip
    assert fields.source == "BETTER_AUTH_USER_FIELDS"
    assert [f.attribute for f in fields.fields] == [
        "plan", "two_factor_enabled", "credits", "tags", "scores", "trial_ends_at"
    ]  # fmt: skip
    user = fields.build(CORE_VALUES, {"credits": 5, "scores": "[1.5, 2]"})
    dumped = user.model_dump(mode="json")
    assert dumped["credits"] == 5
    assert dumped["scores"] == [1.5, 2]
    assert dumped["plan"] is None
    assert UserFields.from_setting({}) is CORE
    # the same setting, the same class: the queries built on it are cached once
    assert UserFields.from_setting({"plan": "string"}) is UserFields.from_setting(
        {"plan": "string"}
    )


@pytest.mark.parametrize("name", ["role", "emailVerified", "not-an-identifier"])
def test_setting_map_refuses_core_and_invalid_names(name: str) -> None:
    with pytest.raises(ConfigurationError, match="BETTER_AUTH_USER_FIELDS"):
        UserFields.from_setting({name: "string"})


def test_settings_read_the_map_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BETTER_AUTH_USER_FIELDS", '{"plan": "string", "n": "number"}')
    settings = BetterAuthSettings.load(url="http://x", database_url="sqlite://")
    assert settings.user_fields == {"plan": "string", "n": "number"}
    monkeypatch.setenv("BETTER_AUTH_USER_FIELDS", '{"plan": "json"}')
    with pytest.raises(ConfigurationError, match="BETTER_AUTH_USER_FIELDS"):
        BetterAuthSettings.load(url="http://x", database_url="sqlite://")


def test_runtime_refuses_both_a_class_and_the_setting() -> None:
    settings = BetterAuthSettings.load(
        url="http://x",
        database_url="sqlite+aiosqlite://",
        user_fields={"plan": "string"},
    )
    with pytest.raises(ConfigurationError, match="declare the fields in one"):
        BetterAuth(settings, user_model=AppUser)
    assert BetterAuth(settings).user_fields.fields[0].name == "plan"


def test_claims_fill_the_declared_fields() -> None:
    claims = {"sub": "u1", "email": "a@example.com", "plan": "pro", "isVIP": True,
              "tags": ["a"], "trialEndsAt": "2031-01-02T03:04:05.000Z"}  # fmt: skip
    user = user_from_claims(claims, UserFields.of(AppUser))
    assert isinstance(user, AppUser)
    assert (user.plan, user.is_vip, user.tags) == ("pro", True, ["a"])
    assert user.trial_ends_at == datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert type(user_from_claims(claims)) is AuthenticatedUser
