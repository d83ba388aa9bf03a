"""Library errors raised anywhere in an app answer their documented status and shape."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_better_auth import ConfigurationError, add_exception_handlers
from fastapi_better_auth._errors import BetterAuthError
from fastapi_better_auth.errors import (
    DatabaseUnavailableError,
    InvalidTokenError,
    UserBannedError,
)


def _app(error: BetterAuthError) -> FastAPI:
    app = FastAPI()
    add_exception_handlers(app)

    @app.get("/service")
    async def service() -> None:  # e.g. a service call of the app's own that raises
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status", "code", "header"),
    [
        (UserBannedError(), 403, "USER_BANNED", None),
        (InvalidTokenError("bad"), 401, "INVALID_TOKEN", "www-authenticate"),
        (DatabaseUnavailableError(), 503, "DATABASE_UNAVAILABLE", "retry-after"),
        (ConfigurationError("secret=abc"), 500, "CONFIGURATION_ERROR", None),
    ],
)
def test_a_library_error_from_an_apps_own_route_is_its_documented_answer(
    error: BetterAuthError, status: int, code: str, header: str | None
) -> None:
    with TestClient(_app(error), raise_server_exceptions=False) as client:
        response = client.get("/service")
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code and isinstance(detail["message"], str)
    assert "Traceback" not in response.text
    if header is not None:
        assert header in response.headers


def test_configuration_error_message_is_not_sent_to_the_client() -> None:
    """A misconfiguration is the operator's business: the client gets the code only."""
    with TestClient(
        _app(ConfigurationError("BETTER_AUTH_SECRET=abc is too short")),
        raise_server_exceptions=False,
    ) as client:
        body = client.get("/service").json()
    assert "abc" not in body["detail"]["message"]
