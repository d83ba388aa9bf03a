"""Push invalidation against a real Better-Auth 1.7.25: its admin writes reach the listeners.

On PostgreSQL, with ``migrate notify``'s triggers, a ban through Better-Auth's admin endpoint
arrives as ``UserChanged`` and the sessions it deletes as ``SessionChanged``; a single revoked
session as its ``SessionChanged``. With sessions in Redis (``secondaryStorage``), the same ban
arrives through the key events. No event carries a token.
"""

import asyncio
import time
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth._push import Event, SessionChanged, UserChanged
from fastapi_better_auth._push.postgres import PostgresListener, listen_connector
from fastapi_better_auth._push.redis import RedisListener, listener_client
from fastapi_better_auth._schema.notify import install_triggers
from tests.helpers import guarded_app, run
from tests.interop.ba_server import running_better_auth
from tests.interop.flow import (
    Kind,
    app_settings,
    login,
    pg_database,
    require_node,
    sign_in,
    unique_email,
)
from tests.pg import PostgresServer
from tests.redis_server import running_redis

pytestmark = [pytest.mark.interop]
require_node()


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "event not received in time"
        await asyncio.sleep(0.005)


@pytest.mark.anyio
async def test_better_auth_ban_and_revoke_reach_the_postgres_listener(
    postgres: PostgresServer,
) -> None:
    events: list[Event] = []
    with (
        pg_database(postgres, "push") as db,
        running_better_auth(postgres.dsn(db)) as server,
    ):
        engine = create_async_engine(postgres.url(db))
        try:
            await install_triggers(engine)
        finally:
            await engine.dispose()
        admin = await asyncio.to_thread(login, server, unique_email("admin"))
        connection = await asyncpg.connect(postgres.dsn(db))
        await connection.execute(
            """UPDATE "user" SET role = 'admin' WHERE id = $1""", admin.user_id
        )
        await connection.close()
        user = await asyncio.to_thread(login, server, unique_email("push"))
        other = await asyncio.to_thread(sign_in, server, user.email)
        listener = PostgresListener(listen_connector(postgres.dsn(db)), events.append)
        try:
            assert await listener.start(wait=5.0)
            revoked = await asyncio.to_thread(
                server.admin_post,
                "revoke-user-session",
                {"sessionToken": other.raw},
                cookie=admin.cookie,
            )
            assert revoked.status_code == 200, revoked.text
            await _until(
                lambda: SessionChanged(other.session_id, user.user_id) in events
            )
            banned = await asyncio.to_thread(
                server.admin_post,
                "ban-user",
                {"userId": user.user_id},
                cookie=admin.cookie,
            )
            assert banned.status_code == 200, banned.text
            await _until(lambda: UserChanged(user.user_id) in events)
            await _until(
                lambda: SessionChanged(user.session_id, user.user_id) in events
            )
        finally:
            await listener.stop()
    assert user.raw not in repr(events) and other.raw not in repr(events)


@pytest.mark.anyio
async def test_better_auth_ban_with_redis_sessions_reaches_the_redis_listener(
    postgres: PostgresServer,
) -> None:
    events: list[Event] = []
    with (
        running_redis(keyspace_events="Eg$xe") as redis_server,
        pg_database(postgres, "pushredis") as db,
        running_better_auth(
            postgres.dsn(db), env={"BA_REDIS_URL": redis_server.url(db=4)}
        ) as server,
    ):
        admin = await asyncio.to_thread(login, server, unique_email("admin"))
        connection = await asyncpg.connect(postgres.dsn(db))
        await connection.execute(
            """UPDATE "user" SET role = 'admin' WHERE id = $1""", admin.user_id
        )
        await connection.close()
        # Better-Auth reads the role from the session's Redis snapshot: sign in again
        admin = await asyncio.to_thread(sign_in, server, admin.email)
        user = await asyncio.to_thread(login, server, unique_email("pushredis"))
        client = listener_client(redis_server.url(db=4))
        listener = RedisListener(client, events.append, db=4)
        try:
            assert await listener.start(wait=5.0)
            banned = await asyncio.to_thread(
                server.admin_post,
                "ban-user",
                {"userId": user.user_id},
                cookie=admin.cookie,
            )
            assert banned.status_code == 200, banned.text
            await _until(lambda: UserChanged(user.user_id) in events)
            await _until(lambda: any(isinstance(e, SessionChanged) for e in events))
        finally:
            await listener.stop()
            await client.aclose()
    assert user.raw not in repr(events)


@pytest.mark.parametrize("kind", ["jwt", "raw", "cookie"])
def test_a_ban_through_better_auth_is_refused_by_a_push_mode_app_within_100_ms(
    postgres: PostgresServer, kind: Kind
) -> None:
    with (
        pg_database(postgres, "pushapp") as db,
        running_better_auth(postgres.dsn(db)) as server,
    ):
        run(_install(postgres.url(db)))
        admin = login(server, unique_email("admin"))
        postgres.psql(
            f"""UPDATE "user" SET role = 'admin' WHERE id = '{admin.user_id}'""", db
        )
        user = login(server, unique_email("pushapp"))
        settings = app_settings(server, postgres.url(db), freshness="push")
        with TestClient(guarded_app(settings)) as app:
            headers = user.headers(kind)
            for _ in range(3):
                assert app.get("/me", headers=headers).status_code == 200
            banned = server.admin_post(
                "ban-user", {"userId": user.user_id}, cookie=admin.cookie
            )
            assert banned.status_code == 200, banned.text
            start = time.perf_counter()
            while app.get("/me", headers=headers).status_code == 200:
                assert time.perf_counter() - start < 1.0, "never refused"
            elapsed = time.perf_counter() - start
    print(f"Better-Auth ban, {kind}: refused {elapsed * 1000:.1f} ms after its answer")
    assert elapsed < 0.1


async def _install(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await install_triggers(engine)
    finally:
        await engine.dispose()
