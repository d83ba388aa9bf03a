"""A user's sessions for the admin API: list the live ones, revoke one or all.

Reads and deletes go through ``session.userId`` (Better-Auth's ``session_userId_idx``);
tokens are never selected. Writes run in the caller's transaction. With Better-Auth's
``secondaryStorage`` (a :class:`SessionStore`), the sessions are listed from Redis, as
Better-Auth's ``listSessions`` does unless ``storeSessionInDatabase``, and revocations delete
the Redis keys and update the user's session list as its ``deleteSession`` and
``deleteUserSessions`` do, and the rows too under ``storeSessionInDatabase`` (without it
Better-Auth's migration creates no ``session`` table, so none is touched).
"""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from .._errors import NotFoundError
from .._secondary import SessionStore, redis_only
from .._snapshots import session_columns, session_info
from ..models import BetterAuthModels
from .schemas import UserSession


async def list_sessions(
    db: AsyncSession,
    models: BetterAuthModels,
    user_id: str,
    now: datetime,
    *,
    current_id: str | None = None,
    store: SessionStore | None = None,
) -> list[UserSession]:
    """The user's unexpired sessions, newest first; ``current_id`` is marked ``current``."""
    if redis_only(store):
        infos = [
            stored.info
            for stored in await store.sessions_of(user_id)
            if stored.info.expires_at > now
        ]
        infos.sort(key=lambda info: (info.created_at, info.id), reverse=True)
        return [
            UserSession(**info.model_dump(), current=info.id == current_id)
            for info in infos
        ]
    session = models.session
    query = (
        select(*session_columns(models))
        .where(session.user_id == user_id, session.expires_at > now)
        .order_by(session.created_at.desc(), session.id.desc())
    )
    return [
        UserSession(
            **session_info(row).model_dump(), current=row.session_id == current_id
        )
        for row in await db.execute(query)
    ]


async def revoke_all(
    db: AsyncSession,
    models: BetterAuthModels,
    user_id: str,
    store: SessionStore | None = None,
) -> int:
    """Delete every session of the user (expired or not); how many were deleted.

    In Redis, the user's sessions are also marked revoked as of now, so one Better-Auth
    creates meanwhile is refused too (its ``revoked-sessions-before`` key).
    """
    stored = await store.revoke_all(user_id) if store is not None else set()
    if redis_only(store):
        return len(stored)
    session = models.session
    result = await db.execute(
        delete(session)
        .where(session.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return max(int(getattr(result, "rowcount", 0)), len(stored))  # the same sessions


async def revoke(
    db: AsyncSession,
    models: BetterAuthModels,
    user_id: str,
    session_id: str,
    store: SessionStore | None = None,
) -> None:
    """Delete one session of the user; a session of anyone else is never touched.

    Raises:
        NotFoundError: the user has no session ``session_id``.
    """
    in_redis = store is not None and await store.revoke(user_id, session_id)
    if redis_only(store) or not models.naming.valid_id(session_id):
        if in_redis:
            return
        raise NotFoundError("The session does not exist.")
    session = models.session
    result = await db.execute(
        delete(session)
        .where(session.id == session_id, session.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    if not in_redis and not getattr(result, "rowcount", 0):
        raise NotFoundError("The session does not exist.")
