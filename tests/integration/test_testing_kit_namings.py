"""The testing kit's core rows under every naming Better-Auth's adapters make: the library
authenticates with them.

Tables come from ``create_tables`` (with the API-key plugin's), rows from ``make_user``,
``make_session``, ``make_account`` and ``make_api_key`` under the settings' naming; the app then
answers the session token and the API key with the user the kit built.
"""

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import (
    AuthenticatedUser,
    BetterAuthSettings,
    CurrentUser,
    SchemaNaming,
    better_auth_router,
)
from fastapi_better_auth.api_keys import CurrentPrincipal
from fastapi_better_auth.models import get_models
from fastapi_better_auth.testing import (
    create_tables,
    make_account,
    make_api_key,
    make_session,
    make_user,
)
from tests.helpers import run, settings_for

#: Settings of the namings Better-Auth's adapters and ``generateId`` produce.
NAMINGS: dict[str, dict[str, Any]] = {
    "default": {},
    # Prisma with usePlural; its own SQLite engine writes epoch milliseconds
    "prisma-plural": {"use_plural": True, "sqlite_dates": "epoch_ms"},
    # Drizzle with snake_case columns and plural tables (timestamp_ms on SQLite)
    "drizzle-snake-plural": {
        "use_plural": True,
        "column_case": "snake",
        "sqlite_dates": "epoch_ms",
    },
    "uuid": {"id_type": "uuid"},
    "serial": {"id_type": "serial"},
    "drizzle-serial": {"column_case": "snake", "id_type": "serial"},
}


def _app(settings: BetterAuthSettings) -> FastAPI:
    app = FastAPI()
    app.include_router(better_auth_router(settings))

    @app.get("/me")
    async def me(user: CurrentUser) -> AuthenticatedUser:
        return user

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        assert principal.api_key is not None
        return {"user": principal.user.id, "key": principal.api_key.id}

    return app


async def _seed(url: str, naming: SchemaNaming) -> dict[str, Any]:
    engine = create_async_engine(url)
    try:
        await create_tables(engine, naming, api_keys=True)
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            user = make_user(naming=naming, name="Ada")
            db.add(user)
            await db.flush()  # serial ids: the database numbers the user here
            session = make_session(user, naming=naming)
            account = make_account(user.id, naming=naming)
            key_row, key = make_api_key(user, naming=naming)
            db.add_all([session, account, key_row])
        async with AsyncSession(engine) as db:
            model = get_models(naming).account
            stored = (await db.execute(select(model.user_id))).scalar_one()
    finally:
        await engine.dispose()
    return {
        "user": user.id,
        "token": session.token,
        "key": key,
        "key_id": key_row.id,
        "account_user": stored,
    }


@pytest.mark.parametrize("name", list(NAMINGS))
def test_kit_rows_authenticate_under_the_naming(
    db_url: str, origin: str, name: str
) -> None:
    settings = settings_for(origin, db_url, **NAMINGS[name])
    seeded = run(_seed(db_url, settings.naming))
    user_id = seeded["user"]
    if settings.id_type == "serial":
        assert isinstance(user_id, str) and user_id.isdigit()
    elif settings.id_type == "uuid":
        assert str(uuid.UUID(user_id)) == user_id and uuid.UUID(user_id).version == 4
    else:
        assert len(user_id) == 32
    assert seeded["account_user"] == user_id
    with TestClient(_app(settings)) as client:
        me = client.get("/me", headers={"Authorization": f"Bearer {seeded['token']}"})
        who = client.get("/whoami", headers={"x-api-key": seeded["key"]})
    assert me.status_code == 200, me.text
    assert (me.json()["id"], me.json()["name"]) == (user_id, "Ada")
    assert who.status_code == 200, who.text
    assert who.json() == {"user": user_id, "key": str(seeded["key_id"])}
