"""Role strings are split and joined exactly as Better-Auth stores them."""

import pytest

from fastapi_better_auth import AuthenticatedUser
from fastapi_better_auth._policy import join_roles, parse_roles


@pytest.mark.parametrize(
    ("stored", "roles"),
    [
        (None, set()),
        ("", set()),
        ("admin", {"admin"}),
        ("user,admin", {"user", "admin"}),
        # Better-Auth's admin plugin: split(","), untrimmed and case-sensitive
        (" a , ,b ", {" a ", " ", "b "}),
        ("user, admin", {"user", " admin"}),
        ("ADMIN", {"ADMIN"}),
    ],
)
def test_parse_roles_splits_comma_joined_roles(
    stored: str | None, roles: set[str]
) -> None:
    assert parse_roles(stored) == roles


def test_join_roles_is_comma_joined_without_spaces_or_duplicates() -> None:
    assert join_roles(["user", " admin", "user", ""]) == "user,admin"


def test_authenticated_user_roles_property() -> None:
    user = AuthenticatedUser(
        id="u", email="a@b.c", name="A", email_verified=True, role="user,admin"
    )
    assert user.roles == frozenset({"user", "admin"})
