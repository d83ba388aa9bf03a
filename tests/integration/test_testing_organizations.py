"""The testing kit's organization rows: insertable under any naming, read by the guards."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import SchemaNaming, better_auth_router
from fastapi_better_auth.organizations import (
    CurrentMember,
    MemberInfo,
    Organizations,
    get_organization_models,
)
from fastapi_better_auth.testing import (
    TokenIssuer,
    create_tables,
    make_member,
    make_organization,
    make_session,
    make_user,
    set_active_organization,
)
from tests.helpers import run, settings_for


def test_rows_follow_better_auths_conventions() -> None:
    org = make_organization(name="Acme")
    assert org.slug == f"org-{org.id.lower()}"
    member = make_member(org, "u-1")
    assert (member.organization_id, member.user_id, member.role) == (
        org.id,
        "u-1",
        "member",
    )
    assert (
        make_member("o-1", make_user(id="u-2"), "owner, admin").role == "owner, admin"
    )
    statement = set_active_organization("s-1", None)
    assert "activeOrganizationId" in str(statement)
    assert "activeTeamId" not in str(statement)
    assert "activeTeamId" in str(set_active_organization("s-1", org, team="t-1"))


@pytest.mark.parametrize(
    ("plural", "id_type"),
    [(False, "text"), (True, "text"), (True, "serial"), (False, "uuid")],
)
def test_an_active_organization_session_reaches_the_guards(
    db_url: str, issuer: TokenIssuer, plural: bool, id_type: Any
) -> None:
    naming = SchemaNaming.from_mappings(
        use_plural=plural, column_case="snake", id_type=id_type
    )
    models = get_organization_models(naming)

    async def create() -> tuple[str, str]:
        engine = create_async_engine(db_url)
        try:
            await create_tables(engine, naming)
            async with engine.begin() as conn:
                await conn.run_sync(models.metadata.create_all)
                table = naming.table("session")
                await conn.execute(
                    text(
                        f'ALTER TABLE "{table}" ADD COLUMN active_organization_id TEXT'
                    )
                )
            async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
                user, org = make_user(naming=naming), make_organization(naming=naming)
                db.add_all([user, org])
                await db.flush()  # serial ids: numbered by the database here
                session = make_session(user, naming=naming)
                db.add_all([make_member(org, user, "admin", naming=naming), session])
                await db.flush()
                await db.execute(set_active_organization(session, org, naming=naming))
            return session.token, org.id
        finally:
            await engine.dispose()

    token, org_id = run(create())
    assert issuer.issuer is not None
    app = FastAPI()
    settings = settings_for(
        issuer.issuer, db_url, use_plural=plural, column_case="snake", id_type=id_type
    )
    app.include_router(better_auth_router(settings, organizations=Organizations()))

    @app.get("/member")
    async def member(member: CurrentMember) -> MemberInfo:
        return member

    with TestClient(app) as client:
        body = client.get(
            "/member", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert (body["organization_id"], body["roles"]) == (org_id, ["admin"])
