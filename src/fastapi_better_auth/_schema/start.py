"""What ``BetterAuth.start`` checks before the first request: the one entry the runtime imports.

A misconfiguration fails start with one :class:`ConfigurationError` naming the setting to
change, instead of a 500 on every request later:

- the connection (on an asyncpg engine the runtime made): TLS, credentials, a transaction
  pooler (:func:`~fastapi_better_auth._pgconnect.check_connection`);
- the schema: the tables and columns against the naming settings (:mod:`.diagnosis`), then
  the declared user fields against the ``user`` table's columns that same catalog read found.
  Only when that check did not run (off, another database kind, database down) are the
  user table's columns read on their own.

A database that is down, or not migrated yet, is only logged: requests say so (503) until it is.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from .._database_url import DatabaseURL
from .._errors import ConfigurationError, is_unavailable_sqlstate
from .._naming import SchemaNaming
from .._pgconnect import check_connection, connect_params, looks_pooled
from .._settings import BetterAuthSettings
from .._user_fields import UserFields
from .catalog import SUPPORTED_DIALECTS, driver_error, read_catalog
from .diagnosis import check_schema
from .report import CHECKED_MODELS, SchemaReport

__all__ = ["SchemaReport", "StartChecks"]

logger = logging.getLogger(__name__)

#: Errors that mean "the database cannot be reached now", not "the query is wrong".
_UNAVAILABLE = (OperationalError, PoolTimeoutError, OSError, ConnectionError)


def _is_unavailable(exc: BaseException) -> bool:
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    refused = is_unavailable_sqlstate(
        getattr(getattr(exc, "orig", None), "sqlstate", None)
    )
    return invalidated or refused or isinstance(exc, _UNAVAILABLE)


def _schema_check_skipped(exc: BaseException) -> None:
    logger.warning(
        "better_auth.schema_check_skipped",
        # the class only: no message, no DSN
        extra={
            "reason": "database_unavailable",
            "error": driver_error(exc).partition(":")[0],
        },
    )


@dataclass(frozen=True)
class StartChecks:
    """The checks of one runtime's start, and what they need; no I/O until one runs."""

    engine: AsyncEngine
    settings: BetterAuthSettings
    naming: SchemaNaming
    user_fields: UserFields
    database: DatabaseURL
    #: Whether Better-Auth keeps a session table (not when sessions live only in Redis).
    session_table: bool = True
    #: asyncpg's arguments beyond the URL when the runtime makes its own asyncpg connections
    #: (then the connection is checked), else None.
    connect_args: Mapping[str, Any] | None = field(default=None, repr=False)
    #: Whether a transaction pooler is declared (``database_pooler`` or ``pgbouncer=true``).
    pooled: bool = False

    async def run(self) -> SchemaReport | None:
        """The connection, then the schema with the declared user fields; the schema report.

        Raises:
            ConfigurationError: TLS, credentials, a pooler, the schema or a declared field
                needs a setting (or a migration); the message says which.
        """
        await self.connection()
        return await self.schema()

    async def connection(self) -> None:
        """Fail on a TLS, credential or pooler misconfiguration (not on a database down).

        Raises:
            ConfigurationError: a setting or URL parameter must change; the message says which.
        """
        if self.connect_args is None:
            return
        if looks_pooled(self.database) and not self.pooled:
            logger.warning(
                "better_auth.pooler_suspected: if this is a transaction pooler, set "
                "BETTER_AUTH_DATABASE_POOLER=transaction",
                extra={"database": self.database.redacted},
            )
        params = connect_params(self.engine.dialect, self.engine.url, self.connect_args)
        await check_connection(params, self.database, transaction_pooler=self.pooled)

    async def schema(self, *, user_fields: bool = True) -> SchemaReport | None:
        """The schema check (``schema_check``), then the declared user fields unless told not to.

        Returns:
            The report, or None when skipped: ``schema_check`` is off, the database is
            unreachable now, or it is neither PostgreSQL nor SQLite.

        Raises:
            ConfigurationError: the schema does not match the settings, its catalog cannot be
                read, or a declared user field has no column.
        """
        report = await self._report() if self.settings.schema_check else None
        if user_fields and self.user_fields.fields:
            found = report.user_columns if report is not None else frozenset()
            self._check_user_fields(found or await self._user_columns())
        return report

    async def _report(self) -> SchemaReport | None:
        if self.engine.dialect.name not in SUPPORTED_DIALECTS:
            logger.info("better_auth.schema_check_skipped", extra={"reason": "dialect"})
            return None
        try:
            connection = await self.engine.connect()
        except (DBAPIError, PoolTimeoutError, OSError) as exc:
            # down, or refusing us: not a schema question; requests will say so
            _schema_check_skipped(exc)
            return None
        try:
            report = await check_schema(
                connection,
                self.naming,
                # the hook of a future BETTER_AUTH_SQLITE_DATES setting
                sqlite_dates=getattr(self.settings, "sqlite_dates", None),
                # sessions only in Redis: Better-Auth's migration makes no session table
                models=CHECKED_MODELS if self.session_table else ("user", "account"),
            )
        except DBAPIError as exc:
            if _is_unavailable(exc):  # lost on the way
                _schema_check_skipped(exc)
                return None
            raise ConfigurationError(  # connected, but the catalog cannot be read
                f"the schema check cannot read the database catalog "
                f"({driver_error(exc)}): grant the role read access to it, "
                "or set BETTER_AUTH_SCHEMA_CHECK=false"
            ) from exc
        finally:
            await connection.close()
        if report.empty:
            # not a naming mismatch: Better-Auth may migrate after we start, and tests
            # start apps on an empty database with their dependencies overridden
            logger.warning(
                "better_auth.schema_not_migrated", extra={"detail": report.problems[0]}
            )
        elif not report.ok:
            raise report.error()
        return report

    async def _user_columns(self) -> frozenset[str] | None:
        """The user table's columns read on their own; None (logged) when they cannot be."""
        table = self.naming.table("user")
        columns = None
        error = "NoSuchTableError"
        try:
            async with self.engine.connect() as connection:
                catalog = await read_catalog(connection, [table])
            columns = catalog.table(table)
        except Exception as exc:  # database down, another dialect: start-up goes on
            error = type(exc).__name__
        if columns is None:  # no table yet: the first request tells
            logger.warning("better_auth.user_columns_unchecked", extra={"error": error})
            return None
        return frozenset(columns)

    def _check_user_fields(self, present: frozenset[str] | None) -> None:
        """Refuse a declared user field without a column (not a 500 per request).

        A missing table or an unreachable database (``present`` None) is left to the first
        request, as elsewhere at start.

        Raises:
            ConfigurationError: a declared field's column is missing from the user table.
        """
        if present is None:
            return
        naming, fields = self.naming, self.user_fields
        missing = [
            f"{field.name} (column {naming.column('user', field.name)!r})"
            for field in fields.fields
            if naming.column("user", field.name) not in present
        ]
        if missing:
            raise ConfigurationError(
                f"{fields.source}: the {naming.table('user')!r} table has no column for "
                f"{', '.join(missing)}; add the field to Better-Auth and migrate, or match "
                "the naming (BETTER_AUTH_COLUMN_CASE, BETTER_AUTH_FIELD_NAMES)"
            )
