"""Who may act on a user: shared by ``users`` and ``sessions`` (audited by ``_route_helpers``).

Each route names its action; without ``better_auth_router(admin_access=...)`` an admin
(``adminRoles``, ``adminUserIds``) may do all of them, as before; with it, the action needs the
permission Better-Auth's endpoint for it asks (:data:`~fastapi_better_auth.access.ROUTE_PERMISSIONS`).
"""

from typing import Any

from fastapi import Request

from .._errors import PermissionRequiredError, UserNotFoundError
from .._permission_guard import describe
from .._policy import check_admin, is_admin
from .._runtime import BetterAuth
from .._schemas import AuthenticatedUser, ErrorResponse
from .._settings import BetterAuthSettings
from ..access._admin import (
    ADMIN_ACCESS_STATE_KEY,
    ROUTE_PERMISSIONS,
    AdminAccess,
    has_permission,
)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the errors a route adds to :data:`AUTH_RESPONSES`."""
    descriptions = {
        400: "The request is not allowed as sent (`INVALID_REQUEST`).",
        404: "No such user or session, or not yours (`USER_NOT_FOUND`, `NOT_FOUND`).",
        409: "Conflicts with the current state: a duplicate email, the last admin (`CONFLICT`).",
    }
    return {
        status: {"model": ErrorResponse, "description": descriptions[status]}
        for status in statuses
    }


def admin_access_of(request: Request) -> AdminAccess | None:
    """The router's :class:`AdminAccess`, ``None`` for the library's own rule."""
    access: AdminAccess | None = request.scope.get("state", {}).get(
        ADMIN_ACCESS_STATE_KEY
    )
    return access


def permitted(
    request: Request, actor: AuthenticatedUser, auth: BetterAuth, action: str
) -> bool:
    """Whether the actor may do ``action`` (a key of ``ROUTE_PERMISSIONS``) to any user."""
    access = admin_access_of(request)
    if access is None:
        return is_admin(actor, auth.settings)
    return has_permission(actor, ROUTE_PERMISSIONS[action], auth.settings, access)


def check_permission(
    request: Request, actor: AuthenticatedUser, auth: BetterAuth, action: str
) -> None:
    """Refuse an actor who may not do ``action``.

    Raises:
        RoleRequiredError: not an admin (the library's rule).
        PermissionRequiredError: the roles of ``admin_access`` do not grant the permission.
    """
    if admin_access_of(request) is None:
        check_admin(actor, auth.settings)
    elif not permitted(request, actor, auth, action):
        wanted = describe(ROUTE_PERMISSIONS[action])
        raise PermissionRequiredError(f"This permission is required: {wanted}.")


def require_permission_or_self(
    request: Request,
    actor: AuthenticatedUser,
    auth: BetterAuth,
    user_id: str,
    action: str,
) -> bool:
    """Whether the actor acts with the permission; another user's id is hidden from the rest.

    Raises:
        UserNotFoundError: the actor lacks it and named another user (the same answer as a
            missing id).
    """
    allowed = permitted(request, actor, auth, action)
    if not allowed and actor.id != user_id:
        raise UserNotFoundError()
    return allowed


def write_settings(request: Request, auth: BetterAuth) -> BetterAuthSettings:
    """The settings the admin writes see: the last-admin guard follows ``admin_access``."""
    access = admin_access_of(request)
    return auth.settings if access is None else access.guard_settings(auth.settings)
