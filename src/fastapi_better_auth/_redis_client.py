"""The Redis client of ``BETTER_AUTH_REDIS_URL``: created from the URL, checked at start, its errors told apart.

redis-py is the ``[redis]`` extra, imported only when Redis is configured.
"""

import logging
import ssl
from typing import Any

from ._errors import ConfigurationError

logger = logging.getLogger(__name__)

#: The setting that names the Redis URL, in every message about it.
VARIABLE = "BETTER_AUTH_REDIS_URL"
#: The Python package of the ``[redis]`` extra.
EXTRA_HINT = "pip install 'fastapi-better-auth-kit[redis]'"
#: Connect and read timeouts of a client created from the URL: a dead Redis answers 503 quickly.
_TIMEOUT_SECONDS = 5.0


def client_from_url(url: str, redacted: str) -> Any:
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
        return Redis.from_url(
            url,
            socket_connect_timeout=_TIMEOUT_SECONDS,
            socket_timeout=_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1),
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"{VARIABLE}: {redacted} is not a usable Redis URL ({type(exc).__name__})"
        ) from None


def is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_redis_error(exc: BaseException) -> bool:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - a client passed in brings its package
        return False
    return isinstance(exc, RedisError)


def is_auth_error(exc: BaseException) -> bool:
    from redis.exceptions import AuthenticationError, ResponseError

    if isinstance(exc, AuthenticationError):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(
        ("NOAUTH", "WRONGPASS", "NOPERM")
    )


async def check_client(client: Any, redacted_url: str | None) -> bool:
    """At start: whether Redis answers. Unreachable is not fatal (logged); refused is.

    Raises:
        ConfigurationError: Redis refuses the credentials or the TLS handshake fails.
    """
    try:
        await client.ping()
    except Exception as exc:
        if not is_redis_error(exc):
            raise
        if is_auth_error(exc) or is_tls_error(exc):
            problem = "TLS handshake failed" if is_tls_error(exc) else str(exc)
            raise ConfigurationError(
                f"{VARIABLE}: Redis at {redacted_url or '(client)'} refused the "
                f"connection: {problem}; check the password, user and rediss:// settings"
            ) from None
        logger.warning(
            "better_auth.session_store_unavailable",
            extra={"error": type(exc).__name__, "redis": redacted_url},
        )
        return False
    return True
