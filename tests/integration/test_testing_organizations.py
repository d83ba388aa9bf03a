"""The testing kit's organization rows: insertable under any naming, read by the guards."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import SchemaNaming, better_auth_router
from fastapi_better_auth.models import get_models
from fastapi_better_auth.organizations import (
    CurrentMember,
    MemberInfo,
    Organizations,
    get_organization_models,
)
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_member,
    make_organization,
    make_session,
    make_user,
    set_active_organization,
)
from tests.helpers import execute, run, seed, settings_for


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


@pytest.mark.parametrize("plural", [False, True])
def test_an_active_organization_session_reaches_the_guards(
    db_url: str, issuer: TokenIssuer, plural: bool
) -> None:
    naming = SchemaNaming.from_mappings(use_plural=plural, column_case="snake")
    models = get_organization_models(naming)
    core = get_models(naming)

    async def create() -> None:
        engine = create_async_engine(db_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(core.metadata.create_all)
                await conn.run_sync(models.metadata.create_all)
                table = naming.table("session")
                await conn.execute(
                    text(
                        f'ALTER TABLE "{table}" ADD COLUMN active_organization_id TEXT'
                    )
                )
        finally:
            await engine.dispose()

    run(create())
    user = core.user(**{c: getattr(make_user(), c) for c in _USER})
    session_row = make_session(user.id)
    session = core.session(**{c: getattr(session_row, c) for c in _SESSION})
    org = make_organization(naming=naming)
    seed(db_url, user, org, make_member(org, user, "admin", naming=naming), session)
    execute(db_url, set_active_organization(session.id, org, naming=naming))
    assert issuer.issuer is not None
    app = FastAPI()
    settings = settings_for(
        issuer.issuer, db_url, use_plural=plural, column_case="snake"
    )
    app.include_router(better_auth_router(settings, organizations=Organizations()))

    @app.get("/member")
    async def member(member: CurrentMember) -> MemberInfo:
        return member

    with TestClient(app) as client:
        body = client.get(
            "/member", headers={"Authorization": f"Bearer {session.token}"}
        ).json()
    assert (body["organization_id"], body["roles"]) == (org.id, ["admin"])


_USER = ("id", "name", "email", "email_verified", "created_at", "updated_at", "role")
_SESSION = ("id", "token", "user_id", "expires_at", "created_at", "updated_at")
