"""Testing your own app: a real JWKS on loopback, Better-Auth-shaped tokens and seeded rows.

This file is a test the suite runs (it is included in the docs), so the docs cannot rot.
"""

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from examples.quickstart import app
from fastapi_better_auth import AuthenticatedUser, current_user
from fastapi_better_auth.testing import (
    TokenIssuer,
    create_tables,
    make_user,
    user_claims,
)


def seed(database_url: str, *rows: object) -> None:
    """Create Better-Auth's tables and insert rows (your suite may use Better-Auth's migration)."""

    async def insert() -> None:
        engine = create_async_engine(database_url)
        await create_tables(engine)
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            session.add_all(rows)
        await engine.dispose()

    asyncio.run(insert())


def test_private_route_greets_the_token_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    alice = make_user(name="Alice")
    seed(database_url, alice)
    issuer = TokenIssuer()  # EdDSA keys, as Better-Auth's jwt plugin signs
    with issuer.serve() as better_auth_url:  # serves /api/auth/jwks on 127.0.0.1
        monkeypatch.setenv("BETTER_AUTH_URL", better_auth_url)
        monkeypatch.setenv("BETTER_AUTH_DATABASE_URL", database_url)
        with TestClient(app) as client:
            token = issuer.mint(user_claims(alice))
            response = client.get(
                "/private", headers={"Authorization": f"Bearer {token}"}
            )
            forged = client.get(
                "/private",
                headers={"Authorization": f"Bearer {issuer.forge(user_claims(alice))}"},
            )
    assert response.json() == {"hello": "Alice"}
    assert forged.status_code == 401


def test_private_route_with_an_overridden_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BETTER_AUTH_URL", "http://127.0.0.1:3005")
    monkeypatch.setenv("BETTER_AUTH_DATABASE_URL", "sqlite://")
    app.dependency_overrides[current_user] = lambda: AuthenticatedUser(
        id="u1", email="bob@example.com", name="Bob", email_verified=True
    )
    try:
        with TestClient(app) as client:
            assert client.get("/private").json() == {"hello": "Bob"}
    finally:
        app.dependency_overrides.clear()
