"""A small cast for the admin API tests, reset between tests, and a snapshot of the database.

Tests of the admin routes share one migrated PostgreSQL database and one app per module:
``reset`` deletes every row and inserts the cast again (fixed ids and tokens), and ``snapshot``
reads every user and session back, so a test can assert the whole database afterwards.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import BetterAuthSettings, better_auth_router
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.models import Session, User
from tests.helpers import run
from tests.pg import PostgresServer

#: Fixed "now" of the cast's timestamps (a millisecond-aligned UTC datetime).
EPOCH = utcnow() - timedelta(days=1)


@dataclass(frozen=True)
class Member:
    """A user of the cast and the session they call with."""

    id: str
    name: str
    email: str
    role: str | None
    token: str
    session_id: str
    banned: bool = False
    impersonated_by: str | None = None


ALICE = Member(
    "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "Alice",
    "alice@example.com",
    "user",
    "tokAliceAAAAAAAAAAAAAAAAAAAAAAAAA",
    "sesAliceAAAAAAAAAAAAAAAAAAAAAAAAA",
)
BOB = Member(
    "bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    "Bob",
    "bob@example.com",
    "user",
    "tokBobBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    "sesBobBBBBBBBBBBBBBBBBBBBBBBBBBBB",
)
ROOT = Member(
    "rootRRRRRRRRRRRRRRRRRRRRRRRRRRRRR",
    "Root",
    "root@example.com",
    "admin",
    "tokRootRRRRRRRRRRRRRRRRRRRRRRRRRR",
    "sesRootRRRRRRRRRRRRRRRRRRRRRRRRRR",
)
ZED = Member(
    "zedZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "Zed",
    "zed@example.com",
    "user,admin",
    "tokZedZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "sesZedZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    banned=True,
)
#: A session of Bob that Root opened by impersonation (Better-Auth's ``impersonatedBy``).
IMPERSONATION = Member(
    BOB.id,
    BOB.name,
    BOB.email,
    BOB.role,
    "tokImpIIIIIIIIIIIIIIIIIIIIIIIIIII",
    "sesImpIIIIIIIIIIIIIIIIIIIIIIIIIII",
    impersonated_by=ROOT.id,
)
#: Alice's second session (the one the matrix revokes).
ALICE_OTHER_SESSION = "sesAlice2AAAAAAAAAAAAAAAAAAAAAAAA"
#: Alice's expired session: never listed, still deleted by revoke-all and bans.
ALICE_EXPIRED_SESSION = "sesAlice3AAAAAAAAAAAAAAAAAAAAAAAA"
MEMBERS = (ALICE, BOB, ROOT, ZED)


def cast_rows() -> list[Any]:
    """New model rows for the cast: users first, then sessions."""
    users = [
        User(
            id=m.id,
            name=m.name,
            email=m.email,
            email_verified=True,
            role=m.role,
            banned=m.banned,
            ban_reason="abuse" if m.banned else None,
            created_at=EPOCH + timedelta(seconds=i),
            updated_at=EPOCH + timedelta(seconds=i),
        )
        for i, m in enumerate(MEMBERS)
    ]
    sessions = [
        Session(
            id=m.session_id,
            token=m.token,
            user_id=m.id,
            impersonated_by=m.impersonated_by,
            expires_at=EPOCH + timedelta(days=8),
            created_at=EPOCH + timedelta(minutes=i),
            updated_at=EPOCH,
            ip_address="",
            user_agent="",
        )
        for i, m in enumerate((*MEMBERS, IMPERSONATION))
    ]
    sessions += [
        Session(
            id=ALICE_OTHER_SESSION,
            token="tokAlice2" + "A" * 24,
            user_id=ALICE.id,
            expires_at=EPOCH + timedelta(days=8),
            created_at=EPOCH + timedelta(hours=1),
            updated_at=EPOCH,
            ip_address="10.0.0.2",
            user_agent="phone",
        ),
        Session(
            id=ALICE_EXPIRED_SESSION,
            token="tokAlice3" + "A" * 24,
            user_id=ALICE.id,
            expires_at=EPOCH,
            created_at=EPOCH - timedelta(days=7),
            updated_at=EPOCH,
            ip_address="",
            user_agent="",
        ),
    ]
    return [*users, *sessions]


async def _reset(url: str, migrate: bool) -> None:
    engine = create_async_engine(url)
    try:
        if migrate:
            await _migrate.upgrade(engine)
        async with AsyncSession(engine) as db, db.begin():
            await db.execute(delete(Session))
            await db.execute(delete(User))
            users = [row for row in cast_rows() if isinstance(row, User)]
            db.add_all(users)
            await db.flush()
            db.add_all([row for row in cast_rows() if isinstance(row, Session)])
    finally:
        await engine.dispose()


def reset(url: str, *, migrate: bool = False) -> None:
    """Replace every user and session by the cast's rows (migrating first if asked)."""
    run(_reset(url, migrate))


@dataclass(frozen=True)
class State:
    """Every user (all columns) and every session (id → user id) in the database."""

    users: dict[str, dict[str, Any]]
    sessions: dict[str, str]


async def _snapshot(url: str) -> State:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as db:
            users = {
                row.id: dict(row._mapping)
                for row in await db.execute(
                    select(
                        User.id,
                        User.name,
                        User.email,
                        User.email_verified,
                        User.image,
                        User.role,
                        User.banned,
                        User.ban_reason,
                        User.ban_expires,
                        User.created_at,
                        User.updated_at,
                    )
                )
            }
            sessions = {
                row.id: row.user_id
                for row in await db.execute(select(Session.id, Session.user_id))
            }
        return State(users, sessions)
    finally:
        await engine.dispose()


def snapshot(url: str) -> State:
    """The database's users and sessions now."""
    return run(_snapshot(url))  # type: ignore[no-any-return]


async def _bulk_insert(url: str, rows: list[dict[str, Any]]) -> None:
    engine = create_async_engine(url)
    try:
        await _migrate.upgrade(engine)
        async with AsyncSession(engine) as db, db.begin():
            await db.execute(insert(User), rows)
    finally:
        await engine.dispose()


def bulk_insert_users(url: str, rows: list[dict[str, Any]]) -> None:
    """Migrate the database at ``url`` and insert ``rows`` (attribute names) in one statement."""
    run(_bulk_insert(url, rows))


@contextmanager
def pg_database(postgres: PostgresServer) -> Iterator[str]:
    """A new PostgreSQL database for a whole module; its SQLAlchemy URL."""
    name = "adm_" + secrets.token_hex(6)
    postgres.psql(f"CREATE DATABASE {name}")
    try:
        yield postgres.url(name)
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def admin_app(settings: BetterAuthSettings, **router_options: Any) -> FastAPI:
    """An app with nothing but the library's router."""
    app = FastAPI()
    app.include_router(better_auth_router(settings, **router_options))
    return app


def bearer(member: Member | str) -> dict[str, str]:
    """The ``Authorization`` header of a member's session (or of a raw token)."""
    token = member if isinstance(member, str) else member.token
    return {"Authorization": f"Bearer {token}"}


def later_than(value: datetime) -> bool:
    """Whether ``value`` is after the cast's fixed timestamps (a write touched it)."""
    return value > EPOCH + timedelta(minutes=10)
