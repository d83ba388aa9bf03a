"""Seeding rows under your Better-Auth naming: Drizzle's snake_case tables with serial ids.

This file is a test the suite runs (it is included in the docs), so the docs cannot rot.
"""

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from examples.quickstart import app
from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth.testing import (
    TokenIssuer,
    create_tables,
    make_account,
    make_session,
    make_user,
)


# --8<-- [start:test]
def seed_alice(settings: BetterAuthSettings) -> str:
    """Alice, her password account and a session, under the settings' naming; her token."""

    async def insert() -> str:
        naming = (
            settings.naming
        )  # snake_case columns, serial ids, epoch-ms dates on SQLite
        engine = create_async_engine(settings.sqlalchemy_url)
        await create_tables(engine, naming)
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            alice = make_user(naming=naming, name="Alice")
            session.add(alice)
            await session.flush()  # serial ids: the database numbers Alice here
            login = make_session(alice, naming=naming)
            session.add_all([login, make_account(alice, naming=naming)])
        await engine.dispose()
        return login.token

    return asyncio.run(insert())


def test_private_route_with_a_drizzle_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BETTER_AUTH_COLUMN_CASE", "snake")
    monkeypatch.setenv("BETTER_AUTH_ID_TYPE", "serial")
    monkeypatch.setenv("BETTER_AUTH_SQLITE_DATES", "epoch_ms")
    monkeypatch.setenv(
        "BETTER_AUTH_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    )
    with TokenIssuer().serve() as better_auth_url:
        monkeypatch.setenv("BETTER_AUTH_URL", better_auth_url)
        token = seed_alice(BetterAuthSettings())
        with TestClient(app) as client:
            response = client.get(
                "/private", headers={"Authorization": f"Bearer {token}"}
            )
    assert response.json() == {"hello": "Alice"}
    # --8<-- [end:test]
