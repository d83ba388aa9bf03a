"""Sessions kept in Better-Auth's ``secondaryStorage`` (Redis): read and revoked as Better-Auth does.

The keys and the JSON under them are ``_secondary_layout``'s (with Better-Auth's line
references); the client and its errors are ``_redis_client``'s. Framework-free; the only
module that talks to Redis.
"""

import json
import logging
from collections.abc import Iterable
from typing import Any, TypeGuard

from ._errors import SessionStoreUnavailableError
from ._redis_client import check_client, client_from_url, is_redis_error
from ._schemas import AuthenticatedUser
from ._secondary_layout import (
    DAY_SECONDS,
    SESSION_SECONDS,
    StoredSession,
    dump_references,
    is_revoked,
    kept_references,
    list_key,
    loads,
    now_ms,
    read_references,
    revocation_mark,
    revoked_key,
    stored_session,
    token_key,
    ttl_seconds,
    user_fields,
)

logger = logging.getLogger(__name__)


def redis_only(store: "SessionStore | None") -> TypeGuard["SessionStore"]:
    """Whether sessions live in Redis alone (``secondaryStorage`` without
    ``storeSessionInDatabase``): Better-Auth's migration then creates no ``session`` table."""
    return store is not None and not store.in_database


class SessionStore:
    """Better-Auth's sessions in Redis, for lookups and for the admin writes.

    Every Redis failure raises :class:`SessionStoreUnavailableError` (503 with ``Retry-After``),
    never an authentication decision. ``in_database`` mirrors ``session.storeSessionInDatabase``:
    then a token Redis does not hold is looked up in the ``session`` table, as Better-Auth does.
    """

    def __init__(
        self,
        client: Any,
        *,
        in_database: bool = False,
        key_prefix: str = "",
        redacted_url: str | None = None,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self.in_database = in_database
        self._prefix = key_prefix
        self.redacted_url = redacted_url
        self._owns_client = owns_client

    @classmethod
    def from_url(
        cls, url: str, redacted: str, *, in_database: bool, key_prefix: str
    ) -> "SessionStore":
        """A client of ``url`` (no I/O yet): short timeouts, one immediate retry, no backoff.

        Raises:
            ConfigurationError: the ``redis`` package (the ``[redis]`` extra) is missing, or
                the URL is not one redis-py accepts.
        """
        client = client_from_url(url, redacted)
        return cls(
            client,
            in_database=in_database,
            key_prefix=key_prefix,
            redacted_url=redacted,
            owns_client=True,
        )

    # -- Redis, every call through here --------------------------------------------------

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self._client, method)(*args, **kwargs)
        except Exception as exc:
            if not is_redis_error(exc):
                raise
            logger.warning(
                "better_auth.session_store_unavailable",
                extra={"error": type(exc).__name__},
            )
            raise SessionStoreUnavailableError() from exc

    def _key(self, key: str) -> str:
        return self._prefix + key

    def _list_key(self, user_id: str) -> str:
        return self._prefix + list_key(user_id)

    def _revoked_key(self, user_id: str) -> str:
        return self._prefix + revoked_key(user_id)

    async def check(self) -> bool:
        """At start: whether Redis answers. Unreachable is not fatal (logged); refused is.

        Raises:
            ConfigurationError: Redis refuses the credentials or the TLS handshake fails.
        """
        return await check_client(self._client, self.redacted_url)

    async def ping(self) -> None:
        """A round trip (the readiness check).

        Raises:
            SessionStoreUnavailableError: Redis cannot be reached.
        """
        await self._call("ping")

    async def close(self) -> None:
        """Close the client this store created (not one passed in)."""
        if self._owns_client:
            await self._client.aclose()

    # -- reads ---------------------------------------------------------------------------

    async def by_token(self, token: str) -> tuple[bool, StoredSession | None]:
        """``findSession``'s Redis half: (whether the key exists, the live session or None).

        A key that exists but is not Better-Auth's JSON, or a session created before the
        user's revocation mark, is no session, and no reason to ask the database (L356-359).
        """
        raw = await self._call("get", self._key(token_key(token)))
        if raw is None:
            return False, None
        stored = stored_session(token, raw)
        if stored is None:
            return True, None
        mark = await self._call("get", self._revoked_key(stored.info.user_id))
        return True, None if is_revoked(stored.info, mark) else stored

    async def _listed(self, user_id: str) -> list[tuple[StoredSession, bool]]:
        """The user's listed, unexpired sessions, each with whether it is revoked.

        Two round trips whatever the count: the list, then every token and the mark at once.
        """
        now = now_ms()
        tokens = list(
            dict.fromkeys(
                ref.token
                for ref in read_references(
                    await self._call("get", self._list_key(user_id))
                )
                if ref.expires_ms > now
            )
        )
        if not tokens:
            return []
        keys = [self._key(token_key(token)) for token in tokens]
        *values, mark = await self._call("mget", [*keys, self._revoked_key(user_id)])
        found = []
        for token, raw in zip(tokens, values, strict=True):
            stored = stored_session(token, raw)
            if stored is not None and stored.info.user_id == user_id:
                found.append((stored, is_revoked(stored.info, mark)))
        return found

    async def sessions_of(self, user_id: str) -> list[StoredSession]:
        """``listSessions`` (L208-232): the user's listed, unexpired, unrevoked sessions."""
        return [
            stored for stored, revoked in await self._listed(user_id) if not revoked
        ]

    async def by_id(
        self, user_id: str, session_id: str
    ) -> tuple[bool, StoredSession | None]:
        """The session ``session_id`` of ``user_id``, as :meth:`by_token` answers for its token.

        Better-Auth keeps no key by id, so the user's ``active-sessions`` list is read (the
        JWT's ``sub`` names the user): (whether Redis holds it, the live session or None).
        """
        for stored, revoked in await self._listed(user_id):
            if stored.info.id == session_id:
                return True, None if revoked else stored
        return False, None

    async def activity(
        self, user_id: str, session_id: str
    ) -> tuple[bool, tuple[str | None, str | None]]:
        """The session's ``activeOrganizationId`` and ``activeTeamId``, found as :meth:`by_id`
        finds it: (whether Redis holds it, the pair; Nones for a revoked session).
        """
        present, stored = await self.by_id(user_id, session_id)
        return present, (None, None) if stored is None else stored.activity

    # -- writes (Better-Auth's deleteSession / deleteUserSessions) -----------------------

    async def _keep_listed(self, user_id: str, drop: Iterable[str], now: int) -> None:
        """``setActiveSessionReferences`` without ``drop`` and expired entries (L85-94)."""
        raw = await self._call("get", self._list_key(user_id))
        kept = kept_references(raw, now, drop)
        ttl = ttl_seconds(kept[-1].expires_ms, now) if kept else 0
        if ttl > 0:
            value = dump_references(kept)
            await self._call("set", self._list_key(user_id), value, ex=ttl)
        else:
            await self._call("delete", self._list_key(user_id))

    async def revoke(self, user_id: str, session_id: str) -> bool:
        """``deleteSession`` (L485-510): delete the token's key, drop it from the list.

        Returns whether the user had that session in Redis.
        """
        _, stored = await self.by_id(user_id, session_id)
        if stored is None:
            return False
        await self._call("delete", self._key(token_key(stored.token)))
        await self._keep_listed(user_id, [stored.token], now_ms())
        return True

    async def refresh_user(self, user: AuthenticatedUser) -> None:
        """``refreshUserSessions`` (L62-79, run by Better-Auth's ``updateUser``): put the
        changed user into every live session's snapshot, so Better-Auth's own checks (its admin
        plugin reads the role there) see what our admin API wrote. Other fields are kept.
        """
        now = now_ms()
        references = [
            ref
            for ref in read_references(await self._call("get", self._list_key(user.id)))
            if ref.expires_ms > now
        ]
        if not references:
            return
        values = await self._call(
            "mget", [self._key(token_key(ref.token)) for ref in references]
        )
        for ref, raw in zip(references, values, strict=True):
            data, stored = loads(raw), stored_session(ref.token, raw)
            if stored is None or not isinstance(data.get("user"), dict):
                continue
            ttl = ttl_seconds(stored.info.expires_at.timestamp() * 1000, now)
            if ttl <= 0:
                continue
            data["user"] = {**data["user"], **user_fields(user)}
            await self._call(
                "set", self._key(token_key(ref.token)), json.dumps(data), ex=ttl
            )

    async def revoke_all(self, user_id: str) -> set[str]:
        """``deleteUserSessions`` (L535-569, L103-111): mark the user's sessions revoked as of
        now (so one created concurrently and not yet listed is refused too), delete every
        listed token, then the list. Returns the ids of the sessions that were live.
        """
        now = now_ms()
        live = {stored.info.id for stored in await self.sessions_of(user_id)}
        references = read_references(await self._call("get", self._list_key(user_id)))
        mark = revocation_mark(await self._call("get", self._revoked_key(user_id)), now)
        longest = max(
            (ttl_seconds(ref.expires_ms, now) for ref in references), default=0
        )
        await self._call(
            "set",
            self._revoked_key(user_id),
            str(mark),
            ex=max(SESSION_SECONDS, DAY_SECONDS, longest),
        )
        tokens = {ref.token for ref in references}
        if tokens:
            await self._call(
                "delete", *(self._key(token_key(token)) for token in tokens)
            )
        await self._keep_listed(user_id, tokens, now)
        return live
