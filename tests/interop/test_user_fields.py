"""The user's own columns written by a real Better-Auth 1.7.25, read typed through our API.

Better-Auth runs with ``BA_EXTRA_FIELDS=1`` (``examples/better-auth-server/auth.mjs``):
``user.additionalFields`` ``plan`` (default "free"), ``locale``, ``tags`` (``string[]``),
``trialEndsAt`` (``date``), and the ``username`` and ``twoFactor`` plugins. A user signs up
with a username and fields, changes one through ``/update-user`` and turns two-factor on; the
example app of ``examples/user_fields.py`` then reads them from ``/api/v1/auth/me`` with every
credential, under the default naming on PostgreSQL and snake_case + plural tables on SQLite,
and from the JWT's claims alone with ``freshness="never"``.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples.user_fields import create_app
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_better_auth import (
    BetterAuthSettings,
    ConfigurationError,
    better_auth_router,
)
from tests.interop.ba_server import (
    PASSWORD,
    BetterAuthServer,
    cookie_from,
    running_better_auth,
)
from tests.interop.flow import (
    KINDS,
    Login,
    app_settings,
    pg_database,
    require_node,
    sign_in,
    unique_email,
)
from tests.pg import PostgresServer

pytestmark = pytest.mark.interop
require_node()

SNAKE_PLURAL = {"use_plural": True, "column_case": "snake"}
TRIAL = "2031-01-02T03:04:05.678Z"


@pytest.fixture(scope="module", params=["postgres-default", "sqlite-snake-plural"])
def rig(
    request: pytest.FixtureRequest,
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BetterAuthServer, str, dict[str, Any]]]:
    """Better-Auth with the extra fields on a new database; its URL and our naming options."""
    with contextlib.ExitStack() as stack:
        env = {"BA_EXTRA_FIELDS": "1"}
        if request.param == "postgres-default":
            name = stack.enter_context(pg_database(postgres, "fields"))
            url, options = postgres.url(name), {}
        else:
            path = Path(tmp_path_factory.mktemp("fields")) / "ba.db"
            url, options = f"sqlite+aiosqlite:///{path}", SNAKE_PLURAL
            env["BA_NAMING"] = "snake_plural"
        server = stack.enter_context(running_better_auth(url, env=env))
        yield server, url, options


def _sign_up(server: BetterAuthServer, email: str) -> Login:
    """Sign up with a username and additional fields, change one, enable two-factor."""
    handle = "Ada_" + email.split("@")[0].rsplit("-", 1)[1]  # unique, as usernames are
    body = {
        "email": email,
        "password": PASSWORD,
        "name": "Ada",
        "username": handle,
        "displayUsername": "Ada L.",
        "plan": "pro",
        "locale": "de-CH",
        "tags": ["beta", "staff"],
        "trialEndsAt": TRIAL,
        "isVIP": True,
    }
    response = server.request("POST", "/sign-up/email", json=body)
    assert response.status_code == 200, response.text
    login = sign_in(server, email)
    response = server.request(
        "POST", "/update-user", cookie=login.cookie, json={"locale": "fr-CH"}
    )
    assert response.status_code == 200, response.text
    response = server.request(
        "POST", "/two-factor/enable", cookie=login.cookie, json={"password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    # enabling two-factor replaces the session: every credential of the new one
    cookie = cookie_from(response)
    assert cookie is not None
    session = server.get_session(cookie)
    assert session is not None
    return Login(
        user_id=login.user_id,
        email=email,
        session_id=session["session"]["id"],
        raw=session["session"]["token"],
        signed=response.headers["set-auth-token"],
        cookie=cookie,
        jwt=server.token(cookie),
    )


EXPECTED = {
    "name": "Ada",
    "plan": "pro",
    "locale": "fr-CH",
    "display_username": "Ada L.",
    "two_factor_enabled": True,
    "trial_ends_at": "2031-01-02T03:04:05.678000Z",
    "tags": ["beta", "staff"],
    "is_vip": True,  # Better-Auth's isVIP, named explicitly in the class
}


def _settings(
    server: BetterAuthServer, url: str, options: dict[str, Any], **more: Any
) -> BetterAuthSettings:
    return app_settings(server, url, **options, **more)


def _expected(login: Login) -> dict[str, Any]:
    """What /auth/me answers: the username plugin lower-cases, displayUsername keeps the case."""
    return {
        **EXPECTED,
        "username": "ada_" + login.email.split("@")[0].rsplit("-", 1)[1],
    }


def _me(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_fields_set_through_better_auth_read_typed_with_every_credential(
    rig: tuple[BetterAuthServer, str, dict[str, Any]],
) -> None:
    server, url, options = rig
    login = _sign_up(server, unique_email("fields"))
    with TestClient(create_app(_settings(server, url, options))) as client:
        for kind in KINDS:
            body = _me(client, login.headers(kind))
            assert {key: body[key] for key in _expected(login)} == _expected(login), (
                kind
            )
        plan = client.get("/plan", headers=login.headers("raw")).json()
        assert plan == {"plan": "pro", "two_factor": True}


def test_never_freshness_reads_the_fields_from_better_auths_jwt(
    rig: tuple[BetterAuthServer, str, dict[str, Any]],
) -> None:
    server, url, options = rig
    login = _sign_up(server, unique_email("claims"))
    jwt = server.token(login.cookie)  # minted after the changes
    settings = _settings(server, url, options, freshness="never")
    with TestClient(create_app(settings)) as client:
        body = _me(client, {"authorization": f"Bearer {jwt}"})
    assert {key: body[key] for key in _expected(login)} == _expected(login)


def test_a_field_better_auth_does_not_have_fails_our_start(
    rig: tuple[BetterAuthServer, str, dict[str, Any]],
) -> None:
    server, url, options = rig
    settings = _settings(server, url, options, user_fields={"phoneNumber": "string"})
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    with (
        pytest.raises(
            ConfigurationError, match=r"BETTER_AUTH_USER_FIELDS.*phoneNumber"
        ),
        TestClient(app),
    ):
        pass  # pragma: no cover


def test_setting_map_reads_the_same_fields(
    rig: tuple[BetterAuthServer, str, dict[str, Any]],
) -> None:
    server, url, options = rig
    login = _sign_up(server, unique_email("map"))
    fields = {"plan": "string", "twoFactorEnabled": "boolean", "tags": "string[]",
              "trialEndsAt": "date", "username": "string"}  # fmt: skip
    settings = _settings(server, url, options, user_fields=fields)
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    with TestClient(app) as client:
        body = client.get("/api/v1/auth/me", headers=login.headers("cookie")).json()
    assert body["plan"] == "pro"
    assert body["two_factor_enabled"] is True
    assert body["tags"] == ["beta", "staff"]
    assert body["trial_ends_at"] == "2031-01-02T03:04:05.678000Z"
    assert body["username"] == _expected(login)["username"]
