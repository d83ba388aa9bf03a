"""Users for the admin API: list (page, search, filter, sort), read, update, set role, ban.

Every write is one ``UPDATE … RETURNING`` on the target row (which takes its row lock) in the
caller's transaction, so a failure later in the transaction (a ban's session deletion) rolls
it back whole. Changes that could remove the last admin lock the admin rows first
(:func:`~fastapi_better_auth._admin.lock_active_admins`). Only mapped attributes are used.

Costs at 100 000 users. Better-Auth's schema has indexes on ``id`` and ``email`` only:
``get``/writes use the primary key; sorting by ``email`` walks ``user_email_key``; other
sorts, the search (``lower(…) LIKE lower('%…%')``) and the role/ban filters scan the table
once for the count and once for a top-N sort of the page. The queries are written so that
the opt-in indexes of :mod:`~fastapi_better_auth._indexes` (``migrate indexes``) serve them:
``ORDER BY <sort>, id`` walks ``(<sort>, id)`` and stops after the page, a keyset cursor is
a row comparison ``(<sort>, id) > (…)`` on the same index, an ``offset`` page reads only ids
from that index (index-only) before fetching its rows, and the search's expressions are
those of the trigram indexes. The list runs on :meth:`BetterAuth.read` (autocommit: no ping,
no ``BEGIN``/``ROLLBACK``). The count stays exact, a ``count(*)`` that runs only when the
page cannot tell the total.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Text,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from . import _admin_sessions
from ._admin import escape_like
from ._errors import ConflictError, InvalidRequestError, UserNotFoundError
from ._policy import banned_now, ensure_admin_remains, has_role, lock_active_admins
from ._schemas import (
    AuthenticatedUser,
    BanRequest,
    RoleUpdate,
    SortDirection,
    UserSortField,
    UserUpdate,
)
from ._secondary import SessionStore
from ._settings import BetterAuthSettings
from ._store import rows_of, user_by_id, user_columns, user_snapshot
from .models import BetterAuthModels

#: Fields a user may change on their own row through ``PATCH``.
SELF_FIELDS = frozenset({"name", "image"})
#: Fields an admin may change on any row through ``PATCH``.
ADMIN_FIELDS = SELF_FIELDS | {"email"}
#: Better-Auth's ``defaultBanReason``.
DEFAULT_BAN_REASON = "No reason"


#: Version tag of the cursor's JSON form; a cursor of another version is refused.
_CURSOR_VERSION = 1
#: Sort fields whose cursor value is a datetime.
_DATETIME_FIELDS = frozenset({"created_at", "updated_at"})


class InvalidCursorError(ValueError):
    """A ``cursor`` that this API did not make for this sort (mangled, or for another one)."""


@dataclass(frozen=True)
class Cursor:
    """A position in one sort order: after the row with this sort value and this id.

    ``encode`` gives the opaque string clients pass back; it is neither secret nor signed
    (an admin who forges one just starts the page at the position they wrote).
    """

    sort_by: UserSortField
    sort_direction: SortDirection
    value: datetime | str | None
    id: str

    @classmethod
    def after(cls, row: AuthenticatedUser, query: "UserQuery") -> "Cursor":
        """The position just after ``row`` in ``query``'s order."""
        value = getattr(row, query.sort_by)
        return cls(query.sort_by, query.sort_direction, value, row.id)

    def encode(self) -> str:
        """The opaque form: unpadded base64url of a small JSON array."""
        value = (
            self.value.isoformat() if isinstance(self.value, datetime) else self.value
        )
        data = [_CURSOR_VERSION, self.sort_by, self.sort_direction, value, self.id]
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(
        cls, text: str, sort_by: UserSortField, sort_direction: SortDirection
    ) -> "Cursor":
        """Parse a cursor made by ``encode`` for this sort.

        Raises:
            InvalidCursorError: not such a cursor, or one made for another sort.
        """
        try:
            raw = base64.b64decode(
                text + "=" * (-len(text) % 4), altchars=b"-_", validate=True
            )
            data = json.loads(raw.decode())
        # RecursionError: a cursor nested past the JSON parser's depth limit (Python < 3.13)
        except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InvalidCursorError("Not a cursor returned by this API.") from exc
        if not (
            isinstance(data, list)
            and len(data) == 5
            and data[0] == _CURSOR_VERSION
            and all(isinstance(item, str) for item in data[1:3])
            and isinstance(data[4], str)
            and data[4]
        ):
            raise InvalidCursorError("Not a cursor returned by this API.")
        _, cursor_sort, cursor_direction, value, row_id = data
        if (cursor_sort, cursor_direction) != (sort_by, sort_direction):
            raise InvalidCursorError(
                f"This cursor pages by {cursor_sort} {cursor_direction}; send the same "
                "sort_by and sort_direction as the request that returned it."
            )
        return cls(sort_by, sort_direction, _cursor_value(sort_by, value), row_id)


def _cursor_value(sort_by: UserSortField, value: Any) -> datetime | str | None:
    if value is None and sort_by == "role":  # the only nullable sort field
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidCursorError("Not a cursor returned by this API.")
    if sort_by not in _DATETIME_FIELDS:
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursorError("Not a cursor returned by this API.") from exc
    if moment.tzinfo is None:
        raise InvalidCursorError("Not a cursor returned by this API.")
    return moment


@dataclass(frozen=True)
class UserQuery:
    """What ``list_users`` returns: a page of matches in a stable order.

    ``search`` matches email or name, case-insensitively, anywhere; ``role`` matches one role
    of the comma-joined column; ``banned`` is the ban in force now (an expired ban is none).
    ``cursor`` starts the page after a row of an earlier page (``offset`` is then 0).
    """

    limit: int
    offset: int = 0
    search: str | None = None
    role: str | None = None
    banned: bool | None = None
    email_verified: bool | None = None
    sort_by: UserSortField = "created_at"
    sort_direction: SortDirection = "asc"
    cursor: Cursor | None = None


@dataclass(frozen=True)
class UserPage:
    """A page of users, the number of matches in all, and the cursor of the next page."""

    users: list[AuthenticatedUser]
    total: int
    next_cursor: str | None


def _conditions(
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    query: UserQuery,
    now: datetime,
    *,
    pattern_once: bool = False,
) -> list[Any]:
    """The WHERE clauses of the filters and the search.

    The search is ``lower(col) LIKE lower(:p)``: what ILIKE does on UTF-8 (and SQLAlchemy's
    ``ilike`` on SQLite), and the expression of the opt-in trigram indexes. ``pattern_once``
    lowers the pattern in a scalar subquery, evaluated once per statement even in a generic
    plan (asyncpg's prepared statements get one from the sixth run); otherwise PostgreSQL
    evaluates ``lower($1)`` on every row it rechecks (count of 10 000 matches: 16 → 11 ms).
    The page keeps the plain form, whose custom plans see the pattern's selectivity.
    """
    user = models.user
    conditions: list[Any] = []
    if query.search:
        pattern: Any = func.lower(literal(f"%{escape_like(query.search)}%", Text))
        if pattern_once:
            pattern = select(pattern).scalar_subquery()
        conditions.append(
            or_(
                func.lower(user.email).like(pattern, escape="/"),
                func.lower(user.name).like(pattern, escape="/"),
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


def _after(models: BetterAuthModels, cursor: Cursor) -> Any:
    """Rows after ``cursor`` in its order, as a row comparison the ``(sort, id)`` index serves.

    ``role`` sorts its NULLs last in both directions: after a non-NULL role come the greater
    (or lesser) roles and then every NULL; after a NULL, only NULLs with a later id.
    """
    user = models.user
    column = getattr(user, cursor.sort_by)
    descending = cursor.sort_direction == "desc"
    row_id = literal(cursor.id, user.id.type)
    if cursor.sort_by == "email":  # unique: the email alone is the position
        value = literal(cursor.value, column.type)
        return column < value if descending else column > value
    if cursor.value is None:  # role only: inside the trailing NULLs
        return and_(
            column.is_(None), user.id < row_id if descending else user.id > row_id
        )
    position = tuple_(literal(cursor.value, column.type), row_id)
    columns = tuple_(column, user.id)
    after = columns < position if descending else columns > position
    return or_(after, column.is_(None)) if cursor.sort_by == "role" else after


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


def page_statement(
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    query: UserQuery,
    now: datetime,
) -> Select[Any]:
    """The ``SELECT`` of a page, one row longer than ``query.limit`` (is there a next page?).

    A page at an ``offset`` selects the ids first (an index-only scan with the opt-in
    indexes) and then only its own rows.
    """
    user = models.user
    conditions = _conditions(models, settings, query, now)
    order = _order(models, query)
    if query.cursor is not None:
        conditions.append(_after(models, query.cursor))
    elif query.offset:
        ids = (
            select(user.id.label("id"))
            .where(*conditions)
            .order_by(*order)
            .limit(_inline(query.limit + 1))
            .offset(_inline(query.offset))
            .subquery("page_ids")
        )
        return (
            select(*user_columns(models))
            .join(ids, ids.c.id == user.id)
            .order_by(*order)
        )
    return (
        select(*user_columns(models))
        .where(*conditions)
        .order_by(*order)
        .limit(_inline(query.limit + 1))
    )


def _inline(number: int) -> Any:
    """``number`` written into the SQL, not bound: PostgreSQL then plans with the real value.

    A bound ``OFFSET $2`` lets asyncpg's prepared statement switch to a generic plan after five
    runs, which guesses the offset and chose a 30–40 ms plan for a 7 ms deep page.
    """
    return literal(number, Integer, literal_execute=True)


def count_statement(
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    query: UserQuery,
    now: datetime,
) -> Select[int]:
    """The ``SELECT count(*)`` of every match (the cursor and offset play no part)."""
    conditions = _conditions(models, settings, query, now, pattern_once=True)
    return select(func.count()).select_from(models.user).where(*conditions)


async def list_users(
    db: AsyncConnection | AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    query: UserQuery,
    now: datetime,
) -> UserPage:
    """One page of matching users, the number of matches in all and the next page's cursor.

    The page is read first, one row longer than asked to know whether another page follows.
    The count is a second query only when the page cannot tell it (there are more rows, a
    cursor hides how many came before, or an empty page past the end), so a search with few
    matches and the last page scan once.
    """
    page = page_statement(models, settings, query, now)
    rows = [user_snapshot(row) for row in await db.execute(page)]
    users, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = Cursor.after(users[-1], query).encode() if more else None
    if not more and query.cursor is None and (users or query.offset == 0):
        return UserPage(users, query.offset + len(users), next_cursor)
    count = count_statement(models, settings, query, now)
    total = (await db.execute(count)).scalar_one()
    return UserPage(users, int(total), next_cursor)


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
    await _admin_sessions.revoke_all(db, models, user_id, store)
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
