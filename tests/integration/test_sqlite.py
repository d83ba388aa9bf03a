"""On SQLite (the embedded default) the migration and the models store what Better-Auth stores there."""

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth.models import Session, User

pytestmark = pytest.mark.anyio


async def test_sqlite_migration_creates_better_auth_types_and_constraints(
    sqlite_url: str,
) -> None:
    engine = create_async_engine(sqlite_url)
    try:
        await _migrate.upgrade(engine)
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {
                    col["name"]: str(col["type"])
                    for col in inspect(c).get_columns("user")
                }
            )
            fks = await conn.run_sync(lambda c: inspect(c).get_foreign_keys("session"))
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("session"))
        assert columns["emailVerified"] == "INTEGER"
        assert columns["createdAt"].lower() == "date"
        assert fks[0]["referred_table"] == "user"
        assert fks[0]["options"]["ondelete"] == "CASCADE"
        assert [i["name"] for i in indexes] == ["session_userId_idx"]
        await _migrate.downgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(lambda c: inspect(c).get_table_names()) == []
    finally:
        await engine.dispose()


async def test_sqlite_rows_are_iso_strings_and_integers_and_read_back_aware(
    sqlite_url: str,
) -> None:
    engine = create_async_engine(sqlite_url)
    try:
        await _migrate.upgrade(engine)
        async with AsyncSession(engine) as session, session.begin():
            user = User(name="Bob", email="bob@example.com", email_verified=True)
            session.add(user)
            await session.flush()
            session.add(
                Session(
                    token="x" * 32,
                    user_id=user.id,
                    expires_at=datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc),
                )
            )
        async with engine.connect() as conn:
            raw = (
                await conn.execute(
                    text('SELECT "emailVerified", "createdAt", banned FROM user')
                )
            ).one()
            expires = (
                await conn.execute(text('SELECT "expiresAt" FROM session'))
            ).scalar_one()
        assert raw[0] == 1
        assert raw[2] == 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", raw[1])
        assert expires == "2031-05-06T07:08:09.000Z"
        async with AsyncSession(engine) as session:
            loaded = (await session.execute(select(Session))).scalar_one()
        assert loaded.expires_at == datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    finally:
        await engine.dispose()


async def test_deleting_a_user_cascades_to_sessions(migrated_url: str) -> None:
    engine = create_async_engine(migrated_url)
    try:
        if migrated_url.startswith("sqlite"):
            from sqlalchemy import event

            event.listen(
                engine.sync_engine,
                "connect",
                lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"),
            )
        async with AsyncSession(engine) as session, session.begin():
            user = User(name="C", email="c@example.com")
            session.add(user)
            await session.flush()
            session.add(
                Session(
                    token="y" * 32,
                    user_id=user.id,
                    expires_at=datetime(2031, 1, 1, tzinfo=timezone.utc),
                )
            )
        async with AsyncSession(engine) as session, session.begin():
            await session.delete((await session.execute(select(User))).scalar_one())
        async with AsyncSession(engine) as session:
            assert (await session.execute(select(Session))).first() is None
    finally:
        await engine.dispose()


async def test_sqlite_serial_ids_are_rowids_numbered_by_the_database(
    sqlite_url: str,
) -> None:
    """generateId "serial" on SQLite: ``integer`` primary keys (rowid aliases), strings in Python."""
    from fastapi_better_auth import SchemaNaming
    from fastapi_better_auth.models import get_models

    naming = SchemaNaming.from_mappings(id_type="serial")
    models = get_models(naming)
    engine = create_async_engine(sqlite_url)
    try:
        await _migrate.upgrade(engine, naming)
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            users = [models.user(name=n, email=f"{n}@example.com") for n in "ab"]
            session.add_all(users)
            await session.flush()
            session.add(
                models.session(
                    token="z" * 32,
                    user_id=users[1].id,
                    expires_at=datetime(2031, 1, 1, tzinfo=timezone.utc),
                )
            )
        assert [u.id for u in users] == ["1", "2"]
        async with engine.connect() as conn:
            ddl = (
                await conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name='user'")
                )
            ).scalar_one()
            raw = (await conn.execute(text('SELECT id, "userId" FROM session'))).one()
        assert "id INTEGER NOT NULL" in ddl
        assert tuple(raw) == (1, 2)  # integers in the database
    finally:
        await engine.dispose()
