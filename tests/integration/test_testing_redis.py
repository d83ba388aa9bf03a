"""``testing.store_redis_session``: a session your tests write to Redis as Better-Auth does.

Checked here against the library's own reads (every credential kind, the organization guard, a
key prefix) and against this suite's independent writer (``test_redis_sessions.put``);
``tests/interop/test_redis_sessions.py`` pins that a real Better-Auth accepts it too.
"""

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_better_auth import better_auth_router
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.organizations import CurrentOrganization, Organizations
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_member,
    make_organization,
    make_session,
    make_user,
    session_cookie,
    store_redis_session,
    user_claims,
)
from tests.helpers import SECRET, guarded_app, seed, settings_for
from tests.integration.test_organizations import _tables
from tests.integration.test_redis_sessions import put
from tests.redis_server import RedisServer

REDIS_DB = 7  # a Redis database of its own on the shared server


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator["redis.Redis"]:
    client = redis.Redis.from_url(redis_server.url(db=REDIS_DB), decode_responses=True)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


def test_every_credential_of_a_stored_session_authenticates(
    sqlite_url: str,
    redis_server: RedisServer,
    client: "redis.Redis",
    issuer: TokenIssuer,
) -> None:
    alice = make_user(name="Alice")
    seed(sqlite_url, alice, migrate=True)  # the user row: sessions live in Redis only
    assert issuer.issuer is not None
    settings = settings_for(
        issuer.issuer,
        sqlite_url,
        redis_url=redis_server.url(db=REDIS_DB),
        redis_key_prefix="app:",
    )
    # --8<-- [start:sample]
    # client: a redis.Redis on the Redis database your settings name
    session = make_session(alice)
    store_redis_session(client, session, alice, key_prefix=settings.redis_key_prefix)
    name, value = session_cookie(session.token, SECRET)
    sid_jwt = issuer.mint({**user_claims(alice), "sid": session.id})
    with TestClient(guarded_app(settings)) as app:
        for headers in (
            {"Authorization": f"Bearer {session.token}"},
            {"cookie": f"{name}={value}"},
            # a JWT's sid: found through the user's active-sessions list
            {"Authorization": f"Bearer {sid_jwt}"},
        ):
            response = app.get("/me", headers=headers)
            assert response.status_code == 200, (headers, response.text)
            assert response.json()["id"] == alice.id
    # --8<-- [end:sample]


def test_the_layout_is_better_auths(client: "redis.Redis") -> None:
    """The same keys, TTLs and session JSON as the suite's own writer; the user snapshot is
    the whole row (as ``user_claims``); writing again keeps one list entry per token."""
    alice = make_user(name="Alice")
    first = make_session(alice, expires_at=utcnow() + timedelta(days=2))
    second = make_session(alice)
    put(client, first, alice, prefix="ours:")
    put(client, second, alice, prefix="ours:")
    for session in (first, second, first):
        store_redis_session(client, session, alice, key_prefix="kit:")
    for session in (first, second):
        kit = json.loads(str(client.get(f"kit:{session.token}")))
        ours = json.loads(str(client.get(f"ours:{session.token}")))
        assert kit["session"] == ours["session"]
        assert kit["user"] == user_claims(alice)
        assert abs(client.ttl(f"kit:{session.token}") - client.ttl(f"ours:{session.token}")) <= 1  # fmt: skip
    listed = json.loads(str(client.get(f"kit:active-sessions-{alice.id}")))
    assert [entry["token"] for entry in listed] == [
        first.token,
        second.token,
    ]  # by expiry
    assert listed == sorted(listed, key=lambda entry: entry["expiresAt"])
    assert 7 * 86_400 - 5 < client.ttl(f"kit:active-sessions-{alice.id}") <= 7 * 86_400


def test_an_expired_session_is_refused_and_nothing_is_written(
    client: "redis.Redis",
) -> None:
    alice = make_user()
    expired = make_session(alice, expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(ValueError, match="expired"):
        store_redis_session(client, expired, alice)
    assert client.dbsize() == 0


def test_active_organization_is_read_by_the_organization_guard(
    db_url: str,
    redis_server: RedisServer,
    client: "redis.Redis",
    issuer: TokenIssuer,
) -> None:
    _tables(db_url)
    alice = make_user(name="Alice")
    a, b = make_organization(name="A"), make_organization(name="B")
    seed(db_url, alice, a, b)
    seed(db_url, make_member(a, alice, "owner"), make_member(b, alice))
    session = make_session(alice)
    store_redis_session(client, session, alice, active_organization=a)
    assert issuer.issuer is not None
    app = FastAPI()
    settings = settings_for(
        issuer.issuer, db_url, redis_url=redis_server.url(db=REDIS_DB)
    )
    app.include_router(better_auth_router(settings))
    Organizations().install(app)

    @app.get("/org")
    async def org(organization: CurrentOrganization) -> str:
        return organization.id

    headers = {"Authorization": f"Bearer {session.token}"}
    with TestClient(app) as http:
        assert http.get("/org", headers=headers).json() == a.id
        store_redis_session(client, session, alice, active_organization=b.id)
        assert http.get("/org", headers=headers).json() == b.id
        store_redis_session(client, session, alice)  # set-active null
        response = http.get("/org", headers=headers)
        assert response.status_code == 400, response.text


def test_plugin_fields_are_written_only_when_set(client: "redis.Redis") -> None:
    """The admin plugin's ``impersonatedBy``, the organization plugin's active ids (rows or ids)."""
    alice, admin = make_user(), make_user(role="admin")
    org = make_organization()
    session = make_session(alice, impersonated_by=admin.id)
    store_redis_session(
        client, session, alice, active_organization=org, active_team="t1"
    )
    stored = json.loads(str(client.get(session.token)))["session"]
    assert (stored["impersonatedBy"], stored["activeOrganizationId"]) == (
        admin.id,
        org.id,
    )
    assert stored["activeTeamId"] == "t1"
    plain = make_session(alice)
    store_redis_session(client, plain, alice)
    stored = json.loads(str(client.get(plain.token)))["session"]
    assert not {"impersonatedBy", "activeOrganizationId", "activeTeamId"} & set(stored)
