"""Our admin routes and a real Better-Auth 1.7.25 with custom admin roles allow and refuse alike.

Better-Auth runs with ``BA_ADMIN_ROLES=custom`` (``admin({ ac, roles })`` in
``examples/better-auth-server/auth.mjs``: admin, user, support, helpdesk); our router gets the
same roles as ``admin_access=AdminAccess(...)``. For each caller role × admin action, the same
caller asks both on the same target: both allow (2xx) or both refuse; and ``has_permission``
(what ``require_permission`` asks) answers as Better-Auth's ``/admin/has-permission``.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from fastapi_better_auth import AuthenticatedUser, better_auth_router
from fastapi_better_auth.access import (
    ADMIN_PLUGIN_ROLES,
    ADMIN_PLUGIN_STATEMENTS,
    AdminAccess,
    create_access_control,
    has_permission,
)
from fastapi_better_auth.models import User
from tests.helpers import execute
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

ac = create_access_control(ADMIN_PLUGIN_STATEMENTS)
#: The Python side of auth.mjs's adminRoles() (BA_ADMIN_ROLES=custom).
ACCESS = AdminAccess(
    ac=ac,
    roles={
        **ADMIN_PLUGIN_ROLES,
        "support": ac.new_role({"user": ["list"]}),
        "helpdesk": ac.new_role(
            {"user": ["get", "update"], "session": ["list", "revoke"]}
        ),
    },
)
CALLER_ROLES = ["admin", "user", "support", "helpdesk", "user,support", None]
#: What each caller may do (both sides agree; this pins that the rig really allows some).
EXPECTED: dict[str | None, set[str]] = {
    "admin": {
        "list",
        "get",
        "update",
        "set_role",
        "ban",
        "unban",
        "sessions",
        "revoke",
    },
    "user": set(),
    "support": {"list"},
    "helpdesk": {"get", "update", "sessions", "revoke"},
    "user,support": {"list"},
    None: set(),
}


@dataclass(frozen=True)
class Action:
    """One admin action: our request and Better-Auth's (``{t}``: the target's id)."""

    ours: tuple[str, str, dict[str, Any] | None]
    theirs: tuple[str, str, dict[str, Any] | None]


ACTIONS = {
    "list": Action(("GET", "/api/v1/users", None), ("GET", "/admin/list-users", None)),
    "get": Action(("GET", "/api/v1/users/{t}", None), ("GET", "/admin/get-user", None)),
    "update": Action(
        ("PATCH", "/api/v1/users/{t}", {"name": "Renamed"}),
        ("POST", "/admin/update-user", {"data": {"name": "Renamed"}}),
    ),
    "set_role": Action(
        ("PUT", "/api/v1/users/{t}/role", {"role": "user"}),
        ("POST", "/admin/set-role", {"role": "user"}),
    ),
    "ban": Action(
        ("POST", "/api/v1/users/{t}/ban", {"reason": "spam"}),
        ("POST", "/admin/ban-user", {"banReason": "spam"}),
    ),
    "unban": Action(
        ("DELETE", "/api/v1/users/{t}/ban", None),
        ("POST", "/admin/unban-user", {}),
    ),
    "sessions": Action(
        ("GET", "/api/v1/users/{t}/sessions", None),
        ("POST", "/admin/list-user-sessions", {}),
    ),
    "revoke": Action(
        ("DELETE", "/api/v1/users/{t}/sessions", None),
        ("POST", "/admin/revoke-user-sessions", {}),
    ),
}


@pytest.fixture(scope="module")
def rig(postgres: PostgresServer) -> Iterator[tuple[BetterAuthServer, str]]:
    with better_auth_on_postgres(
        postgres, "adminroles", {"BA_ADMIN_ROLES": "custom"}
    ) as rig:
        yield rig


@pytest.fixture(scope="module")
def ours(rig: tuple[BetterAuthServer, str]) -> Iterator[TestClient]:
    server, url = rig
    app = FastAPI()
    app.include_router(
        better_auth_router(app_settings(server, url), admin_access=ACCESS)
    )
    with TestClient(app) as client:
        yield client


def _set_role(url: str, user_id: str, role: str | None) -> None:
    execute(url, update(User).where(User.id == user_id).values(role=role))


def _restore(url: str, user_id: str) -> None:
    """The target as before an action: role ``user``, not banned."""
    execute(
        url,
        update(User)
        .where(User.id == user_id)
        .values(role="user", banned=False, ban_reason=None, ban_expires=None),
    )


def _theirs(server: BetterAuthServer, action: Action, who: Login, target: str) -> int:
    method, path, body = action.theirs
    if method == "GET":
        params = {"id": target} if path == "/admin/get-user" else {}
        response = server.request(method, path, cookie=who.cookie, params=params)
    else:
        payload = {**(body or {}), "userId": target}
        response = server.request(method, path, cookie=who.cookie, json=payload)
    return response.status_code


def _ours(client: TestClient, action: Action, who: Login, target: str) -> int:
    method, path, body = action.ours
    response = client.request(
        method,
        path.format(t=target),
        json=body,
        headers={"Authorization": f"Bearer {who.signed}"},
    )
    return response.status_code


@pytest.mark.parametrize("role", CALLER_ROLES)
def test_each_role_may_do_what_better_auth_lets_it_do(
    rig: tuple[BetterAuthServer, str], ours: TestClient, role: str | None
) -> None:
    server, url = rig
    caller = login(server, unique_email("caller"))
    target = login(server, unique_email("target"))
    _set_role(url, caller.user_id, role)
    answers: dict[str, tuple[bool, bool]] = {}
    for name, action in ACTIONS.items():
        theirs = _theirs(server, action, caller, target.user_id)
        _restore(url, target.user_id)
        mine = _ours(ours, action, caller, target.user_id)
        _restore(url, target.user_id)
        answers[name] = (200 <= theirs < 300, 200 <= mine < 300)
    assert {name: pair[1] for name, pair in answers.items()} == {
        name: pair[0] for name, pair in answers.items()
    }
    allowed = {name for name, (theirs, _) in answers.items() if theirs}
    assert allowed == EXPECTED[role]  # and the table is what the roles say


PERMISSIONS: list[dict[str, list[str]]] = [
    {"user": ["list"]},
    {"user": ["ban"]},
    {"user": ["list", "ban"]},
    {"user": ["get"], "session": ["revoke"]},
    {"user": ["impersonate-admins"]},
    {"project": ["create"]},
]


@pytest.mark.parametrize("role", CALLER_ROLES)
def test_require_permission_answers_as_user_has_permission(
    rig: tuple[BetterAuthServer, str], ours: TestClient, role: str | None
) -> None:
    """``require_permission`` and Better-Auth's ``POST /admin/has-permission`` agree per request."""
    server, url = rig
    caller = login(server, unique_email("asker"))
    _set_role(url, caller.user_id, role)
    user = ours.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {caller.signed}"}
    ).json()
    for permissions in PERMISSIONS:
        theirs = server.request(
            "POST",
            "/admin/has-permission",
            cookie=caller.cookie,
            json={"permissions": permissions},
        )
        assert theirs.status_code == 200, theirs.text
        settings = app_settings(server, url)
        mine = has_permission(
            AuthenticatedUser.model_validate(user), permissions, settings, ACCESS
        )
        assert (permissions, mine) == (permissions, theirs.json()["success"])
