"""Per-request reads on asyncpg's own pool: the same rows as SQLAlchemy, the same failure rules."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fastapi_better_auth import BetterAuth, BetterAuthSettings, _store
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.errors import DatabaseUnavailableError
from tests.pg import PostgresServer, running_postgres

pytestmark = pytest.mark.anyio

NAMINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "snake-plural": {"use_plural": True, "column_case": "snake"},
    "uuid": {"id_type": "uuid"},
    "serial": {"id_type": "serial"},
}


def _settings(database_url: str, **options: Any) -> BetterAuthSettings:
    return BetterAuthSettings.load(
        url="http://127.0.0.1:3005", database_url=database_url, **options
    )


async def _seed(url: str, options: dict[str, Any]) -> tuple[str, str, str]:
    """A user with a session, in a schema of ``options``' naming; their ids and the token."""
    auth = BetterAuth(_settings(url, **options))
    models = auth.models
    id_type = options.get("id_type")
    user_id = str(uuid.uuid4()) if id_type == "uuid" else "u" * 32
    session_id = str(uuid.uuid4()) if id_type == "uuid" else "s" * 32
    # numbered by the database
    serial: dict[str, str | None] = {"id": None} if id_type == "serial" else {}
    now = utcnow()
    try:
        await _migrate.upgrade(auth.engine, auth.settings.naming)
        async with auth.transaction() as db:
            user = models.user(
                name="Ada", email="ada@example.com",
                email_verified=True, role="admin,user", banned=True,
                ban_reason="spam", ban_expires=now + timedelta(days=1),
                created_at=now, updated_at=now, **(serial or {"id": user_id}),
            )  # fmt: skip
            db.add(user)
            await db.flush()
            session = models.session(
                token="tok" * 10, user_id=user.id,
                expires_at=now + timedelta(days=7), created_at=now,
                updated_at=now, ip_address="10.0.0.1", user_agent="test",
                **(serial or {"id": session_id}),
            )  # fmt: skip
            db.add(session)
            await db.flush()
            user_id, session_id = user.id, session.id
    finally:
        await auth.close()
    return user_id, session_id, "tok" * 10


async def _hot_reads(
    auth: BetterAuth, user_id: str, session_id: str, token: str
) -> Any:
    models, read = auth.models, auth.read_row
    return (
        await _store.user_by_id(read, models, user_id),
        await _store.session_by_id(read, models, session_id, user_id),
        await _store.session_by_token(read, models, token),
        # no such user (a serial session id can be a user's id too)
        await _store.user_by_id(
            read, models, "999999" if models.naming.id_type == "serial" else session_id
        ),
    )


@pytest.mark.parametrize("naming", sorted(NAMINGS))
async def test_direct_reads_return_what_sqlalchemy_returns(
    pg_url: str, naming: str
) -> None:
    options = NAMINGS[naming]
    user_id, session_id, token = await _seed(pg_url, options)
    async with BetterAuth(_settings(pg_url, **options)) as direct:
        assert direct._direct is not None
        fast = await _hot_reads(direct, user_id, session_id, token)
    async with BetterAuth(
        _settings(pg_url, database_direct_reads=False, **options)
    ) as plain:
        assert plain._direct is None
        slow = await _hot_reads(plain, user_id, session_id, token)
    assert fast == slow
    user, (session, session_user), (_, token_user), missing = fast
    assert (user.id, user.roles, user.banned, user.ban_reason) == (
        user_id, frozenset({"admin", "user"}), True, "spam",
    )  # fmt: skip
    assert user.created_at is not None and user.created_at.utcoffset() == timedelta(0)
    assert (session.id, session.ip_address, session_user, token_user) == (
        session_id, "10.0.0.1", user, user,
    )  # fmt: skip
    assert missing is None


async def test_direct_reads_only_on_an_asyncpg_engine_the_runtime_owns(
    pg_url: str, sqlite_url: str
) -> None:
    shared: AsyncEngine = create_async_engine(pg_url)
    runtimes = [
        BetterAuth(_settings(sqlite_url)),
        BetterAuth(_settings(pg_url), engine=shared),
        BetterAuth(_settings(pg_url, database_direct_reads=False)),
    ]
    try:
        assert [auth._direct for auth in runtimes] == [None, None, None]
    finally:
        for auth in runtimes:
            await auth.close()
        await shared.dispose()


async def test_direct_reads_honour_the_urls_statement_cache_option(
    pg_url: str,
) -> None:
    user_id, _, _ = await _seed(pg_url, {})
    url = pg_url + "?prepared_statement_cache_size=0"
    async with BetterAuth(_settings(url)) as auth:
        assert auth._direct is not None
        assert (
            auth._direct._statement_cache_size == 0
        )  # for PgBouncer's transaction mode
        user = await _store.user_by_id(auth.read_row, auth.models, user_id)
        assert user is not None and user.name == "Ada"


async def test_direct_reads_survive_restarts_and_report_a_stopped_server() -> None:
    with running_postgres() as server:
        url = server.url()
        user_id, _, _ = await _seed(url, {})
        async with BetterAuth(_settings(url)) as auth:
            read = auth.read_row

            async def name() -> str | None:
                user = await _store.user_by_id(read, auth.models, user_id)
                return None if user is None else user.name

            assert await name() == "Ada"  # the pool now holds a connection
            server.restart()  # ...that the server has closed
            server.wait_ready()
            assert await name() == "Ada"  # replaced and retried: no 503
            server.stop()
            with pytest.raises(DatabaseUnavailableError):
                await name()
            assert await auth._direct.warm() is False  # type: ignore[union-attr]
            server.start()
            server.wait_ready()
            assert await name() == "Ada"  # recovered without a new runtime


async def test_direct_reads_let_query_bugs_through(pg_url: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    async with BetterAuth(_settings(pg_url)) as auth:  # no tables: a bug, not an outage
        with pytest.raises(asyncpg.UndefinedTableError):
            await _store.user_by_id(auth.read_row, auth.models, "u" * 32)


async def test_start_opens_a_connection_and_never_fails_on_the_database(
    postgres: PostgresServer, pg_url: str
) -> None:
    await _seed(pg_url, {})
    async with BetterAuth(_settings(pg_url)) as auth:
        pool = auth._direct._pool  # type: ignore[union-attr]
        assert pool is not None and pool.get_size() == 1
        # the three per-request reads are compiled and prepared on that connection
        assert len(auth._direct._sql) == 3  # type: ignore[union-attr]
        async with pool.acquire() as connection:
            prepared = await connection.fetchval(
                "SELECT count(*) FROM pg_prepared_statements"
            )
        assert prepared >= 3
    assert auth._direct._pool is None  # type: ignore[union-attr]  # closed with the runtime
    closed_port = pg_url.replace(f":{postgres.port}/", ":1/")
    async with BetterAuth(_settings(closed_port)) as unreachable:
        assert unreachable._direct is not None
        with pytest.raises(DatabaseUnavailableError):
            await _store.user_by_id(unreachable.read_row, unreachable.models, "u" * 32)


async def test_direct_reads_send_one_statement_per_read_and_no_reset_query(
    pg_url: str,
) -> None:
    """asyncpg's default release runs ``RESET ALL`` & co.: a second round trip per read."""
    user_id, session_id, token = await _seed(pg_url, {})
    sent: list[str] = []
    async with BetterAuth(_settings(pg_url, database_pool_size=1)) as auth:
        assert auth._direct is not None
        pool = await auth._direct._get_pool()
        async with pool.acquire() as connection:  # the pool's only connection
            connection.add_query_logger(lambda record: sent.append(record.query))
        sent.clear()
        found = await _hot_reads(auth, user_id, session_id, token)
        assert found[0] is not None and found[3] is None
        assert len(sent) == 4, sent
        assert not any("RESET" in query or "UNLISTEN" in query for query in sent)


async def test_direct_reads_answer_unavailable_when_no_connection_frees_up(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exhausted pool (every connection stuck) is a 503 after the wait, never a hang."""
    from fastapi_better_auth import _direct

    user_id, _, _ = await _seed(pg_url, {})
    monkeypatch.setattr(_direct, "ACQUIRE_TIMEOUT", 0.2)
    async with BetterAuth(_settings(pg_url, database_pool_size=1)) as auth:
        assert auth._direct is not None
        pool = await auth._direct._get_pool()
        async with pool.acquire():  # hold the only connection
            with pytest.raises(DatabaseUnavailableError):
                await _store.user_by_id(auth.read_row, auth.models, user_id)
        found = await _store.user_by_id(auth.read_row, auth.models, user_id)
        assert found is not None and found.id == user_id


async def test_direct_reads_give_timestamps_without_time_zone_as_utc(
    pg_url: str,
) -> None:
    """Prisma's and Drizzle's ``timestamp`` columns hold UTC wall time: aware UTC both ways."""
    from datetime import datetime, timezone

    async with BetterAuth(_settings(pg_url)) as auth:
        assert auth._direct is not None
        pool = await auth._direct._get_pool()
        async with pool.acquire() as connection:
            await connection.execute("SET TIME ZONE 'America/New_York'")  # no effect
            plain = await connection.fetchval(
                "SELECT '2026-12-04 18:11:55.135'::timestamp"
            )
            aware = datetime(
                2026, 12, 4, 19, 11, 55, tzinfo=timezone(timedelta(hours=1))
            )
            naive = aware.replace(tzinfo=None)
            bound = await connection.fetchrow(
                "SELECT $1::timestamp::text AS a, $2::timestamp::text AS n",
                aware,
                naive,
            )
            endless = await connection.fetchrow(
                "SELECT 'infinity'::timestamp AS hi, '-infinity'::timestamp AS lo"
            )
            await connection.execute("RESET TIME ZONE")
    assert plain == datetime(2026, 12, 4, 18, 11, 55, 135000, tzinfo=timezone.utc)
    assert (bound["a"], bound["n"]) == ("2026-12-04 18:11:55", "2026-12-04 19:11:55")
    assert (endless["hi"].year, endless["lo"].year) == (9999, 1)
    assert endless["hi"].tzinfo is timezone.utc
