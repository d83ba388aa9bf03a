"""Reading users for the admin API: one page (search, filters, sort, cursor), or one user.

Costs at 100 000 users. Better-Auth's schema has indexes on ``id`` and ``email`` only:
``get`` uses the primary key; sorting by ``email`` walks ``user_email_key``; other sorts,
the search (``lower(…) LIKE lower('%…%')``) and the role/ban filters scan the table once for
the count and once for a top-N sort of the page. The queries are written so that the opt-in
indexes of :mod:`~fastapi_better_auth._schema.indexes` (``migrate indexes``) serve them:
``ORDER BY <sort>, id`` walks ``(<sort>, id)`` and stops after the page, a keyset cursor is
a row comparison ``(<sort>, id) > (…)`` on the same index, an ``offset`` page reads only ids
from that index (index-only) before fetching its rows, and the search's expressions are
those of the trigram indexes. The list runs on :meth:`BetterAuth.read` (autocommit: no ping,
no ``BEGIN``/``ROLLBACK``). The count stays exact, a ``count(*)`` that runs only when the
page cannot tell the total. Only mapped attributes are used, so every naming works.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Text,
    and_,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .._errors import UserNotFoundError
from .._policy import banned_now, has_role
from .._schemas import AuthenticatedUser
from .._settings import BetterAuthSettings
from .._snapshots import user_columns, user_snapshot
from .._store import rows_of, user_by_id
from ..models import BetterAuthModels
from .cursor import Cursor
from .schemas import SortDirection, UserSortField


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


def escape_like(text: str) -> str:
    """``text`` as a literal inside a ``LIKE … ESCAPE '/'`` pattern."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


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
