"""The organization plugin's tables and guards, on PostgreSQL and SQLite.

Models against the DDL Better-Auth 1.7.25 migrates with ``organization({ teams: { enabled:
true } })`` (``tests/data/better_auth_1_7_25_organization_schema.sql``); guards against rows
shaped as Better-Auth writes them: IDOR across organizations, removal and role changes on the
next request, multi-role members, custom roles, the refusal shapes.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import SchemaNaming, better_auth_router
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.models import Session, User, get_models
from fastapi_better_auth.organizations import (
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    CurrentMember,
    CurrentOrganization,
    MemberInfo,
    OrganizationInfo,
    Organizations,
    create_access_control,
    get_organization_models,
    require_org_permission,
    require_org_role,
)
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_session,
    make_user,
    user_claims,
)
from tests.conftest import DATA
from tests.helpers import execute, run, seed, settings_for
from tests.schema_compare import (
    ddl_section,
    describe_database,
    describe_metadata,
    differences,
)

ORG_DDL = DATA / "better_auth_1_7_25_organization_schema.sql"
ORG = get_organization_models()
ac = create_access_control({**ORGANIZATION_STATEMENTS, "project": ["create", "delete"]})
#: The Python side of the interop server's ``organization({ ac, roles })``.
ROLES = {**ORGANIZATION_ROLES, "developer": ac.new_role({"project": ["create"]})}


def _statements() -> list[str]:
    body = "\n".join(
        line for line in ORG_DDL.read_text().splitlines() if not line.startswith("--")
    )
    return [part.strip() for part in body.split(";") if part.strip()]


async def _run_all(url: str, statements: list[str]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _describe(url: str) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(describe_database)
    finally:
        await engine.dispose()


def test_models_match_better_auth_organization_ddl(pg_url: str) -> None:
    core = ddl_section(DATA / "better_auth_1_7_25_schema.sql", 1)
    run(_run_all(pg_url, [*core, *_statements()]))
    reflected = run(_describe(pg_url))
    expected = describe_metadata(ORG.metadata)
    expected.update(describe_metadata(get_models().metadata))
    session = expected["session"]
    for column in ("activeOrganizationId", "activeTeamId"):
        session["columns"][column] = ("TEXT", True, None)
        session["column_order"].append(column)
    assert differences(expected, reflected) == []
    assert set(ORG.session_activity.__table__.c.keys()) == {  # type: ignore[attr-defined]
        "id",
        "active_organization_id",
        "active_team_id",
    }


@pytest.mark.parametrize("id_type", ["text", "uuid", "serial"])
def test_models_under_snake_plural_namings(pg_url: str, id_type: Any) -> None:
    """Every naming maps (plural tables, snake_case, id types on foreign keys) and creates."""
    naming = SchemaNaming.from_mappings(
        use_plural=True, column_case="snake", id_type=id_type
    )
    models = get_organization_models(naming)
    assert models is get_organization_models(naming)
    table = models.team_member.__table__  # type: ignore[attr-defined]
    assert table.name == "teamMembers"
    assert table.c.team_id.name == "team_id"

    async def create() -> None:
        engine = create_async_engine(pg_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(get_models(naming).metadata.create_all)
                await conn.run_sync(models.metadata.create_all)
        finally:
            await engine.dispose()

    run(create())
    declared = describe_metadata(models.metadata)
    reflected = {
        name: table
        for name, table in run(_describe(pg_url)).items()
        if name in declared
    }
    if (
        id_type == "serial"
    ):  # create_all makes SERIAL; Better-Auth an identity (no default)
        for table in reflected.values():
            table["columns"]["id"] = (*table["columns"]["id"][:2], None)
    assert differences(declared, reflected) == []
    kind = {"text": "TEXT", "uuid": "UUID", "serial": "INTEGER"}[id_type]
    assert reflected["members"]["columns"]["organization_id"][0] == kind
    assert reflected["invitations"]["columns"]["team_id"][0] == "TEXT"  # no reference


# --- the guards -------------------------------------------------------------------------


@dataclass
class World:
    url: str
    alice: User  # owner of A, "member, admin" of B
    bob: User  # member of A
    carol: User  # owner of B only
    a: str
    b: str
    alice_session: Session  # active organization A, team T
    bob_session: Session  # active organization A
    carol_session: Session  # no active organization


def _tables(url: str) -> None:
    seed(url, migrate=True)
    if url.startswith("sqlite"):

        async def create() -> None:
            engine = create_async_engine(url)
            try:
                async with engine.begin() as conn:
                    await conn.run_sync(ORG.metadata.create_all)
                    for column in ("activeOrganizationId", "activeTeamId"):
                        await conn.execute(
                            text(f'ALTER TABLE session ADD COLUMN "{column}" TEXT')
                        )
            finally:
                await engine.dispose()

        run(create())
    else:
        run(_run_all(url, _statements()))


@pytest.fixture
def world(db_url: str) -> World:
    _tables(db_url)
    alice, bob, carol = (make_user(name=n) for n in ("Alice", "Bob", "Carol"))
    now = utcnow()
    a = ORG.organization(name="A", slug="a", created_at=now)
    b = ORG.organization(name="B", slug="b", created_at=now)
    team = ORG.team(name="A", organization_id="org-a", created_at=now)
    seed(db_url, alice, bob, carol)
    a.id, b.id, team.id = "org-a", "org-b", "team-a"
    members = [
        ORG.member(organization_id="org-a", user_id=alice.id, role="owner"),
        ORG.member(organization_id="org-a", user_id=bob.id, role="member"),
        ORG.member(organization_id="org-b", user_id=alice.id, role="member, admin"),
        ORG.member(organization_id="org-b", user_id=carol.id, role="owner"),
    ]
    sessions = [make_session(u) for u in (alice, bob, carol)]
    seed(db_url, a, b, team, *members, *sessions)
    activity = ORG.session_activity
    for session, org_id, team_id in zip(
        sessions, ["org-a", "org-a", None], ["team-a", None, None], strict=True
    ):
        execute(
            db_url,
            update(activity)
            .where(activity.id == session.id)
            .values(active_organization_id=org_id, active_team_id=team_id),
        )
    return World(db_url, alice, bob, carol, "org-a", "org-b", *sessions)


def _app(world: World, issuer: TokenIssuer, config: Organizations | None) -> FastAPI:
    assert issuer.issuer is not None
    app = FastAPI()
    app.include_router(better_auth_router(settings_for(issuer.issuer, world.url)))
    if config is not None:
        config.install(app)

    @app.get("/org")
    async def org(organization: CurrentOrganization) -> OrganizationInfo:
        return organization

    @app.get("/member")
    async def member(member: CurrentMember) -> MemberInfo:
        return member

    @app.get("/orgs/{organization_id}/member")
    async def member_of(organization_id: str, member: CurrentMember) -> MemberInfo:
        return member

    @app.get("/managers")
    async def managers(
        member: Annotated[MemberInfo, Depends(require_org_role("owner", "admin"))],
    ) -> str:
        return member.role

    @app.post("/projects", dependencies=[Depends(require_org_permission(PROJECT))])
    async def projects() -> str:
        return "created"

    @app.post("/invitations", dependencies=[Depends(require_org_permission(INVITE))])
    async def invitations() -> str:
        return "invited"

    return app


PROJECT = {"project": ["create"]}
INVITE = {"invitation": ["create"]}
CONFIG = Organizations(
    roles=ROLES, header="x-organization-id", path_param="organization_id", teams=True
)


@pytest.fixture
def client(world: World, issuer: TokenIssuer) -> Iterator[TestClient]:
    with TestClient(_app(world, issuer, CONFIG)) as client:
        yield client


def _as(session: Session, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {session.token}", **headers}


def _error(code: str) -> str:
    return code


def _code(response: Any) -> str:
    return str(response.json()["detail"]["code"])


def test_active_organization_and_member(client: TestClient, world: World) -> None:
    body = client.get("/member", headers=_as(world.alice_session)).json()
    assert (body["organization_id"], body["role"], body["roles"]) == (
        "org-a",
        "owner",
        ["owner"],
    )
    assert body["active_team_id"] == "team-a"
    assert body["organization"]["slug"] == "a"
    org = client.get("/org", headers=_as(world.alice_session)).json()
    assert (org["id"], org["name"]) == ("org-a", "A")


def test_member_of_a_cannot_reach_b(client: TestClient, world: World) -> None:
    """IDOR: naming another organization (header or path) answers as a missing one would."""
    bob = world.bob_session
    for response in (
        client.get("/org", headers=_as(bob, **{"x-organization-id": "org-b"})),
        client.get("/orgs/org-b/member", headers=_as(bob)),
        client.get("/orgs/no-such-org/member", headers=_as(bob)),
        client.post("/projects", headers=_as(bob, **{"x-organization-id": "org-b"})),
    ):
        assert response.status_code == 403
        assert response.json() == {
            "detail": {
                "code": "NOT_ORGANIZATION_MEMBER",
                "message": "You are not a member of this organization.",
            }
        }


def test_named_organization_wins_over_the_active_one(
    client: TestClient, world: World
) -> None:
    alice = world.alice_session
    body = client.get("/orgs/org-b/member", headers=_as(alice)).json()
    assert (body["organization_id"], body["roles"]) == ("org-b", ["member", "admin"])
    assert body["active_team_id"] is None  # the team is org A's
    header = _as(alice, **{"x-organization-id": "org-b"})
    assert client.get("/org", headers=header).json()["id"] == "org-b"


def test_a_named_organization_without_teams_reads_no_session_row(
    world: World, issuer: TokenIssuer
) -> None:
    """Only its team ties a named organization to the session: without teams, no session read."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    with_sid = issuer.mint({**user_claims(world.alice), "sid": world.alice_session.id})
    plain = Organizations(header="x-organization-id")
    for config, reads in ((plain, False), (CONFIG, True)):
        with TestClient(_app(world, issuer, config)) as client:
            for headers in (
                _as(world.alice_session),
                {"Authorization": f"Bearer {with_sid}"},
            ):
                event.listen(Engine, "before_cursor_execute", record)
                try:
                    named = {**headers, "x-organization-id": "org-b"}
                    assert client.get("/org", headers=named).json()["id"] == "org-b"
                finally:
                    event.remove(Engine, "before_cursor_execute", record)
                activity = [s for s in statements if "activeOrganizationId" in s]
                assert bool(activity) is reads, (config, statements)
                statements.clear()


def test_no_active_organization_is_400(client: TestClient, world: World) -> None:
    response = client.get("/org", headers=_as(world.carol_session))
    assert (response.status_code, _code(response)) == (400, "NO_ACTIVE_ORGANIZATION")
    named = _as(world.carol_session, **{"x-organization-id": "org-b"})
    assert client.get("/org", headers=named).json()["id"] == "org-b"


def test_unauthenticated_is_401(client: TestClient) -> None:
    response = client.get("/org", headers={"x-organization-id": "org-a"})
    assert (response.status_code, _code(response)) == (401, "NOT_AUTHENTICATED")


def test_jwt_reads_the_session_row_by_sid_else_needs_a_named_organization(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    with_sid = issuer.mint({**user_claims(world.alice), "sid": world.alice_session.id})
    bearer = {"Authorization": f"Bearer {with_sid}"}
    assert client.get("/org", headers=bearer).json()["id"] == "org-a"
    plain = {"Authorization": f"Bearer {issuer.mint(user_claims(world.alice))}"}
    response = client.get("/org", headers=plain)
    assert (response.status_code, _code(response)) == (400, "NO_ACTIVE_ORGANIZATION")
    named = {**plain, "x-organization-id": "org-b"}
    assert client.get("/org", headers=named).json()["id"] == "org-b"


def test_removed_member_is_refused_on_the_next_request(
    client: TestClient, world: World
) -> None:
    bob = _as(world.bob_session)
    assert client.get("/org", headers=bob).status_code == 200
    member = ORG.member
    execute(world.url, delete(member).where(member.user_id == world.bob.id))
    response = client.get("/org", headers=bob)
    assert (response.status_code, _code(response)) == (403, "NOT_ORGANIZATION_MEMBER")


def test_role_change_counts_on_the_next_request(
    client: TestClient, world: World
) -> None:
    bob = _as(world.bob_session)
    refused = client.get("/managers", headers=bob)
    assert (refused.status_code, _code(refused)) == (403, "ORGANIZATION_ROLE_REQUIRED")
    assert client.post("/invitations", headers=bob).status_code == 403
    member = ORG.member
    execute(
        world.url,
        update(member).where(member.user_id == world.bob.id).values(role="admin"),
    )
    assert client.get("/managers", headers=bob).json() == "admin"
    assert client.post("/invitations", headers=bob).json() == "invited"


def test_multi_role_member_is_trimmed_as_the_organization_plugin_does(
    client: TestClient, world: World
) -> None:
    """``"member, admin"``: ``admin`` counts here (``parseRoleList``), unlike the admin plugin."""
    in_b = _as(world.alice_session, **{"x-organization-id": "org-b"})
    assert client.get("/managers", headers=in_b).json() == "member, admin"
    assert client.post("/invitations", headers=in_b).json() == "invited"


def test_custom_role_and_permission_denied_shape(
    client: TestClient, world: World
) -> None:
    bob, alice = _as(world.bob_session), _as(world.alice_session)
    denied = client.post("/projects", headers=bob)
    assert denied.status_code == 403
    assert denied.json() == {
        "detail": {
            "code": "ORGANIZATION_PERMISSION_DENIED",
            "message": "Your organization role does not grant this permission.",
        }
    }
    assert (
        client.post("/projects", headers=alice).status_code == 403
    )  # owner: no project
    member = ORG.member
    execute(
        world.url,
        update(member).where(member.user_id == world.bob.id).values(role="developer"),
    )
    assert client.post("/projects", headers=bob).json() == "created"


def test_without_configuration_better_auths_default_roles_apply(
    world: World, issuer: TokenIssuer
) -> None:
    with TestClient(_app(world, issuer, None)) as client:
        alice = _as(world.alice_session)
        assert client.post("/invitations", headers=alice).json() == "invited"
        assert client.post("/projects", headers=alice).status_code == 403
        named = _as(world.alice_session, **{"x-organization-id": "org-b"})
        assert client.get("/org", headers=named).json()["id"] == "org-a"  # no header


def test_session_row_gone_means_no_active_organization(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    """A JWT whose ``sid`` session row was deleted: rejected by the core before any org read."""
    token = issuer.mint({**user_claims(world.alice), "sid": world.alice_session.id})
    execute(world.url, delete(Session).where(Session.id == world.alice_session.id))
    response = client.get("/org", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_expired_invitation_rows_map(world: World) -> None:
    """The invitation model writes what Better-Auth reads (status default, dates)."""
    invitation = ORG.invitation(
        organization_id=world.a,
        email="dan@example.com",
        role="member",
        expires_at=utcnow() + timedelta(hours=48),
        inviter_id=world.alice.id,
    )
    seed(world.url, invitation)
    rows = execute(world.url, ORG.invitation.__table__.select())  # type: ignore[attr-defined]
    assert rows[0].status == "pending"


def test_id_that_cannot_exist_under_the_naming_is_refused_without_a_query(
    world: World, issuer: TokenIssuer
) -> None:
    """``BETTER_AUTH_ID_TYPE=uuid``: a non-UUID organization id is no membership (403, never 500)."""
    if not world.url.startswith("sqlite"):
        pytest.skip("SQLite stores uuid ids as text: the same rows serve both namings")
    assert issuer.issuer is not None
    app = FastAPI()
    app.include_router(
        better_auth_router(settings_for(issuer.issuer, world.url, id_type="uuid"))
    )
    CONFIG.install(app)

    @app.get("/org")
    async def org(organization: CurrentOrganization) -> OrganizationInfo:
        return organization

    with TestClient(app) as client:
        named = _as(world.alice_session, **{"x-organization-id": "org-b"})
        response = client.get("/org", headers=named)
        assert (response.status_code, _code(response)) == (
            403,
            "NOT_ORGANIZATION_MEMBER",
        )


# --- dynamicAccessControl: roles stored per organization ------------------------------------

ROLE_DDL = DATA / "better_auth_1_7_25_organization_role_schema.sql"


def _role_statements() -> list[str]:
    body = "\n".join(
        line for line in ROLE_DDL.read_text().splitlines() if not line.startswith("--")
    )
    return [part.strip() for part in body.split(";") if part.strip()]


def test_organization_role_model_matches_better_auth_ddl(pg_url: str) -> None:
    core = ddl_section(DATA / "better_auth_1_7_25_schema.sql", 1)
    run(_run_all(pg_url, [*core, *_statements(), *_role_statements()]))
    reflected = run(_describe(pg_url))
    role_table = ORG.organization_role.__table__  # type: ignore[attr-defined]
    declared = describe_metadata(role_table.metadata)
    assert list(declared) == ["organizationRole"]
    assert (
        differences(declared, {"organizationRole": reflected["organizationRole"]}) == []
    )


def test_dynamic_roles_extend_and_add_roles_per_organization(
    world: World, issuer: TokenIssuer
) -> None:
    if world.url.startswith("sqlite"):
        run(_create_role_table_sqlite(world.url))
    else:
        run(_run_all(world.url, _role_statements()))
    role = ORG.organization_role
    seed(
        world.url,
        role(
            organization_id="org-a", role="member", permission='{"project": ["create"]}'
        ),
        role(
            organization_id="org-b", role="member", permission='{"project": ["delete"]}'
        ),
        role(organization_id="org-a", role="qa", permission='{"project": ["delete"]}'),
    )
    config = Organizations(
        roles=ROLES, header="x-organization-id", ac=ac, dynamic_access_control=True
    )
    with TestClient(_app(world, issuer, config)) as client:
        bob = _as(
            world.bob_session
        )  # member of A: A's stored "member" adds project:create
        assert client.post("/projects", headers=bob).json() == "created"
        assert client.get("/member", headers=bob).status_code == 200
        member = ORG.member
        execute(
            world.url,
            update(member).where(member.user_id == world.bob.id).values(role="qa"),
        )
        assert (
            client.post("/projects", headers=bob).status_code == 403
        )  # qa: delete only
        # B's rows do not leak into A: alice is "member, admin" in B, owner in A
        in_b = _as(world.alice_session, **{"x-organization-id": "org-b"})
        assert client.post("/projects", headers=in_b).status_code == 403
        execute(
            world.url,
            update(role).where(role.role == "qa").values(permission='{"project": "x"}'),
        )
        refused = client.post("/invitations", headers=bob)
        assert (refused.status_code, _code(refused)) == (
            403,
            "ORGANIZATION_PERMISSION_DENIED",
        )


async def _create_role_table_sqlite(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            role_table = ORG.organization_role.__table__  # type: ignore[attr-defined]
            await conn.run_sync(role_table.metadata.create_all)
    finally:
        await engine.dispose()


def test_plugin_table_dropped_after_start_answers_a_named_configuration_error(
    world: World, issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    """Missing tables fail start (test_organization_start); one dropped *after* start is a 500.

    ``CONFIGURATION_ERROR``, the reason logged, not sent. (SQLite reports a missing table as an
    ``OperationalError``, which the runtime answers 503.)
    """
    if world.url.startswith("sqlite"):
        pytest.skip("SQLite: a missing table is an OperationalError (503)")
    with TestClient(_app(world, issuer, CONFIG)) as client:
        execute(world.url, text('ALTER TABLE "member" RENAME TO "gone"'))
        response = client.get("/org", headers=_as(world.alice_session))
    assert response.status_code == 500
    assert response.json() == {
        "detail": {"code": "CONFIGURATION_ERROR", "message": "Internal server error."}
    }
    logged = [r for r in caplog.records if r.getMessage() == "better_auth.error"]
    assert "BETTER_AUTH_USE_PLURAL" in logged[0].detail  # type: ignore[attr-defined]


def test_unreachable_database_in_stored_roles_is_503(
    world: World, issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dynamic_access_control`` reads after the membership: a database gone by then is 503."""
    from fastapi_better_auth import BetterAuth
    from fastapi_better_auth.errors import DatabaseUnavailableError

    if world.url.startswith("sqlite"):
        run(_create_role_table_sqlite(world.url))
    else:
        run(_run_all(world.url, _role_statements()))
    config = Organizations(roles=ROLES, ac=ac, dynamic_access_control=True)
    calls = 0
    original = BetterAuth.read

    async def failing_second_read(self: BetterAuth, query: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:  # the membership read passes; the stored roles' read fails
            raise DatabaseUnavailableError()
        return await original(self, query)

    with TestClient(_app(world, issuer, config)) as client:
        monkeypatch.setattr(BetterAuth, "read", failing_second_read)
        response = client.post("/projects", headers=_as(world.bob_session))
    assert (response.status_code, _code(response)) == (503, "DATABASE_UNAVAILABLE")
