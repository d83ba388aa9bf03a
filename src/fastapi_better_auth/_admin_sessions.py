"""A user's sessions for the admin API: list the live ones, revoke one or all.

Reads and deletes go through ``session.userId`` (Better-Auth's ``session_userId_idx``);
tokens are never selected. Writes run in the caller's transaction.
"""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ._errors import NotFoundError
from ._schemas import UserSession
from ._store import session_columns, session_info
from .models import BetterAuthModels


async def list_sessions(
    db: AsyncSession,
    models: BetterAuthModels,
    user_id: str,
    now: datetime,
    *,
    current_id: str | None = None,
) -> list[UserSession]:
    """The user's unexpired sessions, newest first; ``current_id`` is marked ``current``."""
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


async def revoke_all(db: AsyncSession, models: BetterAuthModels, user_id: str) -> int:
    """Delete every session of the user (expired or not); how many were deleted."""
    session = models.session
    result = await db.execute(
        delete(session)
        .where(session.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


async def revoke(
    db: AsyncSession, models: BetterAuthModels, user_id: str, session_id: str
) -> None:
    """Delete one session of the user; a session of anyone else is never touched.

    Raises:
        NotFoundError: the user has no session ``session_id``.
    """
    if not models.naming.valid_id(session_id):
        raise NotFoundError("The session does not exist.")
    session = models.session
    result = await db.execute(
        delete(session)
        .where(session.id == session_id, session.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFoundError("The session does not exist.")
