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

The admin plugin's ``admin({ ac, roles })`` is :class:`AdminAccess`, given to
``better_auth_router(admin_access=...)``: the admin routes and ``require_permission`` then
follow the app's roles. Framework-free: usable from a worker or a CLI.
"""

from .._policy import parse_role_list, parse_roles
from ._admin import ROUTE_PERMISSIONS, AdminAccess, has_permission
from ._defaults import (
    ADMIN_PLUGIN_ROLES,
    ADMIN_PLUGIN_STATEMENTS,
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    has_admin_permission,
    has_org_permission,
    with_dynamic_roles,
)
from ._engine import (
    AccessControl,
    AuthorizeResult,
    Connector,
    PermissionRequest,
    Role,
    Statements,
    create_access_control,
)

__all__ = [
    "ADMIN_PLUGIN_ROLES",
    "ADMIN_PLUGIN_STATEMENTS",
    "ORGANIZATION_ROLES",
    "ORGANIZATION_STATEMENTS",
    "ROUTE_PERMISSIONS",
    "AccessControl",
    "AdminAccess",
    "AuthorizeResult",
    "Connector",
    "PermissionRequest",
    "Role",
    "Statements",
    "create_access_control",
    "has_admin_permission",
    "has_org_permission",
    "has_permission",
    "parse_role_list",
    "parse_roles",
    "with_dynamic_roles",
]
