"""Verify an API key the way ``@better-auth/api-key`` 1.7.5 does, against the same ``apikey`` row.

The order of the checks and their reasons follow the plugin's ``validateApiKey``
(``dist/index.mjs`` of the npm package, lines 1622-1705, source ``src/routes/verify-api-key.ts``):

1. look the key up by ``base64url(sha256(key))`` (``defaultKeyHasher``, line 2310; the plain
   key when ``disableKeyHashing``): none, or one of another ``configId`` → ``INVALID_API_KEY``;
2. ``enabled`` false → ``API_KEY_DISABLED``;
3. ``expiresAt`` passed → the row is **deleted** and ``API_KEY_EXPIRED``;
4. required permissions (``verifyApiKey``'s ``permissions``) not granted → refused, before
   any usage is counted;
5. ``remaining`` 0 and no ``refillAmount`` → the row is **deleted** and ``API_KEY_USAGE_EXCEEDED``;
6. ``remaining`` consumed (``consumeRemaining``, 1740): a due refill (``refillInterval`` ms since
   ``lastRefillAt`` or ``createdAt``) sets ``remaining = refillAmount - 1`` once, else a guarded
   decrement while ``remaining > 0``, else ``API_KEY_USAGE_EXCEEDED``;
7. rate limit (``consumeRateLimit``, 1787; ``evaluateRateLimit``, 1580): ``requestCount`` within
   ``rateLimitTimeWindow`` ms of ``lastRequest`` up to ``rateLimitMax``, else
   ``API_KEY_RATE_LIMITED``. As in the plugin, a request refused here has already used one of
   ``remaining``;
8. ``updatedAt`` set (with the writes above); then the owner (``referenceId``) must be a user (``findUserById`` in the
   plugin's session hook, 2414) and, stricter than the plugin, not banned.

Every write is one guarded ``UPDATE … WHERE … RETURNING`` committed on its own, as the plugin's
``incrementOne`` calls are: concurrent verifications never lose a decrement nor push
``remaining`` below zero or ``requestCount`` past the maximum. Keys are never logged: only the
row's id is.
"""

import base64
import hashlib
import hmac
import json
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializeAsAny
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .. import _store
from .._errors import (
    ApiKeyDisabledError,
    ApiKeyExpiredError,
    ApiKeyPermissionError,
    ApiKeyRateLimitedError,
    ApiKeyUsageExceededError,
    BetterAuthError,
    InvalidApiKeyError,
    UserBannedError,
)
from .._policy import is_banned
from .._runtime import BetterAuth
from .._schemas import AuthenticatedUser, SessionInfo
from ._models import ApiKeyMixin, get_api_key_model

logger = logging.getLogger(__name__)

#: ``{"files": ["read", "write"]}``: the plugin's ``permissions`` JSON (resource → actions).
Permissions = Mapping[str, Sequence[str]]

_FIELDS = (
    "id",
    "config_id",
    "name",
    "start",
    "prefix",
    "reference_id",
    "key",
    "refill_interval",
    "refill_amount",
    "last_refill_at",
    "enabled",
    "rate_limit_enabled",
    "rate_limit_time_window",
    "rate_limit_max",
    "request_count",
    "remaining",
    "last_request",
    "expires_at",
    "created_at",
    "updated_at",
    "permissions",
    "metadata_",
)


class ApiKeyInfo(BaseModel):
    """An API key as verified: the row without its hash (a frozen snapshot)."""

    model_config = ConfigDict(frozen=True)

    id: str
    config_id: str
    name: str | None = None
    start: str | None = None
    prefix: str | None = None
    reference_id: str
    enabled: bool | None = None
    remaining: int | None = None
    request_count: int | None = None
    expires_at: datetime | None = None
    permissions: dict[str, list[str]] | None = None
    metadata: Any = None


class Principal(BaseModel):
    """Who calls: a user through a session or JWT, or through one of their API keys.

    ``api_key`` is set when ``credential == "api_key"``; ``session`` only for session
    credentials that name one.
    """

    model_config = ConfigDict(frozen=True)

    user: SerializeAsAny[AuthenticatedUser]
    credential: Literal["jwt", "bearer", "cookie", "api_key"]
    session: SessionInfo | None = None
    api_key: ApiKeyInfo | None = None


def hash_api_key(key: str) -> str:
    """``base64url(sha256(key))`` without padding: the plugin's ``defaultKeyHasher``."""
    digest = hashlib.sha256(key.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _json(value: str | None) -> Any:
    """``safeJSONParse``: the parsed value, or None for nothing or invalid JSON."""
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def permissions_allow(granted: Any, required: Permissions) -> bool:
    """Better-Auth's ``role(granted).authorize(required)`` with its default ``AND`` connector.

    Every required resource must be granted with every required action; an empty request or
    an empty action list authorizes nothing (``better-auth/plugins/access``, ``access.ts``).
    """
    if not isinstance(granted, dict) or not required:
        return False
    for resource, actions in required.items():
        allowed = granted.get(resource)
        if not isinstance(allowed, list) or not actions:
            return False
        if not all(action in allowed for action in actions):
            return False
    return True


def _permissions(value: str | None) -> dict[str, list[str]] | None:
    parsed = _json(value)
    if not isinstance(parsed, dict):
        return None
    return {
        str(resource): [str(action) for action in actions]
        for resource, actions in parsed.items()
        if isinstance(actions, list)
    }


def info_of(row: Any) -> ApiKeyInfo:
    """The snapshot of a row (``row.key``, the hash, is left out)."""
    metadata = _json(row.metadata_)
    if isinstance(metadata, str):  # keys of older plugins hold it stringified twice
        metadata = _json(metadata)
    return ApiKeyInfo(
        id=row.id,
        config_id=row.config_id,
        name=row.name,
        start=row.start,
        prefix=row.prefix,
        reference_id=row.reference_id,
        enabled=row.enabled,
        remaining=row.remaining,
        request_count=row.request_count,
        expires_at=row.expires_at,
        permissions=_permissions(row.permissions),
        metadata=metadata,
    )


def _is_default_config(config_id: str | None) -> bool:
    return not config_id or config_id == "default"


def _config_matches(key_config: str | None, expected: str | None) -> bool:
    """``configIdMatches``: empty and ``"default"`` are the same configuration."""
    if _is_default_config(key_config) and _is_default_config(expected):
        return True
    return key_config == expected


def _ms_since(now: datetime, then: datetime) -> float:
    return (now - then) / timedelta(milliseconds=1)


class _Verification:
    """One verification's database work on one session; each write commits on its own."""

    def __init__(
        self, db: AsyncSession, model: type[ApiKeyMixin], rate_limit: bool
    ) -> None:
        self.db = db
        self.model = model
        self.columns = [getattr(model, name) for name in _FIELDS]
        self.rate_limit = rate_limit
        self.written = False

    async def find(self, condition: ColumnElement[bool]) -> Any:
        row = (await self.db.execute(select(*self.columns).where(condition))).first()
        await self.db.commit()
        return row

    async def claim(self, row: Any, *guards: Any, **values: Any) -> Any:
        """``incrementOne``: update the row while ``guards`` hold; the new row or None.

        Each claim also sets ``updatedAt``, which the plugin writes in a last update of its
        own (``claimUsageInDatabase``): a use counted here is never undone by a concurrent
        request deleting the exhausted key between the two writes.
        """
        statement = (
            update(self.model)
            .where(self.model.id == row.id, *guards)
            .values(updated_at=_now(), **values)
            .returning(*self.columns)
            .execution_options(synchronize_session=False)
        )
        claimed = (await self.db.execute(statement)).first()
        await self.db.commit()
        self.written = self.written or claimed is not None
        return claimed

    async def delete(self, row: Any) -> None:
        statement = delete(self.model).where(self.model.id == row.id)
        await self.db.execute(statement.execution_options(synchronize_session=False))
        await self.db.commit()

    async def consume_remaining(self, row: Any, now: datetime) -> Any:
        """``consumeRemaining``: one refill wins when due, else a decrement while > 0."""
        model = self.model
        if row.refill_interval and row.refill_amount:
            last = row.last_refill_at or row.created_at
            if _ms_since(now, last) > row.refill_interval:
                observed = (
                    model.last_refill_at.is_(None)
                    if row.last_refill_at is None
                    else model.last_refill_at == row.last_refill_at
                )
                refilled = await self.claim(
                    row,
                    observed,
                    remaining=row.refill_amount - 1,
                    last_refill_at=now,
                )
                if refilled is not None:
                    return refilled
        decremented = await self.claim(
            row, model.remaining > 0, remaining=model.remaining - 1
        )
        if decremented is None:
            raise ApiKeyUsageExceededError()
        return decremented

    async def consume_rate_limit(self, row: Any, now: datetime) -> Any:
        """``consumeRateLimit``: a guarded counter in the key's window, re-read on a lost race."""
        model = self.model
        window, limit = row.rate_limit_time_window, row.rate_limit_max
        if not self.rate_limit or row.rate_limit_enabled is False:
            return await self.claim(row, last_request=now) or row
        if window is None or limit is None:
            return row
        window_start = now - timedelta(milliseconds=window)
        guard: ColumnElement[bool]
        if row.last_request is None:
            guard = model.last_request.is_(None)
        elif _ms_since(now, row.last_request) > window:
            guard = model.last_request <= window_start
        else:
            elapsed = _ms_since(now, row.last_request)
            if (row.request_count or 0) >= limit:
                raise ApiKeyRateLimitedError(retry_after_ms=math.ceil(window - elapsed))
            counted = await self.claim(
                row,
                model.last_request > window_start,
                model.request_count < limit,
                request_count=model.request_count + 1,
                last_request=now,
            )
            return counted or await self._again(row, now)
        started = await self.claim(row, guard, request_count=1, last_request=now)
        return started or await self._again(row, now)

    async def _again(self, row: Any, now: datetime) -> Any:
        fresh = await self.find(self.model.id == row.id)
        if fresh is None:
            raise InvalidApiKeyError()
        return await self.consume_rate_limit(fresh, now)


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def verify_api_key(
    auth: BetterAuth,
    key: str,
    *,
    permissions: Permissions | None = None,
) -> Principal:
    """The owner of ``key`` and the key, after counting this use as the plugin does.

    Raises:
        InvalidApiKeyError: unknown key, another configuration's, or its owner is gone (401).
        ApiKeyDisabledError: the key is disabled (401).
        ApiKeyExpiredError: the key has expired; it is deleted, as by the plugin (401).
        ApiKeyPermissionError: ``permissions`` are not all granted to the key (403).
        ApiKeyUsageExceededError: no ``remaining`` uses left (429).
        ApiKeyRateLimitedError: over the key's rate limit (429, ``Retry-After``).
        UserBannedError: the owner is banned (403).
        DatabaseUnavailableError: the database cannot be reached (503).
    """
    try:
        return await _verify(auth, key, permissions)
    except BetterAuthError as error:
        logger.info("better_auth.api_key_refused", extra={"reason": error.code.value})
        raise


async def _verify(
    auth: BetterAuth, key: str, permissions: Permissions | None
) -> Principal:
    settings = auth.settings
    if len(key) < settings.api_key_min_length:
        raise InvalidApiKeyError()
    hashed = hash_api_key(key) if settings.api_key_hashing else key
    model = get_api_key_model(auth.models.naming)
    async with auth.session() as db:
        work = _Verification(db, model, settings.api_key_rate_limit)
        row = await work.find(model.key == hashed)
        if row is None or not hmac.compare_digest(row.key, hashed):
            raise InvalidApiKeyError()
        expected = settings.api_key_config_id
        if expected is not None and not _config_matches(row.config_id, expected):
            raise InvalidApiKeyError()
        if row.enabled is False:
            raise ApiKeyDisabledError()
        now = _now()
        if row.expires_at is not None and now > row.expires_at:
            await work.delete(row)
            raise ApiKeyExpiredError()
        if permissions is not None and not permissions_allow(
            _json(row.permissions), permissions
        ):
            raise ApiKeyPermissionError()
        if row.remaining == 0 and row.refill_amount is None:
            await work.delete(row)
            raise ApiKeyUsageExceededError()
        if row.remaining is not None:
            row = await work.consume_remaining(row, now)
        row = await work.consume_rate_limit(row, now)
        if not work.written:  # no counter to update: the plugin still stamps updatedAt
            row = await work.claim(row)
            if row is None:
                raise InvalidApiKeyError()
    user = await _store.user_by_id(
        auth.read_row, auth.models, row.reference_id, auth.user_fields
    )
    if user is None:
        raise InvalidApiKeyError("The reference id from the API key is invalid.")
    if is_banned(user):
        raise UserBannedError()
    return Principal(user=user, credential="api_key", api_key=info_of(row))
