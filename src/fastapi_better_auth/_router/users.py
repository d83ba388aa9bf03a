"""``/users``: list and manage Better-Auth users (admins), read and edit one's own profile.

A non-admin who names another user's id gets the same 404 as for an id that does not exist,
so the API is no oracle of which ids exist. Admin-only routes answer 403 ``ROLE_REQUIRED``
before looking at the id. Every call is an audit event on ``fastapi_better_auth.audit``;
every write is one transaction and clears the freshness cache of this process.
"""

from fastapi import APIRouter, Request

from .._admin import listing, writes
from .._admin.schemas import (
    BanRequest,
    RoleUpdate,
    SortDirection,
    UserList,
    UserSortField,
    UserUpdate,
)
from .._guards import BetterAuthDep, CurrentUser
from .._http import AUTH_RESPONSES
from .._route_helpers import audited_action, page_size
from .._schemas import AuthenticatedUser
from .._types import utcnow
from ._access import (
    check_permission,
    error_responses,
    require_permission_or_self,
    write_settings,
)
from ._params import (
    BannedFilter,
    CursorText,
    Offset,
    PageLimit,
    RoleFilter,
    Search,
    UserId,
    decode_cursor,
)
from ._route import BetterAuthRoute

router = APIRouter(
    prefix="/users", responses=AUTH_RESPONSES, route_class=BetterAuthRoute
)


@router.get(
    "",
    name="better_auth:users.list",
    summary="List users (admin)",
    responses={
        422: {"description": "Invalid query, or `limit` above `max_page_size`."}
    },
)
async def list_users(
    request: Request,
    actor: CurrentUser,
    auth: BetterAuthDep,
    limit: PageLimit = None,
    offset: Offset = 0,
    search: Search = None,
    role: RoleFilter = None,
    banned: BannedFilter = None,
    email_verified: bool | None = None,
    sort_by: UserSortField = "created_at",
    sort_direction: SortDirection = "asc",
    cursor: CursorText = None,
) -> UserList:
    """A page of users, with the number of matches in all; ties are broken by id."""
    with audited_action(request, "users.list", actor.id, None):
        check_permission(request, actor, auth, "users.list")
        size = page_size(limit, auth.settings.max_page_size)
        position = None
        if cursor is not None:
            position = decode_cursor(
                cursor, sort_by, sort_direction, offset, auth.models.naming
            )
        query = listing.UserQuery(
            limit=size,
            offset=offset,
            search=search,
            role=role,
            banned=banned,
            email_verified=email_verified,
            sort_by=sort_by,
            sort_direction=sort_direction,
            cursor=position,
        )
        now = utcnow()
        # read-only: autocommit on the read pool, no ping nor BEGIN/ROLLBACK round trips
        page = await auth.read(
            lambda db: listing.list_users(db, auth.models, auth.settings, query, now)
        )
        return UserList(
            users=page.users,
            total=page.total,
            limit=size,
            offset=offset,
            next_cursor=page.next_cursor,
        )


@router.get(
    "/{user_id}",
    name="better_auth:users.get",
    summary="Read a user (admin, or yourself)",
    responses=error_responses(404),
)
async def get_user(
    user_id: UserId, actor: CurrentUser, auth: BetterAuthDep, request: Request
) -> AuthenticatedUser:
    """The user row, fresh from the database."""
    with audited_action(request, "users.get", actor.id, user_id):
        require_permission_or_self(request, actor, auth, user_id, "users.get")
        async with auth.session() as db:
            return await listing.get_user(db, auth.models, user_id)


@router.patch(
    "/{user_id}",
    name="better_auth:users.update",
    summary="Update a profile (admin, or yourself)",
    responses=error_responses(400, 404, 409),
)
async def update_user(
    user_id: UserId,
    changes: UserUpdate,
    actor: CurrentUser,
    auth: BetterAuthDep,
    request: Request,
) -> AuthenticatedUser:
    """Change ``name`` and ``image`` (yours), or also ``email`` (an admin, of anyone).

    Any other field is a 422; ``email`` from a non-admin is a 400 naming it. A changed email
    is lower-cased, must be unique (409) and is no longer verified.
    """
    with audited_action(request, "users.update", actor.id, user_id):
        as_admin = require_permission_or_self(
            request, actor, auth, user_id, "users.update"
        )
        if as_admin and changes.email is not None:
            check_permission(request, actor, auth, "users.set_email")
        async with auth.transaction() as db:
            updated = await writes.update_user(
                db,
                auth.models,
                user_id,
                changes,
                utcnow(),
                as_admin=as_admin,
                store=auth.session_store,
            )
        return updated


@router.put(
    "/{user_id}/role",
    name="better_auth:users.set_role",
    summary="Set a user's roles (admin)",
    responses=error_responses(400, 404, 409),
)
async def set_role(
    user_id: UserId,
    change: RoleUpdate,
    actor: CurrentUser,
    auth: BetterAuthDep,
    request: Request,
) -> AuthenticatedUser:
    """Replace the roles (stored comma-joined); the last admin cannot be demoted (409)."""
    with audited_action(request, "users.set_role", actor.id, user_id):
        check_permission(request, actor, auth, "users.set_role")
        async with auth.transaction() as db:
            updated = await writes.set_role(
                db,
                auth.models,
                write_settings(request, auth),
                user_id,
                change,
                utcnow(),
                store=auth.session_store,
            )
        return updated


@router.post(
    "/{user_id}/ban",
    name="better_auth:users.ban",
    summary="Ban a user and end their sessions (admin)",
    responses=error_responses(400, 404, 409),
)
async def ban_user(
    user_id: UserId,
    ban: BanRequest,
    actor: CurrentUser,
    auth: BetterAuthDep,
    request: Request,
) -> AuthenticatedUser:
    """Ban (permanently unless an expiry is given) and delete all the user's sessions.

    One transaction: if the sessions cannot be deleted, the user is not banned either.
    You cannot ban yourself (400).
    """
    with audited_action(request, "users.ban", actor.id, user_id):
        check_permission(request, actor, auth, "users.ban")
        async with auth.transaction() as db:
            banned = await writes.ban_user(
                db,
                auth.models,
                write_settings(request, auth),
                user_id,
                ban,
                utcnow(),
                actor_id=actor.id,
                store=auth.session_store,
            )
        return banned


@router.delete(
    "/{user_id}/ban",
    name="better_auth:users.unban",
    summary="Lift a ban (admin)",
    responses=error_responses(404),
)
async def unban_user(
    user_id: UserId, actor: CurrentUser, auth: BetterAuthDep, request: Request
) -> AuthenticatedUser:
    """``banned`` false, reason and expiry cleared; the user can sign in again."""
    with audited_action(request, "users.unban", actor.id, user_id):
        check_permission(request, actor, auth, "users.unban")
        async with auth.transaction() as db:
            unbanned = await writes.unban_user(
                db, auth.models, user_id, utcnow(), store=auth.session_store
            )
        return unbanned
