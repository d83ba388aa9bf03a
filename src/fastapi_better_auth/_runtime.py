"""``BetterAuth``: the one object that owns the engine, the session factory, the models and the verifier.

Built by the router's lifespan (or by you, to share your own engine) and disposed on
shutdown; it does no I/O when created, so importing or constructing it never connects.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from typing_extensions import Self

from . import _store
from ._database import Database, create_engine
from ._database_url import parse_database_url
from ._direct import DirectReads
from ._identity import Authenticator
from ._jwks import JWKSVerifier
from ._push_start import PushListeners
from ._reads import session_store
from ._schema.start import SchemaReport, StartChecks
from ._schemas import AuthenticatedUser
from ._secondary import redis_only
from ._settings import BetterAuthSettings
from ._user_fields import UserFields
from .models import BetterAuthModels, get_models

logger = logging.getLogger(__name__)
T = TypeVar("T")


class BetterAuth:
    """The library's state for one app: settings, database engine, models and JWKS verifier.

    Args:
        settings: what to trust and where the database is; read from the environment if omitted.
        engine: an engine of yours to share; it is not disposed by :meth:`close`.
        verifier: a JWKS verifier of yours (for example with your own HTTP client).
        user_model: your subclass of :class:`AuthenticatedUser` whose extra fields are
            Better-Auth user columns (``additionalFields``, plugin columns): every guard then
            returns an instance of it (see the user fields guide).
        secondary_storage: a ``redis.asyncio.Redis`` of yours holding Better-Auth's
            ``secondaryStorage`` (instead of ``BETTER_AUTH_REDIS_URL``); not closed by :meth:`close`.

    Raises:
        ConfigurationError: ``user_model`` is invalid, or given together with
            ``BETTER_AUTH_USER_FIELDS``; ``BETTER_AUTH_REDIS_URL`` is set without the
            ``[redis]`` extra, or together with ``secondary_storage``.
    """

    def __init__(
        self,
        settings: BetterAuthSettings | None = None,
        *,
        engine: AsyncEngine | None = None,
        verifier: JWKSVerifier | None = None,
        user_model: type[AuthenticatedUser] | None = None,
        secondary_storage: Any = None,
    ) -> None:
        self.settings = settings if settings is not None else BetterAuthSettings.load()
        self.models: BetterAuthModels = get_models(self.settings.naming)
        self.user_fields = UserFields.declared(self.settings.user_fields, user_model)
        #: Better-Auth's sessions in Redis (``secondaryStorage``), or None: the session table only.
        self.session_store = session_store(self.settings, secondary_storage)
        self._secondary_storage = secondary_storage
        #: ``freshness="push"``: the listeners, from :meth:`start` to :meth:`close`.
        self._push: PushListeners | None = None
        self._owns_engine = engine is None
        self._database = parse_database_url(
            self.settings.database_url.get_secret_value()
        )
        self._pooled = (
            self.settings.database_pooler == "transaction"
            or self._database.transaction_pooler
        )
        #: asyncpg's arguments beyond the URL (TLS, server settings, caches): engine and direct reads.
        self._connect_args: dict[str, Any] = {}
        if engine is None:
            engine, self._connect_args = create_engine(
                self.settings, self._database, pooled=self._pooled
            )
        #: Engine, sessions and the per-request row reader (asyncpg's own pool when it can).
        self._db = Database(
            engine,
            owns_engine=self._owns_engine,
            direct_reads=self.settings.database_direct_reads,
            pool_size=self.settings.database_pool_size,
            connect_args=self._connect_args,
        )
        self.engine: AsyncEngine = engine
        self.sessionmaker = self._db.sessionmaker
        self.verifier = (
            verifier if verifier is not None else JWKSVerifier(self.settings)
        )
        # the request path, wired top to bottom: authenticator -> verifier | reads -> database
        self.authenticator = Authenticator(
            self.settings,
            self.verifier,
            self._db.read_row,
            self.models,
            self.user_fields,
            self.session_store,
        )

    @property
    def _direct(self) -> DirectReads | None:
        """The direct reads' asyncpg pool, when the per-request reads use one."""
        return self._db.direct

    async def start(self) -> None:
        """Check the schema, prefetch the signing keys; never fails because Better-Auth or the database is down.

        Until keys load, JWT requests get 503 ``JWKS_UNAVAILABLE`` with ``Retry-After``.

        Raises:
            ConfigurationError: the database refuses this configuration (TLS, credentials, a
                transaction pooler without ``database_pooler``), or it is reachable and its
                tables or columns are not what the naming settings say, or (``freshness=push``)
                the notify triggers or Redis's key events are missing; the message names
                the setting to change.
        """
        schema = await self._start_checks().run()
        redis = (
            await self.session_store.check() if self.session_store is not None else None
        )
        push = await self._start_push() if self.settings.freshness == "push" else None
        keys = await self.verifier.warm()
        database = await self._warm_reads() if self._direct is not None else None
        logger.info(
            "better_auth.start",
            extra={
                "database": self.engine.url.get_backend_name(),
                "jwks_loaded": keys,
                "database_ready": database,
                "schema": None if schema is None else schema.summary(),
                "session_store_ready": redis,
                "push_listening": push,
            },
        )

    async def _start_push(self) -> bool:
        """Check the triggers (and Redis's key events), start the listeners; whether they
        are connected (if not, requests read every time until they are)."""
        self._push = PushListeners(
            self.authenticator.push,
            self.settings,
            self._database,
            pooled=self._pooled,
            naming=self.models.naming,
            sessions_in_redis=self.session_store is not None,
            sessions_in_table=not redis_only(self.session_store),
            redis=self._secondary_storage,
        )
        return await self._push.start()

    def _start_checks(self) -> StartChecks:
        """The start-up checks of this runtime's engine, settings and declared fields."""
        own_asyncpg = self._owns_engine and DirectReads.supports(self.engine.dialect)
        return StartChecks(
            self.engine,
            self.settings,
            self.models.naming,
            self.user_fields,
            self._database,
            session_table=not redis_only(self.session_store),
            connect_args=self._connect_args if own_asyncpg else None,
            pooled=self._pooled,
        )

    async def check_schema(self) -> SchemaReport | None:
        """Compare the live catalog with the naming settings (``schema_check``), raising on a mismatch.

        Returns:
            The report, or None when skipped: ``schema_check`` is off, the database is
            unreachable now (requests will get 503), or it is neither PostgreSQL nor SQLite.

        A database without any of Better-Auth's tables is only logged
        (``better_auth.schema_not_migrated``): it is not migrated yet, which no setting fixes.

        Raises:
            ConfigurationError: the schema does not match the settings.
        """
        return await self._start_checks().schema(user_fields=False)

    async def _warm_reads(self) -> bool:
        """Open a direct-read connection and prepare the per-request reads on it; never raises."""
        if self._direct is None or not await self._direct.warm():
            return False
        return await self.authenticator.warm()

    async def close(self) -> None:
        """Release what this object created (not an engine that was passed in)."""
        if self._push is not None:
            push, self._push = self._push, None
            await push.stop()
        await self.verifier.aclose()
        if self.session_store is not None:
            await self.session_store.close()
        await self._db.close()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.close()  # a start that fails leaves no pool or client behind
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A database session; a connection failure becomes :class:`DatabaseUnavailableError`.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        return self._db.session()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction that commits or rolls back whole.

        A commit may have changed users or sessions, so it also clears this process's
        freshness cache: the next request reads the rows again.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        async with self.session() as session, session.begin():
            yield session
        self.authenticator.forget()

    def read(self, query: Callable[[AsyncConnection], Awaitable[T]]) -> Awaitable[T]:
        """Run a read-only ``query`` on a pooled connection, once more if that connection was dead.

        No ORM session, no pre-ping round trip.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        return self._db.read(query)  # the database's coroutine: no extra frame

    def read_row(
        self, statement: Select[Any], params: dict[str, Any]
    ) -> Awaitable[Any]:
        """The first row of a prebuilt select, or None: the per-request reads (a ``RowReader``).

        On an asyncpg engine this runtime created, through asyncpg's own pool (see
        ``database_direct_reads``); otherwise through :meth:`read`.

        Raises:
            DatabaseUnavailableError: the database cannot be reached.
        """
        return self._db.read_row(statement, params)

    async def check_database(self) -> None:
        """Run a real query, and ping Redis when sessions live there.

        Raises:
            DatabaseUnavailableError: the database cannot be reached
                (``SessionStoreUnavailableError``: Redis cannot).
        """
        async with self.session() as session:
            await _store.ping(session)
        if self.session_store is not None:
            await self.session_store.ping()
