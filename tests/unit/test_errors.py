"""The error tree: stable codes, statuses, challenge headers, readable reprs."""

import pytest

from fastapi_better_auth import BetterAuthError, ErrorCode
from fastapi_better_auth.errors import (
    AuthenticationError,
    DatabaseUnavailableError,
    InvalidTokenError,
    PermissionDeniedError,
    SessionStoreUnavailableError,
    TokenExpiredError,
    UserBannedError,
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (AuthenticationError(), 401, "NOT_AUTHENTICATED"),
        (TokenExpiredError(), 401, "TOKEN_EXPIRED"),
        (UserBannedError(), 403, "USER_BANNED"),
        (DatabaseUnavailableError(), 503, "DATABASE_UNAVAILABLE"),
        (SessionStoreUnavailableError(), 503, "SESSION_STORE_UNAVAILABLE"),
    ],
)
def test_error_status_and_code_are_class_attributes(
    error: BetterAuthError, status: int, code: str
) -> None:
    assert error.status_code == status
    assert error.code == ErrorCode(code)
    assert str(error.code) == code


def test_message_defaults_to_docstring_summary() -> None:
    assert TokenExpiredError().message == "The token has expired."
    assert TokenExpiredError("custom").message == "custom"


def test_challenges_follow_rfc_6750() -> None:
    assert AuthenticationError().http_headers() == {"WWW-Authenticate": "Bearer"}
    assert InvalidTokenError().http_headers() == {
        "WWW-Authenticate": 'Bearer error="invalid_token"'
    }
    assert PermissionDeniedError().http_headers() == {}
    assert DatabaseUnavailableError(retry_after=7).http_headers() == {
        "Retry-After": "7"
    }


def test_repr_shows_code_and_message() -> None:
    assert (
        repr(UserBannedError())
        == "UserBannedError(code='USER_BANNED', message='The user is banned.')"
    )
