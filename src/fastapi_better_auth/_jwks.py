"""``JWKSVerifier``: Better-Auth's signing keys, fetched and cached, and its JWTs checked against them.

The only module that speaks HTTP (httpx). Keys load lazily or through :meth:`JWKSVerifier.warm`;
once cached, a request does no network I/O and never waits behind a refresh: an expired cache
is refreshed in the background while the cached keys keep verifying. Concurrent fetches
coalesce into one, and an unknown ``kid`` refetches at most once per ``jwks_min_refresh_seconds``,
whether fetches succeed or fail.

Every malformed, forged or unacceptable token raises :class:`InvalidTokenError` (with a short
``reason`` attribute for logs), an expired one :class:`TokenExpiredError`; only an empty key cache
that cannot be filled raises :class:`JWKSUnavailableError`. Neither messages nor logs hold a token.
"""

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._errors import InvalidTokenError, JWKSUnavailableError, TokenExpiredError
from ._jwk_keys import (
    MAX_KID_LENGTH,
    PublicKey,
    b64url_decode,
    b64url_decode_bytes,
    jwk_algorithm,
    keys_from_jwks,
    loads_object,
    normalize_algorithm,
)
from ._settings import BetterAuthSettings

__all__ = ["MAX_TOKEN_LENGTH", "JWKSVerifier", "jwk_algorithm"]

logger = logging.getLogger(__name__)

#: Longer tokens are refused before any parsing (Better-Auth's are about 1 KiB).
MAX_TOKEN_LENGTH = 16 * 1024
_MAX_HEADER_LENGTH = 2048
#: Time claims beyond this many seconds from the epoch (year 31 690 000) are nonsense.
_MAX_TIME = 1e15
#: Accepted headers by their encoded form: one per signing key in practice.
_HEADER_CACHE_SIZE = 64
#: Recently verified tokens: a client sends the same JWT until it expires.
TOKEN_CACHE_SIZE = 1024
#: Headers that would let a token choose its own key, or change what is signed.
_REFUSED_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "crit", "zip", "cty"})
_JWT_TYPES = frozenset({"jwt", "application/jwt"})
_JSON_MEDIA = re.compile(r"application/(?:[\w.-]+\+)?json")
_REQUEST_HEADERS = {
    "Accept": "application/jwk-set+json, application/json",
    "Accept-Encoding": "identity",
}


def _invalid(
    message: str, reason: str, error: type[InvalidTokenError] = InvalidTokenError
) -> InvalidTokenError:
    exc = error(message)
    # InvalidTokenError declares no ``reason``; it is an optional attribute for logs.
    setattr(exc, "reason", reason)  # noqa: B010
    return exc


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


def _copy(value: Any) -> Any:
    """A copy of JSON data, so callers never share (and mutate) the cached claims."""
    if isinstance(value, dict):
        return {name: _copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _nested(claims: dict[str, Any]) -> tuple[str, ...]:
    """The claims holding arrays or objects: a copy must copy those; the rest are immutable."""
    return tuple(
        name for name, value in claims.items() if isinstance(value, (dict, list))
    )


def _copy_claims(claims: dict[str, Any], nested: tuple[str, ...]) -> dict[str, Any]:
    """:func:`_copy` of claims whose containers are the ``nested`` members (usually none)."""
    copied = claims.copy()
    for name in nested:
        copied[name] = _copy(copied[name])
    return copied


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise _invalid(f"token has no {name!r} claim", "missing_claim")
    # JSON numbers only (no bool, no string), and sane ones: no infinity, no 400-digit int.
    if type(value) not in (int, float) or not -_MAX_TIME <= value <= _MAX_TIME:
        raise _invalid(f"token claim {name!r} is not a valid time", "bad_claim")
    number: float = value
    return number


class JWKSVerifier:
    """Verifies Better-Auth JWTs against its JWKS, fetched lazily, cached and refreshed.

    Args:
        settings: where the JWKS is and what to accept (issuer, audiences, algorithms, limits).
        client: an ``httpx.AsyncClient`` of yours; it is not closed by :meth:`aclose`.
        clock: the wall clock for ``exp``/``iat``/``nbf`` (seconds since the epoch); tests freeze it.
        monotonic: the clock of the key cache; tests move it.
        token_cache_size: how many verified tokens to remember (0: none). A token seen again
            is re-checked for time, issuer, audience and its key still being published, but
            its signature is not checked twice.
    """

    def __init__(
        self,
        settings: BetterAuthSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        token_cache_size: int = TOKEN_CACHE_SIZE,
    ) -> None:
        self._settings = settings
        self._url = settings.resolved_jwks_url
        self._log_url = _redacted(self._url)
        self._client = client
        self._owns_client = client is None
        self._clock = clock
        self._monotonic = monotonic
        self._algorithms = frozenset(
            normalize_algorithm(name) for name in settings.jwt_algorithms
        )
        self._issuer = settings.expected_issuer
        self._audiences = settings.expected_audiences
        self._leeway = settings.jwt_leeway_seconds
        self._keys: dict[str, PublicKey] = {}
        self._unusable: frozenset[str] = frozenset()
        self._max_lifetime = settings.jwt_max_lifetime_seconds
        #: Accepted headers by their encoded segment: ``(alg, kid)``, only after every check passed.
        self._headers: dict[bytes, tuple[str, str]] = {}
        #: Verified tokens: ``kid``, the key that verified it, its claims and their nested members.
        self._verified: dict[
            str, tuple[str, PublicKey, dict[str, Any], tuple[str, ...]]
        ] = {}
        self._token_cache_size = token_cache_size
        self._expires_at = -math.inf
        self._last_attempt = -math.inf
        self._refresh: asyncio.Task[None] | None = None
        #: Number of JWKS fetches started (tests and benchmarks count them).
        self.fetch_count = 0
        #: Why the last fetch failed (``python -m fastapi_better_auth check`` shows it), or None.
        self.last_error: str | None = None

    @property
    def has_keys(self) -> bool:
        """Whether signing keys are cached (possibly stale); a readiness probe can report it."""
        return bool(self._keys)

    @property
    def key_algorithms(self) -> dict[str, str]:
        """The algorithm of each cached key, by ``kid``."""
        return {kid: key.algorithm for kid, key in self._keys.items()}

    @property
    def unusable_kids(self) -> frozenset[str]:
        """``kid``s the JWKS lists but that are never used (invalid, private, or not allowed)."""
        return self._unusable

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid token.

        Raises:
            TokenExpiredError: the token is valid but expired.
            InvalidTokenError: anything else is wrong with the token.
            JWKSUnavailableError: no keys are cached and the JWKS cannot be fetched.
        """
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise _invalid("token is malformed", "malformed")
        cached = self._verified.pop(token, None)
        if cached is not None and self._keys.get(cached[0]) is cached[1]:
            self._verified[token] = (
                cached  # most recently used last: a flood evicts others first
            )
            return self._recheck(token, cached[2], cached[3])
        (alg, kid), new_header, data, payload, signature = self._parse(token)
        key = self._keys.get(kid)
        if key is None:
            key = await self._missing_key(kid)
        elif self._monotonic() >= self._expires_at:
            self._start_refresh()  # in the background: this request uses the cached key
        if key.algorithm != alg:
            raise _invalid(
                "token algorithm does not match its signing key", "alg_mismatch"
            )
        if not key.verify(signature, data):
            raise _invalid("token signature is invalid", "bad_signature")
        if (
            new_header is not None
        ):  # only signed headers: nobody else can flush the cache
            if len(self._headers) >= _HEADER_CACHE_SIZE:
                self._headers.clear()
            self._headers[new_header] = (alg, kid)
        try:
            claims = loads_object(payload)
        except ValueError as exc:
            raise _invalid("token payload is malformed", "malformed") from exc
        self._check_claims(claims)
        if self._token_cache_size:
            if len(self._verified) >= self._token_cache_size:
                del self._verified[next(iter(self._verified))]
            nested = _nested(claims)
            self._verified[token] = (kid, key, _copy_claims(claims, nested), nested)
        return claims

    def _recheck(
        self, token: str, claims: dict[str, Any], nested: tuple[str, ...]
    ) -> dict[str, Any]:
        """The claims of a token verified with a key still published, if it is still valid."""
        if self._monotonic() >= self._expires_at:
            self._start_refresh()
        try:
            self._check_claims(claims)
        except InvalidTokenError:
            del self._verified[token]
            raise
        return _copy_claims(claims, nested)

    async def warm(self) -> bool:
        """Fetch the keys now (in a lifespan) unless fresh ones are cached; never raises on a failed fetch.

        Returns:
            Whether keys are cached.
        """
        if self._keys and self._monotonic() < self._expires_at:
            return True
        task = self._start_refresh()
        if task is not None:
            await asyncio.shield(task)
        return self.has_keys

    async def aclose(self) -> None:
        """Stop a running refresh and close the HTTP client if this verifier created it."""
        task, self._refresh = self._refresh, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _parse(
        self, token: str
    ) -> tuple[tuple[str, str], bytes | None, bytes, bytes, bytes]:
        """Check the compact form and the header, before any key lookup or fetch.

        ``((alg, kid), header segment if not cached yet, signing input, payload, signature)``,
        the payload still encoded as JSON: it is parsed only once the signature is verified.
        """
        try:
            raw = token.encode("ascii")
            data, _, encoded_signature = raw.rpartition(b".")
            head, _, encoded_payload = data.partition(b".")
            # Three non-empty segments: a missing dot leaves one empty, an extra one ends up in
            # the payload, where it is no base64url.
            if not (head and encoded_payload and encoded_signature):
                raise ValueError("not three segments")
            signature = b64url_decode_bytes(encoded_signature)
            payload = b64url_decode_bytes(encoded_payload)
        except ValueError as exc:  # UnicodeEncodeError included
            raise _invalid("token is malformed", "malformed") from exc
        header = self._headers.get(head)
        if header is not None:
            return header, None, data, payload, signature
        if len(head) > _MAX_HEADER_LENGTH:
            raise _invalid("token is malformed", "malformed")
        return self._check_header(head.decode("ascii")), head, data, payload, signature

    def _check_header(self, segment: str) -> tuple[str, str]:
        """``(alg, kid)`` of an acceptable header (a pure function of the segment, so it is cached)."""
        try:
            header = loads_object(b64url_decode(segment))
        except ValueError as exc:
            raise _invalid("token is malformed", "malformed") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or normalize_algorithm(alg) not in self._algorithms:
            raise _invalid("token algorithm is not allowed", "alg_not_allowed")
        if (
            not _REFUSED_HEADERS.isdisjoint(header)
            or header.get("b64", True) is not True
        ):
            raise _invalid("token header has an unsupported member", "refused_header")
        typ = header.get("typ")
        if typ is not None and (
            not isinstance(typ, str) or typ.lower() not in _JWT_TYPES
        ):
            raise _invalid("token type is not JWT", "bad_typ")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
            raise _invalid("token has no usable key id", "no_kid")
        return normalize_algorithm(alg), kid

    async def _missing_key(self, kid: str) -> PublicKey:
        """The key of a ``kid`` not cached: after one refetch (within the cooldown), or an error."""
        if kid not in self._unusable:
            task = self._start_refresh()
            if task is not None:
                await asyncio.shield(task)
            key = self._keys.get(kid)
            if key is not None:
                return key
            if not self._keys:
                raise JWKSUnavailableError(retry_after=self._retry_after())
        if kid in self._unusable:
            raise _invalid("token signing key is not allowed", "key_not_allowed")
        raise _invalid("unknown signing key", "unknown_kid")

    def _start_refresh(self) -> "asyncio.Task[None] | None":
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
        if self._keys:
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
                len(self._keys),
            )
            return
        finally:
            self._last_attempt = self._monotonic()
        self._keys, self._unusable = keys, unusable
        self.last_error = None
        self._expires_at = self._monotonic() + ttl
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
                previous=self._keys,
            )
        except ValueError as exc:
            raise _FetchError(f"not a usable JWK Set ({exc})") from exc
        if not keys:
            raise _FetchError("no usable signing key")
        return keys, unusable, _cache_seconds(headers.get("cache-control"), settings)

    def _check_claims(self, claims: dict[str, Any]) -> None:
        exp, iat = _number(claims, "exp"), _number(claims, "iat")
        nbf = None if claims.get("nbf") is None else _number(claims, "nbf")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise _invalid("token has no subject", "bad_sub")
        iss = claims.get("iss")
        if not isinstance(iss, str) or iss != self._issuer:
            raise _invalid("token issuer is not trusted", "bad_iss")
        aud = claims.get("aud")
        if isinstance(aud, str):
            accepted = aud in self._audiences
        elif isinstance(aud, list) and all(isinstance(item, str) for item in aud):
            accepted = not self._audiences.isdisjoint(aud)
        else:
            raise _invalid("token has no valid 'aud' claim", "bad_aud")
        if not accepted:
            raise _invalid("token audience is not accepted", "bad_aud")
        if not 0 < exp - iat <= self._max_lifetime:
            raise _invalid("token lifetime is invalid or too long", "bad_lifetime")
        now = self._clock()
        if iat > now + self._leeway:
            raise _invalid("token is issued in the future", "iat_future")
        if nbf is not None and nbf > now + self._leeway:
            raise _invalid("token is not valid yet", "not_yet_valid")
        if exp <= now - self._leeway:
            raise _invalid("token expired", "expired", TokenExpiredError)
