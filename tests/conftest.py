"""Shared fixtures: a real PostgreSQL server for the session, fresh databases per test, SQLite files."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import PostgresServer, running_postgres
from tests.redis_server import RedisServer, running_redis

DATA = Path(__file__).with_name("data")
BA_URL = "http://127.0.0.1:3005"
BA_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The suite's PostgreSQL server, started once on a free loopback port."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The suite's Redis (Better-Auth's secondaryStorage), started on first use."""
    with running_redis() as server:
        yield server


@pytest.fixture
def pg_database(postgres: PostgresServer) -> Iterator[str]:
    """A new, empty database for one test; its name."""
    name = "t_" + secrets.token_hex(6)
    postgres.psql(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(postgres: PostgresServer, pg_database: str) -> str:
    """SQLAlchemy async URL of an empty PostgreSQL database."""
    return postgres.url(pg_database)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy async URL of an empty SQLite file."""
    return f"sqlite+aiosqlite:///{tmp_path / 'better-auth.db'}"


@pytest.fixture(params=["postgres", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind the library supports."""
    fixture = "pg_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def migrated_url(db_url: str) -> str:
    """``db_url`` with the shipped migration applied."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from fastapi_better_auth._schema import migrate as _migrate

    engine = create_async_engine(db_url)
    try:
        await _migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return db_url
