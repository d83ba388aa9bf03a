"""The database below everything that reads it: engine, sessions, and the per-request row reader.

:meth:`Database.read_row` is what the per-request reads (``_store``'s prebuilt selects) run on:
asyncpg's own pool on PostgreSQL (``_direct``), else a pooled connection in autocommit without
the pre-ping round trip. Every other use gets an ORM session (:meth:`Database.session`) on a pool
that pings each checkout. An unreachable database is :class:`DatabaseUnavailableError` (503)
here, never a driver error further up.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Select, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ._database_url import DatabaseURL
from ._direct import DirectReads
from ._errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    is_unavailable_sqlstate,
)
from ._settings import BetterAuthSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Errors that mean "the database cannot be reached now", not "the query is wrong".
_UNAVAILABLE = (OperationalError, PoolTimeoutError, OSError, ConnectionError)

#: Set while :meth:`Database.read` checks a connection out: it retries instead of pinging first.
_SKIP_PING: ContextVar[bool] = ContextVar("better_auth_skip_ping", default=False)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached now (not that a query is wrong)."""
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    refused = is_unavailable_sqlstate(
        getattr(getattr(exc, "orig", None), "sqlstate", None)
    )
    return invalidated or refused or isinstance(exc, _UNAVAILABLE)


def _ping_on_checkout(engine: Engine) -> None:
    """Pre-ping every checkout except :meth:`Database.read`'s (SQLAlchemy's pessimistic recipe).

    A dead connection raises ``DisconnectionError``, on which the pool retries with a fresh one,
    as ``pool_pre_ping`` does; the hot read path skips the round trip and retries once instead.
    """
    dialect = engine.dialect

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if _SKIP_PING.get():
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError() from exc
            raise

    event.listen(engine, "checkout", checkout)


def create_engine(
    settings: BetterAuthSettings, database: DatabaseURL, *, pooled: bool
) -> tuple[AsyncEngine, dict[str, Any]]:
    """The engine of ``database_url`` and asyncpg's arguments beyond the URL (for direct reads too).

    libpq's parameters become asyncpg's arguments. Behind a transaction pooler no prepared
    statement is cached: asyncpg then uses unnamed statements, which PgBouncer 1.18 passes
    through (named ones stay on one server connection).

    Raises:
        ConfigurationError: the driver's optional extra is not installed.
    """
    url = database.sqlalchemy_url
    connect_args = database.connect_args(transaction_pooler=pooled)
    if database.is_asyncpg:
        # Prisma and Drizzle make `timestamp` columns without time zone holding UTC wall
        # time; PostgreSQL converts the `timestamptz` values bound here (a ban's end, "now")
        # in the session's time zone: UTC, sent in the startup packet (no round trip, and a
        # parameter PgBouncer tracks), for the engine and the direct reads alike
        server_settings = connect_args.setdefault("server_settings", {})
        server_settings.setdefault("timezone", "UTC")
    # echo shows the SQL only: bound values include session tokens, never logged
    options: dict[str, object] = {
        "echo": settings.database_echo,
        "hide_parameters": True,
    }
    if url.startswith("postgresql"):
        options.update(
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=5,
        )
    if connect_args:
        options["connect_args"] = connect_args
    try:
        engine = create_async_engine(url, **options)
    except ModuleNotFoundError as exc:  # the driver's optional extra is not installed
        extra = {"asyncpg": "postgres", "aiosqlite": "sqlite"}.get(exc.name or "")
        if extra is None:
            raise
        raise ConfigurationError(
            f"BETTER_AUTH_DATABASE_URL is a {extra} database but the {exc.name} driver is "
            f'not installed: pip install "fastapi-better-auth-kit[{extra}]"'
        ) from None
    _ping_on_checkout(engine.sync_engine)
    return engine, connect_args


class Database:
    """An engine with its session factory and its fastest row reader.

    Args:
        engine: the engine; disposed by :meth:`close` only when ``owns_engine``.
        owns_engine: whether this library created ``engine``.
        direct_reads: read rows through asyncpg's own pool (only on an asyncpg engine the
            library created: one passed in may carry connect arguments only its pool knows).
        pool_size: the most connections the direct reads open.
        connect_args: the engine's connect arguments (TLS, server settings, caches).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owns_engine: bool,
        direct_reads: bool = False,
        pool_size: int = 5,
        connect_args: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.owns_engine = owns_engine
        #: The same pool in autocommit, for single-statement reads: no BEGIN/ROLLBACK round trips.
        self._read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessionmaker = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False
        )
        self.direct = (
            DirectReads(engine.dialect, engine.url, pool_size, connect_args)
            if owns_engine and direct_reads and DirectReads.supports(engine.dialect)
            else None
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A database session; a connection failure becomes :class:`DatabaseUnavailableError`.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        try:
            async with self.sessionmaker() as session:
                yield session
        except DatabaseUnavailableError:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                logger.warning(
                    "better_auth.database_unavailable",
                    extra={"error": type(exc).__name__},
                )
                raise DatabaseUnavailableError() from exc
            raise

    async def read(self, query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run a read-only ``query`` on a pooled connection, once more if that connection was dead.

        No ORM session, no pre-ping round trip.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        skip_ping = _SKIP_PING.set(True)
        try:
            return await self._read(query)
        finally:
            _SKIP_PING.reset(skip_ping)

    async def _read(self, query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        for attempt in (1, 2):
            try:
                async with self._read_engine.connect() as connection:
                    return await query(connection)
            except DBAPIError as exc:
                if attempt == 1 and exc.connection_invalidated:
                    continue  # a connection the server closed: the pool already dropped it
                if is_unavailable(exc):
                    raise DatabaseUnavailableError() from exc
                raise
            except (PoolTimeoutError, OSError, ConnectionError) as exc:
                raise DatabaseUnavailableError() from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def read_row(self, statement: Select[Any], params: dict[str, Any]) -> Any:
        """The first row of a prebuilt select (columns as attributes), or None.

        Through asyncpg's own pool when direct reads are on, else through :meth:`read`.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        if self.direct is not None:
            return await self.direct.fetch_row(statement, params)

        async def first(db: AsyncConnection) -> Any:
            return (await db.execute(statement, params)).first()

        return await self.read(first)

    async def close(self) -> None:
        """Close the direct reads' pool, and the engine if this library created it."""
        if self.direct is not None:
            await self.direct.close()
        if self.owns_engine:
            await self.engine.dispose()
