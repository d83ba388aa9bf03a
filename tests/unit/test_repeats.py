"""``freshness="push"``'s repeat cache: a repeated ``Authorization`` header answered by one
lookup, and never after anything that could change the answer (an event, lost trust, the JWT's
window or key, the session's expiry, the safety net), through the authenticator.

The listeners are stand-ins (a flag), as in test_push_cache.py; the end-to-end guarantees (a
ban or revocation refused by every replica within 100 ms) are pinned with real listeners in
tests/integration/test_push_freshness.py and test_replicas.py, whose clients repeat their
tokens, so they go through this cache.
"""

from datetime import timedelta
from typing import Any

import pytest

from fastapi_better_auth._errors import (
    SessionExpiredError,
    TokenExpiredError,
    UserBannedError,
)
from fastapi_better_auth._identity import Authenticator
from fastapi_better_auth._jwks import JWKSVerifier
from fastapi_better_auth._push import SessionChanged, UserChanged
from fastapi_better_auth._repeats import Repeats
from fastapi_better_auth._schemas import AuthenticatedSession, SessionInfo
from fastapi_better_auth.testing import TokenIssuer, session_cookie
from tests.unit.jwks_support import FakeClock
from tests.unit.test_authenticator import (
    MODELS,
    NOW,
    MemoryRows,
    claims,
    issuer,
    rows,
    session_row,
    settings_for,
    verifier,
)
from tests.unit.test_push_cache import Listener, RacingRows, identity

__all__ = ["issuer", "rows", "verifier"]  # fixtures


def pushed(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows, **settings: Any
) -> tuple[Authenticator, Listener]:
    authenticator = Authenticator(
        settings_for(issuer, freshness="push", **settings), verifier, rows, MODELS
    )
    listener = Listener()
    authenticator.push.watch([listener])
    return authenticator, listener


def header(token: str) -> bytes:
    return f"Bearer {token}".encode()


@pytest.mark.anyio
async def test_a_repeated_header_is_answered_without_the_verifier_or_the_rows(
    issuer: TokenIssuer,
    verifier: JWKSVerifier,
    rows: MemoryRows,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authenticator, _ = pushed(issuer, verifier, rows)
    jwt, bearer = issuer.mint(claims(sid="s1")), "tok-alice"
    first = await authenticator.authenticate(("jwt", jwt), header(jwt))
    second = await authenticator.authenticate(("bearer", bearer), header(bearer))
    assert rows.reads == 2

    async def no_verify(*_: Any, **__: Any) -> Any:
        raise AssertionError("verified again")

    monkeypatch.setattr(verifier, "verify", no_verify)
    for _ in range(3):
        assert authenticator.repeats.get(header(jwt)) is first
        assert authenticator.repeats.get(header(bearer)) is second
    assert authenticator.repeats.get(header(jwt + "x")) is None
    assert rows.reads == 2 and len(authenticator.repeats) == 2


@pytest.mark.anyio
async def test_any_event_or_lost_trust_drops_every_entry(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    """An event about anyone, since the cache keeps no index: the next request reads again
    (from the push cache, which dropped exactly the affected entries)."""
    authenticator, listener = pushed(issuer, verifier, rows)
    token = issuer.mint(claims())

    async def kept() -> bool:
        await authenticator.authenticate(("jwt", token), header(token))
        return authenticator.repeats.get(header(token)) is not None

    seen = [await kept()]
    authenticator.push.on_event(UserChanged("somebody-else"))
    seen.append(authenticator.repeats.get(header(token)) is not None)
    seen.append(await kept())
    authenticator.push.on_event(SessionChanged(id="s9", user_id=None))
    seen.append(authenticator.repeats.get(header(token)) is not None)
    await kept()
    listener.trustworthy = False
    authenticator.push.refresh_trust()
    seen.append(authenticator.repeats.get(header(token)) is not None)
    await authenticator.authenticate(
        ("jwt", token), header(token)
    )  # untrusted: not kept
    listener.trustworthy = True
    authenticator.push.refresh_trust()
    seen.append(authenticator.repeats.get(header(token)) is not None)
    assert seen == [True, False, True, False, False, False]
    await kept()
    authenticator.forget()  # a write of this process
    assert len(authenticator.repeats) == 0


@pytest.mark.anyio
async def test_a_ban_is_refused_on_the_next_request_after_its_event(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator, _ = pushed(issuer, verifier, rows)
    token = issuer.mint(claims())
    await authenticator.authenticate(("jwt", token), header(token))
    rows.users["alice"]["banned"] = True
    authenticator.push.on_event(UserChanged("alice"))
    assert authenticator.repeats.get(header(token)) is None
    with pytest.raises(UserBannedError):
        await authenticator.authenticate(("jwt", token), header(token))
    assert len(authenticator.repeats) == 0


@pytest.mark.anyio
async def test_an_identity_an_event_overtook_is_not_kept(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    """The row was read before a change whose event arrived during the read."""
    racing = RacingRows()
    racing.users = rows.users
    authenticator, _ = pushed(issuer, verifier, racing)
    token = issuer.mint(claims())
    racing.during_read = lambda: authenticator.push.on_event(UserChanged("alice"))
    await authenticator.authenticate(("jwt", token), header(token))
    assert len(authenticator.repeats) == 0
    racing.during_read = lambda: None
    await authenticator.authenticate(("jwt", token), header(token))
    assert len(authenticator.repeats) == 1


@pytest.mark.anyio
async def test_nothing_is_kept_when_the_verifier_keeps_no_tokens(
    issuer: TokenIssuer, rows: MemoryRows
) -> None:
    verifier = JWKSVerifier(settings_for(issuer), token_cache_size=0)
    try:
        authenticator, _ = pushed(issuer, verifier, rows)
        token = issuer.mint(claims())
        await authenticator.authenticate(("jwt", token), header(token))
        assert len(authenticator.repeats) == 0
    finally:
        await verifier.aclose()


@pytest.mark.anyio
async def test_an_expired_jwt_is_not_answered_from_the_cache(
    issuer: TokenIssuer, rows: MemoryRows
) -> None:
    clock = FakeClock(NOW.timestamp())
    verifier = JWKSVerifier(settings_for(issuer), clock=clock)
    try:
        authenticator, _ = pushed(issuer, verifier, rows)
        token = issuer.mint(claims(), issued_at=clock.now, expires_in=60)
        await authenticator.authenticate(("jwt", token), header(token))
        assert authenticator.repeats.get(header(token)) is not None
        clock.now += 60 + 5  # exp plus the default leeway
        assert authenticator.repeats.get(header(token)) is None
    finally:
        await verifier.aclose()


@pytest.mark.anyio
async def test_session_expiry_and_the_safety_net_end_an_entry(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    """A session token's entry ends when its session expires or the push cache's safety net
    (``jwt_max_lifetime_seconds``) passes, whichever comes first."""
    authenticator, _ = pushed(issuer, verifier, rows)
    clock = FakeClock(NOW.timestamp())
    repeats = Repeats(authenticator.push, verifier, 900.0, 10, clock=clock)
    identity = session_identity(expires_in=timedelta(seconds=100))
    long_lived = session_identity(expires_in=timedelta(days=7))
    generation = authenticator.push.generation
    repeats.put(b"a", "a", identity, generation, None)
    repeats.put(b"b", "b", long_lived, generation, None)
    clock.now += 99
    seen = [repeats.get(b"a") is identity, repeats.get(b"b") is long_lived]
    clock.now += 1
    seen.append(repeats.get(b"a") is None)
    clock.now += 800
    seen.append(repeats.get(b"b") is None)
    assert seen == [True, True, True, True]


@pytest.mark.anyio
async def test_the_cache_is_bounded_oldest_first(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator, _ = pushed(issuer, verifier, rows)
    repeats = Repeats(authenticator.push, verifier, 900.0, 2)
    identity = session_identity(expires_in=timedelta(days=1))
    for name in (b"a", b"b", b"a", b"c"):
        repeats.put(name, "x", identity, authenticator.push.generation, None)
    assert [repeats.get(name) is not None for name in (b"a", b"b", b"c")] == [
        True,
        False,
        True,
    ]
    empty = Repeats(authenticator.push, verifier, 900.0, 0)
    empty.put(b"a", "a", identity, authenticator.push.generation, None)
    assert len(empty) == 0


@pytest.mark.anyio
async def test_a_padded_header_is_not_kept(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    """Whitespace-padded copies of one token are each a header of their own: none is kept, so an
    authenticated client cannot fill memory with them (a signed session token is kept)."""
    authenticator, _ = pushed(issuer, verifier, rows, secret="s" * 32)
    token = issuer.mint(claims())
    padded = f"Bearer {token}{' ' * 58}".encode()
    await authenticator.authenticate(("jwt", token), padded)
    assert len(authenticator.repeats) == 0
    await authenticator.authenticate(("jwt", token), padded[:-1])  # 57 + 7 = the slack
    signed = session_cookie("tok-alice", "s" * 32)[1]
    await authenticator.authenticate(("bearer", "tok-alice"), header(signed))
    assert len(authenticator.repeats) == 2


@pytest.mark.anyio
async def test_an_expired_session_is_refused_not_recalled(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    rows.sessions["s2"] = session_row(
        "s2", "alice", "tok-short", expires_at=NOW - timedelta(seconds=1)
    )
    authenticator, _ = pushed(issuer, verifier, rows)
    with pytest.raises(SessionExpiredError):
        await authenticator.authenticate(("bearer", "tok-short"), header("tok-short"))
    assert len(authenticator.repeats) == 0


def session_identity(expires_in: timedelta) -> AuthenticatedSession:
    user = identity("alice").user
    session = SessionInfo(
        id="s1",
        user_id="alice",
        expires_at=NOW + expires_in,
        created_at=NOW,
        updated_at=NOW,
    )
    return AuthenticatedSession(user=user, session=session, credential="bearer")


@pytest.mark.anyio
async def test_never_mode_keeps_a_jwt_until_the_token_ends_and_no_session_token(
    issuer: TokenIssuer, rows: MemoryRows
) -> None:
    """``never`` trusts the token alone, so no event ends an entry: its expiry and key do. A
    session token is read on every request in ``never``, so it is not kept."""
    clock = FakeClock(NOW.timestamp())
    verifier = JWKSVerifier(settings_for(issuer), clock=clock)
    try:
        authenticator = Authenticator(
            settings_for(issuer, freshness="never"), verifier, rows, MODELS
        )
        token = issuer.mint(claims(), issued_at=clock.now, expires_in=60)
        first = await authenticator.authenticate(("jwt", token), header(token))
        authenticator.push.on_event(
            UserChanged("alice")
        )  # no listener in never: ignored
        kept = authenticator.repeats.get(header(token))
        await authenticator.authenticate(("bearer", "tok-alice"), header("tok-alice"))
        assert kept is first and len(authenticator.repeats) == 1
        assert rows.reads == 1  # the session token's, the JWT's none
        clock.now += 60 + 5
        assert authenticator.repeats.get(header(token)) is None
        with pytest.raises(TokenExpiredError):
            await authenticator.authenticate(("jwt", token), header(token))
    finally:
        await verifier.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("freshness", ["always", "cached"])
async def test_always_and_cached_keep_nothing(
    freshness: str, issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = Authenticator(
        settings_for(issuer, freshness=freshness), verifier, rows, MODELS
    )
    token = issuer.mint(claims())
    for _ in range(2):
        await authenticator.authenticate(("jwt", token), header(token))
    assert len(authenticator.repeats) == 0
    assert authenticator.repeats.generation() is None
