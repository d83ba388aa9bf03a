"""The admin plugin's permissions: the map per route, AdminAccess's checks, require_permission."""

import itertools
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from fastapi_better_auth import BetterAuthSettings, require_permission
from fastapi_better_auth._policy import is_admin
from fastapi_better_auth._router import sessions, users
from fastapi_better_auth.access import (
    ADMIN_PLUGIN_ROLES,
    ADMIN_PLUGIN_STATEMENTS,
    ROUTE_PERMISSIONS,
    AdminAccess,
    create_access_control,
    has_permission,
)
from fastapi_better_auth.access._admin import default_admin_roles
from fastapi_better_auth.errors import ConfigurationError
from fastapi_better_auth.organizations import access as organizations_access
from tests.unit.test_guards import (
    RAW,
    FakeAuthenticator,
    bearer,
    identity_of,
    make_app,
    make_runtime,
)

#: What better-auth 1.7.25 ``dist/plugins/admin/routes.mjs`` asks per endpoint (file:line).
BETTER_AUTH = {
    "users.list": {"user": ("list",)},  # list-users 362-367
    "users.get": {"user": ("get",)},  # get-user 100-105
    "users.update": {"user": ("update",)},  # update-user 252-257
    "users.set_email": {"user": ("set-email",)},  # update-user's email 292-297
    "users.set_role": {"user": ("set-role",)},  # set-role 66-71
    "users.ban": {"user": ("ban",)},  # ban-user 537-542
    "users.unban": {"user": ("ban",)},  # unban-user 478-483
    "sessions.list": {"session": ("list",)},  # list-user-sessions 435-440
    "sessions.revoke_all": {"session": ("revoke",)},  # revoke-user-sessions 741-746
    "sessions.revoke": {"session": ("revoke",)},  # revoke-user-session 698-703
}

ac = create_access_control(ADMIN_PLUGIN_STATEMENTS)


def settings(**overrides: Any) -> BetterAuthSettings:
    return BetterAuthSettings.load(
        url="http://app.example.com",
        secret="s" * 32,
        database_url="sqlite+aiosqlite:///unused.db",
        **overrides,
    )


def test_every_admin_route_asks_what_better_auth_asks() -> None:
    assert {k: dict(v) for k, v in ROUTE_PERMISSIONS.items()} == BETTER_AUTH
    names = {
        route.name.removeprefix("better_auth:")
        for router in (users.router, sessions.router)
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    assert names == set(ROUTE_PERMISSIONS) - {"users.set_email"}
    for permission in ROUTE_PERMISSIONS.values():
        for resource, actions in permission.items():
            assert set(actions) <= set(ADMIN_PLUGIN_STATEMENTS[resource])


@pytest.mark.parametrize("admin_roles", [{"admin"}, {"support", "admin"}, {"user"}])
def test_the_defaults_are_the_library_rule(admin_roles: set[str]) -> None:
    """Without AdminAccess, hasPermission over the defaults equals ``is_admin``, action by action."""
    config = settings(admin_roles=sorted(admin_roles), admin_user_ids=["u9"])
    roles = ["admin", "user", "support", "user,admin", " admin", "", None]
    for role, sub, permission in itertools.product(
        roles, ["u1", "u9"], ROUTE_PERMISSIONS.values()
    ):
        user = identity_of(sub=sub, role=role).user
        assert has_permission(user, permission, config) == is_admin(user, config)
    assert set(default_admin_roles(config)) == admin_roles | {"user"}


def test_admin_user_ids_pass_any_permission_and_impersonate_admins_none() -> None:
    config = settings(admin_user_ids=["u9"])
    wanted = {"user": ["impersonate-admins"]}
    assert has_permission(identity_of(sub="u9", role="user").user, wanted, config)
    assert not has_permission(identity_of(role="admin").user, wanted, config)


def test_admin_access_checks_its_roles() -> None:
    with pytest.raises(ConfigurationError, match="takes"):
        AdminAccess(roles={"support": {"user": ["list"]}})  # type: ignore[dict-item]
    other = create_access_control({"user": ["list"]})
    with pytest.raises(ConfigurationError, match="not in statement"):
        AdminAccess(ac=other, roles={"admin": ADMIN_PLUGIN_ROLES["admin"]})
    assert AdminAccess().roles == ADMIN_PLUGIN_ROLES
    assert AdminAccess().administrators() == {"admin"}


def test_admin_access_check_and_guard_settings() -> None:
    access = AdminAccess(
        roles={
            "Admin": ADMIN_PLUGIN_ROLES["admin"],
            "support": ac.new_role({"user": ["list"]}),
            "root": ac.new_role({"user": ["set-role"]}),
        }
    )
    access.check(settings())  # case-insensitive, as admin.mjs 19
    with pytest.raises(ConfigurationError, match="BETTER_AUTH_ADMIN_ROLES holds boss"):
        access.check(settings(admin_roles=["boss", "admin"]))
    seen = access.guard_settings(settings(allowed_roles=["support", "editor"]))
    assert seen.admin_roles == {"Admin", "root"}
    assert seen.allowed_roles == frozenset({"support"})
    assert access.guard_settings(settings()).allowed_roles == frozenset(
        {
            "Admin",
            "support",
            "root",
        }
    )


def test_organizations_access_still_reexports_the_engine() -> None:
    assert organizations_access.create_access_control is create_access_control
    assert organizations_access.ADMIN_PLUGIN_ROLES is ADMIN_PLUGIN_ROLES


def test_require_permission_same_request_same_dependency_and_bad_ones_refused() -> None:
    assert require_permission({"user": ["list", "ban"]}) is require_permission(
        {"user": ["ban", "list"]}
    )
    for bad in ({}, {"user": "ban"}, {"user": [1]}, ["user"]):
        with pytest.raises(ValueError, match="permission"):
            require_permission(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("support", 403), ("user,support", 403)]
)
def test_require_permission_answers_403_permission_required(
    tmp_path: Path, role: str, status: int
) -> None:
    fake = FakeAuthenticator()
    auth = make_runtime(tmp_path / "p.db")
    auth.authenticator = fake  # type: ignore[assignment]
    app = make_app(auth)
    support = AdminAccess(
        roles={**ADMIN_PLUGIN_ROLES, "support": ac.new_role({"user": ["list"]})}
    )

    @app.get("/ban", dependencies=[Depends(require_permission({"user": ["ban"]}))])
    async def ban() -> None:
        return None

    @app.get(
        "/list",
        dependencies=[Depends(require_permission({"user": ["list"]}, access=support))],
    )
    async def listing() -> None:
        return None

    fake.answer = identity_of(role=role)
    with TestClient(app) as client:
        response = client.get("/ban", headers=bearer(RAW))
        listed = client.get("/list", headers=bearer(RAW))
    assert response.status_code == status
    assert listed.status_code == 200
    if status == 403:
        assert response.json()["detail"] == {
            "code": "PERMISSION_REQUIRED",
            "message": "This permission is required: user:ban.",
        }
