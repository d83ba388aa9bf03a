"""Starting ``freshness="push"``: refuse a setup that cannot deliver, then run the listeners.

At :meth:`PushListeners.start` (the runtime's ``start()``): the database must be PostgreSQL,
the ``LISTEN`` connection direct, the triggers of ``migrate notify`` current (checked in the
catalog) and, with sessions in Redis, its key events on; each else is a
:class:`ConfigurationError` naming what to set. A database or Redis that is *down* fails
nothing: the listeners keep retrying, and until they connect the cache is not trusted (every
request reads the rows, as ``freshness="always"``).
"""

import asyncio
import logging
from typing import Any

from ._database_url import DatabaseURL
from ._errors import ConfigurationError
from ._naming import SchemaNaming
from ._push.postgres import PostgresListener, listen_connector
from ._push.redis import RedisListener, keyspace_status, listener_client
from ._push_cache import PushCache
from ._settings import BetterAuthSettings

logger = logging.getLogger(__name__)

#: Seconds ``start()`` waits for a listener to connect before going on untrusted.
CONNECT_WAIT = 1.0


def _listen_connect(
    settings: BetterAuthSettings, database: DatabaseURL, pooled: bool
) -> Any:
    """The connector of the ``LISTEN`` connection: the listen URL, else the main one."""
    if not database.is_asyncpg:
        raise ConfigurationError(
            "BETTER_AUTH_FRESHNESS=push needs PostgreSQL (LISTEN/NOTIFY), and "
            f"BETTER_AUTH_DATABASE_URL is {database.redacted}: set BETTER_AUTH_FRESHNESS "
            "to cached or always"
        )
    if settings.listen_database_url is not None:
        return listen_connector(settings.listen_database_url.get_secret_value())
    return listen_connector(
        settings.database_url.get_secret_value(), transaction_pooler=pooled
    )


def redis_listen_client(client: Any) -> Any:
    """A client of the same server as ``client`` for the subscription: no retries inside
    redis-py, so a lost subscription reaches the listener (see ``listener_client``)."""
    from redis.asyncio import ConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs, retry=Retry(NoBackoff(), 0))
    return Redis(
        connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )


class PushListeners:
    """The listeners of one runtime, feeding its authenticator's :class:`PushCache`.

    Args:
        cache: the authenticator's push cache.
        settings: the listen URL and the Redis key prefix.
        database: the main database URL, parsed.
        pooled: whether the main URL goes through a transaction pooler.
        naming: the tables whose triggers must be installed.
        sessions_in_redis: whether sessions live in Redis (``secondaryStorage``).
        sessions_in_table: whether there is a session table to watch (not with Redis
            sessions alone, where Better-Auth's migration creates none).
        redis: the client passed for them (else ``settings.redis_url`` is used).
    """

    def __init__(
        self,
        cache: PushCache,
        settings: BetterAuthSettings,
        database: DatabaseURL,
        *,
        pooled: bool,
        naming: SchemaNaming,
        sessions_in_redis: bool = False,
        sessions_in_table: bool = True,
        redis: Any = None,
    ) -> None:
        self._cache = cache
        self._settings = settings
        self._database = database
        self._pooled = pooled
        self._naming = naming
        self._redis = redis
        self._in_redis = sessions_in_redis
        self._models = ("user", "session") if sessions_in_table else ("user",)
        self._redis_client: Any = None
        self.listeners: list[PostgresListener | RedisListener] = []

    async def start(self) -> bool:
        """Check the setup and start listening; whether every listener is connected.

        Raises:
            ConfigurationError: not PostgreSQL, a pooled listen URL, the triggers missing or
                outdated, Redis without the key events push needs.
        """
        postgres = PostgresListener(
            _listen_connect(self._settings, self._database, self._pooled),
            self._cache.on_event,
        )
        reachable = await self._check_triggers(postgres)
        self.listeners = [postgres]
        if self._in_redis:
            self._redis_client = self._redis_listen_client()
            reachable = await self._check_keyspace(self._redis_client) and reachable
            kwargs = self._redis_client.connection_pool.connection_kwargs
            self.listeners.append(
                RedisListener(
                    self._redis_client,
                    self._cache.on_event,
                    db=int(kwargs.get("db", 0) or 0),
                    key_prefix=self._settings.redis_key_prefix,
                )
            )
        for listener in self.listeners:
            listener.on_trust = self._cache.refresh_trust
        self._cache.watch(self.listeners)
        wait = CONNECT_WAIT if reachable else 0.0
        results = [await listener.start(wait=wait) for listener in self.listeners]
        return all(results)

    def _redis_listen_client(self) -> Any:
        if self._redis is not None:
            return redis_listen_client(self._redis)
        url = self._settings.redis_url
        assert url is not None  # sessions live in Redis: a client or this URL  # noqa: S101
        return listener_client(url.get_secret_value())

    async def _check_triggers(self, listener: PostgresListener) -> bool:
        """Refuse missing triggers; whether the database answered (down: checked later by no one,
        the listener retries and the cache stays untrusted until it connects)."""
        import asyncpg  # type: ignore[import-untyped]  # an optional extra

        try:
            status = await listener.triggers(self._naming, self._models)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError,
                asyncpg.InterfaceError) as exc:  # fmt: skip
            logger.warning(
                "better_auth.push_triggers_unchecked",
                extra={"error": type(exc).__name__},
            )
            return False
        if not status.installed:
            raise ConfigurationError(
                "BETTER_AUTH_FRESHNESS=push needs the notify triggers: run python -m "
                f"fastapi_better_auth migrate notify ({'; '.join(status.problems)})"
            )
        return True

    async def _check_keyspace(self, client: Any) -> bool:
        """Refuse a Redis without the key events; whether it answered."""
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            await client.ping()
        except (ConnectionError, TimeoutError, OSError) as exc:
            logger.warning(
                "better_auth.push_keyspace_unchecked",
                extra={"error": type(exc).__name__},
            )
            return False
        problem = await keyspace_status(client)
        if problem is not None:
            raise ConfigurationError(
                "BETTER_AUTH_FRESHNESS=push with sessions in Redis (BETTER_AUTH_REDIS_URL) "
                f"needs its key events: {problem}"
            )
        return True

    async def stop(self) -> None:
        """Stop every listener and close the subscription's client."""
        for listener in self.listeners:
            await listener.stop()
        self.listeners = []
        self._cache.watch(())
        if self._redis_client is not None:
            client, self._redis_client = self._redis_client, None
            await client.aclose()
