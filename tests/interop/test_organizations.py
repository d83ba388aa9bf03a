"""A real Better-Auth 1.7.25 with the organization plugin, and our guards, answer alike.

Better-Auth runs with ``BA_ORGANIZATION=1`` and ``BA_SID_CLAIM=1`` (``examples/better-auth-server/auth.mjs``):
``organization({ teams: { enabled: true }, ac, roles })`` with the default roles plus a custom
``developer`` role; the Python side declares the same roles (:data:`ROLES`). Organizations are
created, members invited, accepted, re-roled and removed through Better-Auth's HTTP API; for
each state our ``require_org_permission`` is compared with ``POST /organization/has-permission``.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from fastapi_better_auth import better_auth_router
from fastapi_better_auth.models import User
from fastapi_better_auth.organizations import (
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    CurrentMember,
    MemberInfo,
    Organizations,
    create_access_control,
    get_organization_models,
    require_org_permission,
)
from fastapi_better_auth.organizations.access import has_admin_permission
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
from tests.pg import PostgresServer

pytestmark = pytest.mark.interop
require_node()

ORG = get_organization_models()
ac = create_access_control({**ORGANIZATION_STATEMENTS, "project": ["create", "delete"]})
#: The Python twin of auth.mjs's ``organizationPlugins()`` roles.
ROLES = {**ORGANIZATION_ROLES, "developer": ac.new_role({"project": ["create"]})}
CASES: list[dict[str, list[str]]] = [
    {"project": ["create"]},
    {"project": ["delete"]},
    {"organization": ["update"]},
    {"organization": ["delete"]},
    {"member": ["create", "update", "delete"]},
    {"invitation": ["create"]},
    {"team": ["create"]},
    {"ac": ["read"]},
    {"ac": ["read"], "member": ["delete"]},
    {"billing": ["read"]},
]


@pytest.fixture(scope="module")
def rig(postgres: PostgresServer) -> Iterator[tuple[BetterAuthServer, str]]:
    with better_auth_on_postgres(
        postgres, "orgs", {"BA_ORGANIZATION": "1", "BA_SID_CLAIM": "1"}
    ) as rig:
        yield rig


@pytest.fixture(scope="module")
def ours(rig: tuple[BetterAuthServer, str]) -> Iterator[TestClient]:
    server, url = rig
    app = FastAPI()
    app.include_router(better_auth_router(app_settings(server, url)))
    Organizations(roles=ROLES, header="x-organization-id", teams=True).install(app)

    @app.get("/member")
    async def member(member: CurrentMember) -> MemberInfo:
        return member

    for index, permissions in enumerate(CASES):
        app.add_api_route(
            f"/case/{index}",
            _ok,
            dependencies=[Depends(require_org_permission(permissions))],
        )
    with TestClient(app) as client:
        yield client


async def _ok() -> bool:
    return True


def _post(server: BetterAuthServer, path: str, who: Login, **body: Any) -> Any:
    response = server.request("POST", path, cookie=who.cookie, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _theirs(
    server: BetterAuthServer, who: Login, org_id: str, permissions: dict[str, Any]
) -> bool | None:
    """Better-Auth's ``has-permission`` answer; None when it refuses a non-member."""
    response = server.request(
        "POST",
        "/organization/has-permission",
        cookie=who.cookie,
        json={"organizationId": org_id, "permissions": permissions},
    )
    if response.status_code == 401:
        assert "USER_IS_NOT_A_MEMBER" in response.text, response.text
        return None
    assert response.status_code == 200, response.text
    return bool(response.json()["success"])


def _mine(ours: TestClient, who: Login, org_id: str, index: int) -> bool | None:
    headers = {"authorization": f"Bearer {who.raw}", "x-organization-id": org_id}
    response = ours.get(f"/case/{index}", headers=headers)
    if response.status_code == 403:
        code = response.json()["detail"]["code"]
        if code == "NOT_ORGANIZATION_MEMBER":
            return None
        assert code == "ORGANIZATION_PERMISSION_DENIED"
        return False
    assert response.status_code == 200, response.text
    return True


def _agree(
    server: BetterAuthServer, ours: TestClient, who: Login, org_id: str
) -> list[bool | None]:
    answers = []
    for index, permissions in enumerate(CASES):
        theirs = _theirs(server, who, org_id, permissions)
        assert _mine(ours, who, org_id, index) == theirs, (permissions, theirs)
        answers.append(theirs)
    return answers


def _role_of(url: str, member_id: str) -> str:
    return str(
        execute(url, select(ORG.member.role).where(ORG.member.id == member_id))[0][0]
    )


def test_lifecycle_answers_agree_with_has_permission(
    rig: tuple[BetterAuthServer, str], ours: TestClient
) -> None:
    server, url = rig
    alice, bob, carol = (
        login(server, unique_email(n)) for n in ("alice", "bob", "carol")
    )
    org = _post(
        server,
        "/organization/create",
        alice,
        name="Acme",
        slug=unique_email("acme")[:20],
    )
    other = _post(
        server,
        "/organization/create",
        carol,
        name="Other",
        slug=unique_email("oth")[:20],
    )
    # the creator is the creatorRole ("owner"); the session's active organization is set
    owner = ours.get("/member", headers={"authorization": f"Bearer {alice.raw}"}).json()
    assert (owner["organization_id"], owner["role"]) == (org["id"], "owner")
    # Better-Auth's own JWT (sid claim, BA_SID_CLAIM=1) leads to the same session row
    assert owner["active_team_id"]  # teams on: a default team is active too
    fresh_jwt = server.token(alice.cookie)
    by_jwt = ours.get("/member", headers={"authorization": f"Bearer {fresh_jwt}"})
    assert by_jwt.json() == owner
    assert _agree(server, ours, alice, org["id"])[3] is True  # organization: delete

    invitation = _post(
        server,
        "/organization/invite-member",
        alice,
        email=bob.email,
        role="member",
        organizationId=org["id"],
    )
    accepted = _post(
        server, "/organization/accept-invitation", bob, invitationId=invitation["id"]
    )
    member_id = accepted["member"]["id"]
    _post(server, "/organization/set-active", bob, organizationId=org["id"])
    active = ours.get("/member", headers={"authorization": f"Bearer {bob.raw}"}).json()
    assert (active["id"], active["role"]) == (member_id, "member")
    assert _agree(server, ours, bob, org["id"]) == [
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]

    expected: dict[str, list[bool | None]] = {
        "admin": [False, False, True, False, True, True, True, True, True, False],
        "developer": [
            True,
            False,
            False,
            False,
            False,
            False,
            False,
            False,
            False,
            False,
        ],
    }
    for role, answers in expected.items():
        _post(
            server,
            "/organization/update-member-role",
            alice,
            memberId=member_id,
            role=role,
            organizationId=org["id"],
        )
        assert _role_of(url, member_id) == role
        assert _agree(server, ours, bob, org["id"]) == answers

    # Better-Auth's API stores roles trimmed (parseRoles)…
    _post(
        server,
        "/organization/update-member-role",
        alice,
        memberId=member_id,
        role="developer, member",
        organizationId=org["id"],
    )
    assert _role_of(url, member_id) == "developer,member"
    # …and a padded value written by other code is trimmed when read (parseRoleList)
    execute(
        url,
        update(ORG.member)
        .where(ORG.member.id == member_id)
        .values(role="member, admin"),
    )
    trimmed = _agree(server, ours, bob, org["id"])
    assert trimmed[5] is True  # invitation: create, from " admin" trimmed to "admin"

    # IDOR: bob names carol's organization
    assert _agree(server, ours, bob, other["id"]) == [None] * len(CASES)

    _post(
        server,
        "/organization/remove-member",
        alice,
        memberIdOrEmail=bob.email,
        organizationId=org["id"],
    )
    assert _agree(server, ours, bob, org["id"]) == [None] * len(CASES)


def test_admin_plugin_does_not_trim_where_the_organization_plugin_does(
    rig: tuple[BetterAuthServer, str],
) -> None:
    """``user.role = "user, admin"``: no admin to the admin plugin (``split(",")``), nor to us."""
    server, url = rig
    dave = login(server, unique_email("dave"))
    for role, allowed in (("user, admin", False), ("user,admin", True)):
        execute(url, update(User).where(User.id == dave.user_id).values(role=role))
        response = server.admin_get("list-users", cookie=dave.cookie)
        assert (response.status_code == 200) is allowed, response.text
        assert has_admin_permission(role, {"user": ["list"]}) is allowed


@pytest.fixture(scope="module")
def dynamic(postgres: PostgresServer) -> Iterator[tuple[BetterAuthServer, str]]:
    """Better-Auth with ``dynamicAccessControl`` (``BA_ORGANIZATION=dynamic``)."""
    with better_auth_on_postgres(
        postgres, "orgdyn", {"BA_ORGANIZATION": "dynamic"}
    ) as rig:
        yield rig


def test_stored_roles_agree_with_has_permission(
    dynamic: tuple[BetterAuthServer, str],
) -> None:
    """Roles created through ``/organization/create-role`` (and rows extending a predefined
    role) answer alike, with ``Organizations(ac=..., dynamic_access_control=True)``."""
    server, url = dynamic
    app = FastAPI()
    app.include_router(better_auth_router(app_settings(server, url)))
    Organizations(
        roles=ROLES, header="x-organization-id", ac=ac, dynamic_access_control=True
    ).install(app)
    for index, permissions in enumerate(CASES):
        app.add_api_route(
            f"/case/{index}",
            _ok,
            dependencies=[Depends(require_org_permission(permissions))],
        )
    alice, bob = (login(server, unique_email(n)) for n in ("alice", "bob"))
    org = _post(
        server, "/organization/create", alice, name="Dyn", slug=unique_email("dyn")[:20]
    )
    _post(
        server,
        "/organization/create-role",
        alice,
        organizationId=org["id"],
        role="qa",
        permission={
            "team": ["create"],
            "invitation": ["cancel"],
        },  # what the owner holds
    )
    invitation = _post(
        server,
        "/organization/invite-member",
        alice,
        email=bob.email,
        role="member",
        organizationId=org["id"],
    )
    member_id = _post(
        server, "/organization/accept-invitation", bob, invitationId=invitation["id"]
    )["member"]["id"]
    with TestClient(app) as ours:
        plain = _agree(server, ours, bob, org["id"])
        _post(
            server,
            "/organization/update-member-role",
            alice,
            memberId=member_id,
            role="qa",
            organizationId=org["id"],
        )
        qa = _agree(server, ours, bob, org["id"])
        assert (plain[6], qa[6], qa[7]) == (False, True, False)  # no ac:read in qa
        # a stored row named like a predefined role extends it (has-permission.mjs 45-47)
        execute(
            url,
            update(ORG.member).where(ORG.member.id == member_id).values(role="member"),
        )
        seed(
            url,
            ORG.organization_role(
                organization_id=org["id"],
                role="member",
                permission=json.dumps({"invitation": ["create"]}),
            ),
        )
        extended = _agree(server, ours, bob, org["id"])
        assert extended[5] is True and extended[7] is True
