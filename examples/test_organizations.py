"""Testing routes for organization members: rows as Better-Auth writes them, on a SQLite file.

This file is a test the suite runs (it is included in the docs), so the docs cannot rot.
"""

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from examples.organizations import create_app
from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.organizations import get_organization_models
from fastapi_better_auth.testing import make_session, make_user

ORG = get_organization_models()


# --8<-- [start:test]
def seed(database_url: str, *rows: object) -> None:
    """Better-Auth's tables, the organization plugin's, and rows (a throwaway SQLite file)."""

    async def insert() -> None:
        engine = create_async_engine(database_url)
        await _migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.run_sync(ORG.metadata.create_all)
            for column in ("activeOrganizationId", "activeTeamId"):
                await connection.execute(
                    text(f'ALTER TABLE session ADD COLUMN "{column}" TEXT')
                )
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            for row in rows:
                session.add(row)
                await session.flush()
        await engine.dispose()

    asyncio.run(insert())


def test_projects_need_a_role_granting_project_create(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    alice_session, bob_session = make_session(alice), make_session(bob)
    acme = ORG.organization(id="acme", name="Acme", slug="acme", created_at=utcnow())
    seed(
        database_url,
        *(alice, bob, alice_session, bob_session, acme),
        ORG.member(organization_id="acme", user_id=alice.id, role="owner"),
        ORG.member(organization_id="acme", user_id=bob.id, role="member, developer"),
    )
    settings = BetterAuthSettings(
        url="http://127.0.0.1:3005", database_url=database_url
    )
    named = {"x-organization-id": "acme"}
    with TestClient(create_app(settings)) as client:
        owner = {"Authorization": f"Bearer {alice_session.token}", **named}
        dev = {"Authorization": f"Bearer {bob_session.token}", **named}
        assert client.get("/organization", headers=dev).json() == {
            "id": "acme",
            "roles": [
                "member",
                "developer",
            ],  # trimmed, as the organization plugin does
        }
        assert client.post("/projects", headers=dev).status_code == 200
        assert client.post("/projects", headers=owner).status_code == 403
        assert client.get("/settings", headers=owner).json() == {"ok": True}
        assert client.get("/settings", headers=dev).status_code == 403
    # --8<-- [end:test]
