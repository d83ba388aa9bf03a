"""A real Better-Auth 1.7.25 keeps sessions in Redis and sets the active organization there.

Better-Auth runs with ``BA_REDIS_URL`` (``secondaryStorage``, no ``storeSessionInDatabase``: its
migration creates no ``session`` table), ``BA_ORGANIZATION=1`` and ``BA_SID_CLAIM=1``.
``/organization/create`` and ``/organization/set-active`` write ``activeOrganizationId`` (and
``activeTeamId``) into the session's Redis JSON through ``updateSession``; our guards without a
named organization follow them on the next request, for every credential.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_better_auth import better_auth_router
from fastapi_better_auth.organizations import CurrentMember, MemberInfo, Organizations
from tests.interop.ba_server import BetterAuthServer, running_better_auth
from tests.interop.flow import (
    KINDS,
    Login,
    app_settings,
    error_code,
    login,
    require_node,
    unique_email,
)
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop
require_node()

REDIS_DB = 7  # a Redis database of its own on the shared server


@dataclass
class OrgRig:
    server: BetterAuthServer
    ours: TestClient
    redis: "redis.Redis"
    database: str
    redis_url: str


@pytest.fixture(scope="module")
def org_rig(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OrgRig]:
    url = redis_server.url(db=REDIS_DB)
    path: Path = tmp_path_factory.mktemp("redis-orgs") / "better-auth.db"
    database = f"sqlite:///{path}"
    env = {"BA_REDIS_URL": url, "BA_ORGANIZATION": "1", "BA_SID_CLAIM": "1"}
    with contextlib.ExitStack() as stack:
        client = redis.Redis.from_url(url, decode_responses=True)
        stack.callback(client.close)
        client.flushdb()
        server = stack.enter_context(running_better_auth(database, env=env))
        settings = app_settings(server, database, redis_url=url)
        app = FastAPI()
        app.include_router(better_auth_router(settings))
        Organizations(teams=True).install(app)

        @app.get("/member")
        async def member(member: CurrentMember) -> MemberInfo:
            return member

        ours = stack.enter_context(TestClient(app))
        yield OrgRig(server, ours, client, database, url)


def _post(rig: OrgRig, path: str, who: Login, body: dict[str, Any]) -> Any:
    response = rig.server.request("POST", path, cookie=who.cookie, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _theirs(rig: OrgRig, who: Login) -> tuple[Any, Any]:
    """The session's active organization and team as Better-Auth's get-session reports them."""
    found = rig.server.get_session(who.cookie)
    assert found is not None
    session = found["session"]
    return session.get("activeOrganizationId"), session.get("activeTeamId")


def _ours(rig: OrgRig, who: Login) -> list[Any]:
    """Our guard's answer for each credential: (organization, team), or the error code."""
    answers = []
    for kind in KINDS:
        response = rig.ours.get("/member", headers=who.headers(kind))
        if response.status_code == 200:
            body = response.json()
            answers.append((body["organization_id"], body["active_team_id"]))
        else:
            answers.append((response.status_code, error_code(response)))
    return answers


def test_set_active_through_better_auth_is_followed_on_the_next_request(
    org_rig: OrgRig,
) -> None:
    rig = org_rig
    user = login(rig.server, unique_email("redis-org"))
    assert set(_ours(rig, user)) == {(400, "NO_ACTIVE_ORGANIZATION")}

    # create: the new organization (and its default team) become the session's active ones
    a = _post(
        rig, "/organization/create", user, {"name": "A", "slug": unique_email("a")}
    )
    active, team = _theirs(rig, user)
    assert active == a["id"] and team is not None
    assert set(_ours(rig, user)) == {(a["id"], team)}

    b = _post(
        rig,
        "/organization/create",
        user,
        {"name": "B", "slug": unique_email("b"), "keepCurrentActiveOrganization": True},
    )
    assert _theirs(rig, user)[0] == a["id"]
    _post(rig, "/organization/set-active", user, {"organizationId": b["id"]})
    active, team = _theirs(rig, user)
    assert active == b["id"]
    assert set(_ours(rig, user)) == {(b["id"], team)}

    _post(rig, "/organization/set-active", user, {"organizationId": None})
    assert _theirs(rig, user)[0] is None
    assert set(_ours(rig, user)) == {(400, "NO_ACTIVE_ORGANIZATION")}


def test_start_check_accepts_redis_only_sessions(org_rig: OrgRig) -> None:
    """Better-Auth with secondaryStorage alone creates no session table: start must not ask."""
    settings = app_settings(
        org_rig.server, org_rig.database, redis_url=org_rig.redis_url
    )
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    Organizations(teams=True).install(app)
    with TestClient(app):
        pass
