"""``SessionStore`` on a real Redis holding what Better-Auth might leave there: odd values are
no session (``safeJSONParse`` → null), never an error; and the storeSessionInDatabase admin paths.
"""

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from fastapi_better_auth import ConfigurationError
from fastapi_better_auth._secondary import SessionStore
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_session,
    make_user,
    user_claims,
)
from tests.helpers import guarded_app, seed, settings_for
from tests.integration.test_redis_sessions import ba_json, bearer, put
from tests.redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def sync_redis(redis_server: RedisServer) -> Iterator["redis.Redis"]:
    client = redis.Redis.from_url(redis_server.url(db=3), decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[SessionStore]:
    url = redis_server.url(db=3)
    store = SessionStore.from_url(url, url, in_database=False, key_prefix="")
    yield store
    await store.close()


def _raw_session(**overrides: Any) -> str:
    now_ms = time.time() * 1000
    session = {
        "id": "s1",
        "userId": "u1",
        "expiresAt": now_ms + 60_000,  # milliseconds are read too
        "createdAt": now_ms - 1000,
        **overrides,
    }
    return json.dumps({"session": session, "user": {"id": "u1"}})


async def test_odd_values_are_no_session(
    store: SessionStore, sync_redis: "redis.Redis"
) -> None:
    sync_redis.set("good", _raw_session())
    sync_redis.set("no-date", _raw_session(expiresAt=True))
    sync_redis.set("no-session", json.dumps({"user": {}}))
    present, found = await store.by_token("good")
    assert present and found is not None and found.info.updated_at is not None
    assert await store.by_token("no-date") == (True, None)
    assert await store.by_token("no-session") == (True, None)
    assert await store.by_token("absent") == (False, None)
    sync_redis.set("revoked-sessions-before-u1", "not a number")
    assert (await store.by_token("good"))[
        1
    ] is not None  # an unreadable mark revokes nothing


async def test_odd_list_entries_are_skipped(
    store: SessionStore, sync_redis: "redis.Redis"
) -> None:
    far = time.time() * 1000 + 60_000
    entries = ["x", {"token": 1, "expiresAt": far}, {"token": "good", "expiresAt": far}]
    sync_redis.set("active-sessions-u1", json.dumps(entries))
    sync_redis.set("good", _raw_session())
    assert [s.info.id for s in await store.sessions_of("u1")] == ["s1"]
    sync_redis.set("active-sessions-u2", "{}")
    assert await store.sessions_of("u2") == []
    # revoke_all with an unreadable previous mark, and for a user with no list at all
    sync_redis.set("revoked-sessions-before-u1", "junk")
    assert await store.revoke_all("u1") == {"s1"}
    assert int(str(sync_redis.get("revoked-sessions-before-u1"))) > 0
    assert await store.revoke_all("nobody") == set()
    assert await store.revoke("nobody", "s1") is False


async def test_refresh_user_skips_what_it_cannot_rewrite(
    store: SessionStore, sync_redis: "redis.Redis"
) -> None:
    user = make_user(role="admin")
    snapshot = user_claims(user) | {"id": user.id}
    await store.refresh_user(_snapshot(user))  # no list: nothing to do
    far = time.time() * 1000 + 60_000
    past = time.time() * 1000 - 60_000
    entries = [
        {"token": "gone", "expiresAt": far},
        {"token": "stale", "expiresAt": far},
        {"token": "live", "expiresAt": far},
    ]
    sync_redis.set(f"active-sessions-{user.id}", json.dumps(entries))
    sync_redis.set("stale", _raw_session(userId=user.id, expiresAt=past))
    live = json.loads(_raw_session(userId=user.id))
    live["user"] = {**snapshot, "plan": "pro"}
    sync_redis.set("live", json.dumps(live))
    await store.refresh_user(_snapshot(user, role="editor", ban_expires=None))
    refreshed = json.loads(str(sync_redis.get("live")))["user"]
    assert (refreshed["role"], refreshed["plan"]) == ("editor", "pro")
    assert json.loads(str(sync_redis.get("stale")))["user"] == {"id": "u1"}


def _snapshot(user: Any, **changes: Any) -> Any:
    from fastapi_better_auth import AuthenticatedUser

    values = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "email_verified": False,
        "banned": False,
        "ban_expires": utcnow() + timedelta(days=1),
        "updated_at": utcnow().replace(tzinfo=None),
    }
    return AuthenticatedUser(**(values | changes))


class _Broken:
    """A client with a bug (not a Redis failure): the error must surface, not become a 503."""

    async def get(self, key: str) -> None:
        raise RuntimeError("bug")

    async def ping(self) -> None:
        raise RuntimeError("bug")


async def test_a_non_redis_error_is_not_turned_into_unavailable() -> None:
    store = SessionStore(_Broken())
    with pytest.raises(RuntimeError):
        await store.by_token("t")
    with pytest.raises(RuntimeError):
        await store.check()
    await store.close()  # not ours: nothing to close


def test_unusable_url_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="BETTER_AUTH_REDIS_URL") as caught:
        SessionStore.from_url(
            "redis://u:pw-x@h:port/0",
            "redis://u:***@h:port/0",
            in_database=False,
            key_prefix="",
        )
    assert "pw-x" not in str(caught.value)


def test_store_session_in_database_lists_from_the_table_and_revokes_both(
    sqlite_url: str,
    redis_server: RedisServer,
    sync_redis: "redis.Redis",
    issuer: TokenIssuer,
) -> None:
    """listSessions reads the table then (databaseSessionFallbackEnabled); deletes hit both."""
    alice = make_user()
    root = make_user(role="admin")
    one, two = make_session(alice), make_session(alice)
    seed(sqlite_url, alice, root, one, two, migrate=True)
    for session in (one, two):
        put(sync_redis, session, alice)
    settings = settings_for(
        issuer.issuer or "",
        sqlite_url,
        redis_url=redis_server.url(db=3),
        store_session_in_database=True,
        freshness="cached",
    )
    admin = bearer(issuer.mint(user_claims(root)))
    path = f"/api/v1/users/{alice.id}/sessions"
    with TestClient(guarded_app(settings)) as app:
        listed = app.get(path, headers=admin).json()["sessions"]
        assert {s["id"] for s in listed} == {one.id, two.id}
        assert app.delete(f"{path}/{one.id}", headers=admin).json() == {"revoked": 1}
        assert sync_redis.get(one.token) is None
        assert app.delete(f"{path}/{one.id}", headers=admin).status_code == 404
        assert app.get("/me", headers=bearer(one.token)).status_code == 401
        for _ in range(2):  # the second answer comes from the freshness cache
            assert app.get("/me", headers=bearer(two.token)).status_code == 200
        assert app.delete(path, headers=admin).json() == {"revoked": 1}
        assert sync_redis.get(two.token) is None
        sync_redis.set(
            two.token, ba_json(two, alice), ex=60
        )  # a stale copy after the mark
        assert app.get("/me", headers=bearer(two.token)).status_code == 401
