"""Who a credential belongs to: a verified JWT or a session token, checked against fresh rows.

A Better-Auth JWT is a 15-minute snapshot of the user row. A ban, a demotion or a revoked
session must count on the next request, so after the signature the user row (and the session,
when the token names one in ``sid``) is read again: always, at most every N seconds, or until a
listener reports a change (``push``: ``_push_cache``), as ``freshness`` says. Session tokens are
looked up too: database sessions, or Redis ones (``secondaryStorage``) whose user is read from
the user table (``_reads``). Framework-free, and below the guards only: it is handed a
``PresentedCredential`` and calls down into the verifier (``_jwks``) and the reads.
"""

import hashlib
import logging
import math
from collections.abc import Awaitable
from datetime import datetime, timezone
from typing import Any

from . import _store
from ._cache import TTLCache
from ._credentials import PresentedCredential
from ._errors import (
    BetterAuthError,
    InvalidSessionError,
    InvalidTokenError,
    SessionExpiredError,
    UserBannedError,
)
from ._jwks import TOKEN_CACHE_SIZE, JWKSVerifier
from ._policy import is_banned
from ._push_cache import PushCache
from ._reads import Found, Reads
from ._repeats import UNCHANGING, Repeats
from ._schemas import AuthenticatedSession, Credential, SessionInfo
from ._secondary import SessionStore
from ._settings import BetterAuthSettings
from ._snapshots import user_from_claims
from ._user_fields import CORE, UserFields
from .models import BetterAuthModels

logger = logging.getLogger(__name__)


#: The claim that carries the session id, when Better-Auth's ``definePayload`` adds it.
SESSION_ID_CLAIM = "sid"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_session(session: SessionInfo, now: datetime) -> None:
    if session.expires_at <= now:
        raise SessionExpiredError()


class Authenticator:
    """Turns credentials into an :class:`AuthenticatedSession`, or raises a library error.

    Args:
        settings: the freshness mode and its cache period.
        verifier: checks a JWT's signature and claims.
        read: runs one prebuilt select (``Database.read_row``): the database below.
        models: the mapped tables of the naming in use.
        fields: the user snapshot class and its declared extra columns.
        store: Better-Auth's Redis sessions, or None: the session table only.
    """

    def __init__(
        self,
        settings: BetterAuthSettings,
        verifier: JWKSVerifier,
        read: _store.RowReader,
        models: BetterAuthModels,
        fields: UserFields = CORE,
        store: SessionStore | None = None,
    ) -> None:
        self._settings = settings
        self._verifier = verifier
        self._reads = Reads(read, models, fields, store)
        self._fields = fields
        ttl, size = settings.freshness_cache_seconds, settings.freshness_cache_size
        self._fresh: TTLCache[tuple[str, str | None], AuthenticatedSession] = TTLCache(
            ttl, size
        )
        self._sessions: TTLCache[str, Found] = TTLCache(ttl, size)
        #: ``freshness="never"``: the identity a token's claims describe, by token. Read only
        #: after the verifier accepted the token again on this request (signature, time, key).
        self._snapshots: TTLCache[str, AuthenticatedSession] = TTLCache(
            math.inf, TOKEN_CACHE_SIZE
        )
        #: ``freshness="push"``: kept until a listener reports a change (never trusted
        #: before the runtime starts its listeners: every request reads, as ``always``).
        self.push = PushCache(settings.jwt_max_lifetime_seconds, size)
        #: ``push`` and ``never``: a repeated ``Authorization`` header answered by one lookup.
        self.repeats = Repeats(
            self.push if settings.freshness == "push" else UNCHANGING,
            verifier,
            settings.jwt_max_lifetime_seconds,
            size if settings.freshness in ("push", "never") else 0,
        )

    def warm(self) -> Awaitable[bool]:
        """Prepare the per-request reads before the first request (``Reads.warm``)."""
        return self._reads.warm()

    def forget(self) -> None:
        """Drop cached freshness checks (after a write that changes users or sessions)."""
        self._fresh.clear()
        self._sessions.clear()
        self.push.forget()
        self.repeats.clear()

    def authenticate(
        self, credential: PresentedCredential, header: bytes | None = None
    ) -> Awaitable[AuthenticatedSession]:
        """The identity behind a credential the request presented; raises as :meth:`from_jwt`
        (a JWT) or :meth:`from_session_token` (a session token) does.

        ``header``: the raw ``Authorization`` value that presented it; with ``push`` trusted
        or ``never``, the identity is kept for the next request that repeats it
        (``self.repeats``). A plain method returning a coroutine: no extra frame per request.
        """
        kind, value = credential
        if header is not None:
            generation = self.repeats.generation()
            if generation is not None:
                return self._kept(credential, header, generation)
        if kind == "jwt":
            return self.from_jwt(value)
        return self.from_session_token(value, kind)

    async def _kept(
        self, credential: PresentedCredential, header: bytes, generation: int
    ) -> AuthenticatedSession:
        """Authenticate, then keep the identity under ``header`` unless an event overtook it."""
        kind, value = credential
        verified = None
        if kind == "jwt":
            identity = await self.from_jwt(value)
            verified = self._verifier.seen(value)
            if verified is None:  # the verifier keeps no tokens: nor do we
                return identity
        else:
            identity = await self.from_session_token(value, kind)
            if (
                self._settings.freshness != "push"
            ):  # never: a session is read every time
                return identity
        self.repeats.put(header, value, identity, generation, verified)
        return identity

    async def from_jwt(self, token: str) -> AuthenticatedSession:
        """Verify a Better-Auth JWT, then check the user (and session) it names.

        Raises:
            InvalidTokenError: the token is not valid (``TokenExpiredError`` when only expired).
            InvalidSessionError: the user or the session it names no longer exists.
            SessionExpiredError: the session it names has expired.
            UserBannedError: the user is banned now.
            JWKSUnavailableError: no signing keys can be loaded.
            DatabaseUnavailableError: the freshness check cannot reach the database.
        """
        claims = await self._verifier.verify(token, copy=False)  # read, never changed
        sid = claims.get(SESSION_ID_CLAIM)
        if sid is not None and (not isinstance(sid, str) or not sid):
            raise InvalidTokenError("token claim 'sid' is malformed")
        mode, push = self._settings.freshness, self.push
        if mode == "never":
            result = self._snapshot(token, claims)
        elif push.trusted:  # freshness="push", every listener connected
            key = (claims["sub"], sid)
            result = push.jwts.get(key) or await self._push_jwt(key)
        else:
            key = (claims["sub"], sid)
            cached = self._fresh.get(key) if mode == "cached" else None
            result = cached or await self._fresh_jwt_identity(claims["sub"], sid)
            if mode == "cached" and cached is None:
                self._fresh.set(key, result)
        if result.session is not None:
            _check_session(result.session, _now())
        return self._admit(result)

    async def _push_jwt(self, key: tuple[str, str | None]) -> AuthenticatedSession:
        generation = self.push.generation  # a fill an event overtakes is not kept
        identity = await self._fresh_jwt_identity(*key)
        self.push.put_jwt(key, identity, generation)
        return identity

    def _snapshot(self, token: str, claims: dict[str, Any]) -> AuthenticatedSession:
        """The identity in a verified token's claims, built once per token (it is frozen)."""
        snapshot = self._snapshots.get(token)
        if snapshot is None:
            snapshot = AuthenticatedSession(
                user=user_from_claims(claims, self._fields), credential="jwt"
            )
            self._snapshots.set(token, snapshot)
        return snapshot

    async def _fresh_jwt_identity(
        self, user_id: str, sid: str | None
    ) -> AuthenticatedSession:
        if sid is None:
            user = await self._reads.user(user_id)
            if user is None:
                raise InvalidSessionError("The user no longer exists.")
            return AuthenticatedSession(user=user, credential="jwt")
        found = await self._reads.session_by_id(user_id, sid)
        if found is None:
            raise InvalidSessionError("The session was revoked.")
        session, user = found
        return AuthenticatedSession(user=user, session=session, credential="jwt")

    async def from_session_token(
        self, token: str, credential: Credential
    ) -> AuthenticatedSession:
        """Look up a raw Better-Auth session token (from the bearer plugin or the cookie).

        Raises:
            InvalidSessionError: no such session.
            SessionExpiredError: the session has expired.
            UserBannedError: the user is banned now.
            DatabaseUnavailableError: the database cannot be reached.
        """
        key = hashlib.sha256(token.encode()).hexdigest()
        mode, push = self._settings.freshness, self.push
        cache = push.tokens if push.trusted else self._sessions
        found = cache.get(key) if push.trusted or mode == "cached" else None
        if found is None:
            generation = push.generation
            found = await self._reads.session_by_token(token)
            if found is None:
                raise InvalidSessionError()
            if mode == "cached":
                self._sessions.set(key, found)
            elif mode == "push":
                push.put_token(key, found, generation)
        session, user = found
        _check_session(session, _now())
        return self._admit(
            AuthenticatedSession(user=user, session=session, credential=credential)
        )

    def _admit(self, identity: AuthenticatedSession) -> AuthenticatedSession:
        if is_banned(identity.user):
            raise UserBannedError()
        return identity


def log_failure(
    error: BetterAuthError, credential: str, request_id: str | None = None
) -> None:
    """One log line per refused credential: the reason, never the credential itself.

    ``request_id`` (set by ``RequestLoggingMiddleware``) joins it to the request's line.
    """
    logger.info(
        "better_auth.authentication_failed",
        extra={
            "reason": error.code.value,
            "detail": getattr(error, "reason", None),
            "credential": credential,
            "request_id": request_id,
        },
    )
