"""The PostgreSQL listener: ``LISTEN`` on a dedicated asyncpg connection, events to a callback.

A ``LISTEN`` lives on one server connection, so the listen connection must be direct: through
a *transaction* pooler (PgBouncer ``pool_mode=transaction``, Supabase's port 6543, Neon's
``-pooler`` hosts) the next transaction may run on a server connection that never listened, and
notifications are lost without an error. :func:`connector` refuses such a URL at start and
names :data:`LISTEN_URL_SETTING`; the health check also asks the server whether *this*
connection still listens (``pg_listening_channels()``), which catches a pooler nothing named.

Bounds: a termination by the server (``pg_terminate_backend``, a restart) reaches asyncpg's
termination callback as soon as the socket closes, and ``trustworthy`` turns False then; a
connection that dies silently (a network partition) fails the next health check, every
:data:`~._state.HEALTH_INTERVAL` seconds with :data:`~._state.HEALTH_TIMEOUT` to answer.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import URL, make_url

from .._database_url import parse_database_url
from .._errors import ConfigurationError
from .._naming import SchemaNaming
from .._pgconnect import POOLER_SETTING, connect_params, looks_pooled, within
from . import sql as _sql
from ._state import HEALTH_INTERVAL, HEALTH_TIMEOUT, ListenerState
from .events import EventCallback, Reset, parse_payload

logger = logging.getLogger("fastapi_better_auth._push")

#: The setting the wiring should add: a direct URL for ``LISTEN`` when the main one is pooled.
LISTEN_URL_SETTING = "BETTER_AUTH_LISTEN_DATABASE_URL"
Connect = Callable[[], Awaitable[Any]]


def connector(dialect: Dialect, url: URL, connect_args: Mapping[str, Any]) -> Connect:
    """A function that opens an asyncpg connection as the engine would (TLS, options, timeout)."""
    args, options, cache_size = connect_params(dialect, url, connect_args)

    async def connect() -> Any:
        import asyncpg  # type: ignore[import-untyped]  # an optional extra

        return await asyncpg.connect(*args, **options, statement_cache_size=cache_size)

    return connect


def listen_connector(url: str, *, transaction_pooler: bool = False) -> Connect:
    """:func:`connector` for a database URL as users write it, refused if it is pooled.

    ``transaction_pooler`` is the caller's pooler setting (``BETTER_AUTH_DATABASE_POOLER``).

    Raises:
        ConfigurationError: the URL is not PostgreSQL or goes through a transaction pooler.
    """
    database = parse_database_url(url)
    if not database.is_asyncpg:
        raise ConfigurationError(
            f"{LISTEN_URL_SETTING} ({database.redacted}): push invalidation needs "
            "PostgreSQL (LISTEN/NOTIFY)"
        )
    if transaction_pooler or database.transaction_pooler or looks_pooled(database):
        raise ConfigurationError(
            f"{LISTEN_URL_SETTING} ({database.redacted}) goes through a transaction pooler "
            f"({POOLER_SETTING}, pgbouncer=true, port 6543 or a -pooler host), which loses "
            f"LISTEN: set {LISTEN_URL_SETTING} to a direct connection (or a session pooler)"
        )
    return connector(
        asyncpg_dialect(),  # type: ignore[no-untyped-call]
        make_url(database.sqlalchemy_url),
        database.connect_args(),
    )


class PostgresListener(ListenerState):
    """``LISTEN`` on :data:`~._sql.CHANNEL`; reconnects with backoff, distrusts while down."""

    def __init__(
        self,
        connect: Connect,
        on_event: EventCallback,
        *,
        channel: str = _sql.CHANNEL,
        health_interval: float = HEALTH_INTERVAL,
        health_timeout: float = HEALTH_TIMEOUT,
    ) -> None:
        super().__init__(on_event)
        self._connect = connect
        self._channel = channel
        self._interval = health_interval
        self._timeout = health_timeout

    async def start(self, *, wait: float = HEALTH_TIMEOUT) -> bool:
        """Start listening in the background; whether it is trustworthy within ``wait`` s."""
        self.start_loop(self._session)
        deadline = time.monotonic() + wait
        while not self.trustworthy and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.trustworthy

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        await self.stop_loop()

    async def triggers(
        self, naming: SchemaNaming, models: Sequence[str] = _sql.MODELS
    ) -> _sql.TriggerStatus:
        """Whether ``migrate notify`` installed the current triggers for ``naming`` (on
        ``models``' tables: the user's only when sessions live in Redis only).

        One catalog query on a short connection of its own.

        Raises:
            OSError, asyncpg.PostgresError: the database cannot be reached.
        """
        connection = await asyncio.wait_for(self._connect(), self._timeout * 5)
        try:
            return await _sql.read_trigger_status(connection, naming, models)
        finally:
            connection.terminate()

    def _notified(
        self, _connection: Any, _pid: int, _channel: str, payload: str
    ) -> None:
        event = parse_payload(payload)
        if isinstance(event, Reset) and event.reason != "table truncated":
            # the payload is ours by design, but anyone may NOTIFY: its text stays out of logs
            logger.warning(
                "better_auth.push_bad_payload",
                extra={"detail": event.reason, "size": len(payload)},
            )
        self.emit(event)

    async def _session(self) -> None:
        """One connection's life: connect, listen, announce Reset, check health until lost."""
        import asyncpg

        failures = (OSError, asyncio.TimeoutError, asyncpg.PostgresError,
                    asyncpg.InterfaceError)  # fmt: skip
        try:
            connection = await asyncio.wait_for(self._connect(), self._timeout * 5)
        except failures as exc:
            logger.warning(
                "better_auth.push_connect_failed", extra={"error": type(exc).__name__}
            )
            return
        lost = asyncio.Event()

        def terminated(_connection: Any) -> None:
            self.distrust("listen connection terminated")
            lost.set()

        connection.add_termination_listener(terminated)
        try:
            await connection.add_listener(self._channel, self._notified)
            self.trust()
            while not lost.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(lost.wait(), self._interval)
                    break
                # bounded without cancelling: a cancel request can kill a PgBouncer 1.18
                done, listening = await within(
                    self._healthy(connection), self._timeout, connection
                )
                if not done:
                    self.distrust("health check timed out")
                    break
                if not listening:
                    detail = "not listening: a transaction pooler in between?"
                    logger.warning(
                        "better_auth.push_not_listening", extra={"detail": detail}
                    )
                    break
        except failures as exc:
            self.distrust(f"health check failed ({type(exc).__name__})")
        finally:
            self.distrust("listen connection closed")
            connection.terminate()

    async def _healthy(self, connection: Any) -> bool:
        """Whether this server connection still listens; every notification committed
        before the query started has been delivered when it answers."""
        query = "SELECT $1::text IN (SELECT pg_catalog.pg_listening_channels())"
        listening = bool(await connection.fetchval(query, self._channel))
        if listening:
            self.confirmed_at = time.monotonic()
        return listening
