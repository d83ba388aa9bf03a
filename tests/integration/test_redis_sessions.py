"""Sessions in Better-Auth's ``secondaryStorage`` (a real Redis): found, refused and revoked as
Better-Auth 1.7.25 does it, with the user row in the database as the source of bans and roles.

The Redis entries here are written in Better-Auth's layout (``_secondary_layout``'s docstring); the
interop tests (``tests/interop/test_redis_sessions.py``) pin the same rules against a real
Better-Auth writing them.
"""

import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from fastapi_better_auth import BetterAuth, ConfigurationError
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_session,
    make_user,
    session_cookie,
    user_claims,
)
from tests.helpers import SECRET, execute, guarded_app, run, seed, settings_for
from tests.redis_server import RedisServer, running_redis
from tests.tls import make_ca


def _iso(value: Any) -> str:
    return str(value.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def ba_json(session: Session, user: User) -> str:
    """``{"session", "user"}`` as Better-Auth's ``createSession`` stores it under the token."""
    return json.dumps(
        {
            "session": {
                "id": session.id,
                "token": session.token,
                "userId": session.user_id,
                "expiresAt": _iso(session.expires_at),
                "createdAt": _iso(session.created_at),
                "updatedAt": _iso(session.updated_at),
                "ipAddress": session.ip_address,
                "userAgent": session.user_agent,
            },
            "user": {"id": user.id, "email": user.email, "role": user.role},
        }
    )


def put(client: "redis.Redis", session: Session, user: User, prefix: str = "") -> None:
    """Write a session as Better-Auth does: its token's key and its entry in the user's list."""
    ttl = int((session.expires_at - utcnow()).total_seconds())
    client.set(prefix + session.token, ba_json(session, user), ex=ttl)
    key = f"{prefix}active-sessions-{user.id}"
    listed = json.loads(client.get(key) or "[]")
    listed.append(
        {"token": session.token, "expiresAt": session.expires_at.timestamp() * 1000}
    )
    client.set(key, json.dumps(listed), ex=ttl)


@dataclass
class World:
    url: str
    redis: "redis.Redis"
    alice: User
    root: User
    cached: Session  # alice's, in Redis only
    in_db: Session  # alice's, in the session table only


@pytest.fixture
def world(sqlite_url: str, redis_server: RedisServer) -> Iterator[World]:
    alice = make_user(name="Alice", email="alice@example.com")
    root = make_user(name="Root", email="root@example.com", role="admin")
    cached, in_db = make_session(alice), make_session(alice)
    seed(sqlite_url, alice, root, in_db, migrate=True)
    client = redis.Redis.from_url(redis_server.url(), decode_responses=True)
    client.flushdb()
    put(client, cached, alice)
    try:
        yield World(sqlite_url, client, alice, root, cached, in_db)
    finally:
        client.close()


def _client(
    issuer: TokenIssuer, world: World, redis_url: str, **overrides: Any
) -> TestClient:
    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, world.url, redis_url=redis_url, **overrides)
    return TestClient(guarded_app(settings))


@pytest.fixture
def app(
    issuer: TokenIssuer, world: World, redis_server: RedisServer
) -> Iterator[TestClient]:
    with _client(issuer, world, redis_server.url()) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sid_jwt(issuer: TokenIssuer, user: User, session: Session) -> str:
    return issuer.mint({**user_claims(user), "sid": session.id})


def admin(issuer: TokenIssuer, world: World) -> dict[str, str]:
    return bearer(issuer.mint(user_claims(world.root)))


def test_token_cookie_and_sid_of_a_redis_session_authenticate(
    app: TestClient, issuer: TokenIssuer, world: World
) -> None:
    name, value = session_cookie(world.cached.token, SECRET)
    for headers in (
        bearer(world.cached.token),
        {"cookie": f"{name}={value}"},
        bearer(sid_jwt(issuer, world.alice, world.cached)),
    ):
        response = app.get("/me", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == world.alice.id


def test_session_only_in_the_table_is_refused_without_store_session_in_database(
    app: TestClient, issuer: TokenIssuer, world: World
) -> None:
    """findSession: a Redis miss is final unless storeSessionInDatabase (L356)."""
    assert app.get("/me", headers=bearer(world.in_db.token)).status_code == 401
    jwt = sid_jwt(issuer, world.alice, world.in_db)
    assert app.get("/me", headers=bearer(jwt)).json()["detail"]["code"] == (
        "INVALID_SESSION"
    )


def test_store_session_in_database_falls_back_to_the_table(
    issuer: TokenIssuer, world: World, redis_server: RedisServer
) -> None:
    with _client(
        issuer, world, redis_server.url(), store_session_in_database=True
    ) as app:
        for token in (world.in_db.token, world.cached.token):
            assert app.get("/me", headers=bearer(token)).status_code == 200
        jwt = sid_jwt(issuer, world.alice, world.in_db)
        assert app.get("/me", headers=bearer(jwt)).status_code == 200
        # a listed session under the revocation mark is none, whatever the table says
        put(world.redis, world.in_db, world.alice)
        mark = str(int(time.time() * 1000) + 1000)
        world.redis.set(f"revoked-sessions-before-{world.alice.id}", mark, ex=60)
        assert app.get("/me", headers=bearer(jwt)).status_code == 401
        world.redis.delete(f"revoked-sessions-before-{world.alice.id}")
        # a key that is present but not Better-Auth's JSON is no session, and no fallback
        world.redis.set(world.in_db.token, "{not json", ex=60)
        assert app.get("/me", headers=bearer(world.in_db.token)).status_code == 401


def test_revocation_mark_refuses_sessions_created_before_it(
    app: TestClient, issuer: TokenIssuer, world: World
) -> None:
    """isRevokedSession: createdAt before revoked-sessions-before-<userId> (L97-102)."""
    mark = int(time.time() * 1000) + 1000
    world.redis.set(f"revoked-sessions-before-{world.alice.id}", str(mark), ex=60)
    assert app.get("/me", headers=bearer(world.cached.token)).status_code == 401
    jwt = sid_jwt(issuer, world.alice, world.cached)
    assert app.get("/me", headers=bearer(jwt)).status_code == 401


def test_user_is_read_from_the_table_not_from_the_redis_snapshot(
    app: TestClient, world: World
) -> None:
    """A ban or a role written to the user row counts on the next request."""
    execute(
        world.url,
        update(User)
        .where(User.id == world.alice.id)
        .values(role="editor", name="Alice B."),
    )
    body = app.get("/me", headers=bearer(world.cached.token)).json()
    assert (body["role"], body["name"]) == ("editor", "Alice B.")
    execute(
        world.url, update(User).where(User.id == world.alice.id).values(banned=True)
    )
    response = app.get("/me", headers=bearer(world.cached.token))
    assert response.json()["detail"]["code"] == "USER_BANNED"


def test_a_deleted_user_has_no_session(app: TestClient, world: World) -> None:
    stranger = make_user()
    session = make_session(stranger)
    put(world.redis, session, stranger)
    assert app.get("/me", headers=bearer(session.token)).status_code == 401


def test_admin_lists_and_revokes_in_redis(
    app: TestClient, issuer: TokenIssuer, world: World
) -> None:
    """listSessions from the active-sessions list; deleteSession deletes the key and the entry."""
    second = make_session(world.alice)
    put(world.redis, second, world.alice)
    path = f"/api/v1/users/{world.alice.id}/sessions"
    listed = app.get(path, headers=admin(issuer, world)).json()["sessions"]
    assert [s["id"] for s in listed] == [second.id, world.cached.id]  # newest first
    response = app.delete(f"{path}/{world.cached.id}", headers=admin(issuer, world))
    assert response.json() == {"revoked": 1}
    assert world.redis.get(world.cached.token) is None
    listed_tokens = json.loads(
        str(world.redis.get(f"active-sessions-{world.alice.id}"))
    )
    assert [entry["token"] for entry in listed_tokens] == [second.token]
    assert app.get("/me", headers=bearer(world.cached.token)).status_code == 401
    assert (
        app.delete(
            f"{path}/{world.cached.id}", headers=admin(issuer, world)
        ).status_code
        == 404
    )
    # a row in the table is not Better-Auth's session without storeSessionInDatabase
    response = app.delete(f"{path}/{world.in_db.id}", headers=admin(issuer, world))
    assert response.status_code == 404


def test_revoke_all_and_ban_clear_redis_and_mark_the_user(
    app: TestClient, issuer: TokenIssuer, world: World
) -> None:
    """deleteUserSessions: tokens and list deleted, revoked-sessions-before set (L103-111)."""
    path = f"/api/v1/users/{world.alice.id}/sessions"
    response = app.delete(path, headers=admin(issuer, world))
    assert response.json() == {"revoked": 1}  # the table is not touched
    assert world.redis.get(world.cached.token) is None
    assert world.redis.get(f"active-sessions-{world.alice.id}") is None
    mark = world.redis.get(f"revoked-sessions-before-{world.alice.id}")
    assert mark is not None and int(mark) <= time.time() * 1000
    assert world.redis.ttl(f"revoked-sessions-before-{world.alice.id}") >= 604_000
    # a session Better-Auth wrote a moment before the mark, not yet listed, is refused too
    # a second before the mark (whole seconds, as stored): a session made just now could fall
    # in the next second after truncation and pass the mark (a CI flake)
    before = datetime.fromtimestamp(int(mark) // 1000 - 1, tz=timezone.utc)
    late = make_session(world.alice, created_at=before)
    world.redis.set(late.token, ba_json(late, world.alice), ex=60)
    assert app.get("/me", headers=bearer(late.token)).status_code == 401

    fresh = make_session(world.alice)
    world.redis.delete(f"revoked-sessions-before-{world.alice.id}")
    put(world.redis, fresh, world.alice)
    response = app.post(
        f"/api/v1/users/{world.alice.id}/ban",
        json={"reason": "spam"},
        headers=admin(issuer, world),
    )
    assert response.status_code == 200, response.text
    assert world.redis.get(fresh.token) is None
    assert app.get("/me", headers=bearer(fresh.token)).status_code == 401


def test_key_prefix(
    issuer: TokenIssuer, world: World, redis_server: RedisServer
) -> None:
    session = make_session(world.alice)
    put(world.redis, session, world.alice, prefix="ba:")
    with _client(issuer, world, redis_server.url(), redis_key_prefix="ba:") as app:
        assert app.get("/me", headers=bearer(session.token)).status_code == 200
        assert app.get("/me", headers=bearer(world.cached.token)).status_code == 401


def test_redis_down_answers_503_and_comes_back(
    issuer: TokenIssuer, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Never a 500 and never a pass: 503 SESSION_STORE_UNAVAILABLE with Retry-After."""
    with running_redis() as server:
        client = redis.Redis.from_url(server.url(), decode_responses=True)
        put(client, world.cached, world.alice)
        server.stop()
        with (
            caplog.at_level(logging.WARNING),
            _client(issuer, world, server.url()) as app,
        ):
            assert (
                "better_auth.session_store_unavailable" in caplog.text
            )  # start went on
            for headers, path in (
                (bearer(world.cached.token), "/me"),
                (bearer(sid_jwt(issuer, world.alice, world.cached)), "/me"),
                (admin(issuer, world), f"/api/v1/users/{world.alice.id}/sessions"),
                ({}, "/api/v1/health/db"),  # readiness says so too
            ):
                response = app.get(path, headers=headers)
                assert response.status_code == 503, response.text
                assert response.json()["detail"]["code"] == "SESSION_STORE_UNAVAILABLE"
                assert response.headers["retry-after"]
            # a ban whose sessions cannot be ended is not written either (one transaction)
            ban = app.post(
                f"/api/v1/users/{world.alice.id}/ban",
                json={},
                headers=admin(issuer, world),
            )
            assert ban.status_code == 503
            row = execute(
                world.url, select(User.banned).where(User.id == world.alice.id)
            )
            assert not row[0][0]
            server.start()  # same port, empty (no persistence)
            put(client, world.cached, world.alice)
            assert app.get("/me", headers=bearer(world.cached.token)).status_code == 200
            assert app.get("/api/v1/health/db").status_code == 200
        client.close()


def test_wrong_password_fails_start_naming_the_setting(
    issuer: TokenIssuer, world: World
) -> None:
    with running_redis(password="right-horse") as server:
        for url in (server.url("wrong-horse"), server.url("")):
            auth = BetterAuth(
                settings_for(issuer.issuer or "", world.url, redis_url=url)
            )
            with pytest.raises(ConfigurationError) as caught:
                run(auth.__aenter__())
            message = str(caught.value)
            assert "BETTER_AUTH_REDIS_URL" in message
            assert "wrong-horse" not in message and "right-horse" not in message
        with _client(issuer, world, server.url()) as app:  # the right one
            put(
                redis.Redis.from_url(server.url(), decode_responses=True),
                world.cached,
                world.alice,
            )
            assert app.get("/me", headers=bearer(world.cached.token)).status_code == 200


def test_tls_without_the_ca_fails_start(
    issuer: TokenIssuer, world: World, tmp_path: Path
) -> None:
    """rediss:// to a Redis whose certificate the default trust store does not know."""
    certificates = make_ca(tmp_path)
    with running_redis(password="s3cret", tls=certificates) as server:
        url = server.url()
        auth = BetterAuth(settings_for(issuer.issuer or "", world.url, redis_url=url))
        with pytest.raises(
            ConfigurationError, match=r"BETTER_AUTH_REDIS_URL.*TLS"
        ) as caught:
            run(auth.__aenter__())
        assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
        trusted = f"{url}?ssl_ca_certs={certificates.root}"
        with _client(issuer, world, trusted) as app:
            put(
                redis.Redis.from_url(trusted, decode_responses=True),
                world.cached,
                world.alice,
            )
            assert app.get("/me", headers=bearer(world.cached.token)).status_code == 200


def test_a_client_passed_in_is_used_and_not_closed(
    issuer: TokenIssuer, world: World, redis_server: RedisServer
) -> None:
    from redis.asyncio import Redis

    settings = settings_for(issuer.issuer or "", world.url)

    async def scenario() -> None:
        client = Redis.from_url(redis_server.url())
        async with BetterAuth(settings, secondary_storage=client) as auth:
            identity = await auth.authenticator.from_session_token(
                world.cached.token, "bearer"
            )
            assert identity.user.id == world.alice.id
        assert await client.ping()  # still open: it is the caller's
        await client.aclose()

    run(scenario())
    with pytest.raises(ConfigurationError, match="use one"):
        BetterAuth(
            settings_for("http://127.0.0.1:1", world.url, redis_url=redis_server.url()),
            secondary_storage=object(),
        )


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    """The [redis] extra not installed (a real venv cannot lack it and have it at once)."""
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    settings = settings_for("http://127.0.0.1:1", world.url, redis_url="redis://h/0")
    with pytest.raises(ConfigurationError, match=r"\[redis\]"):
        BetterAuth(settings)


def test_url_scheme_is_checked_without_echoing_the_password(world: World) -> None:
    with pytest.raises(ConfigurationError, match="BETTER_AUTH_REDIS_URL") as caught:
        settings_for("http://127.0.0.1:1", world.url, redis_url="http://u:pw-x@h/0")
    assert "pw-x" not in str(caught.value)


@pytest.mark.postgres
def test_postgres_without_a_session_table_warms_and_reads_through_redis(
    pg_url: str,
    issuer: TokenIssuer,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Better-Auth's migration creates no session table without storeSessionInDatabase: start
    (direct asyncpg reads, warmed) and requests never touch it."""
    alice = make_user()
    session = make_session(alice)
    seed(pg_url, alice, migrate=True)
    execute(pg_url, text('DROP TABLE "session"'))
    client = redis.Redis.from_url(redis_server.url(db=4), decode_responses=True)
    client.flushdb()
    put(client, session, alice)
    settings = settings_for(
        issuer.issuer or "", pg_url, redis_url=redis_server.url(db=4)
    )
    with caplog.at_level(logging.INFO), TestClient(guarded_app(settings)) as app:
        assert "warm_reads_failed" not in caplog.text
        ready = [r for r in caplog.records if r.getMessage() == "better_auth.start"]
        assert ready and vars(ready[0])["database_ready"] is True
        assert vars(ready[0])["session_store_ready"] is True
        assert app.get("/me", headers=bearer(session.token)).status_code == 200
        jwt = sid_jwt(issuer, alice, session)
        assert app.get("/me", headers=bearer(jwt)).status_code == 200
    client.close()


def test_user_writes_refresh_the_redis_snapshots(
    app: TestClient, issuer: TokenIssuer, world: World
) -> None:
    """refreshUserSessions: Better-Auth's checks read the snapshot, so our writes update it."""

    def snapshot() -> dict[str, Any]:
        return dict(json.loads(str(world.redis.get(world.cached.token)))["user"])

    base = f"/api/v1/users/{world.alice.id}"
    headers = admin(issuer, world)
    assert app.put(f"{base}/role", json={"role": "editor"}, headers=headers).is_success
    assert snapshot()["role"] == "editor"
    assert app.patch(base, json={"name": "Alicia"}, headers=headers).is_success
    assert (snapshot()["name"], snapshot()["role"]) == ("Alicia", "editor")
    execute(
        world.url, update(User).where(User.id == world.alice.id).values(banned=True)
    )
    assert app.delete(f"{base}/ban", headers=headers).is_success
    assert (snapshot()["banned"], snapshot()["banExpires"]) == (False, None)
    assert world.redis.ttl(world.cached.token) > 600_000  # the session's own lifetime
