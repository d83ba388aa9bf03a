"""Ground truth from a real Better-Auth 1.7.25 server (Node), which the library's models rely on.

Schema: Better-Auth's own migration reflects identically to our models (default naming and
plural + snake_case), and Better-Auth runs on a database our migration created. SQLite: the
exact DDL and stored value formats, and rows written by either side read back by the other.
Tokens: the ``/token`` JWT header and the JWKS for EdDSA (default), ES256 and RS256.
"""

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import SchemaNaming
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth.models import Session, User, get_models
from tests.conftest import DATA
from tests.interop.ba_server import BetterAuthServer, running_better_auth
from tests.interop.flow import pg_database
from tests.pg import PostgresServer
from tests.schema_compare import (
    ddl_section,
    describe_database,
    describe_metadata,
    differences,
)

pytestmark = pytest.mark.interop

if not (shutil.which("node") and shutil.which("npm")) and not os.environ.get(
    "FBA_INTEROP_REQUIRED"
):
    pytest.skip(
        "Node >= 20 and npm are needed (set FBA_INTEROP_REQUIRED=1 to fail instead)",
        allow_module_level=True,
    )

SNAKE_PLURAL = SchemaNaming.from_mappings(use_plural=True, column_case="snake")
TABLES = {"user", "session", "account", "verification", "jwks"}
JS_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# sqlite_master.sql of a database migrated by Better-Auth 1.7.25 (jwt + admin + bearer), verbatim.
SQLITE_DDL = [
    'CREATE TABLE "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null, "role" text, "banned" integer, "banReason" text, "banExpires" date)',
    'CREATE TABLE "session" ("id" text not null primary key, "expiresAt" date not null, "token" text not null unique, "createdAt" date not null, "updatedAt" date not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade, "impersonatedBy" text)',
    'CREATE TABLE "account" ("id" text not null primary key, "accountId" text not null, "providerId" text not null, "userId" text not null references "user" ("id") on delete cascade, "accessToken" text, "refreshToken" text, "idToken" text, "accessTokenExpiresAt" date, "refreshTokenExpiresAt" date, "scope" text, "password" text, "createdAt" date not null, "updatedAt" date not null)',
    'CREATE TABLE "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" date not null, "createdAt" date not null, "updatedAt" date not null)',
    'CREATE TABLE "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" date not null, "expiresAt" date, "alg" text, "crv" text)',
    'CREATE INDEX "session_userId_idx" on "session" ("userId")',
    'CREATE INDEX "account_userId_idx" on "account" ("userId")',
    'CREATE INDEX "verification_identifier_idx" on "verification" ("identifier")',
]


def js_date(value: str) -> datetime:
    """A JSON date of Better-Auth (``…T…Z``) as an aware datetime (Python 3.10 compatible)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def js_iso(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def b64json(segment: str) -> dict[str, Any]:
    return dict(
        json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    )


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return b64json(header), b64json(payload)


def verify_with_jwks(server: BetterAuthServer, token: str, alg: str) -> dict[str, Any]:
    """PyJWT verification against ``/jwks``, issuer and audience = the base URL."""
    key = jwt.PyJWKSet.from_dict(server.jwks())[jwt.get_unverified_header(token)["kid"]]
    return dict(
        jwt.decode(token, key, algorithms=[alg], audience=server.url, issuer=server.url)
    )


async def reflect(url: str) -> dict[str, dict[str, Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(describe_database)
    finally:
        await engine.dispose()


async def our_upgrade(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await _migrate.upgrade(engine)
    finally:
        await engine.dispose()


def sign_up_and_in(
    server: BetterAuthServer, email: str, name: str = "Test User"
) -> tuple[dict[str, Any], str, str]:
    server.sign_up(email, name=name)
    return server.sign_in(email)


# ---------------------------------------------------------------------------------------------
# PostgreSQL: Better-Auth's migration vs our models; Better-Auth on our migration
# ---------------------------------------------------------------------------------------------


def ddl_statements(migrate_output: str) -> list[str]:
    """The ``create …;`` statements ``node migrate.mjs --sql`` printed."""
    return re.findall(r"^create [^;]+;", migrate_output, flags=re.MULTILINE)


@dataclass
class PgRig:
    server: BetterAuthServer
    db: str
    ddl: list[str]  # what Better-Auth's migration ran


@pytest.fixture(scope="module")
def ba_pg(postgres: PostgresServer) -> Iterator[PgRig]:
    """Better-Auth (default config) on a PostgreSQL database it migrated itself."""
    with pg_database(postgres, "ba_default") as db:
        server = BetterAuthServer(postgres.dsn(db))
        try:
            ddl = ddl_statements(server.migrate("--sql"))
            server.start()
            yield PgRig(server, db, ddl)
        finally:
            server.stop()


def test_pg_better_auth_ddl_is_the_recorded_one(ba_pg: PgRig) -> None:
    assert ba_pg.ddl == ddl_section(DATA / "better_auth_1_7_25_schema.sql", 1)


@pytest.mark.anyio
async def test_pg_better_auth_migration_reflects_as_our_models(
    postgres: PostgresServer, ba_pg: PgRig
) -> None:
    db = ba_pg.db
    reflected = await reflect(postgres.url(db))
    assert set(reflected) == TABLES
    assert differences(describe_metadata(get_models().metadata), reflected) == []


@pytest.mark.anyio
async def test_pg_our_models_read_better_auth_rows(
    postgres: PostgresServer, ba_pg: PgRig
) -> None:
    server, db = ba_pg.server, ba_pg.db
    body, cookie, _ = sign_up_and_in(server, "Reader@Example.com", "Reader")
    api = server.get_session(cookie)
    assert api is not None
    engine = create_async_engine(postgres.url(db))
    try:
        async with AsyncSession(engine) as session:
            user = await session.get(User, body["user"]["id"])
            row = (
                await session.scalars(
                    select(Session).where(Session.token == api["session"]["token"])
                )
            ).one()
    finally:
        await engine.dispose()
    assert user is not None
    assert user.email == "reader@example.com"  # lower-cased by Better-Auth
    assert (user.email_verified, user.banned, user.role) == (False, False, "user")
    assert user.created_at == js_date(api["user"]["createdAt"])
    assert row.user_id == user.id
    assert row.expires_at == js_date(api["session"]["expiresAt"])
    assert row.ip_address == api["session"]["ipAddress"]


def test_pg_token_header_and_jwks_default_eddsa(
    postgres: PostgresServer, ba_pg: PgRig
) -> None:
    server, db = ba_pg.server, ba_pg.db
    body, cookie, signed = sign_up_and_in(server, "jwt@example.com")
    token = server.token(cookie)
    header = jwt_parts(token)[0]
    assert header == {"alg": "EdDSA", "kid": header["kid"]}  # no typ
    assert server.token(bearer=signed).count(".") == 2  # the bearer plugin works too
    keys = server.jwks()["keys"]
    assert [set(k) for k in keys] == [{"alg", "crv", "x", "kty", "kid"}]  # no "use"
    assert keys[0]["kid"] == header["kid"]
    assert (keys[0]["kty"], keys[0]["crv"]) == ("OKP", "Ed25519")
    assert postgres.psql("select id, alg, crv from jwks", db).split() == [
        f"{header['kid']}|EdDSA|Ed25519"
    ]
    claims = verify_with_jwks(server, token, "EdDSA")
    assert claims["sub"] == body["user"]["id"] == claims["id"]
    assert claims["exp"] - claims["iat"] == 900
    assert "sid" not in claims
    assert "nbf" not in claims
    assert "jti" not in claims


@pytest.mark.anyio
async def test_pg_snake_plural_naming(postgres: PostgresServer) -> None:
    """``BA_NAMING=snake_plural`` (modelName "…s" + snake_case fields) vs ``use_plural`` + ``snake``."""
    with pg_database(postgres, "ba_snake") as db:
        server = BetterAuthServer(postgres.dsn(db), env={"BA_NAMING": "snake_plural"})
        try:
            ddl = ddl_statements(server.migrate("--sql"))
            recorded = (DATA / "snake_plural_schema.sql").read_text()
            assert ddl == ddl_statements(recorded)
            reflected = await reflect(postgres.url(db))
            assert set(reflected) == {
                "users",
                "sessions",
                "accounts",
                "verifications",
                "jwkss",
            }
            assert reflected["users"]["column_order"][:4] == [
                "id",
                "name",
                "email",
                "email_verified",
            ]
            models = get_models(SNAKE_PLURAL)
            assert differences(describe_metadata(models.metadata), reflected) == []
            server.start()
            body, cookie, _ = sign_up_and_in(server, "snake@example.com", "Snake")
            assert jwt_parts(server.token(cookie))[1]["sub"] == body["user"]["id"]
            session_json = server.get_session(cookie)
            assert session_json is not None
            # JSON keeps Better-Auth's logical (camelCase) names
            assert session_json["user"]["emailVerified"] is False
        finally:
            server.stop()
        engine = create_async_engine(postgres.url(db))
        try:
            async with AsyncSession(engine) as session:
                user = await session.get(models.user, body["user"]["id"])
                assert user is not None
                assert user.name == "Snake"
                assert await session.scalar(select(models.jwks.alg)) == "EdDSA"
        finally:
            await engine.dispose()


@pytest.fixture(scope="module")
def ba_on_our_pg(postgres: PostgresServer) -> Iterator[tuple[BetterAuthServer, str]]:
    """Better-Auth started (without its own migration) on a database our migration created."""
    with pg_database(postgres, "ours") as db:
        asyncio.run(our_upgrade(postgres.url(db)))
        with running_better_auth(postgres.dsn(db), migrate=False) as server:
            yield server, db


def test_better_auth_runs_on_our_pg_migration(
    postgres: PostgresServer, ba_on_our_pg: tuple[BetterAuthServer, str]
) -> None:
    # Starting already passed Better-Auth's lazy schema check: the first request (GET /ok)
    # runs it, and a mismatch kills the Node process with SchemaMismatchError.
    server, db = ba_on_our_pg
    # Better-Auth's migrator finds nothing to create or add
    plan = server.migrate("--dry-run")
    assert "toBeCreated: -" in plan
    assert "toBeAdded: -" in plan
    body, cookie, signed = sign_up_and_in(server, "ours@example.com", "Ours")
    user_id = body["user"]["id"]
    assert jwt_parts(server.token(cookie))[1]["sub"] == user_id
    by_bearer = server.get_session(signed)
    assert by_bearer is not None
    assert by_bearer["user"]["id"] == user_id
    assert server.admin_get("list-users", cookie=cookie).status_code == 403
    postgres.psql(f"update \"user\" set role='admin' where id='{user_id}'", db)
    listed = server.admin_get("list-users", {"sortBy": "email"}, cookie=cookie)
    assert listed.status_code == 200, listed.text
    assert [u["email"] for u in listed.json()["users"]] == ["ours@example.com"]
    assert server.alive(), (
        server.log()
    )  # the lazy schema check did not crash the process
    assert "SCHEMA_MISMATCH" not in server.log()


# ---------------------------------------------------------------------------------------------
# SQLite: DDL, stored formats, and rows written by one side read by the other
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ba_sqlite(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BetterAuthServer, Path]]:
    path = tmp_path_factory.mktemp("ba-sqlite") / "better-auth.db"
    with running_better_auth(f"sqlite:///{path}") as server:
        yield server, path


def sqlite_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql))


def test_sqlite_better_auth_ddl(ba_sqlite: tuple[BetterAuthServer, Path]) -> None:
    _, path = ba_sqlite
    ddl = [
        row[0]
        for row in sqlite_rows(
            path, "select sql from sqlite_master where sql is not null"
        )
    ]
    assert ddl == SQLITE_DDL


def test_sqlite_stored_formats(ba_sqlite: tuple[BetterAuthServer, Path]) -> None:
    server, path = ba_sqlite
    body = server.sign_up("formats@example.com", name="Formats")
    user_id = body["user"]["id"]
    [row] = sqlite_rows(
        path,
        'select "createdAt", typeof("createdAt"), "emailVerified", typeof("emailVerified"),'
        f" banned, typeof(banned), role from \"user\" where id = '{user_id}'",
    )
    assert row[1:] == ("text", 0, "integer", 0, "integer", "user")
    assert JS_ISO.match(row[0])
    assert row[0] == body["user"]["createdAt"]
    [(expires, kind, ip)] = sqlite_rows(
        path,
        f'select "expiresAt", typeof("expiresAt"), "ipAddress" from session where "userId" = \'{user_id}\'',
    )
    assert (kind, ip) == ("text", "")
    assert JS_ISO.match(expires)


@pytest.mark.anyio
async def test_sqlite_our_models_read_better_auth_rows(
    ba_sqlite: tuple[BetterAuthServer, Path],
) -> None:
    server, path = ba_sqlite
    _, cookie, _ = sign_up_and_in(server, "sqlreader@example.com", "Reader")
    api = server.get_session(cookie)
    assert api is not None
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with AsyncSession(engine) as session:
            user = await session.get(User, api["user"]["id"])
            row = await session.get(Session, api["session"]["id"])
    finally:
        await engine.dispose()
    assert user is not None
    assert row is not None
    assert (user.email_verified, user.banned, user.ban_expires) == (False, False, None)
    assert user.created_at == js_date(api["user"]["createdAt"])
    assert user.created_at.tzinfo is not None
    assert row.token == api["session"]["token"]
    assert row.expires_at == js_date(api["session"]["expiresAt"])


@pytest.mark.anyio
async def test_sqlite_better_auth_reads_rows_we_write(
    ba_sqlite: tuple[BetterAuthServer, Path],
) -> None:
    server, path = ba_sqlite
    body, admin_cookie, _ = sign_up_and_in(server, "sqladmin@example.com", "Admin")
    ban_expires = datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            await session.execute(
                update(User).where(User.id == body["user"]["id"]).values(role="admin")
            )
            ours = User(
                name="Written By Python",
                email="python@example.com",
                email_verified=True,
            )
            session.add(ours)
            await session.flush()
            token = "py" + secrets.token_hex(15)
            session.add(
                Session(
                    token=token,
                    user_id=ours.id,
                    expires_at=expires,
                    ip_address="",
                    user_agent="",
                )
            )
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(
                update(User)
                .where(User.id == ours.id)
                .values(
                    name="Renamed",
                    banned=True,
                    ban_reason="spam",
                    ban_expires=ban_expires,
                )
            )
    finally:
        await engine.dispose()
    # get-session by the raw token of the session we inserted: Better-Auth parses our dates and 0/1
    api = server.get_session(bearer=token, disable_refresh=True)
    assert api is not None
    assert api["user"]["id"] == ours.id
    assert (api["user"]["name"], api["user"]["emailVerified"]) == ("Renamed", True)
    assert (api["user"]["banned"], api["user"]["banReason"]) == (True, "spam")
    assert api["user"]["banExpires"] == js_iso(ban_expires)
    assert api["session"]["expiresAt"] == js_iso(expires)
    assert api["user"]["createdAt"] == js_iso(ours.created_at)
    got = server.admin_get("get-user", {"id": ours.id}, cookie=admin_cookie)
    assert got.status_code == 200, got.text
    assert (got.json()["name"], got.json()["banned"]) == ("Renamed", True)
    # 2 days left < 7 d - 1 d: the sliding refresh rewrites expiresAt, which our models read back
    refreshed = server.get_session(bearer=token)
    assert refreshed is not None
    new_expiry = js_date(refreshed["session"]["expiresAt"])
    assert new_expiry > expires + timedelta(days=4)
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with AsyncSession(engine) as session:
            row = (
                await session.scalars(select(Session).where(Session.token == token))
            ).one()
    finally:
        await engine.dispose()
    assert row.expires_at == new_expiry


def test_better_auth_runs_on_our_sqlite_migration(tmp_path: Path) -> None:
    path = tmp_path / "ours.db"
    asyncio.run(our_upgrade(f"sqlite+aiosqlite:///{path}"))
    with running_better_auth(f"sqlite:///{path}", migrate=False) as server:
        plan = server.migrate("--dry-run")
        assert "toBeCreated: -" in plan
        assert "toBeAdded: -" in plan
        body, cookie, _ = sign_up_and_in(server, "sqlours@example.com")
        api = server.get_session(cookie)
        assert api is not None
        assert api["user"]["id"] == body["user"]["id"]
        assert jwt_parts(server.token(cookie))[0]["alg"] == "EdDSA"
        assert server.alive(), server.log()
    [(created, kind)] = sqlite_rows(
        path, 'select "createdAt", typeof("createdAt") from "user"'
    )
    assert kind == "text"
    assert JS_ISO.match(created)


# ---------------------------------------------------------------------------------------------
# Token variants (each on its own SQLite file)
# ---------------------------------------------------------------------------------------------

VARIANTS: dict[str, dict[str, str]] = {
    "ES256": {"BA_JWT_ALG": "ES256", "BA_SID_CLAIM": "1", "BA_COOKIE_PREFIX": "myapp"},
    "RS256": {
        "BA_JWT_ALG": "RS256",
        "BA_ROTATION_SECONDS": "3600",
        "BA_GRACE_SECONDS": "60",
        "BA_ID": "uuid",
    },
}
KEY_TYPE = {
    "ES256": ("EC", {"alg", "crv", "x", "y", "kty", "kid"}),
    "RS256": ("RSA", {"alg", "e", "n", "kty", "kid"}),
}


@pytest.mark.parametrize("alg", sorted(VARIANTS))
def test_token_variants(tmp_path: Path, alg: str) -> None:
    path = tmp_path / "variant.db"
    with running_better_auth(f"sqlite:///{path}", env=VARIANTS[alg]) as server:
        body, cookie, _ = sign_up_and_in(server, f"{alg.lower()}@example.com")
        token = server.token(cookie)
        header, _ = jwt_parts(token)
        assert header == {"alg": alg, "kid": header["kid"]}
        [key] = server.jwks()["keys"]
        kty, members = KEY_TYPE[alg]
        assert (key["kty"], set(key), key["kid"]) == (kty, members, header["kid"])
        claims = verify_with_jwks(server, token, alg)
        session_json = server.get_session(cookie)
        assert session_json is not None
    [(created, expires_at, stored_alg)] = sqlite_rows(
        path, 'select "createdAt", "expiresAt", alg from jwks'
    )
    assert stored_alg == alg
    if alg == "ES256":
        assert cookie.startswith("myapp.session_token=")
        assert claims["sid"] == session_json["session"]["id"]
        assert expires_at is None
    else:
        assert "sid" not in claims
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            body["user"]["id"],
        )
        # Better-Auth stamps createdAt and expiresAt with two clock reads: allow their gap
        lifetime = js_date(expires_at) - js_date(created)
        assert abs(lifetime - timedelta(seconds=3600)) <= timedelta(seconds=1)
