"""``KeySet``: Better-Auth's signing keys, fetched over HTTP (httpx), cached and refreshed.

Once keys are cached a request does no network I/O and never waits behind a refresh: an
expired cache is refreshed in the background while the cached keys keep verifying. Concurrent
fetches coalesce into one, and an unknown ``kid`` refetches at most once per
``jwks_min_refresh_seconds``, whether fetches succeed or fail. A failed refresh keeps serving the
cached keys; only an empty cache that cannot be filled raises :class:`JWKSUnavailableError`.
"""

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from .._errors import JWKSUnavailableError
from .._settings import BetterAuthSettings
from ._jose import loads_object
from ._keys import PublicKey, keys_from_jwks

__all__ = ["KeySet"]

logger = logging.getLogger(__name__)

_JSON_MEDIA = re.compile(r"application/(?:[\w.-]+\+)?json")
_REQUEST_HEADERS = {
    "Accept": "application/jwk-set+json, application/json",
    "Accept-Encoding": "identity",
}


class _FetchError(Exception):
    """A JWKS response that cannot be used (status, type, size or content)."""


def _redacted(url: str) -> str:
    """The URL without credentials or query, fit for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _cache_seconds(cache_control: str | None, settings: BetterAuthSettings) -> float:
    """``max-age`` clamped to the configured bounds, ``jwks_cache_seconds`` without one."""
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        value = value.strip().strip('"')
        # HTTP's DIGIT is ASCII only: str.isdigit() also accepts "²", which int() refuses
        if name == "max-age" and value.isascii() and value.isdigit():
            seconds: float = int(value[:12])
        elif name in {"no-cache", "no-store"}:
            seconds = 0
        else:
            continue
        return min(
            max(seconds, settings.jwks_min_cache_seconds),
            settings.jwks_max_cache_seconds,
        )
    return settings.jwks_cache_seconds


class KeySet:
    """The usable keys of one JWKS URL by ``kid``, and the policy of when to fetch them again.

    Args:
        settings: the JWKS URL, timeouts, size caps and cache bounds.
        algorithms: the algorithms a key may be bound to (others are listed as unusable).
        client: an ``httpx.AsyncClient`` of yours; it is not closed by :meth:`aclose`.
        monotonic: the clock of the cache; tests move it.
    """

    def __init__(
        self,
        settings: BetterAuthSettings,
        algorithms: frozenset[str],
        *,
        client: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._algorithms = algorithms
        self._url = settings.resolved_jwks_url
        self._log_url = _redacted(self._url)
        self._client = client
        self._owns_client = client is None
        self._monotonic = monotonic
        #: Usable keys by ``kid``; replaced as a whole by each successful fetch (never mutated).
        self.keys: dict[str, PublicKey] = {}
        #: ``kid``s listed but never used (invalid, private, or not allowed).
        self.unusable: frozenset[str] = frozenset()
        #: When the cached keys are due for a refresh (``monotonic`` seconds).
        self.expires_at = -math.inf
        self._last_attempt = -math.inf
        self._refresh: asyncio.Task[None] | None = None
        #: Number of JWKS fetches started (tests and benchmarks count them).
        self.fetch_count = 0
        #: Why the last fetch failed, or None.
        self.last_error: str | None = None

    async def warm(self) -> bool:
        """Fetch the keys now unless fresh ones are cached; whether keys are cached."""
        if self.keys and self._monotonic() < self.expires_at:
            return True
        task = self.start_refresh()
        if task is not None:
            await asyncio.shield(task)
        return bool(self.keys)

    async def missing(self, kid: str) -> PublicKey | None:
        """The key of a ``kid`` not cached after one refetch (within the cooldown), or ``None``.

        Raises:
            JWKSUnavailableError: no key is cached and the JWKS could not be fetched.
        """
        if kid not in self.unusable:
            task = self.start_refresh()
            if task is not None:
                await asyncio.shield(task)
            key = self.keys.get(kid)
            if key is not None:
                return key
            if not self.keys:
                raise JWKSUnavailableError(retry_after=self._retry_after())
        return None

    async def aclose(self) -> None:
        """Stop a running refresh and close the HTTP client if this key set created it."""
        task, self._refresh = self._refresh, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def start_refresh(self) -> "asyncio.Task[None] | None":
        """The running refresh, a new one, or ``None`` during the cooldown after the last attempt."""
        if self._refresh is not None and not self._refresh.done():
            return self._refresh
        now = self._monotonic()
        if now - self._last_attempt < self._cooldown():
            return None
        self._last_attempt = now
        self.fetch_count += 1
        self._refresh = asyncio.get_running_loop().create_task(self._refresh_keys())
        return self._refresh

    def _cooldown(self) -> float:
        """Seconds between fetch attempts: shorter while no key is cached (a cold start waits less)."""
        settings = self._settings
        if self.keys:
            return settings.jwks_min_refresh_seconds
        return min(settings.jwks_min_refresh_seconds, settings.jwks_cold_retry_seconds)

    def _retry_after(self) -> int:
        remaining = self._last_attempt + self._cooldown() - self._monotonic()
        return max(1, math.ceil(remaining))

    async def _refresh_keys(self) -> None:
        try:
            keys, unusable, ttl = await asyncio.wait_for(
                self._fetch(), self._settings.jwks_timeout_seconds
            )
        except (httpx.HTTPError, _FetchError, asyncio.TimeoutError) as exc:
            reason = str(exc) if isinstance(exc, _FetchError) else type(exc).__name__
            self.last_error = reason
            logger.warning(
                "better_auth.jwks_fetch_failed url=%s error=%s cached_keys=%d",
                self._log_url,
                reason,
                len(self.keys),
            )
            return
        finally:
            self._last_attempt = self._monotonic()
        self.keys, self.unusable = keys, unusable
        self.last_error = None
        self.expires_at = self._monotonic() + ttl
        logger.info(
            "better_auth.jwks_refreshed url=%s keys=%d skipped=%d cache_seconds=%g",
            self._log_url,
            len(keys),
            len(unusable),
            ttl,
        )

    async def _fetch(self) -> tuple[dict[str, PublicKey], frozenset[str], float]:
        settings = self._settings
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=settings.jwks_timeout_seconds,
                follow_redirects=False,
                # an http:// JWKS uses no TLS: skip loading the CA bundle (about 0.2 s at startup);
                # an https:// one is always verified
                verify=self._url.startswith("https://"),
            )
        request = self._client.stream(
            "GET",
            self._url,
            headers=_REQUEST_HEADERS,
            follow_redirects=False,
            timeout=settings.jwks_timeout_seconds,
        )
        async with request as response:
            if response.status_code != 200:
                raise _FetchError(f"HTTP {response.status_code}")
            headers = response.headers
            media = headers.get("content-type", "").partition(";")[0].strip().lower()
            if not _JSON_MEDIA.fullmatch(media):
                raise _FetchError("content type is not JSON")
            if (
                headers.get("content-encoding", "identity").strip().lower()
                != "identity"
            ):
                raise _FetchError("compressed response (identity was requested)")
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > settings.jwks_max_bytes:
                raise _FetchError("larger than jwks_max_bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > settings.jwks_max_bytes:
                    raise _FetchError("larger than jwks_max_bytes")
        try:
            document = loads_object(bytes(body))
            keys, unusable = keys_from_jwks(
                document,
                algorithms=self._algorithms,
                max_keys=settings.jwks_max_keys,
                previous=self.keys,
            )
        except ValueError as exc:
            raise _FetchError(f"not a usable JWK Set ({exc})") from exc
        if not keys:
            raise _FetchError("no usable signing key")
        return keys, unusable, _cache_seconds(headers.get("cache-control"), settings)
