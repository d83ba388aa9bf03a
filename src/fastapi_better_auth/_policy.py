"""Better-Auth's admin and ban rules, each in Python and in SQL side by side, in one place.

The guards (``require_admin``, ``require_role``, the ban check of every credential), the admin
API's filters and its last-admin guard all read these, so a rule cannot drift between them. Each
mirrors Better-Auth 1.7.25's admin plugin: roles are ``role.split(",")`` (untrimmed,
case-sensitive), an empty column is the ``defaultRole``, a ban holds until ``banExpires``.
Framework-free: usable from a worker or a CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

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

from ._errors import ConflictError, RoleRequiredError

if TYPE_CHECKING:  # _schemas reads parse_roles from here
    from ._schemas import AuthenticatedUser
    from ._settings import BetterAuthSettings
    from .models import BetterAuthModels

# --- Roles and bans of one user -----------------------------------------------------


def parse_roles(role: str | None) -> frozenset[str]:
    """Split Better-Auth's comma-joined ``role`` column exactly as its admin plugin does.

    ``role.split(",")``: no trimming, case-sensitive, so ``"user, admin"`` holds ``" admin"``,
    which is no admin to Better-Auth and must be none here (empty: no roles, the default applies).
    """
    if not role:
        return frozenset()
    return frozenset(role.split(","))


def parse_role_list(role: str | Sequence[str] | None) -> tuple[str, ...]:
    """Split a ``member.role`` exactly as Better-Auth's organization plugin does (``parseRoleList``).

    Unlike :func:`parse_roles` (the admin plugin's exact ``split(",")``), each role is trimmed
    and empty ones dropped, so ``"admin, member"`` holds ``"member"`` here: better-auth 1.7.25
    ``dist/plugins/organization/roles.mjs`` lines 99-101. Order kept (a list, as theirs).
    """
    if not role:
        return ()
    parts = [role] if isinstance(role, str) else list(role)
    names = (name.strip(JS_WHITESPACE) for part in parts for name in part.split(","))
    return tuple(name for name in names if name)


#: What JavaScript's ``String.prototype.trim`` removes (WhiteSpace and LineTerminator): not
#: Python's ``str.strip()`` set, which also strips U+001C-U+001F and U+0085 but not U+FEFF.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def join_roles(roles: list[str] | tuple[str, ...]) -> str:
    """Join roles as Better-Auth stores them: comma-separated, no spaces, first occurrence kept."""
    return ",".join(dict.fromkeys(role.strip() for role in roles if role.strip()))


def effective_roles(user: AuthenticatedUser, default_role: str) -> frozenset[str]:
    """The user's roles, Better-Auth's ``defaultRole`` when the column is empty."""
    return user.roles or frozenset({default_role})


def is_admin(user: AuthenticatedUser, settings: BetterAuthSettings) -> bool:
    """Admin as Better-Auth's admin plugin decides: listed in ``adminUserIds`` or holding an admin role."""
    return user.id in settings.admin_user_ids or bool(
        effective_roles(user, settings.default_role) & settings.admin_roles
    )


def check_admin(user: AuthenticatedUser, settings: BetterAuthSettings) -> None:
    """Refuse a user who is not an admin.

    Raises:
        RoleRequiredError: the user is not an admin.
    """
    if not is_admin(user, settings):
        raise RoleRequiredError("An admin role is required.")


def is_banned(user: AuthenticatedUser, now: datetime | None = None) -> bool:
    """Better-Auth's rule: banned, unless ``banExpires`` has passed (it then unbans lazily)."""
    if not user.banned:
        return False
    return user.ban_expires is None or user.ban_expires > (
        now or datetime.now(timezone.utc)
    )


# --- The same rules in SQL, and the last-admin guard --------------------------------


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

    Better-Auth's rule, :func:`parse_roles`: split on ``,``,
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
