"""Better-Auth's access control in Python: ``createAccessControl``, ``newRole``, ``authorize``.

One engine for both plugins that use it: the organization plugin (``member.role``, see
:func:`has_org_permission`) and the admin plugin (``user.role``, see :func:`has_admin_permission`).
Each function mirrors better-auth 1.7.25's compiled source, cited by file and line
(``dist/plugins/access/access.mjs``, ``organization/permission.mjs``, ``admin/has-permission.mjs``),
so an app declares in Python the same statements and roles as in its ``auth.ts``::

    # TypeScript                                   # Python
    const ac = createAccessControl({               ac = create_access_control({
      ...defaultStatements,                            **ORGANIZATION_STATEMENTS,
      project: ["create", "delete"],                   "project": ["create", "delete"],
    });                                            })
    const dev = ac.newRole({ project: ["create"] }) dev = ac.new_role({"project": ["create"]})

Framework-free: usable from a worker or a CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .._errors import ConfigurationError
from .._policy import parse_role_list, parse_roles

__all__ = [
    "ADMIN_PLUGIN_ROLES",
    "ADMIN_PLUGIN_STATEMENTS",
    "ORGANIZATION_ROLES",
    "ORGANIZATION_STATEMENTS",
    "AccessControl",
    "AuthorizeResult",
    "Connector",
    "Role",
    "create_access_control",
    "has_admin_permission",
    "has_org_permission",
    "parse_role_list",
    "parse_roles",
    "with_dynamic_roles",
]

Connector = Literal["AND", "OR"]
#: ``{"project": ["create"]}`` or, per resource, ``{"project": {"actions": [...], "connector": "OR"}}``.
PermissionRequest = Mapping[str, Any]
Statements = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class AuthorizeResult:
    """``role.authorize``'s answer: ``{ success, error? }`` with Better-Auth's error strings."""

    success: bool
    error: str | None = None

    def __bool__(self) -> bool:
        return self.success


_OK = AuthorizeResult(True)


def _actions_of(requested: Any) -> tuple[Sequence[Any], str]:
    """``normalizeActionRequest`` (access.mjs 21-36): a list is AND; an object names its connector."""
    if isinstance(requested, (list, tuple)):
        return requested, "AND"
    if not isinstance(requested, Mapping):
        raise ValueError("Invalid access control request")
    actions = requested.get("actions")
    connector = "OR" if requested.get("connector") == "OR" else "AND"
    return (actions if isinstance(actions, (list, tuple)) else ()), connector


def _resource_authorized(allowed: Sequence[str], requested: Any) -> bool:
    """``isResourceAuthorized`` (access.mjs 37-44): no actions is never authorized."""
    actions, connector = _actions_of(requested)
    if not actions:
        return False
    granted = (isinstance(action, str) and action in allowed for action in actions)
    return any(granted) if connector == "OR" else all(granted)


@dataclass(frozen=True)
class Role:
    """A role: what it may do per resource (``ac.newRole(...)``'s result)."""

    statements: Mapping[str, tuple[str, ...]]

    def authorize(
        self, request: PermissionRequest, connector: Connector = "AND"
    ) -> AuthorizeResult:
        """Whether this role grants ``request``: better-auth ``role().authorize``, access.mjs 45-68.

        With ``"AND"`` every resource must be granted (a resource unknown to the role fails at
        once); with ``"OR"`` one granted resource is enough. A connector other than these two
        (only reachable from untyped code) behaves as Better-Auth's: no early answer either way.

        Raises:
            ValueError: a resource's request is neither a list nor ``{"actions": …}``.
        """
        any_granted = False
        for resource, requested in request.items():
            allowed = self.statements.get(resource)
            if allowed is None:  # an empty list is a known resource in JavaScript too
                if connector == "AND":
                    return AuthorizeResult(
                        False, f"You are not allowed to access resource: {resource}"
                    )
                continue
            granted = _resource_authorized(allowed, requested)
            any_granted = any_granted or granted
            if granted and connector == "OR":
                return _OK
            if not granted and connector == "AND":
                return AuthorizeResult(
                    False, f'unauthorized to access resource "{resource}"'
                )
        return _OK if any_granted else AuthorizeResult(False, "Not authorized")


def _frozen(statements: Statements) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(statements, Mapping):
        raise ConfigurationError(
            'statements must be a mapping like {"project": ["create", "delete"]}'
        )
    frozen: dict[str, tuple[str, ...]] = {}
    for resource, actions in statements.items():
        if isinstance(actions, str) or not all(isinstance(a, str) for a in actions):
            raise ConfigurationError(
                f"statement {resource!r} must be a list of action names, got {actions!r}"
            )
        frozen[str(resource)] = tuple(actions)
    return MappingProxyType(frozen)


@dataclass(frozen=True)
class AccessControl:
    """``createAccessControl(statements)``: the resources and actions roles may be built from."""

    statements: Mapping[str, tuple[str, ...]] = field(repr=True)

    def new_role(self, statements: Statements) -> Role:
        """``ac.newRole(...)``, with the check TypeScript makes at compile time made at start.

        Raises:
            ConfigurationError: a resource or an action the access control does not declare.
        """
        role = _frozen(statements)
        for resource, actions in role.items():
            known = self.statements.get(resource)
            if known is None:
                raise ConfigurationError(
                    f"role resource {resource!r} is not in the access control's statements "
                    f"({', '.join(sorted(self.statements))})"
                )
            unknown = [action for action in actions if action not in known]
            if unknown:
                raise ConfigurationError(
                    f"role actions {unknown!r} are not in statement {resource!r} {list(known)!r}"
                )
        return Role(role)


def create_access_control(statements: Statements) -> AccessControl:
    """``createAccessControl(statements)`` (access.mjs 69-76).

    Raises:
        ConfigurationError: ``statements`` is not ``{"resource": ["action", …]}``.
    """
    return AccessControl(_frozen(statements))


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
