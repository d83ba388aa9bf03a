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

This module owns the lookup and the order; counting a use (steps 5-8) is ``_usage``'s, where
every write is one guarded ``UPDATE … WHERE … RETURNING`` committed on its own, and reading the
``permissions`` JSON is ``_permissions``'. Keys are never logged: only the row's id is.
"""

import base64
import hashlib
import hmac
import logging
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializeAsAny

from .. import _store
from .._errors import (
    ApiKeyDisabledError,
    ApiKeyExpiredError,
    ApiKeyPermissionError,
    ApiKeyUsageExceededError,
    BetterAuthError,
    InvalidApiKeyError,
    UserBannedError,
)
from .._policy import is_banned
from .._runtime import BetterAuth
from .._schemas import AuthenticatedUser, SessionInfo
from ._models import get_api_key_model
from ._permissions import Permissions as Permissions  # the guards import it from here
from ._permissions import parse_json, parse_permissions, permissions_allow
from ._usage import VerificationWork, utc_now

logger = logging.getLogger(__name__)


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


def info_of(row: Any) -> ApiKeyInfo:
    """The snapshot of a row (``row.key``, the hash, is left out)."""
    metadata = parse_json(row.metadata_)
    if isinstance(metadata, str):  # keys of older plugins hold it stringified twice
        metadata = parse_json(metadata)
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
        permissions=parse_permissions(row.permissions),
        metadata=metadata,
    )


def _is_default_config(config_id: str | None) -> bool:
    return not config_id or config_id == "default"


def _config_matches(key_config: str | None, expected: str | None) -> bool:
    """``configIdMatches``: empty and ``"default"`` are the same configuration."""
    if _is_default_config(key_config) and _is_default_config(expected):
        return True
    return key_config == expected


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
        work = VerificationWork(db, model, settings.api_key_rate_limit)
        row = await work.find(model.key == hashed)
        if row is None or not hmac.compare_digest(row.key, hashed):
            raise InvalidApiKeyError()
        expected = settings.api_key_config_id
        if expected is not None and not _config_matches(row.config_id, expected):
            raise InvalidApiKeyError()
        if row.enabled is False:
            raise ApiKeyDisabledError()
        now = utc_now()
        if row.expires_at is not None and now > row.expires_at:
            await work.delete(row)
            raise ApiKeyExpiredError()
        if permissions is not None and not permissions_allow(
            parse_json(row.permissions), permissions
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
