"""``/users``: list and manage Better-Auth users (admins), read and edit one's own profile.

A non-admin who names another user's id gets the same 404 as for an id that does not exist,
so the API is no oracle of which ids exist. Admin-only routes answer 403 ``ROLE_REQUIRED``
before looking at the id. Every call is an audit event on ``fastapi_better_auth.audit``;
every write is one transaction and clears the freshness cache of this process.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError

from .. import _admin_users
from .._guards import BetterAuthDep, CurrentUser
from .._http import AUTH_RESPONSES
from .._naming import SchemaNaming
from .._policy import check_admin
from .._schemas import (
    AuthenticatedUser,
    BanRequest,
    RoleUpdate,
    SortDirection,
    UserList,
    UserSortField,
    UserUpdate,
)
from .._types import utcnow
from ._access import admin_action, error_responses, require_admin_or_self
from ._params import CURSOR_PATTERN, MAX_CURSOR, MAX_OFFSET, NO_NUL, UserId
from ._route import BetterAuthRoute

#: ``limit`` when the request sends none (capped by ``settings.max_page_size``).
DEFAULT_PAGE_SIZE = 50


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
    limit: Annotated[
        int | None,
        Query(ge=1, description="Page size; default 50, at most `max_page_size`."),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    search: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            pattern=NO_NUL,
            description="Case-insensitive, anywhere in email or name.",
        ),
    ] = None,
    role: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=NO_NUL,
            description="Users holding this one role.",
        ),
    ] = None,
    banned: Annotated[
        bool | None, Query(description="Banned now (an expired ban is none).")
    ] = None,
    email_verified: bool | None = None,
    sort_by: UserSortField = "created_at",
    sort_direction: SortDirection = "asc",
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR,
            pattern=CURSOR_PATTERN,
            description="`next_cursor` of the previous page: the page after it, in the "
            "same sort (not with `offset`).",
        ),
    ] = None,
) -> UserList:
    """A page of users, with the number of matches in all; ties are broken by id."""
    with admin_action(request, "users.list", actor.id, None):
        check_admin(actor, auth.settings)
        maximum = auth.settings.max_page_size
        size = min(DEFAULT_PAGE_SIZE, maximum) if limit is None else limit
        if size > maximum:
            raise RequestValidationError(
                [
                    {
                        "type": "less_than_equal",
                        "loc": ("query", "limit"),
                        "msg": f"Input should be less than or equal to {maximum}",
                        "input": limit,
                        "ctx": {"le": maximum},
                    }
                ]
            )
        position = None
        if cursor is not None:
            position = _cursor(
                cursor, sort_by, sort_direction, offset, auth.models.naming
            )
        query = _admin_users.UserQuery(
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
            lambda db: _admin_users.list_users(
                db, auth.models, auth.settings, query, now
            )
        )
        return UserList(
            users=page.users,
            total=page.total,
            limit=size,
            offset=offset,
            next_cursor=page.next_cursor,
        )


def _cursor(
    text: str,
    sort_by: UserSortField,
    sort_direction: SortDirection,
    offset: int,
    naming: SchemaNaming,
) -> _admin_users.Cursor:
    """The decoded ``cursor``, or FastAPI's 422 (``loc: ["query", "cursor"]``) naming why."""
    try:
        if offset:
            raise _admin_users.InvalidCursorError(
                "Send either cursor or offset, not both."
            )
        position = _admin_users.Cursor.decode(text, sort_by, sort_direction)
        if not naming.valid_id(position.id):
            raise _admin_users.InvalidCursorError("Not a cursor returned by this API.")
    except _admin_users.InvalidCursorError as error:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "cursor"),
                    "msg": str(error),
                    "input": text,
                }
            ]
        ) from error
    return position


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
    with admin_action(request, "users.get", actor.id, user_id):
        require_admin_or_self(actor, auth, user_id)
        async with auth.session() as db:
            return await _admin_users.get_user(db, auth.models, user_id)


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
    with admin_action(request, "users.update", actor.id, user_id):
        as_admin = require_admin_or_self(actor, auth, user_id)
        async with auth.transaction() as db:
            updated = await _admin_users.update_user(
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
    with admin_action(request, "users.set_role", actor.id, user_id):
        check_admin(actor, auth.settings)
        async with auth.transaction() as db:
            updated = await _admin_users.set_role(
                db,
                auth.models,
                auth.settings,
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
    with admin_action(request, "users.ban", actor.id, user_id):
        check_admin(actor, auth.settings)
        async with auth.transaction() as db:
            banned = await _admin_users.ban_user(
                db,
                auth.models,
                auth.settings,
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
    with admin_action(request, "users.unban", actor.id, user_id):
        check_admin(actor, auth.settings)
        async with auth.transaction() as db:
            unbanned = await _admin_users.unban_user(
                db, auth.models, user_id, utcnow(), store=auth.session_store
            )
        return unbanned
