"""Roles are read exactly as Better-Auth's admin plugin reads them, by the guards and in SQL alike.

Better-Auth 1.7.25's admin plugin splits ``role`` on ``,`` and compares each part exactly
(``(user.role || defaultRole).split(",")``): no trimming, case-sensitive. A row whose role is
``" admin"``, ``"user, admin"`` or ``"ADMIN"`` is no admin there, so it is none here either:
not to ``require_admin``, not to the ``role`` filter of the user list, and not to the
last-admin count (which would otherwise let the only real admin demote or ban themselves).
"""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fastapi_better_auth.models import Session, User
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_session,
    make_user,
    user_claims,
)
from tests.admin_fixtures import admin_app
from tests.helpers import client_for, seed, settings_for

#: Role columns that look like admin to a trimming or case-folding reader, and are not.
LOOKALIKES = (" admin", "admin ", "user, admin", "ADMIN", "Admin", "user,Admin")


@pytest.fixture
def cast(db_url: str) -> tuple[str, User, Session, list[User]]:
    """One real admin with a session, and one user per look-alike role."""
    root = make_user(name="Root", email="root@example.com", role="admin")
    session = make_session(root)
    others = [
        make_user(name=f"U{i}", email=f"u{i}@example.com", role=role)
        for i, role in enumerate(LOOKALIKES)
    ]
    seed(db_url, root, session, *others, migrate=True)
    return db_url, root, session, others


@pytest.fixture
def admin_client(
    cast: tuple[str, User, Session, list[User]], issuer: TokenIssuer
) -> Iterator[TestClient]:
    assert issuer.issuer is not None
    with TestClient(admin_app(settings_for(issuer.issuer, cast[0]))) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", LOOKALIKES)
def test_a_lookalike_admin_role_is_no_admin_to_the_guards(
    pg_url: str, issuer: TokenIssuer, role: str
) -> None:
    user = make_user(name="M", email="m@example.com", role=role)
    seed(pg_url, user, migrate=True)
    assert issuer.issuer is not None
    with client_for(settings_for(issuer.issuer, pg_url)) as client:
        response = client.get("/admin", headers=_bearer(issuer.mint(user_claims(user))))
    assert response.status_code == 403, response.text


def test_the_only_admin_cannot_demote_themselves_past_lookalike_admins(
    cast: tuple[str, User, Session, list[User]], admin_client: TestClient
) -> None:
    _, root, session, _ = cast
    response = admin_client.put(
        f"/api/v1/users/{root.id}/role",
        headers=_bearer(session.token),
        json={"role": "user"},
    )
    assert response.status_code == 409, response.text


def test_the_role_filter_of_the_user_list_matches_exact_roles_only(
    cast: tuple[str, User, Session, list[User]], admin_client: TestClient
) -> None:
    _, root, session, others = cast
    listed = admin_client.get(
        "/api/v1/users", params={"role": "admin"}, headers=_bearer(session.token)
    )
    assert listed.status_code == 200, listed.text
    assert [user["id"] for user in listed.json()["users"]] == [root.id]
    spaced = admin_client.get(
        "/api/v1/users", params={"role": "Admin"}, headers=_bearer(session.token)
    )
    assert spaced.status_code == 200, spaced.text
    admins = {user.id for user in others if "Admin" in (user.role or "").split(",")}
    assert {user["id"] for user in spaced.json()["users"]} == admins


#: Stored roles that a LIKE pattern, a trim or a case fold would read differently.
STORED = (None, "", "user", "admin", " admin", "user,admin", "user, admin", "ADMIN",
          "a%b", "a_b", "x/y", "É", "é", ",admin", "admin,", "user,,admin", "editor,admin ")  # fmt: skip
QUERIED = ("user", "admin", " admin", "ADMIN", "a%b", "a_b", "aXb", "x/y", "é")


async def _matches(url: str, role: str) -> set[str]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from fastapi_better_auth._policy import has_role
    from fastapi_better_auth.models import get_models

    models = get_models()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as db:
            query = select(models.user.email).where(has_role(models, role, "user"))
            return set((await db.scalars(query)).all())
    finally:
        await engine.dispose()


def test_the_sql_role_predicate_agrees_with_parse_roles(db_url: str) -> None:
    from fastapi_better_auth._policy import parse_roles
    from tests.helpers import run

    users = [
        make_user(name=f"S{i}", email=f"s{i}@example.com", role=role)
        for i, role in enumerate(STORED)
    ]
    seed(db_url, *users, migrate=True)
    for role in QUERIED:
        expected = {
            user.email for user in users if role in (parse_roles(user.role) or {"user"})
        }
        assert run(_matches(db_url, role)) == expected, role


def _crossfire(url: str, origin: str) -> list[int]:
    """Two admins demote each other in the same instant, over HTTP; the answers' statuses.

    Two threads share one started ``TestClient``, so both requests run at once on its loop.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers import run

    first = make_user(name="A", email="a@example.com", role="admin")
    second = make_user(name="B", email="b@example.com", role="admin")
    sessions = [make_session(first), make_session(second)]
    run(_seed_async(url, first, second, *sessions))
    pairs = [(second, sessions[0]), (first, sessions[1])]
    with (
        TestClient(admin_app(settings_for(origin, url))) as client,
        ThreadPoolExecutor(2) as pool,
    ):
        answers = list(
            pool.map(
                lambda pair: client.put(
                    f"/api/v1/users/{pair[0].id}/role",
                    headers=_bearer(pair[1].token),
                    json={"role": "user"},
                ),
                pairs,
            )
        )
    return sorted(answer.status_code for answer in answers)


async def _seed_async(url: str, *rows: object) -> None:
    from sqlalchemy import delete
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from fastapi_better_auth._schema import migrate as _migrate

    engine = create_async_engine(url)
    try:
        await _migrate.upgrade(engine)
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            await db.execute(delete(Session))
            await db.execute(delete(User))
            for row in rows:
                db.add(row)
                await db.flush()
    finally:
        await engine.dispose()


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    db_url: str, issuer: TokenIssuer
) -> None:
    """SQLite has no ``FOR UPDATE``: the admin count must still be serialised there."""
    assert issuer.issuer is not None
    for _ in range(4):
        # one demotion wins; the other is refused as the last admin's (409) or, when it is
        # checked after the first committed, as a caller who is no admin any more (403)
        assert _crossfire(db_url, issuer.issuer) in ([200, 409], [200, 403])
