"""``freshness="push"``'s cache: exactly the affected entries dropped, nothing kept or read while
untrusted, and no fill an event overtook (the generation rule), through the authenticator too.

The listeners are stand-ins here (a flag): their real behaviour is pinned in
tests/integration/test_push_listener.py and end to end in test_push_freshness.py.
"""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from fastapi_better_auth._errors import UserBannedError
from fastapi_better_auth._jwks import JWKSVerifier
from fastapi_better_auth._push import Reset, SessionChanged, UserChanged
from fastapi_better_auth._push_cache import PushCache
from fastapi_better_auth._schemas import AuthenticatedSession, AuthenticatedUser
from fastapi_better_auth.testing import TokenIssuer
from tests.unit.test_authenticator import (
    MemoryRows,
    claims,
    issuer,
    make,
    rows,
    session_row,
    user_row,
    verifier,
)

__all__ = ["issuer", "rows", "verifier"]  # fixtures


class Listener:
    def __init__(self, trustworthy: bool = True) -> None:
        self.trustworthy = trustworthy


def identity(user_id: str) -> AuthenticatedSession:
    return AuthenticatedSession(
        user=AuthenticatedUser(
            id=user_id,
            email=f"{user_id}@example.com",
            name=user_id,
            email_verified=True,
        ),
        credential="jwt",
    )


def found(session_id: str, user_id: str) -> Any:
    return (SimpleSession(session_id), identity(user_id).user)


class SimpleSession:
    def __init__(self, session_id: str) -> None:
        self.id = session_id


def trusted_cache(maxsize: int = 100) -> PushCache:
    cache = PushCache(60.0, maxsize)
    cache.watch([Listener()])
    return cache


def test_trust_needs_every_listener() -> None:
    cache = PushCache(60.0)
    seen = [cache.trusted]  # no listener yet: never trusted
    first, second = Listener(), Listener(trustworthy=False)
    cache.watch([first, second])
    seen.append(cache.trusted)
    second.trustworthy = True
    cache.refresh_trust()
    seen.append(cache.trusted)
    cache.watch(())
    seen.append(cache.trusted)
    assert seen == [False, False, True, False]


def test_an_event_drops_exactly_its_entries() -> None:
    cache = trusted_cache()
    g = cache.generation
    cache.put_jwt(("alice", None), identity("alice"), g)
    cache.put_jwt(("alice", "s1"), identity("alice"), g)
    cache.put_jwt(("bob", "s2"), identity("bob"), g)
    cache.put_token("h-alice", found("s1", "alice"), g)
    cache.put_token("h-bob", found("s2", "bob"), g)
    cache.on_event(SessionChanged("s1", "alice"))
    assert (
        cache.jwts.get(("alice", "s1")) is None and cache.tokens.get("h-alice") is None
    )
    assert cache.jwts.get(("alice", None)) is not None
    cache.on_event(UserChanged("alice"))
    assert cache.jwts.get(("alice", None)) is None
    assert cache.jwts.get(("bob", "s2")) is not None
    cache.on_event(SessionChanged(token_sha256="h-bob"))  # Redis: the token's hash only
    assert (
        cache.tokens.get("h-bob") is None and cache.jwts.get(("bob", "s2")) is not None
    )
    cache.on_event(UserChanged("nobody"))
    cache.on_event(SessionChanged("nothing"))
    cache.on_event(Reset("connected"))
    assert len(cache.jwts) == 0 and len(cache.tokens) == 0


def test_nothing_is_kept_untrusted_or_after_an_event_overtook_the_read() -> None:
    cache = trusted_cache()
    started = cache.generation
    cache.on_event(UserChanged("someone else"))  # arrives while the read is in flight
    cache.put_jwt(("alice", None), identity("alice"), started)
    cache.put_token("h", found("s1", "alice"), started)
    assert len(cache.jwts) == 0 and len(cache.tokens) == 0
    cache.trusted = False
    cache.put_jwt(("alice", None), identity("alice"), cache.generation)
    assert len(cache.jwts) == 0
    cache.trusted = True
    started = cache.generation
    cache.forget()  # a write of this process
    cache.put_jwt(("alice", None), identity("alice"), started)
    assert len(cache.jwts) == 0


def test_the_reverse_indexes_stay_bounded() -> None:
    cache = trusted_cache(maxsize=4)
    for n in range(40):
        cache.put_jwt((f"user{n}", f"s{n}"), identity(f"user{n}"), cache.generation)
    assert len(cache.jwts) <= 4
    assert len(cache._by_user) + len(cache._by_session) <= 4 * 4 + 2


@pytest.mark.anyio
async def test_push_mode_reads_once_until_an_event_and_always_while_untrusted(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows, freshness="push")
    listener = Listener(trustworthy=False)
    authenticator.push.watch([listener])
    token = issuer.mint(claims(sid="s1"))
    for _ in range(2):  # untrusted: as always
        await authenticator.from_jwt(token)
        await authenticator.from_session_token("tok-alice", "cookie")
    assert rows.reads == 4 and len(authenticator.push.jwts) == 0
    listener.trustworthy = True
    authenticator.push.refresh_trust()
    for _ in range(3):
        await authenticator.from_jwt(token)
        await authenticator.from_session_token("tok-alice", "cookie")
    assert rows.reads == 6
    rows.users["alice"]["banned"] = True
    await authenticator.from_jwt(token)  # no event yet: the cached row
    authenticator.push.on_event(UserChanged("alice"))
    with pytest.raises(UserBannedError):
        await authenticator.from_jwt(token)
    with pytest.raises(UserBannedError):
        await authenticator.from_session_token("tok-alice", "cookie")
    authenticator.forget()
    assert authenticator.push.generation > 0


@pytest.mark.anyio
async def test_a_fill_racing_with_a_reset_is_not_kept(
    issuer: TokenIssuer, verifier: JWKSVerifier
) -> None:
    """The read returns the row as it was; the Reset (a reconnect) arrives before the fill."""
    rows = RacingRows()
    rows.users["alice"] = user_row("alice")
    rows.sessions["s1"] = session_row("s1", "alice", "tok-alice")
    authenticator = make(issuer, verifier, rows, freshness="push")
    authenticator.push.watch([Listener()])
    rows.during_read = lambda: authenticator.push.on_event(Reset("connected"))
    await authenticator.from_jwt(issuer.mint(claims()))
    await authenticator.from_session_token("tok-alice", "cookie")
    assert len(authenticator.push.jwts) == 0 and len(authenticator.push.tokens) == 0
    rows.during_read = lambda: None
    await authenticator.from_session_token("tok-alice", "cookie")
    key = hashlib.sha256(b"tok-alice").hexdigest()
    assert authenticator.push.tokens.get(key) is not None


class RacingRows(MemoryRows):
    """A reader during whose reads an event arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.during_read: Callable[[], None] = lambda: None

    async def __call__(self, statement: Any, params: dict[str, Any]) -> Any:
        row = await super().__call__(statement, params)
        self.during_read()
        return row
