"""The rows an identity is checked against: the user from its table, the session where it lives.

Sessions live in the ``session`` table, or in Better-Auth's ``secondaryStorage`` (Redis,
``_secondary``) and there too under ``storeSessionInDatabase``; the user is always read from
its table, so roles and bans written by anyone count on the next request. Framework-free; the
queries are ``_store``'s, run by the database's row reader (``_database``).
"""

import logging
from collections.abc import Awaitable
from typing import Any

from . import _store
from ._database_url import redact
from ._errors import ConfigurationError
from ._schemas import AuthenticatedUser, SessionInfo
from ._secondary import SessionStore, redis_only
from ._settings import BetterAuthSettings
from ._user_fields import CORE, UserFields
from .models import BetterAuthModels

logger = logging.getLogger(__name__)

#: A session and its user, as one lookup finds them.
Found = tuple[SessionInfo, AuthenticatedUser]


def session_store(settings: BetterAuthSettings, client: Any) -> SessionStore | None:
    """The Redis session store of ``redis_url`` or of a client passed in (no I/O yet)."""
    in_database, prefix = settings.store_session_in_database, settings.redis_key_prefix
    if client is not None:
        if settings.redis_url is not None:
            raise ConfigurationError(
                "BETTER_AUTH_REDIS_URL is set and secondary_storage= is given: use one"
            )
        return SessionStore(client, in_database=in_database, key_prefix=prefix)
    if settings.redis_url is None:
        return None
    url = settings.redis_url.get_secret_value()
    return SessionStore.from_url(
        url, redact(url), in_database=in_database, key_prefix=prefix
    )


class Reads:
    """The per-request reads of one database (and session store), for one naming and user fields.

    Args:
        read: runs a prebuilt select (``Database.read_row``, or :func:`_store.rows_of`).
        models: the mapped tables of the naming in use.
        fields: the user snapshot class and its declared extra columns.
        store: Better-Auth's Redis sessions, or None: the session table only.
    """

    def __init__(
        self,
        read: _store.RowReader,
        models: BetterAuthModels,
        fields: UserFields = CORE,
        store: SessionStore | None = None,
    ) -> None:
        self._read = read
        self._models = models
        self._fields = fields
        self._store = store

    async def warm(self) -> bool:
        """Run the per-request reads once, finding nothing, so they are prepared; never raises."""
        store = self._store
        try:
            await _store.warm_reads(
                self._read,
                self._models,
                self._fields,
                sessions=not redis_only(store),
            )
        except (
            Exception
        ) as exc:  # tables not migrated yet: the first request will say so
            logger.warning(
                "better_auth.warm_reads_failed", extra={"error": type(exc).__name__}
            )
            return False
        return True

    # plain methods returning the query's coroutine: no extra frame on the per-request path

    def user(self, user_id: str) -> Awaitable[AuthenticatedUser | None]:
        """The user row ``user_id``, or None."""
        return _store.user_by_id(self._read, self._models, user_id, self._fields)

    def session_by_token(self, token: str) -> Awaitable[Found | None]:
        """The session of a raw token and its user, as Better-Auth's ``findSession`` finds it.

        With ``secondaryStorage``: Redis first; the session table only for a token Redis does
        not hold, and only under ``storeSessionInDatabase``.
        """
        if self._store is None:
            return _store.session_by_token(
                self._read, self._models, token, self._fields
            )
        return self._stored_by_token(self._store, token)

    def session_by_id(self, user_id: str, session_id: str) -> Awaitable[Found | None]:
        """The session ``session_id`` of ``user_id`` (a JWT's ``sid``) and that user.

        In Redis through the user's session list, else as :meth:`session_by_token`.
        """
        if self._store is None:
            return _store.session_by_id(
                self._read, self._models, session_id, user_id, self._fields
            )
        return self._stored_by_id(self._store, user_id, session_id)

    async def _stored_by_token(self, store: SessionStore, token: str) -> Found | None:
        present, stored = await store.by_token(token)
        if not present and store.in_database:
            return await _store.session_by_token(
                self._read, self._models, token, self._fields
            )
        return None if stored is None else await self._with_user(stored.info)

    async def _stored_by_id(
        self, store: SessionStore, user_id: str, session_id: str
    ) -> Found | None:
        present, stored = await store.by_id(user_id, session_id)
        if not present and store.in_database:
            return await _store.session_by_id(
                self._read, self._models, session_id, user_id, self._fields
            )
        return None if stored is None else await self._with_user(stored.info)

    async def _with_user(self, session: SessionInfo) -> Found | None:
        """A Redis session with its user read from the user table, not from Redis's snapshot."""
        user = await self.user(session.user_id)
        return None if user is None else (session, user)
