"""What the admin API shares: the audit trail, role and ban predicates in SQL, the admin lock.

Framework-free (no FastAPI), through mapped attributes only, so it runs from a worker or a CLI
and under every naming. ``_admin_users`` and ``_admin_sessions`` build on it.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Text,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ._errors import (
    BetterAuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from ._settings import BetterAuthSettings
from .models import BetterAuthModels

#: Admin actions go to this logger, one record each, with ``actor``, ``target``, ``action``
#: and ``outcome`` in ``extra``; never a token or a secret.
audit_logger = logging.getLogger("fastapi_better_auth.audit")

_DENIED = (PermissionDeniedError, NotFoundError, InvalidRequestError, ConflictError)


def audit(
    action: str, actor: str | None, target: str | None, outcome: str, **extra: Any
) -> None:
    """Log one audit event (``outcome`` is ``success``, ``denied`` or ``error``)."""
    level = logging.INFO if outcome == "success" else logging.WARNING
    audit_logger.log(
        level,
        "better_auth.audit",
        extra={
            "action": action,
            "actor": actor,
            "target": target,
            "outcome": outcome,
            **extra,
        },
    )


@contextmanager
def audited(
    action: str, actor: str | None, target: str | None, **context: Any
) -> Iterator[None]:
    """Log the block's outcome: ``success``, ``denied`` (a refusal we chose) or ``error``.

    ``context`` (the request id, the impersonating admin) goes on every line.
    """
    try:
        yield
    except _DENIED as error:
        audit(action, actor, target, "denied", reason=error.code.value, **context)
        raise
    except BetterAuthError as error:
        audit(action, actor, target, "error", reason=error.code.value, **context)
        raise
    except Exception as error:  # logged and re-raised: a bug stays a 500
        audit(action, actor, target, "error", reason=type(error).__name__, **context)
        raise
    audit(action, actor, target, "success", **context)


def escape_like(text: str) -> str:
    """``text`` as a literal inside a ``LIKE … ESCAPE '/'`` pattern."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


class contains_text(FunctionElement[bool]):
    """``haystack`` contains ``needle``, byte for byte: case-sensitive on every database.

    Not ``LIKE``: SQLite's is case-insensitive for ASCII, and Better-Auth compares roles exactly.
    """

    type = Boolean()
    inherit_cache = True


@compiles(contains_text)
def _contains_text(element: contains_text, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"


@compiles(contains_text, "sqlite")
def _contains_text_sqlite(
    element: contains_text, compiler: SQLCompiler, **kw: Any
) -> str:
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


def has_role(
    models: BetterAuthModels, role: str, default_role: str
) -> ColumnElement[bool]:
    """Rows whose comma-joined ``role`` holds ``role`` exactly (an empty column counts as ``default_role``).

    Better-Auth's rule, :func:`~fastapi_better_auth._schemas.parse_roles`: split on ``,``,
    untrimmed, case-sensitive.
    """
    column = models.user.role
    padded = literal(",", Text) + column + literal(",", Text)
    clause: ColumnElement[bool] = contains_text(padded, f",{role},")
    if role == default_role:
        clause = or_(clause, column.is_(None), column == "")
    return clause


def banned_now(models: BetterAuthModels, now: datetime) -> ColumnElement[bool]:
    """Rows banned at ``now``: ``banned`` and no ``banExpires`` or one still ahead (never NULL)."""
    user = models.user
    return and_(
        user.banned.is_(true()),
        or_(user.ban_expires.is_(None), user.ban_expires > now),
    )


def is_admin_clause(
    models: BetterAuthModels, settings: BetterAuthSettings
) -> ColumnElement[bool]:
    """Rows that are admins as ``require_admin`` decides: an admin role or an admin user id."""
    clauses = [
        has_role(models, role, settings.default_role)
        for role in sorted(settings.admin_roles)
    ]
    ids = sorted(i for i in settings.admin_user_ids if models.naming.valid_id(i))
    if ids:
        clauses.append(models.user.id.in_(ids))
    return or_(false(), *clauses)


async def lock_active_admins(
    db: AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    now: datetime,
) -> set[str]:
    """The ids of admins who are not banned, locked until the transaction ends.

    On PostgreSQL ``SELECT … FOR UPDATE``, in id order so that concurrent callers queue
    instead of deadlocking: of two transactions demoting the last two admins, the second
    re-reads after the first commits and sees one admin left. SQLite has no row locks and
    begins transactions deferred, so both would read two admins first: there a write that
    changes nothing takes the database's write lock before the read, and the second caller
    waits (busy timeout) until the first commits.
    """
    user = models.user
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(
            update(user).where(false()).values(id=user.id),
            execution_options={"synchronize_session": False},
        )
    query = (
        select(user.id)
        .where(is_admin_clause(models, settings), not_(banned_now(models, now)))
        .order_by(user.id)
        .with_for_update()
    )
    return set((await db.scalars(query)).all())


async def count_admins(
    db: AsyncSession,
    models: BetterAuthModels,
    settings: BetterAuthSettings,
    now: datetime,
) -> int:
    """How many admins are not banned at ``now`` (no lock)."""
    query = (
        select(func.count())
        .select_from(models.user)
        .where(is_admin_clause(models, settings), not_(banned_now(models, now)))
    )
    return int((await db.execute(query)).scalar_one())


def ensure_admin_remains(admins: set[str], target_id: str) -> None:
    """Refuse a change that leaves no active admin (``admins`` from :func:`lock_active_admins`).

    Raises:
        ConflictError: ``target_id`` is the last admin.
    """
    if target_id in admins and not admins - {target_id}:
        raise ConflictError("This is the last admin; make another admin first.")
