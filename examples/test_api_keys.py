"""Testing routes behind API keys: ``make_api_key`` mints a key row and its plaintext.

This file is a test the suite runs (it is included in the docs), so the docs cannot rot.
"""

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from examples.api_keys import create_app
from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth.testing import create_tables, make_api_key, make_user


# --8<-- [start:test]
def seed(database_url: str, *rows: object) -> None:
    """Better-Auth's tables and the plugin's ``apikey`` (a throwaway SQLite file), with rows."""

    async def insert() -> None:
        engine = create_async_engine(database_url)
        await create_tables(engine, api_keys=True)
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            session.add_all(rows)
        await engine.dispose()

    asyncio.run(insert())


def test_files_need_a_key_with_read_permission(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    alice = make_user(name="Alice")
    reader, reader_key = make_api_key(alice, permissions={"files": ["read"]})
    other, other_key = make_api_key(alice, remaining=1)
    seed(database_url, alice, reader, other)
    settings = BetterAuthSettings(
        url="http://127.0.0.1:3005", database_url=database_url
    )
    with TestClient(create_app(settings)) as client:
        ok = client.get("/files", headers={"x-api-key": reader_key})
        denied = client.get("/files", headers={"x-api-key": other_key})
        who = client.get("/whoami", headers={"x-api-key": other_key})
        spent = client.get("/whoami", headers={"x-api-key": other_key})
    assert ok.json() == [f"{alice.id}/report.pdf"]
    assert denied.status_code == 403  # API_KEY_PERMISSION_DENIED, no use counted
    assert who.json() == {"user": alice.id, "key": other.id}
    assert spent.status_code == 429  # API_KEY_USAGE_EXCEEDED: remaining was 1
    # --8<-- [end:test]
