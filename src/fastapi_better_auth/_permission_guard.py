"""``require_permission``: a guard that asks the admin plugin's ``hasPermission``, as Better-Auth does.

Separate from :mod:`._guards` (which it sits on) to keep both short. The roles come from the
``access=`` given, else from ``better_auth_router(admin_access=...)``, else Better-Auth's
defaults with ``BETTER_AUTH_ADMIN_ROLES`` as the admin roles.
"""

from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import lru_cache
from typing import Any

from fastapi import Request

from ._errors import PermissionRequiredError
from ._guards import CurrentUser, runtime_of
from ._http import to_http_exception
from ._schemas import AuthenticatedUser
from .access._admin import ADMIN_ACCESS_STATE_KEY, AdminAccess, check_statements
from .access._admin import has_permission as _has_permission

Guard = Callable[..., Coroutine[Any, Any, AuthenticatedUser]]
_Key = tuple[tuple[str, tuple[str, ...]], ...]


def describe(permissions: Mapping[str, Sequence[str]]) -> str:
    """``user:ban, user:list`` for an error message (names only, never a value of a row)."""
    return ", ".join(f"{r}:{a}" for r, actions in permissions.items() for a in actions)


@lru_cache(maxsize=256)
def _permission_guard(key: _Key, access: AdminAccess | None) -> Guard:
    permissions = {resource: list(actions) for resource, actions in key}
    message = f"This permission is required: {describe(permissions)}."

    async def guard(request: Request, user: CurrentUser) -> AuthenticatedUser:
        chosen = access or request.scope.get("state", {}).get(ADMIN_ACCESS_STATE_KEY)
        settings = runtime_of(request).settings
        if not _has_permission(user, permissions, settings, chosen):
            raise to_http_exception(PermissionRequiredError(message))
        return user

    guard.__name__ = "require_permission_" + "_".join(
        f"{r}_{a}" for r, actions in key for a in actions
    )
    return guard


def require_permission(
    permissions: Mapping[str, Sequence[str]], *, access: AdminAccess | None = None
) -> Guard:
    """A dependency admitting users whose admin-plugin roles grant every action of ``permissions``.

    ``require_permission({"user": ["ban"]})`` answers as Better-Auth's
    ``auth.api.userHasPermission`` would: ``adminUserIds`` pass, else one of the user's roles
    (or the ``defaultRole``) must grant all the actions; otherwise 403 ``PERMISSION_REQUIRED``.
    The same request gives the same object, so ``dependency_overrides`` works.

    Raises:
        ValueError: ``permissions`` is not ``{"resource": ["action", …]}``.
    """
    check_statements(permissions)
    key = tuple(sorted((str(r), tuple(sorted(a))) for r, a in permissions.items()))
    return _permission_guard(key, access)
