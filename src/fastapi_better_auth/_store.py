"""Queries on an ``AsyncConnection`` or ``AsyncSession``, through mapped attributes only, so every naming works.

Reads select plain columns (no identity map, no lazy loads) and return frozen snapshots;
writes run in the caller's transaction and commit or roll back whole. No physical table or
column name appears here.
"""

from collections.abc import Awaitable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Column, MetaData, Select, Table, bindparam, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import NullType, Text, TypeEngine

from ._schemas import AccountInfo, AuthenticatedUser, SessionInfo
from ._types import JSBoolean, UTCDateTime
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


def user_columns(models: BetterAuthModels) -> list[Any]:
    user = models.user
    return [
        user.id,
        user.email,
        user.name,
        user.email_verified,
        user.image,
        user.role,
        user.banned,
        user.ban_reason,
        user.ban_expires,
        user.created_at,
        user.updated_at,
    ]


def session_columns(models: BetterAuthModels) -> list[Any]:
    session = models.session
    return [
        session.id.label("session_id"),
        session.user_id,
        session.expires_at,
        session.created_at.label("session_created_at"),
        session.updated_at.label("session_updated_at"),
        session.ip_address,
        session.user_agent,
        session.impersonated_by,
    ]


def session_info(row: Any) -> SessionInfo:
    return SessionInfo(
        id=row.session_id,
        user_id=row.user_id,
        expires_at=row.expires_at,
        created_at=row.session_created_at,
        updated_at=row.session_updated_at,
        ip_address=row.ip_address,
        user_agent=row.user_agent,
        impersonated_by=row.impersonated_by,
    )


def user_snapshot(row: Any, fields: UserFields = CORE) -> AuthenticatedUser:
    core = {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "email_verified": bool(row.email_verified),
        "image": row.image,
        "role": row.role,
        "banned": bool(row.banned),
        "ban_reason": row.ban_reason,
        "ban_expires": row.ban_expires,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if not fields.fields:
        return AuthenticatedUser(**core)
    values = {
        field.attribute: getattr(row, _EXTRA + field.attribute)
        for field in fields.fields
    }
    return fields.build(core, values)


_USER_FIELDS = ("id", "email", "name", "email_verified", "image", "role", "banned",
                "ban_reason", "ban_expires", "created_at", "updated_at")  # fmt: skip
#: Session fields and the labels rows carry them under (those of :func:`session_columns`).
_SESSION_FIELDS = (("id", "session_id"), ("user_id", "user_id"), ("expires_at", "expires_at"),
                   ("created_at", "session_created_at"), ("updated_at", "session_updated_at"),
                   ("ip_address", "ip_address"), ("user_agent", "user_agent"),
                   ("impersonated_by", "impersonated_by"))  # fmt: skip


#: Label prefix of the declared extra user columns in the per-request reads.
_EXTRA = "user__"
#: Column types that read an extra field as Better-Auth stores it (others arrive as the driver gives them).
_EXTRA_TYPES: dict[str, TypeEngine[Any]] = {
    "string": Text(),
    "boolean": JSBoolean(),
    "date": UTCDateTime(),
}


def _with_extra_columns(models: BetterAuthModels, fields: UserFields) -> Any:
    """A copy of the user table (in its own metadata) with the declared extra columns.

    The mapped table stays exactly Better-Auth's core: models, migrations and the admin
    writes never see the app's columns.
    """
    table = cast(Table, inspect(models.user).local_table).to_metadata(MetaData())
    naming = models.naming
    for field in fields.fields:
        kind = _EXTRA_TYPES.get(field.type, NullType())
        table.append_column(
            Column(
                naming.column("user", field.name), kind, key=_EXTRA + field.attribute
            )
        )
    return table.c


@dataclass(frozen=True)
class _HotQueries:
    user_by_id: Select[Any]
    session_by_id: Select[Any]
    session_by_token: Select[Any]


@lru_cache(maxsize=16)
def _hot_queries(models: BetterAuthModels, fields: UserFields = CORE) -> _HotQueries:
    """The per-request reads, built once per naming and declared user fields, with bound parameters.

    The same SQL as the ORM-attribute queries, labelled with the same names, but built once and
    compiled on the Core path (no ORM compile step per request). Declared extra user columns
    are selected too, labelled ``user__<attribute>``.
    """
    user = (
        _with_extra_columns(models, fields)
        if fields.fields
        else inspect(models.user).columns
    )
    session = inspect(models.session).columns
    user_cols = [user[name].label(name) for name in _USER_FIELDS]
    user_cols += [
        user[_EXTRA + f.attribute].label(_EXTRA + f.attribute) for f in fields.fields
    ]
    session_cols = [session[name].label(label) for name, label in _SESSION_FIELDS]
    joined = select(*session_cols, *user_cols).select_from(
        session["id"].table.join(user["id"].table, user["id"] == session["user_id"])
    )
    return _HotQueries(
        user_by_id=select(*user_cols).where(user["id"] == bindparam("user_id")),
        session_by_id=joined.where(
            session["id"] == bindparam("session_id"),
            session["user_id"] == bindparam("user_id"),
        ),
        session_by_token=joined.where(session["token"] == bindparam("token")),
    )


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
