"""Admin routes under ``better_auth_router(admin_access=AdminAccess(roles=...))``, on PostgreSQL and SQLite.

The app declares Better-Auth's ``admin({ ac, roles })`` in Python: the default ``admin`` and
``user`` roles plus ``support`` (``user: ["list"]``), ``helpdesk`` (``user: ["update", "get"]``,
``session: ["list", "revoke"]``) and ``superadmin`` (``user: ["set-role"]``). Bob is ``support``
unless a test says otherwise; each answer matches Better-Auth's endpoint for the same action.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import (
    AuthenticatedUser,
    better_auth_router,
    require_permission,
)
from fastapi_better_auth.access import (
    ADMIN_PLUGIN_ROLES,
    ADMIN_PLUGIN_STATEMENTS,
    AdminAccess,
    create_access_control,
)
from fastapi_better_auth.errors import ConfigurationError
from fastapi_better_auth.models import User
from tests.admin_fixtures import ALICE, BOB, ROOT, bearer, pg_database, reset, snapshot
from tests.helpers import run, settings_for
from tests.pg import PostgresServer

ac = create_access_control(ADMIN_PLUGIN_STATEMENTS)
ACCESS = AdminAccess(
    ac=ac,
    roles={
        **ADMIN_PLUGIN_ROLES,
        "support": ac.new_role({"user": ["list"]}),
        "helpdesk": ac.new_role(
            {"user": ["update", "get"], "session": ["list", "revoke"]}
        ),
        "superadmin": ac.new_role({"user": ["set-role"]}),
    },
)

Bans = Annotated[AuthenticatedUser, Depends(require_permission({"user": ["ban"]}))]
Lists = Annotated[AuthenticatedUser, Depends(require_permission({"user": ["list"]}))]


def app_with(settings: Any, access: AdminAccess | None) -> FastAPI:
    """The library's router with ``access`` plus two routes behind ``require_permission``."""
    app = FastAPI()
    app.include_router(better_auth_router(settings, admin_access=access))

    @app.get("/moderate")
    async def moderate(user: Bans) -> str:
        return user.id

    @app.get("/directory")
    async def directory(user: Lists) -> str:
        return user.id

    return app


async def _set_roles(url: str, roles: dict[str, str]) -> None:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as db, db.begin():
            for user_id, role in roles.items():
                await db.execute(
                    update(User).where(User.id == user_id).values(role=role)
                )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each kind the library supports, for the whole module."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("perm") / "ba.db"
        url = f"sqlite+aiosqlite:///{path}"
        reset(url, migrate=True)
        yield url
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    with pg_database(postgres) as url:
        reset(url, migrate=True)
        yield url


@pytest.fixture(scope="module")
def client(database: str, origin: str) -> Iterator[TestClient]:
    with TestClient(app_with(settings_for(origin, database), ACCESS)) as client:
        yield client


@pytest.fixture
def db(database: str) -> str:
    """The cast, with Bob as ``support``."""
    reset(database)
    run(_set_roles(database, {BOB.id: "support"}))
    return database


def test_support_lists_users_but_cannot_ban(client: TestClient, db: str) -> None:
    listed = client.get("/api/v1/users", headers=bearer(BOB))
    assert listed.status_code == 200
    assert listed.json()["total"] == 4
    before = snapshot(db)
    refused = client.post(
        f"/api/v1/users/{ALICE.id}/ban", json={"reason": "spam"}, headers=bearer(BOB)
    )
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "PERMISSION_REQUIRED"
    assert "user:ban" in refused.json()["detail"]["message"]
    unban = client.delete(f"/api/v1/users/{ALICE.id}/ban", headers=bearer(BOB))
    assert unban.status_code == 403
    assert (
        client.put(
            f"/api/v1/users/{ALICE.id}/role",
            json={"role": "admin"},
            headers=bearer(BOB),
        ).status_code
        == 403
    )
    assert snapshot(db) == before


def test_support_is_no_admin_elsewhere(client: TestClient, db: str) -> None:
    """No ``user: ["get"]`` nor ``session``: another user's id is a 404, one's own is fine."""
    assert (
        client.get(f"/api/v1/users/{ALICE.id}", headers=bearer(BOB)).status_code == 404
    )
    assert client.get(f"/api/v1/users/{BOB.id}", headers=bearer(BOB)).status_code == 200
    sessions = f"/api/v1/users/{ALICE.id}/sessions"
    assert client.get(sessions, headers=bearer(BOB)).status_code == 404
    assert client.delete(sessions, headers=bearer(BOB)).status_code == 404


def test_helpdesk_updates_and_sees_sessions_but_sets_no_email(
    client: TestClient, db: str
) -> None:
    run(_set_roles(db, {BOB.id: "helpdesk"}))
    user = f"/api/v1/users/{ALICE.id}"
    assert client.get(user, headers=bearer(BOB)).status_code == 200
    renamed = client.patch(user, json={"name": "Al"}, headers=bearer(BOB))
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Al"
    email = client.patch(user, json={"email": "al@example.com"}, headers=bearer(BOB))
    assert email.status_code == 403
    assert email.json()["detail"]["code"] == "PERMISSION_REQUIRED"
    assert snapshot(db).users[ALICE.id]["email"] == ALICE.email
    assert client.get(f"{user}/sessions", headers=bearer(BOB)).status_code == 200
    assert client.delete(f"{user}/sessions", headers=bearer(BOB)).status_code == 200
    assert ALICE.id not in snapshot(db).sessions.values()
    assert client.get("/api/v1/users", headers=bearer(BOB)).status_code == 403


def test_admin_keeps_every_route_and_roles_must_exist(
    client: TestClient, db: str
) -> None:
    banned = client.post(
        f"/api/v1/users/{ALICE.id}/ban", json={"reason": "spam"}, headers=bearer(ROOT)
    )
    assert banned.status_code == 200
    role = f"/api/v1/users/{ALICE.id}/role"
    unknown = client.put(role, json={"role": "editor"}, headers=bearer(ROOT))
    assert (
        unknown.status_code == 400
    )  # Better-Auth: YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE
    assert unknown.json()["detail"]["code"] == "INVALID_REQUEST"
    assert (
        client.put(role, json={"role": "support"}, headers=bearer(ROOT)).json()["role"]
        == "support"
    )


def test_last_admin_is_the_last_who_can_set_roles(client: TestClient, db: str) -> None:
    """Under custom roles an admin is who can still change roles (``user: ["set-role"]``)."""
    role = f"/api/v1/users/{ROOT.id}/role"
    last = client.put(role, json={"role": "user"}, headers=bearer(ROOT))
    assert last.status_code == 409
    assert last.json()["detail"]["code"] == "CONFLICT"
    run(_set_roles(db, {ALICE.id: "superadmin"}))  # not in adminRoles, can set roles
    assert (
        client.put(role, json={"role": "user"}, headers=bearer(ROOT)).status_code == 200
    )
    alice = f"/api/v1/users/{ALICE.id}/role"
    demote = client.put(alice, json={"role": "user"}, headers=bearer(ALICE))
    assert demote.status_code == 409  # Alice is now the last one who can set roles


def test_require_permission_follows_the_router_roles(
    client: TestClient, db: str
) -> None:
    assert client.get("/directory", headers=bearer(BOB)).json() == BOB.id
    refused = client.get("/moderate", headers=bearer(BOB))
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "PERMISSION_REQUIRED"
    assert client.get("/moderate", headers=bearer(ROOT)).json() == ROOT.id
    assert client.get("/moderate", headers=bearer(ALICE)).status_code == 403
    assert client.get("/moderate").status_code == 401


def test_default_roles_follow_admin_roles(origin: str, db: str) -> None:
    """No ``admin_access``: ``BETTER_AUTH_ADMIN_ROLES`` roles hold the default admin role."""
    settings = settings_for(origin, db, admin_roles="support")
    with TestClient(app_with(settings, None)) as client:
        assert client.get("/moderate", headers=bearer(BOB)).json() == BOB.id
        assert client.get("/moderate", headers=bearer(ROOT)).status_code == 403
        refused = client.get("/api/v1/users", headers=bearer(ROOT))
        assert refused.status_code == 403
        assert (
            refused.json()["detail"]["code"] == "ROLE_REQUIRED"
        )  # unchanged without admin_access
        assert client.get("/api/v1/users", headers=bearer(BOB)).status_code == 200


def test_an_admin_role_missing_from_the_roles_fails_at_start(
    origin: str, db: str
) -> None:
    """Better-Auth refuses ``adminRoles`` not in ``roles`` (admin.mjs 18-20); so do we, at start."""
    access = AdminAccess(roles={"support": ac.new_role({"user": ["list"]})})
    app = app_with(settings_for(origin, db), access)
    refused = pytest.raises(ConfigurationError, match="ADMIN_ROLES holds admin")
    with refused, TestClient(app):
        pass


def test_the_documented_example(origin: str, db: str) -> None:
    """``examples/admin_roles.py`` (shown in docs/guides/admin.md) does what the guide says."""
    from examples.admin_roles import create_app

    with TestClient(create_app(settings_for(origin, db))) as client:
        assert client.get("/api/v1/users", headers=bearer(BOB)).status_code == 200
        hide = "/reports/r1/hide"
        assert client.post(hide, headers=bearer(BOB)).status_code == 403
        assert client.post(hide, headers=bearer(ROOT)).json() == {
            "report": "r1",
            "hidden_by": ROOT.id,
        }
