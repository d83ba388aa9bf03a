"""``/users/{user_id}/sessions``: a user's sessions, for their owner or an admin.

Tokens are never returned; the caller's own session is marked ``current``. A non-admin who
names another user gets 404, and a session id of another user is a 404, never revoked.
"""

from fastapi import APIRouter, Request

from .._admin import listing
from .._admin import sessions as admin_sessions
from .._admin.schemas import RevokedSessions, SessionList
from .._guards import BetterAuthDep, CurrentSession
from .._http import AUTH_RESPONSES
from .._route_helpers import audited_action
from .._types import utcnow
from ._access import error_responses, require_permission_or_self
from ._params import SessionId, UserId
from ._route import BetterAuthRoute

router = APIRouter(
    prefix="/users/{user_id}/sessions",
    responses=AUTH_RESPONSES,
    route_class=BetterAuthRoute,
)


@router.get(
    "",
    name="better_auth:sessions.list",
    summary="A user's sessions (owner or admin)",
    responses=error_responses(404),
)
async def list_sessions(
    user_id: UserId, identity: CurrentSession, auth: BetterAuthDep, request: Request
) -> SessionList:
    """Unexpired sessions, newest first, impersonation sessions included (``impersonated_by``)."""
    actor = identity.user
    current = identity.session.id if identity.session is not None else None
    with audited_action(request, "sessions.list", actor.id, user_id):
        require_permission_or_self(request, actor, auth, user_id, "sessions.list")
        async with auth.session() as db:
            await listing.get_user(db, auth.models, user_id)
            sessions = await admin_sessions.list_sessions(
                db,
                auth.models,
                user_id,
                utcnow(),
                current_id=current,
                store=auth.session_store,
            )
        return SessionList(sessions=sessions)


@router.delete(
    "",
    name="better_auth:sessions.revoke_all",
    summary="Revoke all of a user's sessions (owner or admin)",
    responses=error_responses(404),
)
async def revoke_all_sessions(
    user_id: UserId, identity: CurrentSession, auth: BetterAuthDep, request: Request
) -> RevokedSessions:
    """Delete every session of the user, the caller's own included (it signs them out)."""
    actor = identity.user
    with audited_action(request, "sessions.revoke_all", actor.id, user_id):
        require_permission_or_self(request, actor, auth, user_id, "sessions.revoke_all")
        async with auth.transaction() as db:
            await listing.get_user(db, auth.models, user_id)
            revoked = await admin_sessions.revoke_all(
                db, auth.models, user_id, auth.session_store
            )
        return RevokedSessions(revoked=revoked)


@router.delete(
    "/{session_id}",
    name="better_auth:sessions.revoke",
    summary="Revoke one session (owner or admin)",
    responses=error_responses(404),
)
async def revoke_session(
    user_id: UserId,
    session_id: SessionId,
    identity: CurrentSession,
    auth: BetterAuthDep,
    request: Request,
) -> RevokedSessions:
    """Delete one session of the user; an id that is not theirs is a 404."""
    actor = identity.user
    with audited_action(request, "sessions.revoke", actor.id, user_id):
        require_permission_or_self(request, actor, auth, user_id, "sessions.revoke")
        async with auth.transaction() as db:
            await listing.get_user(db, auth.models, user_id)
            await admin_sessions.revoke(
                db, auth.models, user_id, session_id, auth.session_store
            )
        return RevokedSessions(revoked=1)
