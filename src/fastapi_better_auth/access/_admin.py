"""The admin plugin's ``admin({ ac, roles })`` in Python: who may call which admin route.

Better-Auth 1.7.25 asks ``hasPermission`` (``dist/plugins/admin/has-permission.mjs`` 3-10) for
one permission per endpoint (``routes.mjs``, cited in :data:`ROUTE_PERMISSIONS`); ``adminRoles``
plays no part in it: it only names whom impersonation treats as an admin (routes.mjs 598-599)
and must be roles of ``roles`` (admin.mjs 18-20). Without :class:`AdminAccess` the library keeps
its rule (an ``adminRoles`` role or an ``adminUserIds`` id is an admin), which is the same as
Better-Auth's defaults: each ``adminRoles`` role holds the default ``admin`` role's permissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._errors import ConfigurationError
from ._defaults import ADMIN_PLUGIN_ROLES, has_admin_permission
from ._engine import AccessControl, PermissionRequest, Role

if TYPE_CHECKING:
    from .._schemas import AuthenticatedUser
    from .._settings import BetterAuthSettings

#: Where the router's lifespan puts its :class:`AdminAccess` (request state).
ADMIN_ACCESS_STATE_KEY = "better_auth_admin_access"

#: The permission each route asks, as Better-Auth's endpoint for the same action does.
ROUTE_PERMISSIONS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "users.list": {"user": ("list",)},  # /admin/list-users, routes.mjs 362-367
        "users.get": {"user": ("get",)},  # /admin/get-user, routes.mjs 100-105
        "users.update": {"user": ("update",)},  # /admin/update-user, routes.mjs 252-257
        "users.set_email": {"user": ("set-email",)},  # update-user's email, 292-297
        "users.set_role": {"user": ("set-role",)},  # /admin/set-role, routes.mjs 66-71
        "users.ban": {"user": ("ban",)},  # /admin/ban-user, routes.mjs 537-542
        "users.unban": {"user": ("ban",)},  # /admin/unban-user, routes.mjs 478-483
        "sessions.list": {"session": ("list",)},  # list-user-sessions, 435-440
        "sessions.revoke_all": {
            "session": ("revoke",)
        },  # revoke-user-sessions, 741-746
        "sessions.revoke": {"session": ("revoke",)},  # revoke-user-session, 698-703
    }
)

#: The permission the last-admin guard counts as "can still administer": changing roles.
ADMINISTER: Mapping[str, tuple[str, ...]] = MappingProxyType({"user": ("set-role",)})


@dataclass(frozen=True, eq=False)  # hashed by identity: guards memoise on it
class AdminAccess:
    """Better-Auth's ``admin({ ac, roles })``: the roles the admin routes and guards follow.

    ``roles`` replaces Better-Auth's defaults (``options.roles || defaultRoles``): list
    ``admin`` and ``user`` in it too if the app keeps them (``ADMIN_PLUGIN_ROLES``). ``ac``,
    when given, checks each role against its statements at construction, as TypeScript does
    at compile time.

    Raises:
        ConfigurationError: a role is not a :class:`Role`, or uses an action ``ac`` lacks.
    """

    roles: Mapping[str, Role] = field(default_factory=lambda: ADMIN_PLUGIN_ROLES)
    ac: AccessControl | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.roles, Mapping) or not all(
            isinstance(role, Role) for role in self.roles.values()
        ):
            raise ConfigurationError(
                "AdminAccess(roles=...) takes {name: ac.new_role({...})}, "
                f"got {self.roles!r}"
            )
        if self.ac is not None:
            for role in self.roles.values():
                self.ac.new_role(role.statements)
        object.__setattr__(self, "roles", MappingProxyType(dict(self.roles)))

    def check(self, settings: BetterAuthSettings) -> None:
        """Refuse at start what Better-Auth refuses: an admin role ``roles`` does not define.

        Mirrors admin.mjs 18-20 (case-insensitive, as there).

        Raises:
            ConfigurationError: a ``BETTER_AUTH_ADMIN_ROLES`` role is not in ``roles``.
        """
        names = {name.lower() for name in self.roles}
        invalid = sorted(r for r in settings.admin_roles if r.lower() not in names)
        if invalid:
            raise ConfigurationError(
                f"BETTER_AUTH_ADMIN_ROLES holds {', '.join(invalid)}, not a role of "
                f"AdminAccess(roles=...) ({', '.join(sorted(self.roles))}); Better-Auth "
                "refuses the same admin() options"
            )

    def administrators(self) -> frozenset[str]:
        """The roles that can still administer (grant ``user: ["set-role"]``)."""
        return frozenset(
            name for name, role in self.roles.items() if role.authorize(ADMINISTER)
        )

    def guard_settings(self, settings: BetterAuthSettings) -> BetterAuthSettings:
        """``settings`` as the admin writes should see them under these roles.

        The last-admin guard counts the roles that can set roles, and a new role must be one
        of ``roles`` (Better-Auth's set-role answers 400 otherwise, routes.mjs 72-76).
        """
        allowed = frozenset(self.roles)
        if settings.allowed_roles is not None:
            allowed &= settings.allowed_roles
        return settings.model_copy(
            update={"admin_roles": self.administrators(), "allowed_roles": allowed}
        )


def default_admin_roles(settings: BetterAuthSettings) -> Mapping[str, Role]:
    """Better-Auth's default roles with ``adminRoles`` as the admin roles (the library's rule)."""
    admin = ADMIN_PLUGIN_ROLES["admin"]
    return {
        "user": ADMIN_PLUGIN_ROLES["user"],
        **dict.fromkeys(settings.admin_roles, admin),
    }


def has_permission(
    user: AuthenticatedUser,
    permissions: PermissionRequest,
    settings: BetterAuthSettings,
    access: AdminAccess | None = None,
) -> bool:
    """Whether ``user`` holds ``permissions`` under the admin plugin (``hasPermission``).

    ``adminUserIds`` pass everything; else one of the user's roles (or ``defaultRole``) must
    grant every requested action. Without ``access``: :func:`default_admin_roles`.

    Raises:
        ValueError: a resource's request is neither a list nor ``{"actions": …}``.
    """
    roles = access.roles if access is not None else default_admin_roles(settings)
    return has_admin_permission(
        ",".join(sorted(user.roles)),
        permissions,
        roles,
        user_id=user.id,
        admin_user_ids=settings.admin_user_ids,
        default_role=settings.default_role,
    )


def check_statements(permissions: PermissionRequest) -> None:
    """Refuse, when a guard is declared, a request that is not ``{"resource": ["action", …]}``.

    Raises:
        ValueError: not a non-empty mapping of resources to lists of action names.
    """
    if not isinstance(permissions, Mapping) or not permissions:
        raise ValueError(
            'a permission request is {"user": ["ban"]}: resources and their actions'
        )
    for resource, actions in permissions.items():
        if isinstance(actions, str) or not all(isinstance(a, str) for a in actions):
            raise ValueError(
                f"permission {resource!r} must be a list of action names, got {actions!r}"
            )


__all__ = [
    "ADMINISTER",
    "ADMIN_ACCESS_STATE_KEY",
    "ROUTE_PERMISSIONS",
    "AdminAccess",
    "check_statements",
    "default_admin_roles",
    "has_permission",
]
