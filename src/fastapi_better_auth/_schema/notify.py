"""Opt-in push-invalidation triggers (``migrate notify``): install, replace or drop them.

The triggers (:mod:`fastapi_better_auth._push.sql`) ``NOTIFY`` on every change of trust in
Better-Auth's ``user`` and ``session`` tables, under the configured naming. They are not part
of Better-Auth's schema, so ``migrate upgrade`` never creates them. PostgreSQL only: SQLite
has no ``LISTEN``/``NOTIFY``. Installing is idempotent (one transaction: functions replaced,
triggers recreated) and needs the right to create triggers on both tables (their owner);
dropping removes exactly the two functions and their triggers.
"""

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .._database_tls import VARIABLE
from .._errors import ConfigurationError
from .._naming import SchemaNaming
from .._push import sql as _sql


@dataclass
class NotifyReport:
    """What ``install_triggers`` or ``drop_triggers`` did, table by table."""

    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _require_postgres(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        raise ConfigurationError(
            f"{VARIABLE} names a {engine.dialect.name} database: push invalidation "
            "(migrate notify) needs PostgreSQL's LISTEN/NOTIFY; keep "
            "BETTER_AUTH_FRESHNESS at always or cached on this database"
        )


@contextlib.asynccontextmanager
async def _privileged(naming: SchemaNaming) -> AsyncIterator[None]:
    """Turn PostgreSQL's "permission denied" / "must be owner" into one clear error."""
    try:
        yield
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        reason = re.sub(r"^<class '[^']*'>: ", "", reason)  # SQLAlchemy 2.0's prefix
        if "permission denied" not in reason and "must be owner" not in reason:
            raise
        tables = " and ".join(naming.table(model) for model in _sql.MODELS)
        raise ConfigurationError(
            f"{reason}: the role of {VARIABLE} cannot change the triggers on {tables}; "
            "run migrate notify as the tables' owner (--database-url with that role)"
        ) from None


async def _require_tables(
    connection: AsyncConnection, naming: SchemaNaming
) -> tuple[str, ...]:
    """The models whose tables exist: the user's must (else a clear error instead of
    PostgreSQL's ``UndefinedTable``); the session's is absent when sessions live in Redis only."""
    models = []
    for model in _sql.MODELS:
        table = _sql.quote_ident(naming.table(model))
        found = await connection.execute(text("SELECT to_regclass(:t)"), {"t": table})
        if found.scalar() is not None:
            models.append(model)
        elif model == "user":
            raise ConfigurationError(
                f"table {naming.table(model)} not found: create Better-Auth's tables first "
                "(its migration or `migrate upgrade`), or set BETTER_AUTH_USE_PLURAL / "
                "BETTER_AUTH_MODEL_NAMES to the naming they use"
            )
    return tuple(models)


async def _status(
    connection: AsyncConnection,
    naming: SchemaNaming,
    models: tuple[str, ...] = _sql.MODELS,
) -> _sql.TriggerStatus:
    rows = (await connection.execute(text(_sql.catalog_query(naming)))).all()
    return _sql.trigger_status(naming, rows, models)


async def notify_status(
    engine: AsyncEngine, naming: SchemaNaming | None = None
) -> _sql.TriggerStatus:
    """Whether the current triggers are installed for ``naming`` (what the listener checks)."""
    _require_postgres(engine)
    naming = naming or SchemaNaming()
    async with engine.connect() as connection:
        return await _status(connection, naming)


async def install_triggers(
    engine: AsyncEngine, naming: SchemaNaming | None = None
) -> NotifyReport:
    """Install the triggers where missing or outdated; leave current ones untouched.

    Raises:
        ConfigurationError: the database is not PostgreSQL, the tables are missing, or the
            role may not create triggers on them.
    """
    _require_postgres(engine)
    naming, report = naming or SchemaNaming(), NotifyReport()
    async with _privileged(naming), engine.begin() as connection:
        models = await _require_tables(connection, naming)
        stale = (await _status(connection, naming, models)).stale
        if (
            stale
        ):  # one transaction: a failure leaves the previous triggers as they were
            for statement in _sql.create_statements(naming, models):
                await connection.exec_driver_sql(statement)
    for model in models:
        table = naming.table(model)
        (report.done if table in stale else report.unchanged).append(table)
    if stale:
        report.messages.append(
            f"channel {_sql.CHANNEL}: user and session changes of trust are notified"
        )
    return report


async def drop_triggers(
    engine: AsyncEngine, naming: SchemaNaming | None = None
) -> NotifyReport:
    """Drop the triggers and their functions where present.

    Raises:
        ConfigurationError: the database is not PostgreSQL.
    """
    _require_postgres(engine)
    naming, report = naming or SchemaNaming(), NotifyReport()
    async with _privileged(naming), engine.begin() as connection:
        present = (await _status(connection, naming)).present
        for statement in _sql.drop_statements(naming):
            await connection.exec_driver_sql(statement)
    for model in _sql.MODELS:
        table = naming.table(model)
        (report.done if table in present else report.unchanged).append(table)
    return report
