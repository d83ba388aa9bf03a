"""A request that repeats an admitted ``Authorization`` header, answered by one lookup
(``freshness="push"`` and ``"never"``).

A client sends the same header until its token expires. Once a header has been admitted, its
identity is kept under the header's exact bytes, so the next request skips the header's
parsing and the verifier's and the freshness cache's lookups (about 3 µs of the guard's 5.5 in
process; ``docs/performance.md``). An entry is used only while all of this holds, so it is never
trusted longer than the entry it was built from:

- ``push``: every listener is trusted and no event at all arrived since it was kept (the push
  cache's ``generation``: an event about anyone drops every entry here, which costs one
  ordinary request each); ``never`` trusts the token alone, so no event ends an entry;
- a JWT's key is still published and its time window open (``JWKSVerifier.still_accepts``, the
  verifier's own rule for a token it has seen), its session (if it names one) not expired;
- it is younger than the push cache's safety net (``jwt_max_lifetime_seconds``).

A ban ending by time (``banExpires``) needs no check: only admitted identities are kept, and
time only lifts a ban. Only the ``Authorization`` header is kept: a cookie request also needs
its ``Origin`` judged. ``always`` and ``cached`` keep nothing here.
"""

import time
from collections.abc import Callable
from typing import Protocol

from ._jwks import JWKSVerifier, Verified
from ._schemas import AuthenticatedSession

#: How much longer than its credential a kept header may be: ``Bearer `` and a signed session
#: token's signature. Whitespace-padded copies of one token are not kept, so memory stays about
#: ``maxsize`` times a real token.
HEADER_SLACK = 64

#: identity, the source's generation it was kept under, until when (wall clock), the verifier's
#: record of its JWT (None: a session token).
_Entry = tuple[AuthenticatedSession, int, float, Verified | None]


class Source(Protocol):
    """What an entry depends on besides its token: the push cache, or :data:`UNCHANGING`."""

    @property
    def trusted(self) -> bool: ...  # pragma: no cover (a protocol)

    @property
    def generation(self) -> int: ...  # pragma: no cover (a protocol)


class _Unchanging:
    trusted = True
    generation = 0


#: ``freshness="never"``'s source: the token's snapshot is the answer, no event changes it.
UNCHANGING: Source = _Unchanging()


class Repeats:
    """Admitted identities by the exact ``Authorization`` header that presented them.

    Args:
        source: whose trust and generation every entry depends on (the push cache, or
            :data:`UNCHANGING` for ``never``).
        verifier: rechecks a JWT's key and time window.
        ttl: the longest an entry lives (the push cache's safety net).
        maxsize: the most entries (0: keep nothing); the one kept longest ago goes first.
        clock: the wall clock a session's expiry is compared with; tests move it.
    """

    def __init__(
        self,
        source: Source,
        verifier: JWKSVerifier,
        ttl: float,
        maxsize: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._still_accepts = verifier.still_accepts
        self._ttl = ttl
        self._maxsize = maxsize
        self._clock = clock
        self._entries: dict[bytes, _Entry] = {}

    def get(self, header: bytes) -> AuthenticatedSession | None:
        """The identity ``header`` was admitted as, while nothing can have changed it; else None."""
        entries = self._entries
        if not entries:  # nothing kept (yet): no hashing of the header
            return None
        entry = entries.get(header)
        if entry is None:
            return None
        identity, generation, until, verified = entry
        source = self._source
        if (
            source.trusted
            and generation == source.generation
            and self._clock() < until
            and (verified is None or self._still_accepts(verified))
        ):
            return identity
        del entries[header]
        return None

    def generation(self) -> int | None:
        """The generation a fill starts under (an event after it voids the fill), or None when
        nothing would be kept now (untrusted, or a mode without this cache)."""
        source = self._source
        return source.generation if self._maxsize > 0 and source.trusted else None

    def put(
        self,
        header: bytes,
        credential: str,
        identity: AuthenticatedSession,
        generation: int,
        verified: Verified | None,
    ) -> None:
        """Keep an identity admitted under ``generation`` for ``header`` (which presented
        ``credential``), unless an event or a lost trust came since, or the header is padded."""
        if (
            self.generation() != generation
            or len(header) > len(credential) + HEADER_SLACK
        ):
            return
        until = self._clock() + self._ttl
        if identity.session is not None:
            until = min(until, identity.session.expires_at.timestamp())
        entries = self._entries
        if entries.pop(header, None) is None and len(entries) >= self._maxsize:
            del entries[next(iter(entries))]  # the oldest kept
        entries[header] = (identity, generation, until, verified)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
