"""Queries on an ``AsyncConnection`` or ``AsyncSession``, through mapped attributes only, so every naming works.

The selects and row snapshots the per-request reads use are built in ``_snapshots``.

Reads select plain columns (no identity map, no lazy loads) and return frozen snapshots;
writes run in the caller's transaction and commit or roll back whole. No physical table or
column name appears here.
"""

from collections.abc import Awaitable
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ._schemas import AccountInfo, AuthenticatedUser, SessionInfo
from ._snapshots import _hot_queries, session_info, user_snapshot
from ._user_fields import CORE, UserFields
from .models import BetterAuthModels

#: Reads run on a bare connection or inside a session.
Executor = AsyncConnection | AsyncSession


class RowReader(Protocol):
    """Runs one prebuilt select with named parameters; its first row (columns as attributes) or None.

    The per-request reads take one, so they run on the fastest path the runtime has
    (``BetterAuth.read_row``) or on a session the caller holds (:func:`rows_of`).
    """

    def __call__(
        self, statement: Select[Any], params: dict[str, Any], /
    ) -> Awaitable[Any]: ...


def rows_of(db: Executor) -> RowReader:
    """A :class:`RowReader` on a connection or session you hold (in your transaction)."""

    async def first(statement: Select[Any], params: dict[str, Any]) -> Any:
        return (await db.execute(statement, params)).first()

    return first


async def ping(session: Executor) -> None:
    """Run the cheapest real query, so a dead connection raises."""
    await session.execute(select(1))


async def session_by_token(
    read: RowReader, models: BetterAuthModels, token: str, fields: UserFields = CORE
) -> tuple[SessionInfo, AuthenticatedUser] | None:
    """The session whose raw token is ``token`` and its user, in one query (as Better-Auth reads it)."""
    row = await read(_hot_queries(models, fields).session_by_token, {"token": token})
    return None if row is None else (session_info(row), user_snapshot(row, fields))


async def session_by_id(
    read: RowReader,
    models: BetterAuthModels,
    session_id: str,
    user_id: str,
    fields: UserFields = CORE,
) -> tuple[SessionInfo, AuthenticatedUser] | None:
    """The session ``session_id`` of user ``user_id`` and that user, in one query."""
    if not (models.naming.valid_id(session_id) and models.naming.valid_id(user_id)):
        return None
    params = {"session_id": session_id, "user_id": user_id}
    row = await read(_hot_queries(models, fields).session_by_id, params)
    return None if row is None else (session_info(row), user_snapshot(row, fields))


async def user_by_id(
    read: RowReader, models: BetterAuthModels, user_id: str, fields: UserFields = CORE
) -> AuthenticatedUser | None:
    """The user row ``user_id``, or None."""
    if not models.naming.valid_id(user_id):
        return None
    row = await read(_hot_queries(models, fields).user_by_id, {"user_id": user_id})
    return None if row is None else user_snapshot(row, fields)


#: An id no row has, valid for text and uuid ids: the warm-up reads find nothing.
_NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"
#: The serial id no row has (identities start at 1).
_NO_SUCH_SERIAL = "0"


async def warm_reads(
    read: RowReader,
    models: BetterAuthModels,
    fields: UserFields = CORE,
    *,
    sessions: bool = True,
) -> None:
    """Run the per-request reads once, finding nothing: compiled and prepared before the first request.

    ``sessions=False`` warms the user read only (sessions in Redis, no session table).
    """
    no_such = _NO_SUCH_SERIAL if models.naming.id_type == "serial" else _NO_SUCH_ID
    await user_by_id(read, models, no_such, fields)
    if not sessions:
        return
    await session_by_id(read, models, no_such, no_such, fields)
    await session_by_token(read, models, _NO_SUCH_ID, fields)


async def accounts_of(
    db: Executor, models: BetterAuthModels, user_id: str
) -> list[AccountInfo]:
    """The user's linked accounts, without tokens or password hashes (never selected)."""
    account = models.account
    query = (
        select(
            account.id,
            account.provider_id,
            account.account_id,
            account.scope,
            account.access_token_expires_at,
            account.refresh_token_expires_at,
            account.created_at,
            account.updated_at,
        )
        .where(account.user_id == user_id)
        .order_by(account.created_at, account.id)
    )
    return [AccountInfo.model_validate(row._mapping) for row in await db.execute(query)]
