"""Who may call which ``/organizations`` route: every route × actor × target, on PostgreSQL and SQLite.

Organization A: Olga (owner, the only one), Adam (admin), Mia (member), Dev (a custom role,
``project: ["create"]`` only) and Bea (an admin of A, banned). Organization B: Otto (owner)
and Ben (member). Nora belongs to none. Actors: each of them and nobody; targets: the actor's
own membership of A, another member of A, A's owner, and a member of B (IDOR). Each case
asserts the status and code and the whole ``member`` table afterwards: a refusal changes
nothing, a success exactly its row. The rules are Better-Auth's (crud-members.mjs).
"""

import asyncio
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import ConfigurationError, better_auth_router
from fastapi_better_auth.errors import OrganizationPermissionError
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.organizations import (
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    Organizations,
    create_access_control,
    get_organization_models,
)
from fastapi_better_auth.organizations._writes import update_member_role
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_member,
    make_organization,
    make_session,
    make_user,
    set_active_organization,
)
from tests.helpers import execute, run, seed, settings_for
from tests.pg import PostgresServer

ORG = get_organization_models()
ac = create_access_control({**ORGANIZATION_STATEMENTS, "project": ["create"]})
CONFIG = Organizations(
    roles={**ORGANIZATION_ROLES, "developer": ac.new_role({"project": ["create"]})}
)
PEOPLE = ("olga", "adam", "mia", "dev", "bea", "otto", "ben", "nora")
#: (person, organization, role): the member rows, ids ``m-<person>``.
MEMBERS = (
    ("olga", "org-a", "owner"),
    ("adam", "org-a", "admin"),
    ("mia", "org-a", "member"),
    ("dev", "org-a", "developer"),
    ("bea", "org-a", "admin"),
    ("otto", "org-b", "owner"),
    ("ben", "org-b", "member"),
)
ACTORS = {
    "owner": "olga",
    "admin": "adam",
    "member": "mia",
    "custom": "dev",
    "non_member": "nora",
    "other_org": "otto",
    "banned": "bea",
    "anonymous": None,
}
OUTSIDERS = {
    "non_member": (403, "NOT_ORGANIZATION_MEMBER"),
    "other_org": (403, "NOT_ORGANIZATION_MEMBER"),
    "banned": (403, "USER_BANNED"),
    "anonymous": (401, "NOT_AUTHENTICATED"),
}


async def _org_tables(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ORG.metadata.create_all)
            await conn.execute(
                text('ALTER TABLE session ADD COLUMN "activeOrganizationId" TEXT')
            )
    finally:
        await engine.dispose()


def reset(url: str) -> None:
    """The cast above, as fresh rows (same ids, same session tokens)."""
    for model in (ORG.member, ORG.organization, Session, User):
        execute(url, delete(model))
    users = [make_user(id=f"u-{p}", name=p.title()) for p in PEOPLE]
    users[PEOPLE.index("bea")].banned = True
    orgs = [make_organization(id=i, name=i, slug=i) for i in ("org-a", "org-b")]
    members = [make_member(o, f"u-{p}", r, id=f"m-{p}") for p, o, r in MEMBERS]
    sessions = [make_session(f"u-{p}", id=f"s-{p}", token=f"t-{p}") for p in PEOPLE]
    seed(url, *users, *orgs, *members, *sessions)
    for person in ("olga", "adam", "mia", "dev", "bea"):
        execute(url, set_active_organization(f"s-{person}", "org-a"))


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def org_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database with the core and organization tables, once per module and kind."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('org') / 'ba.db'}"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        name = "t_" + secrets.token_hex(6)
        postgres.psql(f"CREATE DATABASE {name}")
        url = postgres.url(name)
    seed(url, migrate=True)
    run(_org_tables(url))
    yield url
    if request.param == "postgres":
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def org_client(org_url: str, issuer: TokenIssuer) -> Iterator[TestClient]:
    assert issuer.issuer is not None
    app = FastAPI()
    settings = settings_for(issuer.issuer, org_url)
    app.include_router(better_auth_router(settings, organizations=CONFIG))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def fresh(org_url: str) -> str:
    reset(org_url)
    return org_url


def members(url: str) -> dict[str, str]:
    rows = execute(url, select(ORG.member.id, ORG.member.role))
    return {row[0]: row[1] for row in rows}


def _headers(actor: str) -> dict[str, str]:
    person = ACTORS[actor]
    return {} if person is None else {"Authorization": f"Bearer t-{person}"}


def _target(actor: str, target: str) -> str:
    person = ACTORS[actor]
    if target == "self":
        return (
            f"m-{person}"
            if person in {"olga", "adam", "mia", "dev", "bea"}
            else "m-mia"
        )
    if target == "other":
        return "m-dev" if person == "mia" else "m-mia"
    return {"owner": "m-olga", "foreign": "m-ben"}[target]


TARGETS = ("self", "other", "owner", "foreign")
#: Role change to "admin" and removal, per actor with rights: status per target.
SET_ROLE = {
    "owner": {"self": 409, "other": 200, "owner": 409, "foreign": 404},
    "admin": {"self": 200, "other": 200, "owner": 403, "foreign": 404},
    "member": {"self": 403, "other": 403, "owner": 403, "foreign": 404},
    "custom": {"self": 403, "other": 403, "owner": 403, "foreign": 404},
}
REMOVE = {
    "owner": {"self": 409, "other": 200, "owner": 409, "foreign": 404},
    "admin": {"self": 200, "other": 200, "owner": 403, "foreign": 404},
    "member": {"self": 403, "other": 403, "owner": 403, "foreign": 404},
    "custom": {"self": 403, "other": 403, "owner": 403, "foreign": 404},
}
CODES = {
    200: None,
    403: "ORGANIZATION_PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "CONFLICT",
}


def _check(response: Any, status: int, code: str | None) -> None:
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["detail"]["code"] == code


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("route", ["get", "members"])
def test_reads(org_client: TestClient, fresh: str, actor: str, route: str) -> None:
    path = "/api/v1/organizations/org-a" + ("/members" if route == "members" else "")
    response = org_client.get(path, headers=_headers(actor))
    status, code = OUTSIDERS.get(actor, (200, None))
    _check(response, status, code)
    if status == 200 and route == "members":
        body = response.json()
        assert body["total"] == 5
        assert {m["id"] for m in body["members"]} == {
            "m-olga", "m-adam", "m-mia", "m-dev", "m-bea"
        }  # fmt: skip
        assert body["members"][0]["user"]["name"]
    elif status == 200:
        assert response.json()["id"] == "org-a"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("route", ["set_role", "remove"])
def test_writes(
    org_client: TestClient, fresh: str, actor: str, target: str, route: str
) -> None:
    member = _target(actor, target)
    path = f"/api/v1/organizations/org-a/members/{member}"
    before = members(fresh)
    if route == "set_role":
        response = org_client.put(
            path + "/role", json={"role": "admin"}, headers=_headers(actor)
        )
    else:
        response = org_client.delete(path, headers=_headers(actor))
    table = SET_ROLE if route == "set_role" else REMOVE
    code: str | None
    if actor in OUTSIDERS:
        status, code = OUTSIDERS[actor]
    else:
        status = table[actor][target]
        code = CODES[status]
    _check(response, status, code)
    after = members(fresh)
    if status != 200:
        assert after == before
    elif route == "set_role":
        assert after == {**before, member: "admin"}
        assert response.json()["role"] == "admin"
    else:
        assert after == {k: v for k, v in before.items() if k != member}


def test_list_my_organizations(org_client: TestClient, fresh: str) -> None:
    seed(fresh, make_member("org-b", "u-olga", id="m-olga-b"))
    body = org_client.get("/api/v1/organizations", headers=_headers("owner")).json()
    assert [o["id"] for o in body["organizations"]] == ["org-a", "org-b"]
    nora = org_client.get("/api/v1/organizations", headers=_headers("non_member"))
    assert nora.json() == {"organizations": []}
    anonymous = org_client.get("/api/v1/organizations")
    assert anonymous.status_code == 401


@pytest.mark.parametrize("attempt", range(5))
def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    org_client: TestClient, fresh: str, attempt: int
) -> None:
    """Better-Auth reads then writes, so both could pass and leave no owner; here one does."""
    execute(
        fresh,
        update(ORG.member).where(ORG.member.id == "m-mia").values(role="owner"),
    )
    barrier = threading.Barrier(2)

    def demote(actor: str, member: str) -> int:
        barrier.wait()
        response = org_client.put(
            f"/api/v1/organizations/org-a/members/{member}/role",
            json={"role": "admin"},
            headers={"Authorization": f"Bearer t-{actor}"},
        )
        return response.status_code

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(demote, "olga", "m-mia")
        second = pool.submit(demote, "mia", "m-olga")
        statuses = sorted([first.result(), second.result()])
    assert statuses == [200, 403]
    roles = members(fresh)
    assert sorted([roles["m-olga"], roles["m-mia"]]) == ["admin", "owner"]


def test_cursor_pages_members_and_limit_is_capped(
    org_client: TestClient, fresh: str
) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = org_client.get(
            "/api/v1/organizations/org-a/members" + query, headers=_headers("member")
        ).json()
        assert (body["total"], body["limit"]) == (5, 2)
        seen += [m["id"] for m in body["members"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(["m-olga", "m-adam", "m-mia", "m-dev", "m-bea"])
    assert len(seen) == 5
    too_big = org_client.get(
        "/api/v1/organizations/org-a/members?limit=100000", headers=_headers("member")
    )
    assert too_big.status_code == 422
    assert too_big.json()["detail"][0]["loc"] == ["query", "limit"]
    bad = org_client.get(
        "/api/v1/organizations/org-a/members?cursor=bm9wZQ", headers=_headers("member")
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("ghost", 400, "INVALID_REQUEST"),
        (" , ", 400, "INVALID_REQUEST"),
        (["developer", " member "], 200, None),
        ("owner", 403, "ORGANIZATION_PERMISSION_DENIED"),  # only an owner grants it
    ],
)
def test_role_validation(
    org_client: TestClient, fresh: str, role: Any, status: int, code: str | None
) -> None:
    response = org_client.put(
        "/api/v1/organizations/org-a/members/m-mia/role",
        json={"role": role},
        headers=_headers("admin"),
    )
    _check(response, status, code)
    if status == 200:
        assert members(fresh)["m-mia"] == "developer,member"
    if role == "ghost":
        assert response.json()["detail"]["message"] == "ROLE_NOT_FOUND: ghost"


def test_owner_may_grant_owner_then_leave_and_loses_the_active_organization(
    org_client: TestClient, fresh: str
) -> None:
    owner = _headers("owner")
    base = "/api/v1/organizations/org-a/members"
    granted = org_client.put(
        f"{base}/m-adam/role", json={"role": "owner"}, headers=owner
    )
    assert granted.status_code == 200, granted.text
    left = org_client.delete(f"{base}/m-olga", headers=owner)
    assert left.status_code == 200, left.text
    activity = ORG.session_activity
    rows = execute(
        fresh, select(activity.active_organization_id).where(activity.id == "s-olga")
    )
    assert rows[0][0] is None
    assert (
        org_client.get("/api/v1/organizations/org-a", headers=owner).status_code == 403
    )


def test_writes_are_audited(
    org_client: TestClient, fresh: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="fastapi_better_auth.audit")
    base = "/api/v1/organizations/org-a/members"
    org_client.delete(f"{base}/m-olga", headers=_headers("admin"))
    org_client.delete(f"{base}/m-mia", headers=_headers("admin"))
    lines = [
        (r.action, r.actor, r.target, r.outcome)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "fastapi_better_auth.audit"
    ]
    assert lines == [
        ("organizations.members.remove", "u-adam", "m-olga", "denied"),
        ("organizations.members.remove", "u-adam", "m-mia", "success"),
    ]
    assert "t-adam" not in caplog.text


async def _interleaved_demotions(url: str) -> None:
    """Owner A's demotion of B holds its locks; B's demotion of A waits, then re-reads: 403."""
    engine = create_async_engine(url)
    waits = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    try:
        async with AsyncSession(engine) as first, AsyncSession(engine) as second:

            async def demote(db: AsyncSession, actor: str, member: str) -> None:
                async with db.begin():
                    await update_member_role(
                        db, ORG, CONFIG, "org-a", actor, member, "admin"
                    )

            transaction = await first.begin()
            await update_member_role(
                first, ORG, CONFIG, "org-a", "u-olga", "m-mia", "admin"
            )
            racing = asyncio.create_task(demote(second, "u-mia", "m-olga"))
            for _ in range(1000):
                async with engine.connect() as conn:
                    if (await conn.execute(waits)).scalar_one():
                        break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the second demotion never waited for the lock")
            assert not racing.done()
            await transaction.commit()
            with pytest.raises(OrganizationPermissionError):
                await racing
    finally:
        await engine.dispose()


def test_second_demotion_waits_for_the_first_and_is_refused(fresh: str) -> None:
    if fresh.startswith("sqlite"):
        pytest.skip("PostgreSQL's row locks; SQLite's write lock is raced above")
    execute(
        fresh,
        update(ORG.member).where(ORG.member.id == "m-mia").values(role="owner"),
    )
    run(_interleaved_demotions(fresh))
    roles = members(fresh)
    assert (roles["m-olga"], roles["m-mia"]) == ("owner", "admin")


# --- teams, stored roles, odd ids: each on a database with every plugin table ---------------


@pytest.fixture
def full_url(db_url: str) -> str:
    """A database with teams, ``activeTeamId`` and ``organizationRole`` too, holding the cast."""

    async def create() -> None:
        engine = create_async_engine(db_url)
        try:
            async with engine.begin() as conn:
                role = ORG.organization_role.__table__  # type: ignore[attr-defined]
                await conn.run_sync(role.metadata.create_all)
                await conn.execute(
                    text('ALTER TABLE session ADD COLUMN "activeTeamId" TEXT')
                )
        finally:
            await engine.dispose()

    seed(db_url, migrate=True)
    run(_org_tables(db_url))
    run(create())
    reset(db_url)
    return db_url


def _client(url: str, issuer: TokenIssuer, config: Organizations, **kw: Any) -> Any:
    assert issuer.issuer is not None
    app = FastAPI()
    settings = settings_for(issuer.issuer, url, **kw)
    app.include_router(better_auth_router(settings, organizations=config))
    return TestClient(app)


def test_removal_with_teams_releases_the_team_seats(
    full_url: str, issuer: TokenIssuer
) -> None:
    team, seat = ORG.team, ORG.team_member
    seed(
        full_url,
        team(id="team-a", name="A", organization_id="org-a", member_count=2),
        team(id="team-b", name="B", organization_id="org-b", member_count=1),
        team(id="team-c", name="C", organization_id="org-a", member_count=0),
        seat(id="tm-1", team_id="team-a", user_id="u-mia"),
        seat(id="tm-2", team_id="team-a", user_id="u-adam"),
        seat(id="tm-3", team_id="team-b", user_id="u-mia"),
    )
    config = Organizations(roles=CONFIG.roles, teams=True)
    with _client(full_url, issuer, config) as client:
        response = client.delete(
            "/api/v1/organizations/org-a/members/m-mia", headers=_headers("admin")
        )
        assert response.status_code == 200, response.text
    seats = execute(full_url, select(seat.id).order_by(seat.id))
    assert [row[0] for row in seats] == ["tm-2", "tm-3"]  # B's seat is not A's
    counts = execute(full_url, select(team.id, team.member_count).order_by(team.id))
    assert [tuple(row) for row in counts] == [
        ("team-a", 1),
        ("team-b", 1),
        ("team-c", 0),
    ]


def test_stored_roles_grant_and_are_valid_roles(
    full_url: str, issuer: TokenIssuer
) -> None:
    role = ORG.organization_role
    seed(
        full_url,
        role(organization_id="org-a", role="lead", permission='{"member": ["update"]}'),
        role(organization_id="org-b", role="qa", permission='{"member": ["update"]}'),
    )
    execute(
        full_url,
        update(ORG.member).where(ORG.member.id == "m-dev").values(role="lead"),
    )
    config = Organizations(
        roles=CONFIG.roles, ac=ac, dynamic_access_control=True, teams=True
    )
    base = "/api/v1/organizations/org-a/members"
    with _client(full_url, issuer, config) as client:
        lead = _headers("custom")
        granted = client.put(f"{base}/m-mia/role", json={"role": "lead"}, headers=lead)
        assert granted.status_code == 200, granted.text
        other_orgs = client.put(f"{base}/m-mia/role", json={"role": "qa"}, headers=lead)
        assert other_orgs.json()["detail"]["message"] == "ROLE_NOT_FOUND: qa"
        assert client.delete(f"{base}/m-mia", headers=lead).status_code == 403
        execute(
            full_url,
            update(role).where(role.role == "lead").values(permission='"x"'),
        )
        broken = client.put(f"{base}/m-adam/role", json={"role": "lead"}, headers=lead)
        assert broken.status_code == 403
        assert broken.json()["detail"]["code"] == "ORGANIZATION_PERMISSION_DENIED"
    assert members(full_url)["m-adam"] == "admin"


def test_ids_the_naming_cannot_hold_are_refused_without_a_query(
    full_url: str, issuer: TokenIssuer
) -> None:
    if not full_url.startswith("sqlite"):
        pytest.skip("text id columns fail the PostgreSQL schema check under uuid")
    with _client(full_url, issuer, CONFIG, id_type="uuid") as client:
        response = client.delete(
            "/api/v1/organizations/org-a/members/m-mia", headers=_headers("owner")
        )
    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "NOT_ORGANIZATION_MEMBER"


def test_two_configurations_fail_start(full_url: str, issuer: TokenIssuer) -> None:
    assert issuer.issuer is not None
    app = FastAPI()
    settings = settings_for(issuer.issuer, full_url)
    app.include_router(better_auth_router(settings, organizations=CONFIG))
    Organizations().install(app)
    with pytest.raises(ConfigurationError, match="give one"), TestClient(app):
        pass  # pragma: no cover (start fails)
