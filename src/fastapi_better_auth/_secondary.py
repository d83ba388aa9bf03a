"""Sessions kept in Better-Auth's ``secondaryStorage`` (Redis): read and revoked as Better-Auth does.

Better-Auth 1.7.25 lays the keys out in ``src/db/internal-adapter.ts`` (line numbers below are
of the published ``dist/db/internal-adapter.mjs``):

- ``<token>``: ``{"session": {...}, "user": {...}}`` as JSON, expiring with the session
  (``createSession`` L311-339, ``updateSession`` L446-483). There is no key by session id.
- ``active-sessions-<userId>``: ``[{"token", "expiresAt": <ms>}]`` sorted by expiry, expiring
  with the last session (``setActiveSessionReferences`` L85-94).
- ``revoked-sessions-before-<userId>``: milliseconds; a stored session created before it is
  revoked (``isRevokedSession`` L97-102), written by ``deleteUserSessions`` (ban, revoke all:
  ``deleteCachedUserSessions`` L103-111) with a TTL of at least a day and the session lifetime.

``findSession`` (L353-390) reads the token's key; a miss is final unless
``session.storeSessionInDatabase`` is on, then the ``session`` table answers (without it,
Better-Auth's migration creates no ``session`` table). Better-Auth returns the stored ``user``
snapshot, refreshed by ``updateUser`` (``refreshUserSessions`` L62-79); we read the user row
instead (see :class:`SessionStore`). The admin plugin (``dist/plugins/admin/routes.mjs``) ends
all of a user's sessions through ``deleteUserSessions`` (update-user with ``banned`` L316,
ban-user L551, revoke-user-sessions L747, remove-user L792) and one through ``deleteSession``
(L656, revoke-user-session L704). Framework-free; the only module that talks to Redis.
"""

import json
import logging
import math
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._errors import ConfigurationError, SessionStoreUnavailableError
from ._schemas import AuthenticatedUser, SessionInfo

logger = logging.getLogger(__name__)

#: The setting that names the Redis URL, in every message about it.
VARIABLE = "BETTER_AUTH_REDIS_URL"
#: The Python package of the ``[redis]`` extra.
EXTRA_HINT = "pip install 'fastapi-better-auth-kit[redis]'"
#: Better-Auth's default ``session.expiresIn`` (7 days) and the one-day floor of the revocation mark.
_SESSION_SECONDS = 604_800
_DAY_SECONDS = 86_400
#: Connect and read timeouts of a client created from the URL: a dead Redis answers 503 quickly.
_TIMEOUT_SECONDS = 5.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ttl(expires_ms: float, now_ms: int) -> int:
    """Better-Auth's ``getTTLSeconds``: whole seconds left, never negative (L15-18)."""
    return max(math.floor((expires_ms - now_ms) / 1000), 0)


def _date(value: Any) -> datetime:
    """A date as ``JSON.stringify`` writes it (ISO, ``Z``), or milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError("not a date")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _json(raw: Any) -> Any:
    """Better-Auth's ``safeJSONParse``: None for anything that is not JSON."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class StoredSession:
    """One session as Better-Auth stored it under its token (the token itself stays here)."""

    token: str
    info: SessionInfo


@dataclass(frozen=True)
class _Reference:
    token: str
    expires_ms: float


def _session(token: str, raw: Any) -> StoredSession | None:
    """The ``session`` of a token's JSON, or None when it is not Better-Auth's shape."""
    data = _json(raw)
    session = data.get("session") if isinstance(data, dict) else None
    if not isinstance(session, dict):
        return None
    try:
        info = SessionInfo(
            id=str(session["id"]),
            user_id=str(session["userId"]),
            expires_at=_date(session["expiresAt"]),
            created_at=_date(session["createdAt"]),
            updated_at=_date(session.get("updatedAt", session["createdAt"])),
            ip_address=_text(session.get("ipAddress")),
            user_agent=_text(session.get("userAgent")),
            impersonated_by=_text(session.get("impersonatedBy")),
        )
    except (KeyError, ValueError, TypeError):
        return None
    return StoredSession(token, info)


def _references(raw: Any) -> list[_Reference]:
    data = _json(raw)
    if not isinstance(data, list):
        return []
    found = []
    for item in data:
        if not isinstance(item, dict):
            continue
        token, expires = item.get("token"), item.get("expiresAt")
        if isinstance(token, str) and isinstance(expires, (int, float)):
            found.append(_Reference(token, float(expires)))
    return found


def _revoked(session: SessionInfo, revoked_before: Any) -> bool:
    """``isRevokedSession``: created before the user's revocation mark (L97-102)."""
    try:
        mark = float(revoked_before) if revoked_before is not None else math.nan
    except (TypeError, ValueError):
        return False
    return session.created_at.timestamp() * 1000 < mark


def _iso(value: datetime | None) -> str | None:
    """A date as ``JSON.stringify`` writes one: ISO 8601 in UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    utc = value.astimezone(timezone.utc) if value.tzinfo else value
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _user_fields(user: AuthenticatedUser) -> dict[str, Any]:
    """The user-row fields our admin API writes, under Better-Auth's field names."""
    return {
        "name": user.name,
        "email": user.email,
        "emailVerified": user.email_verified,
        "image": user.image,
        "role": user.role,
        "banned": user.banned,
        "banReason": user.ban_reason,
        "banExpires": _iso(user.ban_expires),
        "updatedAt": _iso(user.updated_at),
    }


def _is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise ConfigurationError(
                f"{VARIABLE} is set but the redis package is missing: {EXTRA_HINT}"
            ) from None
        try:
            client = Redis.from_url(
                url,
                socket_connect_timeout=_TIMEOUT_SECONDS,
                socket_timeout=_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 1),
            )
        except ValueError as exc:
            raise ConfigurationError(
                f"{VARIABLE}: {redacted} is not a usable Redis URL ({type(exc).__name__})"
            ) from None
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
            if not _is_redis_error(exc):
                raise
            logger.warning(
                "better_auth.session_store_unavailable",
                extra={"error": type(exc).__name__},
            )
            raise SessionStoreUnavailableError() from exc

    def _key(self, key: str) -> str:
        return self._prefix + key

    def _list_key(self, user_id: str) -> str:
        return self._key(f"active-sessions-{user_id}")

    def _revoked_key(self, user_id: str) -> str:
        return self._key(f"revoked-sessions-before-{user_id}")

    async def check(self) -> bool:
        """At start: whether Redis answers. Unreachable is not fatal (logged); refused is.

        Raises:
            ConfigurationError: Redis refuses the credentials or the TLS handshake fails.
        """
        try:
            await self._client.ping()
        except Exception as exc:
            if not _is_redis_error(exc):
                raise
            if _is_auth_error(exc) or _is_tls_error(exc):
                problem = "TLS handshake failed" if _is_tls_error(exc) else str(exc)
                raise ConfigurationError(
                    f"{VARIABLE}: Redis at {self.redacted_url or '(client)'} refused the "
                    f"connection: {problem}; check the password, user and rediss:// settings"
                ) from None
            logger.warning(
                "better_auth.session_store_unavailable",
                extra={"error": type(exc).__name__, "redis": self.redacted_url},
            )
            return False
        return True

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
        raw = await self._call("get", self._key(token))
        if raw is None:
            return False, None
        stored = _session(token, raw)
        if stored is None:
            return True, None
        mark = await self._call("get", self._revoked_key(stored.info.user_id))
        return True, None if _revoked(stored.info, mark) else stored

    async def _listed(self, user_id: str) -> list[tuple[StoredSession, bool]]:
        """The user's listed, unexpired sessions, each with whether it is revoked.

        Two round trips whatever the count: the list, then every token and the mark at once.
        """
        now = _now_ms()
        tokens = list(
            dict.fromkeys(
                ref.token
                for ref in _references(await self._call("get", self._list_key(user_id)))
                if ref.expires_ms > now
            )
        )
        if not tokens:
            return []
        keys = [self._key(token) for token in tokens]
        *values, mark = await self._call("mget", [*keys, self._revoked_key(user_id)])
        found = []
        for token, raw in zip(tokens, values, strict=True):
            stored = _session(token, raw)
            if stored is not None and stored.info.user_id == user_id:
                found.append((stored, _revoked(stored.info, mark)))
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

    # -- writes (Better-Auth's deleteSession / deleteUserSessions) -----------------------

    async def _keep_listed(self, user_id: str, drop: Iterable[str], now: int) -> None:
        """``setActiveSessionReferences`` without ``drop`` and expired entries (L85-94)."""
        gone = set(drop)
        kept = sorted(
            (
                ref
                for ref in _references(await self._call("get", self._list_key(user_id)))
                if ref.expires_ms > now and ref.token not in gone
            ),
            key=lambda ref: ref.expires_ms,
        )
        ttl = _ttl(kept[-1].expires_ms, now) if kept else 0
        if ttl > 0:
            value = json.dumps(
                [{"token": ref.token, "expiresAt": ref.expires_ms} for ref in kept],
                separators=(",", ":"),
            )
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
        await self._call("delete", self._key(stored.token))
        await self._keep_listed(user_id, [stored.token], _now_ms())
        return True

    async def refresh_user(self, user: AuthenticatedUser) -> None:
        """``refreshUserSessions`` (L62-79, run by Better-Auth's ``updateUser``): put the
        changed user into every live session's snapshot, so Better-Auth's own checks (its admin
        plugin reads the role there) see what our admin API wrote. Other fields are kept.
        """
        now = _now_ms()
        references = [
            ref
            for ref in _references(await self._call("get", self._list_key(user.id)))
            if ref.expires_ms > now
        ]
        if not references:
            return
        values = await self._call("mget", [self._key(ref.token) for ref in references])
        for ref, raw in zip(references, values, strict=True):
            data, stored = _json(raw), _session(ref.token, raw)
            if stored is None or not isinstance(data.get("user"), dict):
                continue
            ttl = _ttl(stored.info.expires_at.timestamp() * 1000, now)
            if ttl <= 0:
                continue
            data["user"] = {**data["user"], **_user_fields(user)}
            await self._call("set", self._key(ref.token), json.dumps(data), ex=ttl)

    async def revoke_all(self, user_id: str) -> set[str]:
        """``deleteUserSessions`` (L535-569, L103-111): mark the user's sessions revoked as of
        now (so one created concurrently and not yet listed is refused too), delete every
        listed token, then the list. Returns the ids of the sessions that were live.
        """
        now = _now_ms()
        live = {stored.info.id for stored in await self.sessions_of(user_id)}
        references = _references(await self._call("get", self._list_key(user_id)))
        previous = await self._call("get", self._revoked_key(user_id))
        try:
            mark = max(now, int(float(previous or 0)))
        except (TypeError, ValueError):
            mark = now
        longest = max((_ttl(ref.expires_ms, now) for ref in references), default=0)
        await self._call(
            "set",
            self._revoked_key(user_id),
            str(mark),
            ex=max(_SESSION_SECONDS, _DAY_SECONDS, longest),
        )
        tokens = {ref.token for ref in references}
        if tokens:
            await self._call("delete", *(self._key(token) for token in tokens))
        await self._keep_listed(user_id, tokens, now)
        return live


def _is_redis_error(exc: BaseException) -> bool:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - a client passed in brings its package
        return False
    return isinstance(exc, RedisError)


def _is_auth_error(exc: BaseException) -> bool:
    from redis.exceptions import AuthenticationError, ResponseError

    if isinstance(exc, AuthenticationError):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(
        ("NOAUTH", "WRONGPASS", "NOPERM")
    )
