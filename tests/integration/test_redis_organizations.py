"""The organization guards over sessions in Better-Auth's ``secondaryStorage`` (a real Redis).

The organization plugin keeps ``activeOrganizationId`` (and ``activeTeamId``) in the session:
with Redis sessions in the JSON under the token, which ``/organization/set-active`` rewrites
through ``updateSession``. The guards read them where Better-Auth's ``findSession`` reads the
session: Redis first, the ``session`` table only for a session Redis does not hold and only
under ``storeSessionInDatabase``. ``tests/interop/test_redis_organizations.py`` pins the same
against a real Better-Auth.
"""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
import redis
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from fastapi_better_auth import better_auth_router
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.organizations import (
    CurrentMember,
    CurrentOrganization,
    MemberInfo,
    OrganizationInfo,
    Organizations,
    get_organization_models,
    require_org_role,
)
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_member,
    make_organization,
    make_session,
    make_user,
    session_cookie,
    user_claims,
)
from tests.helpers import SECRET, execute, seed, settings_for
from tests.integration.test_organizations import _tables
from tests.integration.test_redis_sessions import put
from tests.redis_server import RedisServer, running_redis

ORG = get_organization_models()
CONFIG = Organizations(header="x-organization-id", teams=True)
REDIS_DB = 6  # a Redis database of its own on the shared server


@dataclass
class World:
    url: str
    redis_url: str
    redis: "redis.Redis"
    alice: User  # owner of A, admin of B
    session: Session  # alice's, in Redis and in the table (the table says: B, no team)
    a: str
    b: str
    team: str  # in A


@pytest.fixture
def world(db_url: str, redis_server: RedisServer) -> Iterator[World]:
    _tables(db_url)
    alice = make_user(name="Alice")
    a, b = make_organization(name="A"), make_organization(name="B")
    team = ORG.team(id="team-t", name="T", organization_id=a.id, created_at=utcnow())
    session = make_session(alice)
    seed(db_url, alice, a, b, team, session)
    seed(db_url, make_member(a, alice, "owner"), make_member(b, alice, "admin"))
    activity = ORG.session_activity
    execute(
        db_url,
        update(activity)
        .where(activity.id == session.id)
        .values(active_organization_id=b.id, active_team_id=None),
    )
    url = redis_server.url(db=REDIS_DB)
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    put(client, session, alice)
    try:
        yield World(db_url, url, client, alice, session, a.id, b.id, "team-t")
    finally:
        client.close()


def set_active(client: "redis.Redis", token: str, **fields: Any) -> None:
    """What ``updateSession`` does to the token's JSON: merge the fields, keep the TTL."""
    data = json.loads(str(client.get(token)))
    data["session"].update(fields)
    client.set(token, json.dumps(data), keepttl=True)


def _client(
    world: World, issuer: TokenIssuer, config: Organizations = CONFIG, **overrides: Any
) -> TestClient:
    assert issuer.issuer is not None
    values: dict[str, Any] = {"redis_url": world.redis_url, **overrides}
    app = FastAPI()
    app.include_router(
        better_auth_router(settings_for(issuer.issuer, world.url, **values))
    )
    config.install(app)

    @app.get("/member")
    async def member(member: CurrentMember) -> MemberInfo:
        return member

    @app.get("/org")
    async def org(organization: CurrentOrganization) -> OrganizationInfo:
        return organization

    @app.get("/owners")
    async def owners(
        member: Annotated[MemberInfo, Depends(require_org_role("owner"))],
    ) -> str:
        return member.organization_id

    return TestClient(app)


def _credentials(world: World, issuer: TokenIssuer) -> list[dict[str, str]]:
    """The session token, its signed cookie, and a JWT naming the session (``sid``)."""
    name, value = session_cookie(world.session.token, SECRET)
    jwt = issuer.mint({**user_claims(world.alice), "sid": world.session.id})
    return [
        {"Authorization": f"Bearer {world.session.token}"},
        {"cookie": f"{name}={value}"},
        {"Authorization": f"Bearer {jwt}"},
    ]


def _code(response: Any) -> str:
    return str(response.json()["detail"]["code"])


def test_redis_sessions_active_organization_and_team_are_read_from_redis(
    world: World, issuer: TokenIssuer
) -> None:
    """Redis-only: the table's columns (B) are never Better-Auth's answer, Redis's JSON is."""
    set_active(world.redis, world.session.token, activeOrganizationId=world.a)
    set_active(world.redis, world.session.token, activeTeamId=world.team)
    with _client(world, issuer) as app:
        for headers in _credentials(world, issuer):
            body = app.get("/member", headers=headers).json()
            assert (body["organization_id"], body["role"]) == (world.a, "owner"), body
            assert body["active_team_id"] == world.team
            assert app.get("/owners", headers=headers).json() == world.a
        # set-active to another organization: the next request follows (never cached)
        set_active(world.redis, world.session.token, activeOrganizationId=world.b)
        set_active(world.redis, world.session.token, activeTeamId=None)
        for headers in _credentials(world, issuer):
            body = app.get("/member", headers=headers).json()
            assert (body["organization_id"], body["active_team_id"]) == (world.b, None)
            refused = app.get("/owners", headers=headers)
            assert (refused.status_code, _code(refused)) == (
                403,
                "ORGANIZATION_ROLE_REQUIRED",
            )
        # set-active null: none active, whatever the table says
        set_active(world.redis, world.session.token, activeOrganizationId=None)
        for headers in _credentials(world, issuer):
            response = app.get("/org", headers=headers)
            assert (response.status_code, _code(response)) == (
                400,
                "NO_ACTIVE_ORGANIZATION",
            )
            named = app.get("/org", headers={**headers, "x-organization-id": world.a})
            assert named.json()["id"] == world.a


def test_the_team_is_the_active_organizations_and_read_only_with_teams(
    world: World, issuer: TokenIssuer
) -> None:
    set_active(
        world.redis,
        world.session.token,
        activeOrganizationId=world.a,
        activeTeamId=world.team,
    )
    headers = _credentials(world, issuer)[0]
    with _client(world, issuer) as app:
        named = app.get("/member", headers={**headers, "x-organization-id": world.b})
        assert (named.json()["organization_id"], named.json()["active_team_id"]) == (
            world.b,
            None,
        )
    with _client(world, issuer, Organizations(header="x-organization-id")) as app:
        body = app.get("/member", headers=headers).json()
        assert (body["organization_id"], body["active_team_id"]) == (world.a, None)


def test_redis_only_sessions_never_read_the_session_table(
    world: World, issuer: TokenIssuer
) -> None:
    """Without storeSessionInDatabase Better-Auth's migration creates no ``session`` table."""
    set_active(world.redis, world.session.token, activeOrganizationId=world.a)
    execute(world.url, text('DROP TABLE "session"'))
    with _client(world, issuer) as app:  # and start does not ask for it
        for headers in _credentials(world, issuer):
            response = app.get("/org", headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["id"] == world.a
        set_active(world.redis, world.session.token, activeOrganizationId=None)
        response = app.get("/org", headers=_credentials(world, issuer)[0])
        assert (response.status_code, _code(response)) == (
            400,
            "NO_ACTIVE_ORGANIZATION",
        )


def test_store_session_in_database_reads_the_table_for_a_session_redis_lacks(
    world: World, issuer: TokenIssuer
) -> None:
    """findSession: Redis wins when it holds the session; the table answers only a miss."""
    set_active(world.redis, world.session.token, activeOrganizationId=world.a)
    with _client(world, issuer, store_session_in_database=True) as app:
        for headers in _credentials(world, issuer):
            assert app.get("/org", headers=headers).json()["id"] == world.a  # not B
        world.redis.delete(world.session.token, f"active-sessions-{world.alice.id}")
        for headers in _credentials(world, issuer):
            response = app.get("/org", headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["id"] == world.b  # the table's


@pytest.mark.parametrize("teams", [True, False])
def test_redis_down_during_the_organization_read_is_503(
    world: World, issuer: TokenIssuer, teams: bool
) -> None:
    """The identity cached (``freshness=cached``): the organization read is the one to ask Redis.

    A named organization asks it only with teams (its team is the active organization's):
    without, the named request is answered while Redis is down (it was 503 before).
    """
    with running_redis() as server:
        client = redis.Redis.from_url(server.url(), decode_responses=True)
        put(client, world.session, world.alice)
        set_active(client, world.session.token, activeOrganizationId=world.a)
        client.close()
        world.redis_url = server.url()
        config = Organizations(header="x-organization-id", teams=teams)
        with _client(
            world, issuer, config, freshness="cached", freshness_cache_seconds=300
        ) as app:
            jwt = _credentials(world, issuer)[2]
            assert app.get("/org", headers=jwt).json()["id"] == world.a
            server.stop()
            named = app.get("/org", headers={**jwt, "x-organization-id": world.b})
            if teams:
                assert (named.status_code, _code(named)) == (503, "SESSION_STORE_UNAVAILABLE")  # fmt: skip
            else:
                assert (named.status_code, named.json()["id"]) == (200, world.b), named.text  # fmt: skip
            response = app.get("/org", headers=jwt)
            assert (response.status_code, _code(response)) == (
                503,
                "SESSION_STORE_UNAVAILABLE",
            )
            assert response.headers["retry-after"]


def test_ids_as_the_json_holds_them(world: World, issuer: TokenIssuer) -> None:
    """A number (``generateId: "serial"``) is an id's text; anything else is none; an id the
    naming's column cannot hold (``BETTER_AUTH_ID_TYPE=uuid``) is no membership, never a 500."""
    headers = _credentials(world, issuer)[0]
    with _client(world, issuer) as app:
        set_active(world.redis, world.session.token, activeOrganizationId=12345)
        response = app.get("/org", headers=headers)
        assert (response.status_code, _code(response)) == (
            403,
            "NOT_ORGANIZATION_MEMBER",
        )
        set_active(world.redis, world.session.token, activeOrganizationId=["x"])
        response = app.get("/org", headers=headers)
        assert (response.status_code, _code(response)) == (
            400,
            "NO_ACTIVE_ORGANIZATION",
        )
    if not world.url.startswith("sqlite"):
        return  # SQLite stores uuid ids as text: these rows serve both namings there
    carol = make_user(id=str(uuid.uuid4()), name="Carol")
    session = make_session(carol, id=str(uuid.uuid4()))
    seed(world.url, carol)
    put(world.redis, session, carol)
    set_active(world.redis, session.token, activeOrganizationId=world.a)
    with _client(world, issuer, id_type="uuid", schema_check=False) as app:
        response = app.get("/org", headers={"Authorization": f"Bearer {session.token}"})
        assert (response.status_code, _code(response)) == (
            403,
            "NOT_ORGANIZATION_MEMBER",
        )
