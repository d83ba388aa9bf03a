"""Re-export of :mod:`fastapi_better_auth.access`, the engine both plugins share (its first home)."""

from ..access import (
    ADMIN_PLUGIN_ROLES,
    ADMIN_PLUGIN_STATEMENTS,
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    AccessControl,
    AuthorizeResult,
    Connector,
    PermissionRequest,
    Role,
    Statements,
    create_access_control,
    has_admin_permission,
    has_org_permission,
    parse_role_list,
    parse_roles,
    with_dynamic_roles,
)

__all__ = [
    "ADMIN_PLUGIN_ROLES",
    "ADMIN_PLUGIN_STATEMENTS",
    "ORGANIZATION_ROLES",
    "ORGANIZATION_STATEMENTS",
    "AccessControl",
    "AuthorizeResult",
    "Connector",
    "PermissionRequest",
    "Role",
    "Statements",
    "create_access_control",
    "has_admin_permission",
    "has_org_permission",
    "parse_role_list",
    "parse_roles",
    "with_dynamic_roles",
]
