"""Users for the admin API: list (page, search, filter, sort), read, update, set role, ban.

Every write is one ``UPDATE … RETURNING`` on the target row (which takes its row lock) in the
caller's transaction, so a failure later in the transaction (a ban's session deletion) rolls
it back whole. Changes that could remove the last admin lock the admin rows first
(:func:`~fastapi_better_auth._admin.lock_active_admins`). Only mapped attributes are used.

Costs at 100 000 users (Better-Auth's schema has indexes on ``id`` and ``email`` only):
``get``/writes use the primary key; sorting by ``email`` walks ``user_email_key``; other
sorts, the search (``ILIKE '%…%'``) and the role/ban filters scan the table once for the
count and once for a top-N sort of the page.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, false, func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from . import _admin_sessions
from ._admin import (
    banned_now,
    ensure_admin_remains,
    escape_like,
    has_role,
    lock_active_admins,
)
from ._errors import ConflictError, InvalidRequestError, UserNotFoundError
from ._schemas import (
    AuthenticatedUser,
    BanRequest,
    RoleUpdate,
    SortDirection,
    UserSortField,
    UserUpdate,
)
from ._settings import BetterAuthSettings
from ._store import rows_of, user_by_id, user_columns, user_snapshot
from .models import BetterAuthModels

#: Fields a user may change on their own row through ``PATCH``.
SELF_FIELDS = frozenset({"name", "image"})
#: Fields an admin may change on any row through ``PATCH``.
ADMIN_FIELDS = SELF_FIELDS | {"email"}
#: Better-Auth's ``defaultBanReason``.
DEFAULT_BAN_REASON = "No reason"


@dataclass(frozen=True)
class UserQuery:
    """What ``list_users`` returns: a page of matches in a stable order.

    ``search`` matches email or name, case-insensitively, anywhere; ``role`` matches one role
    of the comma-joined column; ``banned`` is the ban in force now (an expired ban is none).
    """

    limit: int
    offset: int = 0
    search: str | None = None
    role: str | None = None
    banned: bool | None = None
    email_verified: bool | None = None
    sort_by: UserSortField = "created_at"
    sort_direction: SortDirection = "asc"


def _conditions(
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    query: UserQuery,
    now: datetime,
) -> list[Any]:
    user = models.user
    conditions: list[Any] = []
    if query.search:
        pattern = f"%{escape_like(query.search)}%"
        conditions.append(
            or_(
                user.email.ilike(pattern, escape="/"),
                user.name.ilike(pattern, escape="/"),
            )
        )
    if query.role is not None:
        conditions.append(has_role(models, query.role, settings.default_role))
    if query.banned is not None:
        clause = banned_now(models, now)
        conditions.append(clause if query.banned else not_(clause))
    if query.email_verified is not None:
        conditions.append(user.email_verified == query.email_verified)
    return conditions


def _order(models: BetterAuthModels, query: UserQuery) -> list[Any]:
    user = models.user
    descending = query.sort_direction == "desc"
    column = getattr(user, query.sort_by)
    key = column.desc() if descending else column.asc()
    if query.sort_by == "role":  # the only nullable one: NULLs last on both databases
        key = key.nulls_last()
    if query.sort_by == "email":  # unique: the order is total, the index serves it
        return [key]
    return [key, user.id.desc() if descending else user.id.asc()]


async def list_users(
    db: AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    query: UserQuery,
    now: datetime,
) -> tuple[list[AuthenticatedUser], int]:
    """One page of matching users and the number of matches in all.

    The page is read first; the count is a second query only when the page cannot tell it
    (a full page, or an empty one past the end), so a search with few matches scans once.
    """
    user = models.user
    conditions = _conditions(models, settings, query, now)
    page = (
        select(*user_columns(models))
        .where(*conditions)
        .order_by(*_order(models, query))
        .limit(query.limit)
        .offset(query.offset)
    )
    users = [user_snapshot(row) for row in await db.execute(page)]
    if len(users) < query.limit and (users or query.offset == 0):
        return users, query.offset + len(users)
    total = (
        await db.execute(select(func.count()).select_from(user).where(*conditions))
    ).scalar_one()
    return users, int(total)


async def get_user(
    db: AsyncSession, models: BetterAuthModels, user_id: str
) -> AuthenticatedUser:
    """The user ``user_id``.

    Raises:
        UserNotFoundError: no such user.
    """
    found = await user_by_id(rows_of(db), models, user_id)
    if found is None:
        raise UserNotFoundError()
    return found


async def _write(
    db: AsyncSession, models: BetterAuthModels, user_id: str, values: dict[Any, Any]
) -> AuthenticatedUser:
    if not models.naming.valid_id(user_id):
        raise UserNotFoundError()
    user = models.user
    statement = (
        update(user)
        .where(user.id == user_id)
        .values(values)
        .returning(*user_columns(models))
        .execution_options(synchronize_session=False)
    )
    row = (await db.execute(statement)).first()
    if row is None:
        raise UserNotFoundError()
    return user_snapshot(row)


async def update_user(
    db: AsyncSession,
    models: BetterAuthModels,
    user_id: str,
    changes: UserUpdate,
    now: datetime,
    *,
    as_admin: bool,
) -> AuthenticatedUser:
    """Apply a profile update that the caller may make; a new email is no longer verified.

    Raises:
        InvalidRequestError: no field, or one the caller may not change (named in the message).
        UserNotFoundError: no such user.
        ConflictError: another user has this email address.
    """
    allowed = ADMIN_FIELDS if as_admin else SELF_FIELDS
    fields = changes.model_fields_set
    if not fields:
        raise InvalidRequestError(
            f"Send at least one field to change: {', '.join(sorted(allowed))}."
        )
    refused = fields - allowed
    if refused:
        raise InvalidRequestError(f"You may not change: {', '.join(sorted(refused))}.")
    user = models.user
    values: dict[Any, Any] = {user.updated_at: now}
    if "name" in fields:
        values[user.name] = changes.name
    if "image" in fields:
        values[user.image] = changes.image
    if "email" in fields:
        values[user.email] = changes.email
        values[user.email_verified] = case(
            (user.email == changes.email, user.email_verified), else_=false()
        )
    try:
        return await _write(db, models, user_id, values)
    except IntegrityError as exc:
        raise ConflictError("Another user already has this email address.") from exc


async def set_role(
    db: AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    user_id: str,
    change: RoleUpdate,
    now: datetime,
) -> AuthenticatedUser:
    """Store the roles comma-joined, as Better-Auth's ``set-role`` does.

    Raises:
        InvalidRequestError: a role is not in ``settings.allowed_roles``.
        ConflictError: the change would demote the last admin who is not banned.
        UserNotFoundError: no such user.
    """
    if settings.allowed_roles is not None:
        unknown = [role for role in change.roles if role not in settings.allowed_roles]
        if unknown:
            raise InvalidRequestError(
                f"Unknown role(s): {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(settings.allowed_roles))}."
            )
    stays_admin = user_id in settings.admin_user_ids or bool(
        set(change.roles) & settings.admin_roles
    )
    if not stays_admin:
        ensure_admin_remains(
            await lock_active_admins(db, models, settings, now), user_id
        )
    user = models.user
    return await _write(
        db, models, user_id, {user.role: str(change.role), user.updated_at: now}
    )


async def ban_user(
    db: AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    user_id: str,
    ban: BanRequest,
    now: datetime,
    *,
    actor_id: str,
) -> AuthenticatedUser:
    """Ban the user and delete all their sessions, in the caller's transaction.

    Raises:
        InvalidRequestError: the actor tries to ban themselves.
        ConflictError: the user is the last admin who is not banned.
        UserNotFoundError: no such user.
    """
    if user_id == actor_id:
        raise InvalidRequestError("You cannot ban yourself.")
    ensure_admin_remains(await lock_active_admins(db, models, settings, now), user_id)
    user = models.user
    banned = await _write(
        db,
        models,
        user_id,
        {
            user.banned: True,
            user.ban_reason: ban.reason or DEFAULT_BAN_REASON,
            user.ban_expires: ban.expiry(now),
            user.updated_at: now,
        },
    )
    await _admin_sessions.revoke_all(db, models, user_id)
    return banned


async def unban_user(
    db: AsyncSession, models: BetterAuthModels, user_id: str, now: datetime
) -> AuthenticatedUser:
    """Lift the ban: ``banned`` false, reason and expiry NULL (as Better-Auth's ``unban-user``).

    Raises:
        UserNotFoundError: no such user.
    """
    user = models.user
    return await _write(
        db,
        models,
        user_id,
        {
            user.banned: False,
            user.ban_reason: None,
            user.ban_expires: None,
            user.updated_at: now,
        },
    )
