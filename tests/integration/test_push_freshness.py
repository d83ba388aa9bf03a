"""``freshness="push"`` end to end: a push-mode app on a real PostgreSQL (and Redis) refuses a
ban, a demotion or a revoked session written by plain SQL on another connection within 100 ms,
reads nothing while nothing changes, and behaves as ``always`` while its listener is down.

Writes go through their own connection, as Better-Auth's do; reads are counted by a spy on
``_store``'s per-request queries (the runtime's row reader runs them).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import BetterAuth, ConfigurationError, _store
from fastapi_better_auth._guards import STATE_KEY
from fastapi_better_auth._schema.notify import install_triggers
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.testing import (
    TokenIssuer,
    create_tables,
    make_session,
    make_user,
    session_cookie,
    user_claims,
)
from tests.helpers import SECRET, execute, guarded_app, run, seed, settings_for
from tests.integration.test_redis_sessions import put
from tests.redis_server import RedisServer, running_redis

#: The bound every refusal is held to.
BOUND = 0.1


async def _install(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await install_triggers(engine)
    finally:
        await engine.dispose()


@dataclass
class World:
    url: str
    alice: User  # an admin
    session: Session  # alice's
    bob: User


@pytest.fixture
def world(pg_url: str) -> World:
    alice, bob = make_user(role="admin"), make_user()
    session = make_session(alice)
    seed(pg_url, alice, bob, session, migrate=True)
    run(_install(pg_url))
    return World(pg_url, alice, session, bob)


class Reads:
    """Counts the per-request reads (user, session by id, session by token)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("user_by_id", "session_by_id", "session_by_token"):
            monkeypatch.setattr(_store, name, self._counted(getattr(_store, name)))

    def _counted(self, read: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return read(*args, **kwargs)

        return counted


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(monkeypatch)


@pytest.fixture
def app(world: World, issuer: TokenIssuer) -> Iterator[TestClient]:
    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, world.url, freshness="push")
    with TestClient(guarded_app(settings)) as client:
        yield client


def runtime(client: TestClient) -> BetterAuth:
    auth = client.app_state[STATE_KEY]
    assert isinstance(auth, BetterAuth)
    return auth


def _wait(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.0005)


def headers_for(kind: str, world: World, issuer: TokenIssuer) -> dict[str, str]:
    """The credential of ``kind`` for alice."""
    if kind == "jwt":
        return {"Authorization": f"Bearer {issuer.mint(user_claims(world.alice))}"}
    if kind == "jwt_sid":
        token = issuer.mint({**user_claims(world.alice), "sid": world.session.id})
        return {"Authorization": f"Bearer {token}"}
    if kind == "token":
        return {"Authorization": f"Bearer {world.session.token}"}
    name, value = session_cookie(world.session.token, SECRET)
    return {"Cookie": f"{name}={value}"}


def seconds_until_refused(client: TestClient, path: str, headers: Any) -> float:
    """Poll ``path`` until it is refused; the seconds that took (failing past 1 s)."""
    start = time.perf_counter()
    while client.get(path, headers=headers).status_code == 200:
        assert time.perf_counter() - start < 1.0, "never refused"
    return time.perf_counter() - start


CHANGES = {
    "ban": ("/me", """UPDATE "user" SET banned = true WHERE id = :user"""),
    "demote": ("/admin", """UPDATE "user" SET role = 'user' WHERE id = :user"""),
    "revoke": ("/me", "DELETE FROM session WHERE id = :session"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("kind", ["jwt", "jwt_sid", "token", "cookie"])
def test_a_change_written_elsewhere_is_refused_within_100_ms(
    app: TestClient,
    world: World,
    issuer: TokenIssuer,
    reads: Reads,
    kind: str,
    change: str,
) -> None:
    if change == "revoke" and kind == "jwt":
        pytest.skip("a JWT without sid names no session")
    path, statement = CHANGES[change]
    headers = headers_for(kind, world, issuer)
    _wait(lambda: runtime(app).authenticator.push.trusted)  # start waits 1 s at most
    assert app.get(path, headers=headers).status_code == 200
    filled = reads.count
    for _ in range(3):  # the cached path: no read while nothing changes
        assert app.get(path, headers=headers).status_code == 200
    assert reads.count == filled, "the cached path read the database"
    params = {"user": world.alice.id, "session": world.session.id}
    bound = text(statement)
    execute(
        world.url, bound.bindparams(**{k: params[k] for k in bound.compile().params})
    )
    elapsed = seconds_until_refused(app, path, headers)
    print(f"{kind} {change}: refused {elapsed * 1000:.1f} ms after the commit")
    assert elapsed < BOUND, f"refused after {elapsed * 1000:.1f} ms"


def test_another_users_change_keeps_the_cached_entry(
    app: TestClient, world: World, issuer: TokenIssuer, reads: Reads
) -> None:
    headers = headers_for("jwt_sid", world, issuer)
    assert app.get("/me", headers=headers).status_code == 200
    filled = reads.count
    execute(
        world.url,
        text("""UPDATE "user" SET banned = true WHERE id = :id""").bindparams(
            id=world.bob.id
        ),
    )
    time.sleep(0.05)  # the event arrived and dropped bob's entries only
    assert app.get("/me", headers=headers).status_code == 200
    assert reads.count == filled


LISTEN_BACKEND = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
    "current_database() AND pid <> pg_backend_pid() AND (query LIKE '%pg_listening_channels%' OR query LIKE 'LISTEN%')"
)


def test_a_lost_listen_connection_reads_every_time_until_reconnected(
    app: TestClient, world: World, issuer: TokenIssuer, reads: Reads
) -> None:
    push = runtime(app).authenticator.push
    bob = {"Authorization": f"Bearer {issuer.mint(user_claims(world.bob))}"}
    alice = headers_for("jwt", world, issuer)
    for headers in (bob, alice, bob, alice):
        assert app.get("/me", headers=headers).status_code == 200
    assert reads.count == 2
    assert execute(world.url, text(LISTEN_BACKEND)) == [(1,)]
    _wait(lambda: not push.trusted, 1.0)
    # disconnected: as always (a read per request, nothing kept), a ban counts at once
    execute(
        world.url,
        text("""UPDATE "user" SET banned = true WHERE id = :id""").bindparams(
            id=world.alice.id
        ),
    )
    assert app.get("/me", headers=alice).status_code == 403
    _wait(lambda: push.trusted)
    # reconnected: bob's entry from before the gap is not reused
    before = reads.count
    assert app.get("/me", headers=bob).status_code == 200
    assert reads.count == before + 1
    assert app.get("/me", headers=bob).status_code == 200
    assert reads.count == before + 1


def test_untrusted_reads_are_not_kept(
    app: TestClient, world: World, issuer: TokenIssuer
) -> None:
    push = runtime(app).authenticator.push
    bob = {"Authorization": f"Bearer {issuer.mint(user_claims(world.bob))}"}
    execute(world.url, text(LISTEN_BACKEND))
    _wait(lambda: not push.trusted, 1.0)
    assert app.get("/me", headers=bob).status_code == 200
    assert len(push.jwts) == 0


@pytest.mark.anyio
async def test_start_without_the_triggers_fails_naming_the_command(
    pg_url: str, issuer: TokenIssuer
) -> None:
    engine = create_async_engine(pg_url)
    try:
        await create_tables(engine)
    finally:
        await engine.dispose()
    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, pg_url, freshness="push")
    with pytest.raises(ConfigurationError) as caught:
        async with BetterAuth(settings):
            pass
    assert str(caught.value).startswith(
        "BETTER_AUTH_FRESHNESS=push needs the notify triggers: run python -m "
        "fastapi_better_auth migrate notify (trigger fba_notify on user is missing"
    )


@pytest.mark.anyio
async def test_push_on_sqlite_fails_naming_the_setting(
    sqlite_url: str, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, sqlite_url, freshness="push")
    with pytest.raises(
        ConfigurationError, match="BETTER_AUTH_FRESHNESS=push needs PostgreSQL"
    ) as caught:
        async with BetterAuth(settings):
            pass
    assert "BETTER_AUTH_DATABASE_URL is sqlite" in str(caught.value)


@pytest.mark.anyio
async def test_a_listen_url_through_a_pooler_is_refused(
    world: World, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    settings = settings_for(
        issuer.issuer,
        world.url,
        freshness="push",
        listen_database_url="postgresql://u:hunter2@db-pooler.example.com:6543/app",
    )
    with pytest.raises(
        ConfigurationError, match="BETTER_AUTH_LISTEN_DATABASE_URL"
    ) as caught:
        async with BetterAuth(settings):
            pass
    assert "hunter2" not in str(caught.value)


@pytest.mark.anyio
async def test_a_database_down_at_start_does_not_fail_start(
    issuer: TokenIssuer,
) -> None:
    from tests.pg import free_port

    assert issuer.issuer is not None
    url = f"postgresql://u:p@127.0.0.1:{free_port()}/app"
    settings = settings_for(issuer.issuer, url, freshness="push")
    async with BetterAuth(settings) as auth:
        assert auth._push is not None and not auth.authenticator.push.trusted
    assert auth._push is None


# -- sessions in Redis ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyspace_redis() -> Iterator[RedisServer]:
    with running_redis(keyspace_events="Eg$xe") as server:
        yield server


@pytest.fixture
def redis_world(world: World, keyspace_redis: RedisServer) -> Iterator[Any]:
    client = redis.Redis.from_url(keyspace_redis.url(db=3))
    client.flushdb()
    put(client, world.session, world.alice)
    yield client
    client.close()


@pytest.mark.parametrize("kind", ["token", "cookie", "jwt_sid"])
def test_a_redis_session_deleted_is_refused_within_100_ms(
    world: World,
    redis_world: Any,
    keyspace_redis: RedisServer,
    issuer: TokenIssuer,
    reads: Reads,
    kind: str,
) -> None:
    assert issuer.issuer is not None
    settings = settings_for(
        issuer.issuer,
        world.url,
        freshness="push",
        redis_url=keyspace_redis.url(db=3),
    )
    headers = headers_for(kind, world, issuer)
    with TestClient(guarded_app(settings)) as app:
        _wait(
            lambda: runtime(app).authenticator.push.trusted
        )  # start waits 1 s at most
        assert app.get("/me", headers=headers).status_code == 200
        filled = reads.count
        assert app.get("/me", headers=headers).status_code == 200
        assert reads.count == filled
        redis_world.delete(world.session.token)  # Better-Auth's revoke deletes the key
        if kind == "jwt_sid":  # ...and rewrites the user's list without it
            redis_world.set(f"active-sessions-{world.alice.id}", "[]")
        elapsed = seconds_until_refused(app, "/me", headers)
    print(f"redis {kind}: refused {elapsed * 1000:.1f} ms after the delete")
    assert elapsed < BOUND


@pytest.mark.anyio
async def test_redis_without_key_events_fails_start(
    world: World, redis_server: RedisServer, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    settings = settings_for(
        issuer.issuer, world.url, freshness="push", redis_url=redis_server.url(db=3)
    )
    with pytest.raises(ConfigurationError) as caught:
        async with BetterAuth(settings):
            pass
    message = str(caught.value)
    assert message.startswith(
        "BETTER_AUTH_FRESHNESS=push with sessions in Redis (BETTER_AUTH_REDIS_URL) needs"
    )
    assert "CONFIG SET notify-keyspace-events Eg$xe" in message


@pytest.mark.anyio
async def test_a_redis_client_passed_in_is_listened_to_through_a_client_of_its_own(
    world: World, keyspace_redis: RedisServer, issuer: TokenIssuer
) -> None:
    from redis.asyncio import Redis

    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, world.url, freshness="push")
    client = Redis.from_url(keyspace_redis.url(db=3))
    try:
        async with BetterAuth(settings, secondary_storage=client) as auth:
            assert auth.authenticator.push.trusted
            assert auth._push is not None and len(auth._push.listeners) == 2
        assert await client.ping()  # not closed: it is the caller's
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_a_redis_down_at_start_does_not_fail_start(
    world: World, issuer: TokenIssuer
) -> None:
    from tests.pg import free_port

    assert issuer.issuer is not None
    settings = settings_for(
        issuer.issuer,
        world.url,
        freshness="push",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    async with BetterAuth(settings) as auth:
        assert not auth.authenticator.push.trusted  # Redis's listener keeps retrying


@pytest.mark.anyio
async def test_redis_only_sessions_need_the_user_triggers_only(
    pg_url: str, keyspace_redis: RedisServer, issuer: TokenIssuer
) -> None:
    """Better-Auth with secondaryStorage alone creates no session table: ``migrate notify``
    installs the user's triggers, and push starts on them."""
    engine = create_async_engine(pg_url)
    try:
        await create_tables(engine)
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE session"))
        report = await install_triggers(engine)
    finally:
        await engine.dispose()
    assert report.done == ["user"]
    assert issuer.issuer is not None
    settings = settings_for(
        issuer.issuer, pg_url, freshness="push", redis_url=keyspace_redis.url(db=3)
    )
    async with BetterAuth(settings) as auth:
        assert auth.authenticator.push.trusted
