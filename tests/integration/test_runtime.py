"""The runtime owns what it creates, shares what it is given, and tells unavailability from bugs."""

import sys
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from fastapi_better_auth import (
    BetterAuth,
    BetterAuthSettings,
    ConfigurationError,
    DbSession,
    better_auth_router,
    get_better_auth,
)
from fastapi_better_auth.errors import DatabaseUnavailableError

pytestmark = pytest.mark.anyio


def _settings(database_url: str) -> BetterAuthSettings:
    return BetterAuthSettings.load(
        url="http://127.0.0.1:3005", database_url=database_url
    )


async def test_runtime_with_injected_engine_does_not_dispose_it(pg_url: str) -> None:
    engine = create_async_engine(pg_url)
    try:
        async with BetterAuth(_settings(pg_url), engine=engine) as auth:
            assert auth.engine is engine
        async with engine.connect() as conn:  # still usable
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_runtime_reads_settings_from_environment(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("BETTER_AUTH_URL", "http://127.0.0.1:3005")
    monkeypatch.setenv("BETTER_AUTH_DATABASE_URL", sqlite_url)
    async with BetterAuth() as auth:
        await auth.check_database()
        assert auth.settings.origin == "http://127.0.0.1:3005"


async def test_session_lets_query_bugs_through_unchanged(pg_url: str) -> None:
    async with BetterAuth(_settings(pg_url)) as auth:
        with pytest.raises(ProgrammingError):
            async with auth.session() as session:
                await session.execute(text("SELECT * FROM no_such_table"))
        with pytest.raises(DatabaseUnavailableError):
            async with auth.session():
                raise DatabaseUnavailableError()


async def test_session_unreachable_database_raises_unavailable() -> None:
    async with BetterAuth(
        _settings("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    ) as auth:
        with pytest.raises(DatabaseUnavailableError) as info:
            await auth.check_database()
    assert info.value.http_headers() == {"Retry-After": "5"}


def _app_with_db_route(router_kwargs: dict[str, object]) -> FastAPI:
    app = FastAPI()
    app.include_router(better_auth_router(**router_kwargs))  # type: ignore[arg-type]

    @app.get("/count")
    async def count(db: DbSession) -> int:
        return int((await db.execute(text("SELECT 41 + 1"))).scalar_one())

    @app.get("/runtime")
    async def runtime(auth: Annotated[BetterAuth, Depends(get_better_auth)]) -> str:
        return auth.settings.origin

    return app


def test_router_with_explicit_runtime_shares_it(sqlite_url: str) -> None:
    auth = BetterAuth(_settings(sqlite_url))
    with TestClient(_app_with_db_route({"auth": auth})) as client:
        assert client.get("/count").json() == 42
        assert client.get("/runtime").json() == "http://127.0.0.1:3005"
        client.portal.call(auth.close)  # the caller owns a runtime it passes in


def test_get_db_unreachable_database_answers_503() -> None:
    app = _app_with_db_route(
        {"settings": _settings("postgresql+asyncpg://nobody@127.0.0.1:9/none")}
    )
    with TestClient(app) as client:
        response = client.get("/count")
    assert response.status_code == 503, response.text
    assert response.json()["detail"]["code"] == "DATABASE_UNAVAILABLE"


def test_routes_without_the_lifespan_raise_configuration_error() -> None:
    app = _app_with_db_route({"settings": _settings("sqlite://")})
    client = TestClient(app)  # not entered: the lifespan never runs
    with pytest.raises(ConfigurationError, match="include better_auth_router"):
        client.get("/runtime")


def test_each_router_call_returns_a_new_router() -> None:
    assert better_auth_router() is not better_auth_router()


async def test_db_session_is_an_async_session(sqlite_url: str) -> None:
    async with BetterAuth(_settings(sqlite_url)) as auth, auth.session() as session:
        assert isinstance(session, AsyncSession)


async def test_read_retries_once_on_a_connection_the_server_closed() -> None:
    from tests.pg import running_postgres

    with running_postgres() as server:
        async with BetterAuth(_settings(server.url())) as auth:

            async def one(connection: AsyncConnection) -> int:
                return int((await connection.execute(text("SELECT 1"))).scalar_one())

            assert await auth.read(one) == 1  # the pool now holds a connection
            server.restart()  # ...that the server has closed
            server.wait_ready()
            assert await auth.read(one) == 1  # retried on a fresh connection, no 503
            server.stop()
            with pytest.raises(DatabaseUnavailableError):
                await auth.read(one)


async def test_read_lets_query_bugs_through(pg_url: str) -> None:
    async with BetterAuth(_settings(pg_url)) as auth:

        async def bad(connection: AsyncConnection) -> None:
            await connection.execute(text("SELECT * FROM no_such_table"))

        with pytest.raises(ProgrammingError):
            await auth.read(bad)


async def test_pool_size_settings_reach_the_engine(pg_url: str) -> None:
    settings = BetterAuthSettings.load(
        url="http://127.0.0.1:3005",
        database_url=pg_url,
        database_pool_size=3,
        database_max_overflow=0,
    )
    auth = BetterAuth(settings)
    try:
        pool = auth.engine.sync_engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        await auth.close()


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("postgresql://u@127.0.0.1:1/db", "asyncpg", "postgres"),
        ("sqlite:///x.db", "aiosqlite", "sqlite"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    """Installed without ``[postgres]``/``[sqlite]``: one message naming the extra, at start."""
    monkeypatch.setitem(
        sys.modules, module, None
    )  # what an absent package looks like to import
    settings = BetterAuthSettings.load(url="http://127.0.0.1:3005", database_url=url)
    with pytest.raises(
        ConfigurationError, match=rf"fastapi-better-auth-kit\[{extra}\]"
    ):
        BetterAuth(settings)
