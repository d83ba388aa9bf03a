"""The access-control engine answers as Better-Auth 1.7.25's ``createAccessControl`` does.

The first block replays ``packages/better-auth/src/plugins/access/access.test.ts`` (better-auth
repository at 451aa4b, the same ``access.ts`` as the 1.7.25 ``dist/plugins/access/access.mjs``),
case by case; then the organization plugin's ``hasPermissionFn``/``parseRoleList`` and the admin
plugin's ``hasPermission`` (``split(",")``, untrimmed).
"""

from typing import Any

import pytest

from fastapi_better_auth._errors import ConfigurationError
from fastapi_better_auth._policy import parse_role_list, parse_roles
from fastapi_better_auth.organizations import Organizations
from fastapi_better_auth.organizations.access import (
    ADMIN_PLUGIN_ROLES,
    ADMIN_PLUGIN_STATEMENTS,
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    AuthorizeResult,
    Role,
    create_access_control,
    has_admin_permission,
    has_org_permission,
    with_dynamic_roles,
)

STATEMENTS = {
    "project": ["create", "update", "delete", "delete-many"],
    "ui": ["view", "edit", "comment", "hide"],
}
ac = create_access_control(STATEMENTS)
role1 = ac.new_role(
    {"project": ["create", "update", "delete"], "ui": ["view", "edit", "comment"]}
)
loose = create_access_control({"project": ["create", "update", "delete"]})
loose_role = loose.new_role({"project": ["create", "update", "delete"]})


# --- access.test.ts -------------------------------------------------------------------


def test_defined_statements_passed_directly_into_new_role() -> None:
    assert ac.new_role(STATEMENTS).authorize({"project": ["create"]}).success


def test_role_without_an_action_refuses_it() -> None:
    role2 = ac.new_role({"project": ["create", "update"], "ui": ["view"]})
    assert not role2.authorize({"project": ["delete-many"]}).success


def test_invalid_role_statements_fail_at_start() -> None:
    """TypeScript refuses these at compile time (``@ts-expect-error``); Python at start."""
    with pytest.raises(ConfigurationError, match="'publish'"):
        ac.new_role({"project": ["publish"]})
    with pytest.raises(ConfigurationError, match="'billing'"):
        ac.new_role({"billing": ["read"]})


def test_dynamic_role_records() -> None:
    assert ac.new_role({"project": ["create"], "ui": ["view"]}).authorize(
        {"project": ["create"]}
    )


def test_validate_permissions() -> None:
    assert role1.authorize({"project": ["create"]}).success
    assert not role1.authorize({"project": ["delete-many"]}).success


def test_multiple_resources() -> None:
    assert role1.authorize({"project": ["create"], "ui": ["view"]}).success
    assert not role1.authorize({"project": ["delete-many"], "ui": ["view"]}).success


def test_multiple_resources_multiple_permissions() -> None:
    assert role1.authorize(
        {"project": ["create", "delete"], "ui": ["view", "edit"]}
    ).success
    assert not role1.authorize(
        {"project": ["create", "delete-many"], "ui": ["view", "edit"]}
    ).success


def test_or_connector() -> None:
    request = {"project": ["create", "delete-many"], "ui": ["view", "edit"]}
    assert role1.authorize(request, "OR").success


def test_or_connector_for_one_resource() -> None:
    either = {"connector": "OR", "actions": ["create", "delete-many"]}
    assert role1.authorize({"project": either, "ui": ["view", "edit"]}).success
    assert not role1.authorize(
        {"project": either, "ui": ["view", "edit", "hide"]}
    ).success


@pytest.mark.parametrize("connector", ["AND", "OR"])
def test_empty_action_list_fails(connector: Any) -> None:
    assert not role1.authorize({"project": []}, connector).success
    assert not role1.authorize(
        {"project": {"actions": [], "connector": connector}}
    ).success


def test_every_resource_empty_under_or_fails() -> None:
    assert role1.authorize({"project": [], "ui": []}, "OR") == AuthorizeResult(
        False, "Not authorized"
    )


def test_or_continues_past_a_resource_unknown_to_the_role() -> None:
    assert loose_role.authorize({"audit": ["read"], "project": ["create"]}, "OR")
    assert not loose_role.authorize(
        {"audit": ["read"], "project": ["delete-many"]}, "OR"
    )


def test_and_fails_on_a_resource_unknown_to_the_role() -> None:
    result = loose_role.authorize({"audit": ["read"], "project": ["create"]})
    assert not result.success
    assert result.error is not None and "audit" in result.error


def test_error_strings_are_better_auths() -> None:
    assert loose_role.authorize({"audit": ["read"]}) == AuthorizeResult(
        False, "You are not allowed to access resource: audit"
    )
    assert loose_role.authorize({"project": ["delete-many"]}) == AuthorizeResult(
        False, 'unauthorized to access resource "project"'
    )


def test_unknown_per_resource_connector_is_and() -> None:
    request = {"project": {"actions": ["create", "delete-many"], "connector": "XOR"}}
    assert not role1.authorize(request).success


def test_non_string_action_is_unauthorized() -> None:
    assert role1.authorize({"project": ["create", 1]}) == AuthorizeResult(
        False, 'unauthorized to access resource "project"'
    )


# --- beyond access.test.ts: JavaScript edges the mirror keeps ---------------------------


def test_empty_request_is_not_authorized() -> None:
    assert role1.authorize({}) == AuthorizeResult(False, "Not authorized")


def test_empty_allowed_list_is_a_known_resource() -> None:
    """``[]`` is truthy in JavaScript: the member role's ``organization: []`` is "unauthorized"."""
    assert ORGANIZATION_ROLES["member"].authorize(
        {"organization": ["update"]}
    ) == AuthorizeResult(False, 'unauthorized to access resource "organization"')


def test_object_form_without_action_list_fails() -> None:
    assert not role1.authorize({"project": {"actions": "create"}}).success


def test_malformed_request_raises() -> None:
    with pytest.raises(ValueError, match="Invalid access control request"):
        role1.authorize({"project": "create"})


def test_unknown_top_level_connector_answers_without_early_return() -> None:
    """Better-Auth's loop with a connector neither AND nor OR: any granted resource wins."""
    assert role1.authorize({"audit": ["x"], "project": ["create"]}, "XOR")  # type: ignore[arg-type]
    assert not role1.authorize({"project": ["delete-many"]}, "XOR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "statements", [["project"], {"project": "create"}, {"project": [1]}]
)
def test_malformed_statements_fail_at_start(statements: Any) -> None:
    with pytest.raises(ConfigurationError):
        create_access_control(statements)


# --- the plugins' defaults (statement.mjs of each) -------------------------------------


def test_organization_defaults() -> None:
    assert set(ORGANIZATION_STATEMENTS) == {
        "organization",
        "member",
        "invitation",
        "team",
        "ac",
    }
    owner, admin, member = (ORGANIZATION_ROLES[r] for r in ("owner", "admin", "member"))
    assert owner.authorize({"organization": ["delete"]})
    assert not admin.authorize({"organization": ["delete"]})
    assert admin.authorize({"member": ["update"], "invitation": ["cancel"]})
    assert member.authorize({"ac": ["read"]})
    assert not member.authorize({"member": ["create"]})


def test_admin_plugin_defaults() -> None:
    assert "impersonate-admins" in ADMIN_PLUGIN_STATEMENTS["user"]
    admin, user = ADMIN_PLUGIN_ROLES["admin"], ADMIN_PLUGIN_ROLES["user"]
    assert admin.authorize({"user": ["ban", "list"], "session": ["revoke"]})
    assert not admin.authorize({"user": ["impersonate-admins"]})
    assert not user.authorize({"user": ["list"]})


# --- role parsing: the organization plugin trims, the admin plugin does not -------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin,owner", ("admin", "owner")),
        ("admin, owner", ("admin", "owner")),
        (" admin ,, owner ,", ("admin", "owner")),
        (["admin", " owner"], ("admin", "owner")),
        ("", ()),
        (None, ()),
        ("\ufeffadmin\u00a0", ("admin",)),  # JavaScript's trim: BOM and NBSP go
        (
            "\x1cadmin",
            ("\x1cadmin",),
        ),  # not whitespace to JavaScript (str.strip() would drop it)
    ],
)
def test_parse_role_list_trims_like_parse_role_list_ts(
    role: Any, expected: tuple[str, ...]
) -> None:
    assert parse_role_list(role) == expected


def test_admin_plugin_parse_roles_does_not_trim() -> None:
    assert parse_roles("user, admin") == frozenset({"user", " admin"})


def test_org_permission_trims_admin_permission_does_not() -> None:
    ban = {"user": ["ban"]}
    assert not has_admin_permission("user, admin", ban)
    assert has_admin_permission("user,admin", ban)
    invite = {"invitation": ["create"]}
    assert has_org_permission("member, admin", invite)
    assert not has_org_permission("member", invite)


def test_org_permission_rules() -> None:
    assert not has_org_permission("owner", None)
    assert not has_org_permission("owner", {})
    assert not has_org_permission("ghost", {"ac": ["read"]})
    assert not has_org_permission("owner", {"project": ["create"]})
    assert has_org_permission(
        "owner", {"project": ["create"]}, allow_creator_all_permissions=True
    )
    assert has_org_permission(
        "boss",
        {"project": ["create"]},
        creator_role="boss",
        allow_creator_all_permissions=True,
    )


def test_custom_roles_replace_the_defaults() -> None:
    """``options.roles || defaultRoles`` (has-permission.mjs 25): no merge with the defaults."""
    custom = create_access_control({**ORGANIZATION_STATEMENTS, "project": ["create"]})
    roles = {"developer": custom.new_role({"project": ["create"]})}
    assert has_org_permission("developer", {"project": ["create"]}, roles)
    assert not has_org_permission("owner", {"member": ["create"]}, roles)
    assert has_org_permission(
        "owner", {"member": ["create"]}, {**ORGANIZATION_ROLES, **roles}
    )


def test_admin_permission_rules() -> None:
    assert has_admin_permission(None, None, user_id="u1", admin_user_ids={"u1"})
    assert not has_admin_permission("admin", None)
    assert not has_admin_permission(None, {"user": ["list"]})  # defaultRole "user"
    assert has_admin_permission(None, {"user": ["list"]}, default_role="admin")
    support = create_access_control(ADMIN_PLUGIN_STATEMENTS).new_role(
        {"user": ["list"]}
    )
    assert has_admin_permission("support", {"user": ["list"]}, {"support": support})


def test_dynamic_roles_merge_into_same_named_roles() -> None:
    merged = with_dynamic_roles(
        ORGANIZATION_ROLES,
        [("member", '{"member": ["create"], "project": ["read"]}'), ("qa", "{}")],
    )
    assert merged["member"].authorize({"member": ["create"], "ac": ["read"]})
    assert merged["member"].authorize({"project": ["read"]})
    assert merged["qa"] == Role({})
    assert not ORGANIZATION_ROLES["member"].authorize({"member": ["create"]})


@pytest.mark.parametrize("permission", ["nope", "[]", '{"a": "b"}', '{"a": [1]}'])
def test_dynamic_role_with_invalid_json_is_refused(permission: str) -> None:
    with pytest.raises(ValueError, match="Invalid permissions for role x"):
        with_dynamic_roles({}, [("x", permission)])


# --- Organizations(...) -----------------------------------------------------------------


def test_organizations_defaults_and_custom_roles() -> None:
    assert Organizations().effective_roles == ORGANIZATION_ROLES
    roles = {"owner": ORGANIZATION_ROLES["owner"]}
    assert dict(Organizations(roles=roles).effective_roles) == roles


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"roles": {"x": {"project": ["create"]}}}, "roles="),
        ({"roles": ["owner"]}, "roles="),
        ({"creator_role": " "}, "creator_role"),
        ({"header": "x organization"}, "header"),
        ({"path_param": "org-id"}, "path_param"),
    ],
)
def test_organizations_misconfiguration_fails_at_start(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Organizations(**options)


# --- the guard factories ------------------------------------------------------------------


def test_guard_factories_check_their_arguments_and_reuse_guards() -> None:
    from fastapi_better_auth.organizations import (
        require_org_permission,
        require_org_role,
    )

    assert require_org_role("owner", "admin") is require_org_role("admin", " owner")
    assert require_org_permission({"project": ["create"]}) is require_org_permission(
        {"project": ["create", "create"]}
    )
    for roles in [(), ("",), (" ",)]:
        with pytest.raises(ValueError, match="role names"):
            require_org_role(*roles)
    for permissions in [{}, ["project"], {"project": []}, {"project": "create"}]:
        with pytest.raises(ValueError, match="require_org_permission"):
            require_org_permission(permissions)  # type: ignore[arg-type]


def test_dynamic_access_control_needs_ac() -> None:
    with pytest.raises(ConfigurationError, match="needs ac="):
        Organizations(dynamic_access_control=True)
    assert Organizations(ac=ac, dynamic_access_control=True).dynamic_access_control
