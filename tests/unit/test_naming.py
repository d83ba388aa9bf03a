"""SchemaNaming turns Better-Auth's naming options into physical names."""

import pytest

from fastapi_better_auth import SchemaNaming
from fastapi_better_auth._naming import to_camel, to_snake
from fastapi_better_auth.models import User, get_models


def test_default_naming_is_better_auths_own() -> None:
    naming = SchemaNaming()
    assert naming.table("user") == "user"
    assert naming.column("user", "emailVerified") == "emailVerified"


def test_plural_appends_s_after_custom_model_name() -> None:
    naming = SchemaNaming.from_mappings(
        use_plural=True, model_names={"session": "user_session"}
    )
    assert naming.table("user") == "users"
    assert naming.table("session") == "user_sessions"


def test_field_names_win_over_column_case() -> None:
    naming = SchemaNaming.from_mappings(
        column_case="snake", field_names={"user": {"emailVerified": "verified"}}
    )
    assert naming.column("user", "emailVerified") == "verified"
    assert naming.column("user", "banExpires") == "ban_expires"
    assert naming.column("session", "id") == "id"


def test_from_mappings_unknown_model_raises() -> None:
    with pytest.raises(ValueError, match="unknown Better-Auth model"):
        SchemaNaming.from_mappings(model_names={"users": "x"})


def test_from_mappings_equal_inputs_give_equal_hashable_namings() -> None:
    a = SchemaNaming.from_mappings(field_names={"user": {"b": "2", "a": "1"}})
    b = SchemaNaming.from_mappings(field_names={"user": {"a": "1", "b": "2"}})
    assert a == b
    assert hash(a) == hash(b)


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("emailVerified", "email_verified"),
        ("id", "id"),
        ("accessTokenExpiresAt", "access_token_expires_at"),
    ],
)
def test_case_conversions_round_trip(camel: str, snake: str) -> None:
    assert to_snake(camel) == snake
    assert to_camel(snake) == camel


def test_get_models_default_returns_module_classes_and_caches_others() -> None:
    assert get_models().user is User
    naming = SchemaNaming.from_mappings(use_plural=True)
    models = get_models(naming)
    assert models is get_models(SchemaNaming.from_mappings(use_plural=True))
    assert models.user.__table__.name == "users"  # type: ignore[attr-defined]
    assert models.session.__table__.c.user_id.references(models.user.__table__.c.id)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "valid"),
    [("1", True), ("0", True), ("2147483647", True), ("2147483648", False),
     ("007", False), ("-1", False), ("+1", False), ("1.0", False), (" 1", False),
     ("1\n", False), ("abc", False), ("", False), ("\u0661", False)],
)  # fmt: skip
def test_serial_ids_are_canonical_decimals_in_integer_range(
    value: str, valid: bool
) -> None:
    """Better-Auth prints serial ids as plain decimals; any other form names no row."""
    assert SchemaNaming(id_type="serial").valid_id(value) is valid
    assert SchemaNaming().valid_id(value) is True


def test_serial_and_epoch_ms_naming_maps_ids_and_dates() -> None:
    from fastapi_better_auth._types import SerialId, UTCEpochMsDateTime

    models = get_models(
        SchemaNaming.from_mappings(id_type="serial", sqlite_dates="epoch_ms")
    )
    from sqlalchemy import inspect

    session = inspect(models.session).local_table.c
    assert isinstance(session["id"].type, SerialId)
    assert isinstance(session["user_id"].type, SerialId)
    assert session["id"].default is None  # numbered by the database
    assert isinstance(session["expires_at"].type, UTCEpochMsDateTime)
    assert not isinstance(session["token"].type, SerialId)
