"""``freshness="push"``: checked identities kept until a listener says their rows changed.

The authenticator owns one :class:`PushCache`. Entries live long (``jwt_max_lifetime_seconds``,
a safety net only) and are dropped by the events of the listeners (``_push``): a user's entries
on :class:`UserChanged`, a session's on :class:`SessionChanged` (by id, by user, by token hash),
everything on :class:`Reset`. Two rules keep it exact:

- while any listener is not ``trustworthy`` (``trusted`` is False), the cache is neither read nor
  filled: every request reads the rows, as ``always``;
- a read that an event (any event, a Reset included) overtook is not stored: a fill carries the
  :attr:`PushCache.generation` it started under and is dropped if that moved, so a row read
  before a change (or during a disconnect) never outlives the event announcing it.

Single-threaded asyncio use: nothing awaits inside a method.
"""

from collections.abc import Sequence
from typing import Protocol

from ._cache import TTLCache
from ._push import Event, Reset, SessionChanged, UserChanged
from ._reads import Found
from ._schemas import AuthenticatedSession

#: A JWT's entry: (user id, session id or None).
JwtKey = tuple[str, str | None]


class Trust(Protocol):
    """What the cache reads of a listener."""

    @property
    def trustworthy(self) -> bool: ...  # pragma: no cover (a protocol)


class PushCache:
    """Identities by JWT (user, sid) and by session-token hash, with reverse indexes by user
    and by session id so an event drops exactly its entries.

    Args:
        ttl: the longest an entry lives without any event (a safety net).
        maxsize: the most entries of each kind; the reverse indexes are bounded by it too.
    """

    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        #: True only while every listener is trustworthy: the one check of the hot path.
        self.trusted = False
        #: Moves on every event: a fill started under another generation is not stored.
        self.generation = 0
        self.jwts: TTLCache[JwtKey, AuthenticatedSession] = TTLCache(ttl, maxsize)
        self.tokens: TTLCache[str, Found] = TTLCache(ttl, maxsize)
        self._maxsize = maxsize
        self._listeners: tuple[Trust, ...] = ()
        #: user id / session id -> the JWT keys and token hashes that hold them.
        self._by_user: dict[str, set[JwtKey | str]] = {}
        self._by_session: dict[str, set[JwtKey | str]] = {}

    def watch(self, listeners: Sequence[Trust]) -> None:
        """Rely on ``listeners`` (all of them); :meth:`refresh_trust` on any change of theirs."""
        self._listeners = tuple(listeners)
        self.refresh_trust()

    def refresh_trust(self) -> None:
        """Recompute :attr:`trusted` (a listener connected or lost its connection)."""
        listeners = self._listeners
        self.trusted = bool(listeners) and all(item.trustworthy for item in listeners)

    def put_jwt(
        self, key: JwtKey, identity: AuthenticatedSession, generation: int
    ) -> None:
        """Keep ``identity`` unless an event arrived since ``generation`` or trust is gone."""
        if self.trusted and generation == self.generation:
            self.jwts.set(key, identity)
            self._index(key, key[0], key[1])

    def put_token(self, token_sha256: str, found: Found, generation: int) -> None:
        """Keep a session-token lookup, on the same terms as :meth:`put_jwt`."""
        if self.trusted and generation == self.generation:
            self.tokens.set(token_sha256, found)
            self._index(token_sha256, found[1].id, found[0].id)

    def _index(self, key: JwtKey | str, user_id: str, session_id: str | None) -> None:
        if len(self._by_user) + len(self._by_session) > 4 * self._maxsize:
            self._clear()  # entries evicted by the LRU left stale index keys: start over
        self._by_user.setdefault(user_id, set()).add(key)
        if session_id is not None:
            self._by_session.setdefault(session_id, set()).add(key)

    def on_event(self, event: Event) -> None:
        """A listener's callback: drop what ``event`` names (everything on :class:`Reset`)."""
        self.generation += 1
        if isinstance(event, UserChanged):
            self._drop(self._by_user.pop(event.id, ()))
        elif isinstance(event, SessionChanged):
            if event.id is not None:
                self._drop(self._by_session.pop(event.id, ()))
            if event.token_sha256 is not None:
                self.tokens.discard(event.token_sha256)
        elif isinstance(event, Reset):
            self._clear()

    def _drop(self, keys: "set[JwtKey | str] | tuple[()]") -> None:
        for key in keys:
            if isinstance(key, str):
                self.tokens.discard(key)
            else:
                self.jwts.discard(key)

    def forget(self) -> None:
        """Drop everything (a write of this process, or a Reset)."""
        self.generation += 1
        self._clear()

    def _clear(self) -> None:
        self.jwts.clear()
        self.tokens.clear()
        self._by_user.clear()
        self._by_session.clear()
