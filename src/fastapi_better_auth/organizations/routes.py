"""``/organizations``: the caller's organizations, their members, role changes and removals.

Mounted by ``better_auth_router(organizations=Organizations(...))``. Who may do what is
Better-Auth's (``dist/plugins/organization/routes/crud-members.mjs``, see ``_writes``): any
member reads the organization and lists its members (``list-members`` asks membership only,
lines 460-463); ``member: ["update"]`` changes roles, ``member: ["delete"]`` removes, only an
owner (``creatorRole``) touches an owner, the last owner stays. A non-member, or an id that
does not exist, gets the same 403, so organization ids cannot be probed; a member id of another
organization the same 404 as one that does not exist. Every call is an audit line on
``fastapi_better_auth.audit``; each write is one transaction on locked rows.
"""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.routing import APIRoute

from .._admin.cursor import Cursor, InvalidCursorError
from .._errors import NotOrganizationMemberError
from .._guards import CurrentSession, get_better_auth
from .._route_helpers import audited_action, invalid_cursor, page_size
from .._runtime import BetterAuth
from .._schemas import ErrorResponse
from ._bodies import MemberList, MemberRoleUpdate, OrganizationList, OrganizationMember
from ._config import Organizations
from ._listing import list_members, list_organizations
from ._models import get_organization_models
from ._reads import OrganizationInfo, load_member
from ._writes import Membership, remove_member, update_member_role
from .dependencies import _http, get_organizations

_ID = Path(min_length=1, max_length=255, pattern=r"^[^\x00]*$")
OrganizationId = Annotated[str, _ID]
MemberId = Annotated[str, _ID]
_DESCRIPTIONS = {
    400: "An empty or unknown role (`INVALID_REQUEST`, `ROLE_NOT_FOUND: …`).",
    401: "No valid credential (`NOT_AUTHENTICATED`, `INVALID_TOKEN`, …).",
    403: "Banned, not a member of the organization, or the role does not allow it "
    "(`USER_BANNED`, `NOT_ORGANIZATION_MEMBER`, `ORGANIZATION_PERMISSION_DENIED`).",
    404: "No such member in this organization (`NOT_FOUND`).",
    409: "The organization would have no owner left (`CONFLICT`).",
    503: "The database or Better-Auth's keys cannot be reached (`DATABASE_UNAVAILABLE`, …).",
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses
    }


#: Audit the block (request id, impersonating admin); answer errors as the plugin's guards do.
_action = partial(audited_action, answer=_http)


def _member(row: Membership, organization_id: str) -> OrganizationMember:
    return OrganizationMember(
        id=row.id,
        organization_id=organization_id,
        user_id=row.user_id,
        role=row.role,
        created_at=row.created_at,
    )


def build(route_class: type[APIRoute] = APIRoute) -> APIRouter:
    """A new ``/organizations`` router whose routes use ``route_class``."""
    router = APIRouter(
        prefix="/organizations",
        route_class=route_class,
        responses=_responses(401, 403, 503),
    )

    @router.get(
        "",
        name="better_auth:organizations.list",
        summary="List your organizations",
    )
    async def list_mine(
        request: Request,
        identity: CurrentSession,
        auth: Annotated[BetterAuth, Depends(get_better_auth)],
    ) -> OrganizationList:
        """The organizations you are a member of, oldest first."""
        models = get_organization_models(auth.settings.naming)
        with _action(request, "organizations.list", identity.user.id, None):
            found = await auth.read(
                lambda db: list_organizations(db, models, identity.user.id)
            )
            return OrganizationList(organizations=found)

    @router.get(
        "/{organization_id}",
        name="better_auth:organizations.get",
        summary="Read an organization (members)",
    )
    async def get_one(
        organization_id: OrganizationId,
        request: Request,
        identity: CurrentSession,
        auth: Annotated[BetterAuth, Depends(get_better_auth)],
    ) -> OrganizationInfo:
        """The organization, if you are a member of it."""
        with _action(request, "organizations.get", identity.user.id, organization_id):
            member = await load_member(auth, identity, organization_id)
            return member.organization

    @router.get(
        "/{organization_id}/members",
        name="better_auth:organizations.members.list",
        summary="List an organization's members (members)",
        responses={422: {"description": "Invalid query, or `limit` too large."}},
    )
    async def members(
        organization_id: OrganizationId,
        request: Request,
        identity: CurrentSession,
        auth: Annotated[BetterAuth, Depends(get_better_auth)],
        limit: Annotated[int | None, Query(ge=1)] = None,
        cursor: Annotated[
            str | None,
            Query(min_length=1, max_length=2048, pattern=r"^[A-Za-z0-9_-]+$"),
        ] = None,
    ) -> MemberList:
        """A page of members, oldest first; ``next_cursor`` fetches the next one."""
        size = page_size(limit, auth.settings.max_page_size)
        after = None if cursor is None else _cursor(cursor)
        models = get_organization_models(auth.settings.naming)
        action = "organizations.members.list"
        with _action(request, action, identity.user.id, organization_id):
            await load_member(auth, identity, organization_id)
            page = await auth.read(
                lambda db: list_members(db, models, organization_id, size, after)
            )
            return MemberList(
                members=page.members,
                total=page.total,
                limit=size,
                next_cursor=page.next_cursor,
            )

    @router.put(
        "/{organization_id}/members/{member_id}/role",
        name="better_auth:organizations.members.set_role",
        summary="Change a member's role (member: update)",
        responses=_responses(400, 404, 409),
    )
    async def set_role(
        organization_id: OrganizationId,
        member_id: MemberId,
        change: MemberRoleUpdate,
        config: Annotated[Organizations, Depends(get_organizations)],
        request: Request,
        identity: CurrentSession,
        auth: Annotated[BetterAuth, Depends(get_better_auth)],
    ) -> OrganizationMember:
        """Replace the member's roles (stored comma-joined), with Better-Auth's rules."""
        models = get_organization_models(auth.settings.naming)
        action = "organizations.members.set_role"
        with _action(request, action, identity.user.id, member_id):
            _check_id(auth, organization_id)
            async with auth.transaction() as db:
                row = await update_member_role(
                    db,
                    models,
                    config,
                    organization_id,
                    identity.user.id,
                    member_id,
                    change.role,
                )
            return _member(row, organization_id)

    @router.delete(
        "/{organization_id}/members/{member_id}",
        name="better_auth:organizations.members.remove",
        summary="Remove a member (member: delete)",
        responses=_responses(404, 409),
    )
    async def remove(
        organization_id: OrganizationId,
        member_id: MemberId,
        config: Annotated[Organizations, Depends(get_organizations)],
        request: Request,
        identity: CurrentSession,
        auth: Annotated[BetterAuth, Depends(get_better_auth)],
    ) -> OrganizationMember:
        """Remove the member (and their team seats); the removed member row is returned."""
        models = get_organization_models(auth.settings.naming)
        session_id = None if identity.session is None else identity.session.id
        action = "organizations.members.remove"
        with _action(request, action, identity.user.id, member_id):
            _check_id(auth, organization_id)
            async with auth.transaction() as db:
                row = await remove_member(
                    db,
                    models,
                    config,
                    organization_id,
                    identity.user.id,
                    member_id,
                    session_id=session_id,
                )
            return _member(row, organization_id)

    return router


def _check_id(auth: BetterAuth, organization_id: str) -> None:
    """An id the naming cannot hold (a non-UUID under ``uuid``) is no membership, not a 500."""
    if not auth.settings.naming.valid_id(organization_id):
        raise NotOrganizationMemberError()


def _cursor(text: str) -> Cursor:
    try:
        return Cursor.decode(text, "created_at", "asc")
    except InvalidCursorError as error:
        raise invalid_cursor(text, error) from error
