"""A throwaway PostgreSQL (the test rig's) with Better-Auth's schema and N users, seeded by COPY.

Better-Auth's schema and the triggers of ``migrate notify`` (for the freshness=push server, and
they cost a read-only workload nothing); the admin section adds the opt-in list indexes itself.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import create_async_engine
from tests.pg import running_postgres

from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._schema.notify import install_triggers
from fastapi_better_auth._types import generate_id

DATABASE = "bench"
_COLUMNS = ["id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt",
            "role", "banned", "banReason", "banExpires"]  # fmt: skip


@dataclass
class Database:
    url: str  # SQLAlchemy
    dsn: str  # asyncpg
    user_ids: list[str]  # user_ids[0] is an admin


async def _seed(url: str, dsn: str, count: int) -> list[str]:
    engine = create_async_engine(url)
    try:
        await _migrate.upgrade(engine)
        await install_triggers(
            engine
        )  # migrate notify: the freshness=push server needs them
    finally:
        await engine.dispose()
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    ids = [generate_id() for _ in range(count)]
    records = [
        (uid, f"User {i:06d}", f"user{i:06d}@example.com", i % 3 != 0, None,
         base + timedelta(seconds=i), base + timedelta(seconds=i),
         "admin" if i == 0 else "user", False, None, None)
        for i, uid in enumerate(ids)
    ]  # fmt: skip
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "user", records=records, columns=_COLUMNS
        )
        # as autovacuum leaves a table at rest (visibility map set), not mid-way through it
        await connection.execute('VACUUM ANALYZE "user"')
    finally:
        await connection.close()
    return ids


@contextmanager
def seeded_database(users: int) -> Iterator[Database]:
    """A running server with database ``bench`` holding ``users`` users; removed at exit."""
    with running_postgres() as server:
        server.psql(f"CREATE DATABASE {DATABASE}")
        url, dsn = server.url(DATABASE), server.dsn(DATABASE)
        ids = asyncio.run(_seed(url, dsn, users))
        yield Database(url, dsn, ids)
