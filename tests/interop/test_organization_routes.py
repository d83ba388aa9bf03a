"""Our ``/organizations`` routes and a real Better-Auth 1.7.25 see each other's writes and refuse alike.

Better-Auth runs with ``BA_ORGANIZATION=1`` (``organization({ teams, ac, roles })``). A role change
and a removal made through our routes are seen by ``GET /organization/list-members``, and theirs
by ours; then for the owner/admin/member triangle, every actor × target × write is asked of both
on the same rows (restored between asks), and allowed or refused alike.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from fastapi_better_auth import better_auth_router
from fastapi_better_auth.organizations import Organizations, get_organization_models
from tests.helpers import execute, seed
from tests.interop.ba_server import BetterAuthServer
from tests.interop.flow import (
    Login,
    app_settings,
    better_auth_on_postgres,
    login,
    require_node,
    unique_email,
)
from tests.interop.test_organizations import ROLES
from tests.pg import PostgresServer

pytestmark = pytest.mark.interop
require_node()

ORG = get_organization_models()


@pytest.fixture(scope="module")
def rig(postgres: PostgresServer) -> Iterator[tuple[BetterAuthServer, str]]:
    with better_auth_on_postgres(
        postgres, "orgroutes", {"BA_ORGANIZATION": "1"}
    ) as rig:
        yield rig


@pytest.fixture(scope="module")
def ours(rig: tuple[BetterAuthServer, str]) -> Iterator[TestClient]:
    server, url = rig
    app = FastAPI()
    config = Organizations(roles=ROLES, teams=True)
    app.include_router(
        better_auth_router(app_settings(server, url), organizations=config)
    )
    with TestClient(app) as client:
        yield client


def _post(server: BetterAuthServer, path: str, who: Login, **body: Any) -> Any:
    response = server.request("POST", path, cookie=who.cookie, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _join(
    server: BetterAuthServer, owner: Login, who: Login, org: str, role: str
) -> str:
    invitation = _post(
        server,
        "/organization/invite-member",
        owner,
        email=who.email,
        role=role,
        organizationId=org,
    )
    accepted = _post(
        server, "/organization/accept-invitation", who, invitationId=invitation["id"]
    )
    return str(accepted["member"]["id"])


def _theirs(server: BetterAuthServer, who: Login, org: str) -> dict[str, str]:
    response = server.request(
        "GET",
        "/organization/list-members",
        cookie=who.cookie,
        params={"organizationId": org},
    )
    assert response.status_code == 200, response.text
    return {m["id"]: m["role"] for m in response.json()["members"]}


def _mine(ours: TestClient, who: Login, org: str) -> dict[str, str]:
    response = ours.get(f"/api/v1/organizations/{org}/members", headers=_auth(who))
    assert response.status_code == 200, response.text
    return {m["id"]: m["role"] for m in response.json()["members"]}


def _auth(who: Login) -> dict[str, str]:
    return {"authorization": f"Bearer {who.raw}"}


@pytest.fixture(scope="module")
def triangle(
    rig: tuple[BetterAuthServer, str],
) -> tuple[str, dict[str, Login], dict[str, str]]:
    server, _ = rig
    people = {n: login(server, unique_email(n)) for n in ("owner", "admin", "member")}
    org = _post(
        server,
        "/organization/create",
        people["owner"],
        name="Tri",
        slug=unique_email("tri")[:20],
    )["id"]
    ids = {
        "admin": _join(server, people["owner"], people["admin"], org, "admin"),
        "member": _join(server, people["owner"], people["member"], org, "member"),
    }
    ids["owner"] = next(
        k for k, v in _theirs(server, people["owner"], org).items() if v == "owner"
    )
    return org, people, ids


def test_writes_are_seen_both_ways(
    rig: tuple[BetterAuthServer, str],
    ours: TestClient,
    triangle: tuple[str, dict[str, Login], dict[str, str]],
) -> None:
    server, _ = rig
    org, people, _ = triangle
    owner = people["owner"]
    extra = login(server, unique_email("extra"))
    member_id = _join(server, owner, extra, org, "member")
    assert _mine(ours, owner, org)[member_id] == "member"
    changed = ours.put(
        f"/api/v1/organizations/{org}/members/{member_id}/role",
        json={"role": ["developer", "admin"]},
        headers=_auth(owner),
    )
    assert changed.status_code == 200, changed.text
    assert _theirs(server, owner, org)[member_id] == "developer,admin"
    _post(
        server,
        "/organization/update-member-role",
        owner,
        memberId=member_id,
        role="member",
        organizationId=org,
    )
    assert _mine(ours, owner, org)[member_id] == "member"
    removed = ours.delete(
        f"/api/v1/organizations/{org}/members/{member_id}", headers=_auth(owner)
    )
    assert removed.status_code == 200, removed.text
    assert member_id not in _theirs(server, owner, org)
    again = _join(server, owner, extra, org, "member")
    assert again in _mine(ours, owner, org)
    _post(
        server,
        "/organization/remove-member",
        owner,
        memberIdOrEmail=again,
        organizationId=org,
    )
    assert again not in _mine(ours, owner, org)


CASES = [
    (actor, target, write)
    for actor in ("owner", "admin", "member")
    for target in ("owner", "admin", "member")
    for write in ("set_role", "remove")
]


@pytest.mark.parametrize(("actor", "target", "write"), CASES)
def test_refusals_match_better_auth(
    rig: tuple[BetterAuthServer, str],
    ours: TestClient,
    triangle: tuple[str, dict[str, Login], dict[str, str]],
    actor: str,
    target: str,
    write: str,
) -> None:
    server, url = rig
    org, people, ids = triangle
    rows = _rows(url, org)
    who, member_id = people[actor], ids[target]
    role = "member" if target != "member" else "admin"
    if write == "set_role":
        mine = ours.put(
            f"/api/v1/organizations/{org}/members/{member_id}/role",
            json={"role": role},
            headers=_auth(who),
        )
    else:
        mine = ours.delete(
            f"/api/v1/organizations/{org}/members/{member_id}", headers=_auth(who)
        )
    _restore(url, org, rows)
    if write == "set_role":
        body = {"memberId": member_id, "role": role, "organizationId": org}
        theirs = server.request(
            "POST", "/organization/update-member-role", cookie=who.cookie, json=body
        )
    else:
        body = {"memberIdOrEmail": member_id, "organizationId": org}
        theirs = server.request(
            "POST", "/organization/remove-member", cookie=who.cookie, json=body
        )
    _restore(url, org, rows)
    assert (mine.status_code == 200) == (theirs.status_code == 200), (
        mine.text,
        theirs.text,
    )


def _rows(url: str, org: str) -> list[Any]:
    member = ORG.member
    return list(
        execute(
            url,
            select(
                member.id, member.organization_id, member.user_id, member.role,
                member.created_at,
            ).where(member.organization_id == org),
        )
    )  # fmt: skip


def _restore(url: str, org: str, rows: list[Any]) -> None:
    execute(url, delete(ORG.member).where(ORG.member.organization_id == org))
    seed(
        url,
        *(
            ORG.member(
                id=r[0], organization_id=r[1], user_id=r[2], role=r[3], created_at=r[4]
            )
            for r in rows
        ),
    )
