"""The per-request reads on PostgreSQL through asyncpg's own pool: one ``fetchrow`` each.

Under concurrency SQLAlchemy's async pool (greenlet bridge, per-checkout bookkeeping, result
processing) costs two to three times the query itself; these reads are on every authenticated
request, so they skip it. The statements stay the Core selects of ``_store``, compiled once by
the engine's own dialect, and the connection parameters are the engine's, so what is read and
where it is read from are decided in one place. Everything else keeps using SQLAlchemy.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import URL

from ._errors import DatabaseUnavailableError, is_unavailable_sqlstate
from ._pgconnect import connect_params

logger = logging.getLogger(__name__)

#: A statement's parameter: its name and the bind processor of its type (None: sent as is).
_Param = tuple[str, Callable[[Any], Any] | None]
#: How long a read waits for a free connection before the database counts as unavailable.
ACQUIRE_TIMEOUT = 5.0


@lru_cache(maxsize=1)
def _row_class() -> type:
    import asyncpg  # type: ignore[import-untyped]  # an optional extra: only when used

    class Row(asyncpg.Record):  # type: ignore[misc]
        """A record whose columns read as attributes too, as SQLAlchemy rows do."""

        __slots__ = ()

        def __getattr__(self, name: str) -> Any:
            try:
                return self[name]
            except KeyError:
                raise AttributeError(name) from None

    return Row


@lru_cache(maxsize=1)
def _broken_connection_errors() -> tuple[type[BaseException], ...]:
    """Errors of a connection the server closed or that was cut mid-message: replace it, retry."""
    import asyncpg

    return (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
    )


async def _keep_session(_connection: Any) -> None:
    """A released connection needs no reset query: these reads set, lock, listen and open nothing.

    asyncpg's default reset (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``) is a
    second round trip per read; with ``reset=`` given, asyncpg still rolls back a transaction
    left open and drops listeners before calling this.
    """


#: PostgreSQL's epoch: ``timestamp`` values travel as microseconds since then.
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _utc_timestamp(value: tuple[int]) -> datetime:
    """A ``timestamp`` (without time zone) as an aware UTC datetime.

    Prisma and Drizzle create such columns and write UTC into them; asyncpg would hand back
    naive datetimes that cannot be compared with the aware ones used everywhere else.
    """
    try:
        return _PG_EPOCH + timedelta(microseconds=value[0])
    except OverflowError:  # 'infinity' / '-infinity'
        return (datetime.max if value[0] > 0 else datetime.min).replace(
            tzinfo=timezone.utc
        )


def _timestamp_of(value: datetime) -> tuple[int]:
    """The UTC wall time of ``value`` (naive means UTC), as ``timestamp`` stores it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return ((value - _PG_EPOCH) // timedelta(microseconds=1),)


async def _text_uuids(connection: Any) -> None:
    # ids are strings everywhere in the library, as SQLAlchemy's Uuid(as_uuid=False) gives them;
    # dates are aware UTC datetimes, also from timestamp columns without time zone
    await connection.set_type_codec(
        "uuid", encoder=str, decoder=str, schema="pg_catalog", format="text"
    )
    await connection.set_type_codec(
        "timestamp", encoder=_timestamp_of, decoder=_utc_timestamp,
        schema="pg_catalog", format="tuple",
    )  # fmt: skip


class DirectReads:
    """A small asyncpg pool running prebuilt selects; built only for an asyncpg engine.

    Args:
        dialect: the engine's dialect (compiles the statements exactly as the engine would).
        url: the engine's URL (the same server, credentials and options).
        max_size: the most connections this pool opens (connections open on first use).
        connect_args: the engine's ``connect_args`` (TLS, server settings, statement caches).
    """

    def __init__(
        self,
        dialect: Dialect,
        url: URL,
        max_size: int,
        connect_args: Mapping[str, Any] | None = None,
    ) -> None:
        self._dialect = dialect
        args, options, cache_size = connect_params(dialect, url, connect_args or {})
        self._connect: tuple[list[Any], dict[str, Any]] = (args, options)
        self._statement_cache_size = cache_size
        self._max_size = max_size
        self._pool: Any = None
        self._creating = asyncio.Lock()
        self._sql: dict[Select[Any], tuple[str, tuple[_Param, ...]]] = {}

    @staticmethod
    def supports(dialect: Dialect) -> bool:
        """Whether ``dialect`` talks to PostgreSQL through asyncpg."""
        return dialect.name == "postgresql" and dialect.driver == "asyncpg"

    def _compiled(self, statement: Select[Any]) -> tuple[str, tuple[_Param, ...]]:
        found = self._sql.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self._dialect)
            # each parameter with its type's bind processing (a serial id's str -> int),
            # which SQLAlchemy would apply and asyncpg does not
            params = tuple(
                (name, compiled.binds[name].type.bind_processor(self._dialect))
                for name in compiled.positiontup or ()
            )
            found = (str(compiled), params)
            self._sql[statement] = found
        return found

    async def _get_pool(self) -> Any:
        if self._pool is None:
            async with self._creating:
                if self._pool is None:
                    import asyncpg

                    args, options = self._connect
                    self._pool = await asyncpg.create_pool(
                        *args, **options, min_size=0, max_size=self._max_size,
                        statement_cache_size=self._statement_cache_size,
                        record_class=_row_class(), init=_text_uuids,
                        reset=_keep_session,
                    )  # fmt: skip
        return self._pool

    async def fetch_row(self, statement: Select[Any], params: dict[str, Any]) -> Any:
        """The first row of ``statement`` (columns as attributes), or None.

        A connection the server closed is replaced and the read retried once.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        import asyncpg

        sql, names = self._compiled(statement)
        values = [
            params[name] if process is None else process(params[name])
            for name, process in names
        ]
        for attempt in (1, 2):
            try:
                pool = await self._get_pool()
                async with pool.acquire(timeout=ACQUIRE_TIMEOUT) as connection:
                    return await connection.fetchrow(sql, *values)
            except _broken_connection_errors() as exc:
                if self._pool is not None:
                    await (
                        self._pool.expire_connections()
                    )  # the others are likely dead too
                if attempt == 1:
                    continue
                raise DatabaseUnavailableError() from exc
            except asyncpg.PostgresError as exc:
                if is_unavailable_sqlstate(getattr(exc, "sqlstate", None)):
                    raise DatabaseUnavailableError() from exc
                raise
            except (OSError, asyncio.TimeoutError) as exc:
                raise DatabaseUnavailableError() from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def warm(self) -> bool:
        """Open one connection ahead of the first request; False (logged) when it cannot."""
        try:
            pool = await self._get_pool()
            async with pool.acquire(timeout=ACQUIRE_TIMEOUT) as connection:
                await connection.fetchval("SELECT 1")
        except Exception as exc:  # start-up never fails on the database
            logger.warning(
                "better_auth.database_unavailable", extra={"error": type(exc).__name__}
            )
            return False
        return True

    async def close(self) -> None:
        """Close the pool's connections (waits for reads in flight)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
