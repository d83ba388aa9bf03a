"""API keys a real Better-Auth 1.7.25 + ``@better-auth/api-key`` 1.7.5 issues, verified by both sides.

Better-Auth runs with ``BA_API_KEY=1`` (``examples/better-auth-server/auth.mjs``): the plugin's
defaults plus ``enableSessionForAPIKeys``, so ``GET /api/auth/get-session`` with only
``x-api-key`` runs the plugin's own verification and counts the use, like ours. Keys are
created, disabled and deleted through Better-Auth's HTTP API with a session cookie; the
server-only fields (``remaining``, ``permissions``) are set in the row, as the server-side
``auth.api.updateApiKey`` would.
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import better_auth_router
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.api_keys import (
    ApiKey,
    CurrentPrincipal,
    require_api_key_permission,
)
from fastapi_better_auth.models import User
from tests.helpers import execute, run
from tests.interop.ba_server import (
    BetterAuthServer,
    cookie_from,
)
from tests.interop.flow import (
    app_settings,
    better_auth_on_postgres,
    require_node,
    unique_email,
)
from tests.pg import PostgresServer
from tests.schema_compare import describe_database, describe_metadata, differences

pytestmark = pytest.mark.interop
require_node()


@pytest.fixture(scope="module")
def rig(postgres: PostgresServer) -> Iterator[tuple[BetterAuthServer, str]]:
    with better_auth_on_postgres(postgres, "apikeys", {"BA_API_KEY": "1"}) as rig:
        yield rig


@pytest.fixture(scope="module")
def ours(rig: tuple[BetterAuthServer, str]) -> Iterator[TestClient]:
    server, url = rig
    app = FastAPI()
    app.include_router(better_auth_router(app_settings(server, url)))

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        assert principal.api_key is not None
        return {"user": principal.user.id, "remaining": principal.api_key.remaining}

    @app.get(
        "/files",
        dependencies=[Depends(require_api_key_permission({"files": ["read"]}))],
    )
    async def files() -> list[str]:
        return []

    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def owner(rig: tuple[BetterAuthServer, str]) -> tuple[str, str]:
    """A signed-up user: its id and session cookie."""
    server, _ = rig
    response = server.request(
        "POST",
        "/sign-up/email",
        json={"email": unique_email("keys"), "password": "pass-word-123", "name": "K"},
    )
    cookie = cookie_from(response)
    assert response.status_code == 200 and cookie, response.text
    return response.json()["user"]["id"], cookie


def _create(server: BetterAuthServer, cookie: str, **body: Any) -> dict[str, Any]:
    response = server.request(
        "POST", "/api-key/create", cookie=cookie, json={"name": "ci", **body}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _theirs(server: BetterAuthServer, key: str) -> httpx.Response:
    """A request through the plugin's verification (its session hook)."""
    return server.request("GET", "/get-session", headers={"x-api-key": key})


def _get(server: BetterAuthServer, cookie: str, key_id: str) -> dict[str, Any]:
    response = server.request(
        "GET", "/api-key/get", cookie=cookie, params={"id": key_id}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_key_created_by_better_auth_is_accepted_with_its_owner(
    rig: tuple[BetterAuthServer, str], ours: TestClient, owner: tuple[str, str]
) -> None:
    server, _ = rig
    user_id, cookie = owner
    created = _create(server, cookie)
    assert created["referenceId"] == user_id
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"user": user_id, "remaining": None}
    theirs = _theirs(server, created["key"])
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["user"]["id"] == user_id
    assert _get(server, cookie, created["id"])["requestCount"] == 2


def test_remaining_is_shared_and_exhausted_keys_refused_by_both(
    rig: tuple[BetterAuthServer, str], ours: TestClient, owner: tuple[str, str]
) -> None:
    server, url = rig
    _, cookie = owner
    created = _create(server, cookie)
    execute(url, update(ApiKey).where(ApiKey.id == created["id"]).values(remaining=2))
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert r.json()["remaining"] == 1, r.text
    assert _get(server, cookie, created["id"])["remaining"] == 1
    assert _theirs(server, created["key"]).status_code == 200
    assert _get(server, cookie, created["id"])["remaining"] == 0
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert r.status_code == 429, r.text
    assert r.json()["detail"]["code"] == "API_KEY_USAGE_EXCEEDED"
    # both delete an exhausted key on the refused use: Better-Auth no longer knows it
    theirs = _theirs(server, created["key"])
    assert theirs.status_code == 401, theirs.text
    assert theirs.json()["code"] == "INVALID_API_KEY"


def test_rate_limit_is_counted_across_both_sides(
    rig: tuple[BetterAuthServer, str], ours: TestClient, owner: tuple[str, str]
) -> None:
    server, _ = rig
    _, cookie = owner
    key = _create(server, cookie)["key"]
    for use in range(10):  # the plugin's default: 10 a day
        if use % 2:
            assert _theirs(server, key).status_code == 200
        else:
            assert ours.get("/whoami", headers={"x-api-key": key}).status_code == 200
    r = ours.get("/whoami", headers={"x-api-key": key})
    assert r.status_code == 429, r.text
    assert r.json()["detail"]["code"] == "API_KEY_RATE_LIMITED"
    theirs = _theirs(server, key)
    assert theirs.status_code == 429, theirs.text
    assert theirs.json()["code"] == "RATE_LIMITED"


def test_disabled_and_deleted_keys_are_refused_with_the_plugins_reasons(
    rig: tuple[BetterAuthServer, str], ours: TestClient, owner: tuple[str, str]
) -> None:
    server, _ = rig
    _, cookie = owner
    created = _create(server, cookie)
    disabled = server.request(
        "POST",
        "/api-key/update",
        cookie=cookie,
        json={"keyId": created["id"], "enabled": False},
    )
    assert disabled.status_code == 200, disabled.text
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert (r.status_code, r.json()["detail"]["code"]) == (401, "API_KEY_DISABLED")
    theirs = _theirs(server, created["key"])
    assert (theirs.status_code, theirs.json()["code"]) == (401, "KEY_DISABLED")
    deleted = server.request(
        "POST", "/api-key/delete", cookie=cookie, json={"keyId": created["id"]}
    )
    assert deleted.status_code == 200, deleted.text
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert (r.status_code, r.json()["detail"]["code"]) == (401, "INVALID_API_KEY")


def test_expired_key_is_refused_and_deleted(
    rig: tuple[BetterAuthServer, str], ours: TestClient, owner: tuple[str, str]
) -> None:
    server, url = rig
    _, cookie = owner
    created = _create(server, cookie, expiresIn=86_400)
    assert created["expiresAt"] is not None
    execute(
        url,
        update(ApiKey)
        .where(ApiKey.id == created["id"])
        .values(expires_at=ApiKey.created_at),
    )
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert (r.status_code, r.json()["detail"]["code"]) == (401, "API_KEY_EXPIRED")
    missing = server.request(
        "GET", "/api-key/get", cookie=cookie, params={"id": created["id"]}
    )
    assert missing.status_code == 404, missing.text


def test_permissions_written_as_the_plugin_stores_them(
    rig: tuple[BetterAuthServer, str], ours: TestClient, owner: tuple[str, str]
) -> None:
    server, url = rig
    _, cookie = owner
    created = _create(server, cookie)
    refused = ours.get("/files", headers={"x-api-key": created["key"]})
    assert refused.status_code == 403, refused.text
    grant = json.dumps({"files": ["read"]})
    execute(
        url, update(ApiKey).where(ApiKey.id == created["id"]).values(permissions=grant)
    )
    assert _get(server, cookie, created["id"])["permissions"] == {"files": ["read"]}
    assert ours.get("/files", headers={"x-api-key": created["key"]}).status_code == 200


def test_banned_owner_key_is_refused_although_the_plugin_admits_it(
    rig: tuple[BetterAuthServer, str], ours: TestClient
) -> None:
    server, url = rig
    response = server.request(
        "POST",
        "/sign-up/email",
        json={"email": unique_email("ban"), "password": "pass-word-123", "name": "B"},
    )
    user_id, cookie = response.json()["user"]["id"], cookie_from(response)
    assert cookie is not None
    key = _create(server, cookie)["key"]
    execute(url, update(User).where(User.id == user_id).values(banned=True))
    theirs = _theirs(server, key)  # the session hook reads the user, not the ban
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["user"]["banned"] is True
    r = ours.get("/whoami", headers={"x-api-key": key})
    assert (r.status_code, r.json()["detail"]["code"]) == (403, "USER_BANNED")


def test_a_due_refill_is_taken_once_by_either_side(
    rig: tuple[BetterAuthServer, str], ours: TestClient, owner: tuple[str, str]
) -> None:
    server, url = rig
    _, cookie = owner
    created = _create(server, cookie)
    execute(
        url,
        update(ApiKey)
        .where(ApiKey.id == created["id"])
        .values(
            remaining=0,
            refill_amount=3,
            refill_interval=60_000,
            last_refill_at=utcnow() - timedelta(hours=1),
        ),
    )
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert r.json()["remaining"] == 2, r.text  # refilled to 3, this use took one
    assert _theirs(server, created["key"]).status_code == 200
    assert _theirs(server, created["key"]).status_code == 200
    assert _get(server, cookie, created["id"])["remaining"] == 0
    r = ours.get("/whoami", headers={"x-api-key": created["key"]})
    assert r.status_code == 429, r.text  # no refill due for a minute, key kept
    assert _get(server, cookie, created["id"])["remaining"] == 0


def test_better_auths_migration_of_apikey_matches_the_model(
    rig: tuple[BetterAuthServer, str],
) -> None:
    _, url = rig

    async def describe() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(describe_database)
        finally:
            await engine.dispose()

    reflected = {"apikey": run(describe())["apikey"]}
    assert differences(describe_metadata(ApiKey.metadata), reflected) == []
