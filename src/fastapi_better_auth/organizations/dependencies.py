"""FastAPI guards of the organization plugin: the caller's organization, membership and rights.

Every guard rests on :data:`~fastapi_better_auth.current_session` and reads the ``member`` row
again on each request (no cache), so a removed member or a changed role counts on the next
request, as a ban does. The organization is the one the request names (the configured header or
path parameter, Better-Auth's ``body.organizationId``) or else the session's
``activeOrganizationId`` (``dist/plugins/organization/organization.mjs`` 59-64), read from the
session's row or, with ``secondaryStorage``, its Redis entry. A JWT carries no session columns:
its ``sid`` names the session; without one the request must name the organization. Not a member, or no such organization: the same 403, so ids cannot be probed.
"""

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from .._errors import (
    BetterAuthError,
    OrganizationPermissionError,
    OrganizationRoleRequiredError,
)

# public names only (fastapi_better_auth re-exports them), from where they are defined:
# the package root imports the router, a layer above this one
from .._guards import CurrentSession, get_better_auth
from .._http import to_client_exception
from .._runtime import BetterAuth
from ._config import DEFAULT_ORGANIZATIONS, STATE_ATTRIBUTE, Organizations
from ._reads import MemberInfo, OrganizationInfo, load_member, load_roles
from .access import has_org_permission

logger = logging.getLogger(__name__)


def _http(error: BetterAuthError) -> HTTPException:
    """The library's answer (a 500 hides its message); a refusal is logged with its reason."""
    if error.status_code < 500:
        logger.info(
            "better_auth.organization_denied", extra={"reason": error.code.value}
        )
    return to_client_exception(error)


def get_organizations(request: Request) -> Organizations:
    """The configuration :meth:`Organizations.install` put on the app, else Better-Auth's defaults."""
    found = getattr(request.app.state, STATE_ATTRIBUTE, None)
    return found if isinstance(found, Organizations) else DEFAULT_ORGANIZATIONS


def _named(request: Request, config: Organizations) -> str | None:
    if config.path_param is not None:
        value = request.path_params.get(config.path_param)
        if value:
            return str(value)
    if config.header is not None:
        value = request.headers.get(config.header)
        if value:
            return value
    return None


async def current_member(
    request: Request,
    identity: CurrentSession,
    auth: Annotated[BetterAuth, Depends(get_better_auth)],
    config: Annotated[Organizations, Depends(get_organizations)],
) -> MemberInfo:
    """The caller's membership of the request's organization (see the module docstring).

    Answers 400 ``NO_ACTIVE_ORGANIZATION`` when none is named nor active, 403
    ``NOT_ORGANIZATION_MEMBER`` when the caller is no member (or it does not exist), and the
    errors of ``current_session`` before that.
    """
    try:
        return await load_member(
            auth, identity, _named(request, config), teams=config.teams
        )
    except BetterAuthError as error:  # also DATABASE_UNAVAILABLE: 503, never a 500
        raise _http(error) from error


CurrentMember = Annotated[MemberInfo, Depends(current_member)]


async def current_organization(member: CurrentMember) -> OrganizationInfo:
    """The request's organization, of which the caller is a member (errors as `current_member`)."""
    return member.organization


CurrentOrganization = Annotated[OrganizationInfo, Depends(current_organization)]


@lru_cache(maxsize=256)
def _role_guard(
    roles: frozenset[str],
) -> Callable[..., Coroutine[Any, Any, MemberInfo]]:
    async def guard(member: CurrentMember) -> MemberInfo:
        if roles.isdisjoint(member.roles):
            raise _http(OrganizationRoleRequiredError())
        return member

    guard.__name__ = "require_org_role"
    return guard


def require_org_role(*roles: str) -> Callable[..., Coroutine[Any, Any, MemberInfo]]:
    """A dependency admitting members holding any of ``roles`` (403 ``ORGANIZATION_ROLE_REQUIRED``).

    ``member.role`` is comma-joined and read as the organization plugin does (trimmed): a
    member ``"admin, member"`` holds ``admin``. The same roles give the same object.

    Raises:
        ValueError: no role, or an empty one.
    """
    if not roles or not all(isinstance(r, str) and r.strip() for r in roles):
        raise ValueError('require_org_role() needs role names, e.g. ("owner", "admin")')
    return _role_guard(frozenset(role.strip() for role in roles))


async def _stored_roles(
    auth: BetterAuth, config: Organizations, organization_id: str
) -> Mapping[str, Any]:
    """The app's roles merged with the organization's stored ones; refuses on a malformed row.

    Better-Auth answers 500 for a row whose ``permission`` is not valid (has-permission.mjs 38-44);
    here that is logged and the request refused (403): a bad row must not grant anything.
    """
    try:
        return await load_roles(auth, config.effective_roles, organization_id)
    except ValueError as error:
        logger.error(
            "better_auth.invalid_organization_role",
            extra={"organization_id": organization_id, "error": str(error)},
        )
        raise _http(OrganizationPermissionError()) from error
    except BetterAuthError as error:
        raise _http(error) from error


@lru_cache(maxsize=256)
def _permission_guard(
    required: tuple[tuple[str, tuple[str, ...]], ...],
) -> Callable[..., Coroutine[Any, Any, MemberInfo]]:
    permissions = {resource: list(actions) for resource, actions in required}

    async def guard(
        member: CurrentMember,
        config: Annotated[Organizations, Depends(get_organizations)],
        auth: Annotated[BetterAuth, Depends(get_better_auth)],
    ) -> MemberInfo:
        roles = config.effective_roles
        if config.dynamic_access_control:
            roles = await _stored_roles(auth, config, member.organization_id)
        if not has_org_permission(
            member.role, permissions, roles, creator_role=config.creator_role
        ):
            raise _http(OrganizationPermissionError())
        return member

    guard.__name__ = "require_org_permission"
    return guard


def require_org_permission(
    permissions: Mapping[str, Sequence[str]],
) -> Callable[..., Coroutine[Any, Any, MemberInfo]]:
    """A dependency admitting members whose role grants ``permissions``, as Better-Auth decides.

    Evaluated as ``POST /organization/has-permission`` does (``hasPermission``: one of the
    member's roles grants every action) with the roles of the app's :class:`Organizations`.
    403 ``ORGANIZATION_PERMISSION_DENIED`` otherwise. The same permissions give the same object.

    Raises:
        ValueError: no resource, or a resource without actions.
    """
    if not isinstance(permissions, Mapping) or not permissions:
        raise ValueError('require_org_permission() needs {"resource": ["action", …]}')
    normal = []
    for resource, actions in permissions.items():
        if isinstance(actions, str) or not actions:
            raise ValueError(
                f"require_org_permission(): {resource!r} needs a non-empty list of actions"
            )
        normal.append((resource, tuple(dict.fromkeys(actions))))
    return _permission_guard(tuple(sorted(normal)))
