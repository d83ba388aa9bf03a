"""The organization and admin plugins' default statements and roles, and each one's ``hasPermission``.

Values from better-auth 1.7.25 ``dist/plugins/organization/access/statement.mjs`` and
``dist/plugins/admin/access/statement.mjs``; the rules from ``organization/permission.mjs``,
``organization/has-permission.mjs`` and ``admin/has-permission.mjs``, cited per function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from .._policy import parse_role_list
from ._engine import AccessControl, PermissionRequest, Role

# --- The plugins' defaults -----------------------------------------------------------

#: ``defaultStatements`` of the organization plugin (organization/access/statement.mjs 4-23).
ORGANIZATION_STATEMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "organization": ("update", "delete"),
        "member": ("create", "update", "delete"),
        "invitation": ("create", "cancel"),
        "team": ("create", "update", "delete"),
        "ac": ("create", "read", "update", "delete"),
    }
)
_org_ac = AccessControl(ORGANIZATION_STATEMENTS)
_ORG_ADMIN = {
    "organization": ["update"],
    "invitation": ["create", "cancel"],
    "member": ["create", "update", "delete"],
    "team": ["create", "update", "delete"],
    "ac": ["create", "read", "update", "delete"],
}
#: ``defaultRoles`` of the organization plugin: owner, admin, member (statement.mjs 25-76).
ORGANIZATION_ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "admin": _org_ac.new_role(_ORG_ADMIN),
        "owner": _org_ac.new_role({**_ORG_ADMIN, "organization": ["update", "delete"]}),
        "member": _org_ac.new_role(
            {
                "organization": [],
                "member": [],
                "invitation": [],
                "team": [],
                "ac": ["read"],
            }
        ),
    }
)

_USER_ACTIONS = ("create", "list", "set-role", "ban", "impersonate")
#: ``defaultStatements`` of the admin plugin (admin/access/statement.mjs 14-34).
ADMIN_PLUGIN_STATEMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "user": (
            *_USER_ACTIONS,
            "impersonate-admins",
            "delete",
            "set-password",
            "set-email",
            "set-phone",
            "get",
            "update",
        ),
        "session": ("list", "revoke", "delete"),
    }
)
_admin_ac = AccessControl(ADMIN_PLUGIN_STATEMENTS)
#: ``defaultRoles`` of the admin plugin: admin (all but ``impersonate-admins``), user (nothing).
ADMIN_PLUGIN_ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "admin": _admin_ac.new_role(
            {
                "user": [
                    a
                    for a in ADMIN_PLUGIN_STATEMENTS["user"]
                    if a != "impersonate-admins"
                ],
                "session": ["list", "revoke", "delete"],
            }
        ),
        "user": _admin_ac.new_role({"user": [], "session": []}),
    }
)


# --- hasPermission of each plugin -----------------------------------------------------


def has_org_permission(
    role: str | Sequence[str] | None,
    permissions: PermissionRequest | None,
    roles: Mapping[str, Role] | None = None,
    *,
    creator_role: str = "owner",
    allow_creator_all_permissions: bool = False,
) -> bool:
    """The organization plugin's ``hasPermissionFn`` (organization/permission.mjs 75-84).

    ``role`` is ``member.role``, split and trimmed by :func:`parse_role_list`; one role granting
    every requested action (``AND``) is enough. ``roles`` replaces the defaults when given, as
    ``options.roles || defaultRoles`` does (has-permission.mjs 25): list the defaults in it if
    the app keeps them. A role the app does not define grants nothing.
    """
    if permissions is None:
        return False
    names = parse_role_list(role)
    if allow_creator_all_permissions and creator_role in names:
        return True
    table = ORGANIZATION_ROLES if roles is None else roles
    return any(name in table and table[name].authorize(permissions) for name in names)


def has_admin_permission(
    role: str | None,
    permissions: PermissionRequest | None,
    roles: Mapping[str, Role] | None = None,
    *,
    user_id: str | None = None,
    admin_user_ids: Iterable[str] = (),
    default_role: str = "user",
) -> bool:
    """The admin plugin's ``hasPermission`` (admin/has-permission.mjs 3-10).

    ``adminUserIds`` pass everything; ``role`` (or ``defaultRole``) is split on ``,`` *without*
    trimming, unlike the organization plugin: ``"user, admin"`` holds ``" admin"``, no role.
    """
    if user_id and user_id in admin_user_ids:
        return True
    if permissions is None:
        return False
    names = (role or default_role or "user").split(",")
    table = ADMIN_PLUGIN_ROLES if roles is None else roles
    return any(name in table and table[name].authorize(permissions) for name in names)


def with_dynamic_roles(
    roles: Mapping[str, Role],
    rows: Iterable[tuple[str, str]],
) -> dict[str, Role]:
    """Roles plus an organization's ``organizationRole`` rows (``dynamicAccessControl``).

    Mirrors has-permission.mjs 38-48: each row's ``permission`` JSON is merged, action by
    action, into the same-named role (or makes a new one); unknown resources are kept, as
    ``ac.newRole`` does not check at run time.

    Raises:
        ValueError: a row's ``permission`` is not ``{"resource": ["action", …]}`` (Better-Auth
            answers 500 "Invalid permissions for role …").
    """
    merged: dict[str, Role] = dict(roles)
    for name, permission in rows:
        try:
            parsed = json.loads(permission)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v)
            for v in parsed.values()
        ):
            raise ValueError(f"Invalid permissions for role {name}")
        base = merged[name].statements if name in merged else {}
        statements = {resource: list(actions) for resource, actions in base.items()}
        for resource, actions in parsed.items():
            known = statements.get(resource, [])
            statements[resource] = list(dict.fromkeys([*known, *actions]))
        merged[name] = Role(
            MappingProxyType({k: tuple(v) for k, v in statements.items()})
        )
    return merged
