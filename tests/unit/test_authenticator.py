"""The authenticator without FastAPI or a database: a real verifier over the testing kit's
JWKS on loopback, and the per-request reads answered from memory."""

import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._errors import (
    InvalidSessionError,
    InvalidTokenError,
    SessionExpiredError,
    TokenExpiredError,
    UserBannedError,
)
from fastapi_better_auth._identity import Authenticator
from fastapi_better_auth._jwks import JWKSVerifier
from fastapi_better_auth._reads import Reads
from fastapi_better_auth._secondary_layout import StoredSession
from fastapi_better_auth._snapshots import _hot_queries
from fastapi_better_auth._user_fields import CORE
from fastapi_better_auth.models import get_models
from fastapi_better_auth.testing import TokenIssuer

MODELS = get_models()
NOW = datetime.now(timezone.utc)


def user_row(user_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": user_id, "email": f"{user_id}@example.com", "name": user_id,
        "email_verified": True, "image": None, "role": "user", "banned": False,
        "ban_reason": None, "ban_expires": None, "created_at": NOW, "updated_at": NOW,
        **fields,
    }  # fmt: skip


def session_row(
    session_id: str, user_id: str, token: str, **fields: Any
) -> dict[str, Any]:
    return {
        "session_id": session_id, "user_id": user_id, "token": token,
        "expires_at": NOW + timedelta(days=7), "session_created_at": NOW,
        "session_updated_at": NOW, "ip_address": None, "user_agent": None,
        "impersonated_by": None, **fields,
    }  # fmt: skip


class MemoryRows:
    """A row reader over dicts that answers the three prebuilt per-request selects."""

    def __init__(self) -> None:
        self.queries = _hot_queries(MODELS, CORE)
        self.users: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.reads = 0

    def _joined(self, session: dict[str, Any] | None) -> Any:
        user = None if session is None else self.users.get(session["user_id"])
        return None if user is None else SimpleNamespace(**session, **user)  # type: ignore[arg-type]

    async def __call__(self, statement: Any, params: dict[str, Any]) -> Any:
        self.reads += 1
        if statement is self.queries.user_by_id:
            user = self.users.get(params["user_id"])
            return None if user is None else SimpleNamespace(**user)
        if statement is self.queries.session_by_id:
            session = self.sessions.get(params["session_id"])
            if session is None or session["user_id"] != params["user_id"]:
                return None
            return self._joined(session)
        assert statement is self.queries.session_by_token
        found = [s for s in self.sessions.values() if s["token"] == params["token"]]
        return self._joined(found[0] if found else None)


@pytest.fixture(scope="module")
def issuer() -> Iterator[TokenIssuer]:
    issuer = TokenIssuer()
    with issuer.serve():
        yield issuer


@pytest.fixture
def rows() -> MemoryRows:
    rows = MemoryRows()
    rows.users["alice"] = user_row("alice")
    rows.sessions["s1"] = session_row("s1", "alice", "tok-alice")
    return rows


def settings_for(issuer: TokenIssuer, **overrides: Any) -> BetterAuthSettings:
    assert issuer.issuer is not None
    return BetterAuthSettings.load(
        url=issuer.issuer, database_url="sqlite+aiosqlite:///unused.db", **overrides
    )


@pytest.fixture
async def verifier(issuer: TokenIssuer) -> AsyncIterator[JWKSVerifier]:
    verifier = JWKSVerifier(settings_for(issuer))
    try:
        yield verifier
    finally:
        await verifier.aclose()


def make(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows, **settings: Any
) -> Authenticator:
    return Authenticator(settings_for(issuer, **settings), verifier, rows, MODELS)


def claims(**fields: Any) -> dict[str, Any]:
    return {"id": "alice", "email": "alice@example.com", "role": "user", **fields}


@pytest.mark.anyio
async def test_always_mode_reads_the_user_on_every_request_and_a_ban_counts_at_once(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows)
    token = issuer.mint(
        claims(role="admin")
    )  # the snapshot says admin; the row does not
    identity = await authenticator.authenticate(("jwt", token))
    assert (identity.user.id, identity.user.role, identity.credential) == (
        "alice",
        "user",
        "jwt",
    )
    assert identity.session is None
    await authenticator.from_jwt(token)
    assert rows.reads == 2
    rows.users["alice"]["banned"] = True
    with pytest.raises(UserBannedError):
        await authenticator.from_jwt(token)
    rows.users["alice"]["ban_expires"] = NOW - timedelta(minutes=1)  # lapsed: admitted
    assert (await authenticator.from_jwt(token)).user.banned is True


@pytest.mark.anyio
async def test_always_mode_deleted_user_is_invalid_session(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows)
    del rows.users["alice"]
    with pytest.raises(InvalidSessionError, match="no longer exists"):
        await authenticator.from_jwt(issuer.mint(claims()))


@pytest.mark.anyio
async def test_sid_claim_checks_the_session_revoked_and_expired(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows)
    token = issuer.mint(claims(sid="s1"))
    identity = await authenticator.from_jwt(token)
    assert identity.session is not None and identity.session.id == "s1"
    rows.sessions["s1"]["expires_at"] = NOW - timedelta(seconds=1)
    with pytest.raises(SessionExpiredError):
        await authenticator.from_jwt(token)
    del rows.sessions["s1"]
    with pytest.raises(InvalidSessionError, match="revoked"):
        await authenticator.from_jwt(token)
    other = issuer.mint(claims(id="bob", sid="s2"))  # not alice's session
    rows.sessions["s2"] = session_row("s2", "alice", "t2")
    with pytest.raises(InvalidSessionError):
        await authenticator.from_jwt(other)


@pytest.mark.anyio
@pytest.mark.parametrize("sid", [7, "", ["s1"]])
async def test_malformed_sid_claim_is_invalid_token(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows, sid: Any
) -> None:
    with pytest.raises(InvalidTokenError, match="sid"):
        await make(issuer, verifier, rows).from_jwt(issuer.mint(claims(sid=sid)))
    assert rows.reads == 0


@pytest.mark.anyio
async def test_cached_mode_reads_once_per_period_and_forget_clears(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows, freshness="cached")
    token = issuer.mint(claims(sid="s1"))
    for _ in range(3):
        await authenticator.from_jwt(token)
        await authenticator.from_session_token("tok-alice", "cookie")
    assert rows.reads == 2
    rows.users["alice"]["banned"] = True
    await authenticator.from_jwt(token)  # still the cached row
    authenticator.forget()
    with pytest.raises(UserBannedError):
        await authenticator.from_jwt(token)
    with pytest.raises(UserBannedError):
        await authenticator.from_session_token("tok-alice", "cookie")


@pytest.mark.anyio
async def test_cached_mode_still_checks_expiry_of_a_cached_session(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows, freshness="cached")
    await authenticator.from_session_token("tok-alice", "bearer")
    rows.sessions["s1"]["expires_at"] = NOW - timedelta(
        seconds=1
    )  # the cache holds a copy
    assert (await authenticator.from_session_token("tok-alice", "bearer")).session


@pytest.mark.anyio
async def test_never_mode_trusts_the_claims_and_reads_nothing(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows, freshness="never")
    identity = await authenticator.from_jwt(issuer.mint(claims(role="admin")))
    assert identity.user.role == "admin"
    with pytest.raises(UserBannedError):
        await authenticator.from_jwt(issuer.mint(claims(banned=True)))
    with pytest.raises(TokenExpiredError):
        await authenticator.from_jwt(
            issuer.mint(claims(), issued_at=time.time() - 1000)
        )
    assert rows.reads == 0


@pytest.mark.anyio
async def test_session_token_found_expired_unknown_banned(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows
) -> None:
    authenticator = make(issuer, verifier, rows)
    identity = await authenticator.authenticate(("cookie", "tok-alice"))
    assert identity.credential == "cookie" and identity.session is not None
    assert identity.session.id == "s1" and identity.user.id == "alice"
    with pytest.raises(InvalidSessionError):
        await authenticator.from_session_token("no-such-token", "bearer")
    rows.users["alice"]["banned"] = True
    with pytest.raises(UserBannedError):
        await authenticator.from_session_token("tok-alice", "bearer")
    rows.sessions["s1"]["expires_at"] = NOW - timedelta(seconds=1)
    with pytest.raises(SessionExpiredError):
        await authenticator.from_session_token("tok-alice", "bearer")


class MemoryStore:
    """Better-Auth's Redis sessions, as ``SessionStore``'s two lookups answer."""

    def __init__(self, in_database: bool) -> None:
        self.in_database = in_database
        self.held: dict[str, StoredSession | None] = {}

    async def by_token(self, token: str) -> tuple[bool, StoredSession | None]:
        return (token in self.held, self.held.get(token))

    async def by_id(
        self, user_id: str, session_id: str
    ) -> tuple[bool, StoredSession | None]:
        for stored in self.held.values():
            if stored is not None and stored.info.id == session_id:
                return True, stored
        return False, None


@pytest.mark.anyio
@pytest.mark.parametrize("in_database", [False, True])
async def test_reads_redis_first_then_the_table_only_under_store_in_database(
    rows: MemoryRows, in_database: bool
) -> None:
    from fastapi_better_auth._schemas import SessionInfo

    store = MemoryStore(in_database)
    reads = Reads(rows, MODELS, store=store)  # type: ignore[arg-type]
    info = SessionInfo(id="r1", user_id="alice", expires_at=NOW + timedelta(hours=1),
                       created_at=NOW, updated_at=NOW)  # fmt: skip
    store.held["tok-redis"] = StoredSession("tok-redis", info)
    store.held["tok-revoked"] = None  # held, but revoked: final
    found = await reads.session_by_token("tok-redis")
    assert found is not None and found[0].id == "r1" and found[1].id == "alice"
    assert await reads.session_by_token("tok-revoked") is None
    by_id = await reads.session_by_id("alice", "r1")
    assert by_id is not None and by_id[0] == info
    # not in Redis: the table answers only under storeSessionInDatabase
    table = await reads.session_by_token("tok-alice")
    assert (table is not None) is in_database
    assert ((await reads.session_by_id("alice", "s1")) is not None) is in_database
    del rows.users["alice"]  # a Redis session whose user row is gone is no session
    assert await reads.session_by_token("tok-redis") is None


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["cached", "push"])
async def test_freshness_cache_size_bounds_the_cached_identities(
    issuer: TokenIssuer, verifier: JWKSVerifier, rows: MemoryRows, mode: str
) -> None:
    """``freshness_cache_size`` entries are kept; the least recently used one goes first."""
    rows.users.update({name: user_row(name) for name in ("bob", "carol")})
    authenticator = make(issuer, verifier, rows, freshness=mode, freshness_cache_size=2)
    authenticator.push.trusted = True  # as if every listener were connected
    alice, bob, carol = (
        issuer.mint(claims(id=name, email=f"{name}@example.com"))
        for name in ("alice", "bob", "carol")
    )
    for token in (alice, bob, carol, carol, bob):
        await authenticator.from_jwt(token)
    assert rows.reads == 3  # bob and carol were kept
    await authenticator.from_jwt(alice)
    assert rows.reads == 4  # alice was dropped for carol
