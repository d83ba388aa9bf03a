"""Changing users for the admin API: profile update, roles, ban and unban.

Every write is one ``UPDATE … RETURNING`` on the target row (which takes its row lock) in the
caller's transaction, so a failure later in the transaction (a ban's session deletion) rolls
it back whole. Changes that could remove the last admin lock the admin rows first
(:func:`~fastapi_better_auth._policy.lock_active_admins`, where the role and ban rules live).
With Better-Auth's ``secondaryStorage``, the user's Redis session snapshots follow each write.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import case, false, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .._errors import ConflictError, InvalidRequestError, UserNotFoundError
from .._policy import ensure_admin_remains, lock_active_admins
from .._schemas import AuthenticatedUser
from .._secondary import SessionStore
from .._settings import BetterAuthSettings
from .._snapshots import user_columns, user_snapshot
from ..models import BetterAuthModels
from . import sessions
from .schemas import BanRequest, RoleUpdate, UserUpdate

#: Fields a user may change on their own row through ``PATCH``.
SELF_FIELDS = frozenset({"name", "image"})
#: Fields an admin may change on any row through ``PATCH``.
ADMIN_FIELDS = SELF_FIELDS | {"email"}
#: Better-Auth's ``defaultBanReason``.
DEFAULT_BAN_REASON = "No reason"


async def _write(
    db: AsyncSession, models: BetterAuthModels, user_id: str, values: dict[Any, Any]
) -> AuthenticatedUser:
    """The user after ``values`` were written; an id that cannot exist is no query, a 404."""
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
    store: SessionStore | None = None,
) -> AuthenticatedUser:
    """Apply a profile update that the caller may make; a new email is no longer verified.

    With Redis sessions, the user's session snapshots get the new values (as Better-Auth's
    ``updateUser`` refreshes them).

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
        updated = await _write(db, models, user_id, values)
    except IntegrityError as exc:
        raise ConflictError("Another user already has this email address.") from exc
    return await _refreshed(updated, store)


async def _refreshed(
    user: AuthenticatedUser, store: SessionStore | None
) -> AuthenticatedUser:
    """``user`` after its Redis session snapshots were refreshed (when sessions live there)."""
    if store is not None:
        await store.refresh_user(user)
    return user


async def set_role(
    db: AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    user_id: str,
    change: RoleUpdate,
    now: datetime,
    *,
    store: SessionStore | None = None,
) -> AuthenticatedUser:
    """Store the roles comma-joined, as Better-Auth's ``set-role`` does (and in the user's
    Redis session snapshots, as its ``updateUser`` does).

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
    updated = await _write(
        db, models, user_id, {user.role: str(change.role), user.updated_at: now}
    )
    return await _refreshed(updated, store)


async def ban_user(
    db: AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    user_id: str,
    ban: BanRequest,
    now: datetime,
    *,
    actor_id: str,
    store: SessionStore | None = None,
) -> AuthenticatedUser:
    """Ban the user and delete all their sessions, in the caller's transaction (and in Redis).

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
    await sessions.revoke_all(db, models, user_id, store)
    return banned


async def unban_user(
    db: AsyncSession,
    models: BetterAuthModels,
    user_id: str,
    now: datetime,
    *,
    store: SessionStore | None = None,
) -> AuthenticatedUser:
    """Lift the ban: ``banned`` false, reason and expiry NULL (as Better-Auth's ``unban-user``).

    Raises:
        UserNotFoundError: no such user.
    """
    user = models.user
    unbanned = await _write(
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
    return await _refreshed(unbanned, store)
