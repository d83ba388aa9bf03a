"""The per-request reads and their snapshots on a SQLite file, through the database's row reader."""

import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fastapi_better_auth import SchemaNaming
from fastapi_better_auth._database import Database
from fastapi_better_auth._store import (
    accounts_of,
    ping,
    rows_of,
    session_by_id,
    session_by_token,
    user_by_id,
    warm_reads,
)
from fastapi_better_auth._types import utcnow
from fastapi_better_auth._user_fields import UserFields
from fastapi_better_auth.errors import DatabaseUnavailableError
from fastapi_better_auth.models import get_models
from fastapi_better_auth.testing import (
    create_tables,
    make_account,
    make_session,
    make_user,
)
from tests.helpers import sqlite_threads_done

MODELS = get_models()
ALICE = make_user(
    name="Alice", email="alice@example.com", role="user,admin", email_verified=True
)
EVE = make_user(name="Eve", banned=True, ban_reason="spam")
SESSION = make_session(ALICE, ip_address="127.0.0.1", user_agent="pytest")
IMPERSONATED = make_session(EVE, impersonated_by=ALICE.id)
ACCOUNT = make_account(ALICE, access_token="secret-access-token")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    threads = set(threading.enumerate())
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await create_tables(engine)
    db = Database(engine, owns_engine=False)
    async with db.session() as session, session.begin():
        for row in (
            make_user(**_values(ALICE)),
            make_user(**_values(EVE)),
            make_session(ALICE, **_values(SESSION)),
            make_session(EVE, **_values(IMPERSONATED)),
            make_account(ALICE, **_values(ACCOUNT)),
        ):
            session.add(row)
    try:
        yield engine
    finally:
        await engine.dispose()
        await sqlite_threads_done(threads)


def _values(row: Any) -> dict[str, Any]:
    """A fresh copy of a model row's values (a row belongs to one session)."""
    return {
        attr.key: getattr(row, attr.key)
        for attr in row.__mapper__.column_attrs
        if attr.key != "user_id"
    }


@pytest.fixture
def db(engine: AsyncEngine) -> Database:
    return Database(engine, owns_engine=False)


@pytest.mark.anyio
async def test_user_by_id_returns_a_frozen_snapshot_of_the_row(db: Database) -> None:
    user = await user_by_id(db.read_row, MODELS, ALICE.id)
    assert user is not None
    assert (user.id, user.email, user.name, user.role) == (
        ALICE.id,
        "alice@example.com",
        "Alice",
        "user,admin",
    )
    assert user.email_verified is True and user.banned is False
    assert user.created_at is not None and user.created_at.tzinfo is not None
    eve = await user_by_id(db.read_row, MODELS, EVE.id)
    assert eve is not None and (eve.banned, eve.ban_reason) == (True, "spam")
    assert await user_by_id(db.read_row, MODELS, "no-such-user") is None


@pytest.mark.anyio
async def test_session_by_token_returns_session_and_user_in_one_read(
    db: Database,
) -> None:
    found = await session_by_token(db.read_row, MODELS, SESSION.token)
    assert found is not None
    session, user = found
    assert (session.id, session.user_id, user.id) == (SESSION.id, ALICE.id, ALICE.id)
    assert (session.ip_address, session.user_agent) == ("127.0.0.1", "pytest")
    assert session.expires_at > utcnow() + timedelta(days=6)
    assert "token" not in session.model_dump()  # a snapshot never carries the token
    assert await session_by_token(db.read_row, MODELS, "no-such-token") is None


@pytest.mark.anyio
async def test_session_by_id_needs_the_owner(db: Database) -> None:
    found = await session_by_id(db.read_row, MODELS, IMPERSONATED.id, EVE.id)
    assert found is not None and found[0].impersonated_by == ALICE.id
    assert await session_by_id(db.read_row, MODELS, IMPERSONATED.id, ALICE.id) is None


@pytest.mark.anyio
async def test_reads_on_a_held_session_see_its_transaction(db: Database) -> None:
    async with db.session() as session, session.begin():
        await session.execute(text("DELETE FROM session"))
        assert await session_by_token(rows_of(session), MODELS, SESSION.token) is None
        await session.rollback()
    assert await session_by_token(db.read_row, MODELS, SESSION.token) is not None


@pytest.mark.anyio
async def test_malformed_ids_of_a_uuid_schema_find_nothing_without_a_query() -> None:
    models = get_models(SchemaNaming(id_type="uuid"))

    async def no_query(*_args: Any) -> Any:
        raise AssertionError("a malformed id must not reach the database")

    assert await user_by_id(no_query, models, "not-a-uuid") is None
    assert await session_by_id(no_query, models, "x", "y") is None


@pytest.mark.anyio
async def test_declared_user_fields_are_read_with_the_row(
    db: Database, engine: AsyncEngine
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text('ALTER TABLE "user" ADD COLUMN plan TEXT'))
        await connection.execute(
            text('UPDATE "user" SET plan = :plan WHERE id = :id'),
            {"plan": "pro", "id": ALICE.id},
        )
    fields = UserFields.from_setting({"plan": "string"})
    user = await user_by_id(db.read_row, MODELS, ALICE.id, fields)
    assert user is not None and user.plan == "pro"  # type: ignore[attr-defined]
    found = await session_by_token(db.read_row, MODELS, SESSION.token, fields)
    assert found is not None and found[1].plan == "pro"  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_warm_reads_find_nothing_and_fail_on_a_missing_table(
    db: Database, engine: AsyncEngine
) -> None:
    await warm_reads(db.read_row, MODELS)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE session"))
    await warm_reads(
        db.read_row, MODELS, sessions=False
    )  # users only: no session table
    # SQLite reports a missing table as an OperationalError, read as "unavailable" (a 503)
    with pytest.raises(DatabaseUnavailableError) as info:
        await warm_reads(db.read_row, MODELS)
    assert "session" in str(info.value.__cause__)


@pytest.mark.anyio
async def test_accounts_of_never_selects_tokens(db: Database) -> None:
    async with db.session() as session:
        (account,) = await accounts_of(session, MODELS, ALICE.id)
        await ping(session)
    assert (account.id, account.provider_id) == (ACCOUNT.id, "credential")
    assert "secret-access-token" not in repr(account.model_dump())


@pytest.mark.anyio
async def test_unreachable_database_is_database_unavailable(tmp_path: Path) -> None:
    threads = set(threading.enumerate())
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'dir.db'}")
    db = Database(engine, owns_engine=True)
    try:
        with pytest.raises(DatabaseUnavailableError):
            await user_by_id(db.read_row, MODELS, ALICE.id)
        with pytest.raises(DatabaseUnavailableError):
            async with db.session() as session:
                await ping(session)
    finally:
        await db.close()
        await sqlite_threads_done(threads)
