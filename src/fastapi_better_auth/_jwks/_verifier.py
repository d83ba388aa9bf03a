"""``JWKSVerifier``: Better-Auth's JWTs checked against its JWKS.

The compact form and the header are checked before any key lookup (so a bad token never makes
us fetch), the signature with the key bound to the ``kid``, then the claims. Keys come from a
:class:`KeySet` (fetch, cache, refresh). Accepted headers and verified tokens are remembered,
bounded: a client sends the same JWT until it expires.

Every malformed, forged or unacceptable token raises :class:`InvalidTokenError` (with a short
``reason`` attribute for logs), an expired one :class:`TokenExpiredError`; only an empty key cache
that cannot be filled raises :class:`JWKSUnavailableError`. Neither messages nor logs hold a token.
"""

import time
from collections.abc import Callable
from typing import Any

import httpx

from .._settings import BetterAuthSettings
from ._claims import ClaimRules, check_header, copy_claims, invalid, nested_members
from ._jose import b64url_decode_bytes, loads_object
from ._keys import PublicKey, normalize_algorithm
from ._keyset import KeySet

__all__ = ["MAX_TOKEN_LENGTH", "TOKEN_CACHE_SIZE", "JWKSVerifier", "Verified"]

#: Longer tokens are refused before any parsing (Better-Auth's are about 1 KiB).
MAX_TOKEN_LENGTH = 16 * 1024
_MAX_HEADER_LENGTH = 2048
#: Accepted headers by their encoded form: one per signing key in practice.
_HEADER_CACHE_SIZE = 64
#: Recently verified tokens: a client sends the same JWT until it expires.
TOKEN_CACHE_SIZE = 1024


#: A verified token's cache entry: ``kid``, key, claims, nested members, valid from, until.
Verified = tuple[str, PublicKey, dict[str, Any], tuple[str, ...], float, float]


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
        self._algorithms = frozenset(
            normalize_algorithm(name) for name in settings.jwt_algorithms
        )
        self._keyset = KeySet(
            settings, self._algorithms, client=client, monotonic=monotonic
        )
        self._monotonic = monotonic
        self._rules = ClaimRules(settings, clock)
        # the same clock: a cached token's window is judged as its claims are
        self._clock = clock
        #: Accepted headers by their encoded segment: ``(alg, kid)``, only after every check passed.
        self._headers: dict[bytes, tuple[str, str]] = {}
        #: Verified tokens: ``kid``, the key that verified it, its claims, their nested
        #: members and the claims' validity window (``ClaimRules.window``).
        self._verified: dict[str, Verified] = {}
        self._token_cache_size = token_cache_size

    @property
    def has_keys(self) -> bool:
        """Whether signing keys are cached (possibly stale); a readiness probe can report it."""
        return bool(self._keyset.keys)

    @property
    def key_algorithms(self) -> dict[str, str]:
        """The algorithm of each cached key, by ``kid``."""
        return {kid: key.algorithm for kid, key in self._keyset.keys.items()}

    @property
    def unusable_kids(self) -> frozenset[str]:
        """``kid``s the JWKS lists but that are never used (invalid, private, or not allowed)."""
        return self._keyset.unusable

    @property
    def fetch_count(self) -> int:
        """Number of JWKS fetches started (tests and benchmarks count them)."""
        return self._keyset.fetch_count

    @property
    def last_error(self) -> str | None:
        """Why the last fetch failed (``python -m fastapi_better_auth check`` shows it), or None."""
        return self._keyset.last_error

    async def verify(self, token: str, *, copy: bool = True) -> dict[str, Any]:
        """The claims of a valid token; ``copy=False``: the cached claims themselves, which
        the caller must not change (the library's own read-only use, one copy less).

        Raises:
            TokenExpiredError: the token is valid but expired.
            InvalidTokenError: anything else is wrong with the token.
            JWKSUnavailableError: no keys are cached and the JWKS cannot be fetched.
        """
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise invalid("token is malformed", "malformed")
        keyset = self._keyset
        cached = self._verified.pop(token, None)
        if cached is not None and keyset.keys.get(cached[0]) is cached[1]:
            # most recently used last: a flood evicts others first
            self._verified[token] = cached
            return self._recheck(token, cached, copy)
        (alg, kid), new_header, data, payload, signature = self._parse(token)
        key = keyset.keys.get(kid)
        if key is None:
            key = await keyset.missing(kid)
            if key is None:
                if kid in keyset.unusable:
                    raise invalid("token signing key is not allowed", "key_not_allowed")
                raise invalid("unknown signing key", "unknown_kid")
        elif self._monotonic() >= keyset.expires_at:
            keyset.start_refresh()  # in the background: this request uses the cached key
        if key.algorithm != alg:
            raise invalid(
                "token algorithm does not match its signing key", "alg_mismatch"
            )
        if not key.verify(signature, data):
            raise invalid("token signature is invalid", "bad_signature")
        if (
            new_header is not None
        ):  # only signed headers: nobody else can flush the cache
            if len(self._headers) >= _HEADER_CACHE_SIZE:
                self._headers.clear()
            self._headers[new_header] = (alg, kid)
        try:
            claims = loads_object(payload)
        except ValueError as exc:
            raise invalid("token payload is malformed", "malformed") from exc
        self._rules.check(claims)
        if self._token_cache_size:
            if len(self._verified) >= self._token_cache_size:
                del self._verified[next(iter(self._verified))]
            nested = nested_members(claims)
            self._verified[token] = (
                kid, key, copy_claims(claims, nested), nested, *self._rules.window(claims)
            )  # fmt: skip
        return claims

    def _recheck(self, token: str, cached: Verified, copy: bool) -> dict[str, Any]:
        """The claims of a token verified with a key still published, if it is still valid."""
        if self._monotonic() >= self._keyset.expires_at:
            self._keyset.start_refresh()
        _, _, claims, nested, valid_from, valid_until = cached
        if not valid_from <= self._clock() < valid_until:
            del self._verified[token]
            self._rules.check(claims)  # raises the reason (expired, not yet valid)
        return copy_claims(claims, nested) if copy else claims

    def seen(self, token: str) -> Verified | None:
        """What :meth:`verify` keeps of a token it accepted, for a cache of the caller's own
        (``_repeats``); None when it keeps none (``token_cache_size=0``, or evicted)."""
        return self._verified.get(token)

    def still_accepts(self, seen: Verified) -> bool:
        """Whether the token of ``seen`` would be accepted again now without checking its
        signature again: its key still published, its time window open (as a cache hit of
        :meth:`verify` decides). Starts a key refresh that is due, as every verify does."""
        keyset = self._keyset
        if self._monotonic() >= keyset.expires_at:
            keyset.start_refresh()
        kid, key, _, _, valid_from, valid_until = seen
        return keyset.keys.get(kid) is key and valid_from <= self._clock() < valid_until

    async def warm(self) -> bool:
        """Fetch the keys now (in a lifespan) unless fresh ones are cached; never raises on a failed fetch.

        Returns:
            Whether keys are cached.
        """
        return await self._keyset.warm()

    async def aclose(self) -> None:
        """Stop a running refresh and close the HTTP client if this verifier created it."""
        await self._keyset.aclose()

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
            raise invalid("token is malformed", "malformed") from exc
        header = self._headers.get(head)
        if header is not None:
            return header, None, data, payload, signature
        if len(head) > _MAX_HEADER_LENGTH:
            raise invalid("token is malformed", "malformed")
        alg_kid = check_header(head.decode("ascii"), self._algorithms)
        return alg_kid, head, data, payload, signature
