"""An app's own user columns (additionalFields, plugin columns) read typed, under every naming.

The tables are the library's migration plus real extra columns as Better-Auth's migration adds
them (declared ones and undeclared ones, NOT NULL with defaults and a nullable unique one), on
PostgreSQL (direct asyncpg reads and the SQLAlchemy path) and SQLite (values stored as
Better-Auth's Kysely adapter stores them there: booleans 0/1, dates and arrays as text).
"""

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import pytest
from examples.user_fields import User, create_app
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import (
    AuthenticatedUser,
    BetterAuth,
    ConfigurationError,
    SchemaNaming,
    _store,
    better_auth_router,
)
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._schema.start import StartChecks
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.models import get_models
from fastapi_better_auth.testing import TokenIssuer
from tests.helpers import settings_for
from tests.pg import free_port

NAMINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "snake-plural": {"use_plural": True, "column_case": "snake"},
}
#: Better-Auth field → (PostgreSQL DDL, SQLite DDL, PostgreSQL value, SQLite value).
EXTRA_COLUMNS: dict[str, tuple[str, str, str | None, str | None]] = {
    "plan": ("text NOT NULL DEFAULT 'free'", "text NOT NULL DEFAULT 'free'", "'pro'", "'pro'"),
    "locale": ("text", "text", "'de-CH'", "'de-CH'"),
    "username": ("text UNIQUE", "text", "'ada'", "'ada'"),
    "displayUsername": ("text", "text", "'Ada'", "'Ada'"),
    "twoFactorEnabled": ("boolean NOT NULL DEFAULT false", "integer NOT NULL DEFAULT 0", "true", "1"),
    "trialEndsAt": ("timestamptz", "date", "'2031-01-02T03:04:05.678Z'", "'2031-01-02T03:04:05.678Z'"),
    "tags": ("jsonb", "text", """'["beta","staff"]'""", """'["beta","staff"]'"""),
    "isVIP": ("boolean NOT NULL DEFAULT false", "integer NOT NULL DEFAULT 0", "true", "1"),
    # nobody declares these: they must never break a read or a write
    "stripeCustomerId": ("text", "text", "'cus_1'", "'cus_1'"),
    "phoneNumberVerified": ("boolean NOT NULL DEFAULT false", "integer NOT NULL DEFAULT 0", None, None),
    "credits": ("integer NOT NULL DEFAULT 0", "integer NOT NULL DEFAULT 0", "7", "7"),
}  # fmt: skip
EXPECTED = {
    "plan": "pro",
    "locale": "de-CH",
    "username": "ada",
    "display_username": "Ada",
    "two_factor_enabled": True,
    "trial_ends_at": "2031-01-02T03:04:05.678000Z",
    "tags": ["beta", "staff"],
    "is_vip": True,
}
USER_ID = "u" * 32
OTHER_ID = "v" * 32
SESSION_ID = "s" * 32
TOKEN = "tok" * 10


@dataclass(frozen=True)
class Db:
    url: str
    naming: SchemaNaming
    options: dict[str, Any]


async def _prepare(url: str, naming: SchemaNaming, fill: bool = True) -> None:
    models = get_models(naming)
    engine = create_async_engine(url)
    sqlite = url.startswith("sqlite")
    table = naming.table("user")
    try:
        await _migrate.upgrade(engine, naming)
        async with engine.begin() as db:
            for field, (pg_ddl, sqlite_ddl, _, _) in EXTRA_COLUMNS.items():
                ddl = sqlite_ddl if sqlite else pg_ddl
                column = naming.column("user", field)
                await db.execute(
                    text(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {ddl}')
                )
            if sqlite:
                column = naming.column("user", "username")
                await db.execute(
                    text(f'CREATE UNIQUE INDEX uq_username ON "{table}" ("{column}")')
                )
        now = utcnow()
        async with engine.begin() as db:
            await db.run_sync(
                lambda sync: sync.execute(
                    models.user.__table__.insert().values(  # type: ignore[attr-defined]
                        id=USER_ID, name="Ada", email="ada@example.com",
                        email_verified=True, created_at=now, updated_at=now,
                    )
                )
            )  # fmt: skip
            await db.run_sync(
                lambda sync: sync.execute(
                    models.user.__table__.insert().values(  # type: ignore[attr-defined]
                        id=OTHER_ID, name="Bob", email="bob@example.com",
                        email_verified=False, created_at=now, updated_at=now,
                    )
                )
            )  # fmt: skip
            await db.run_sync(
                lambda sync: sync.execute(
                    models.session.__table__.insert().values(  # type: ignore[attr-defined]
                        id=SESSION_ID, token=TOKEN, user_id=USER_ID,
                        expires_at=now + timedelta(days=7), created_at=now, updated_at=now,
                    )
                )
            )  # fmt: skip
            if fill:
                sets = ", ".join(
                    f'"{naming.column("user", field)}" = {sqlite_value if sqlite else pg_value}'
                    for field, (_, _, pg_value, sqlite_value) in EXTRA_COLUMNS.items()
                    if pg_value is not None
                )
                user_id = naming.column("user", "id")
                await db.execute(
                    text(f'UPDATE "{table}" SET {sets} WHERE "{user_id}" = :id'),
                    {"id": USER_ID},
                )
    finally:
        await engine.dispose()


@pytest.fixture(params=list(NAMINGS))
def db(request: pytest.FixtureRequest, db_url: str) -> Db:
    """``db_url`` migrated under a naming, with the extra columns and one filled user + session."""
    options = NAMINGS[request.param]
    naming = SchemaNaming.from_mappings(**options)
    asyncio.run(_prepare(db_url, naming))
    return Db(db_url, naming, options)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(db: Db, origin: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(origin, db.url, **db.options))) as client:
        yield client


def _me(client: TestClient, token: str) -> dict[str, Any]:
    response = client.get("/api/v1/auth/me", headers=_bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_me_reads_declared_columns_typed_through_every_read(
    client: TestClient, issuer: TokenIssuer
) -> None:
    by_user = issuer.mint({"email": "ada@example.com"}, sub=USER_ID)
    by_session = issuer.mint({"sid": SESSION_ID}, sub=USER_ID)
    for token in (TOKEN, by_user, by_session):
        body = _me(client, token)
        assert {key: body[key] for key in EXPECTED} == EXPECTED
        assert "stripe_customer_id" not in body
        assert "credits" not in body
    session = client.get("/api/v1/auth/session", headers=_bearer(TOKEN)).json()
    assert session["user"]["two_factor_enabled"] is True
    assert session["user"]["tags"] == ["beta", "staff"]
    plan = client.get("/plan", headers=_bearer(TOKEN)).json()
    assert plan == {"plan": "pro", "two_factor": True}


def test_null_columns_read_as_the_declared_defaults(
    db_url: str, origin: str, issuer: TokenIssuer
) -> None:
    naming = SchemaNaming()
    asyncio.run(_prepare(db_url, naming, fill=False))
    with TestClient(create_app(settings_for(origin, db_url))) as client:
        body = _me(client, TOKEN)
    assert body["plan"] == "free"  # the column's own default
    assert body["locale"] is None
    assert body["two_factor_enabled"] is False
    assert body["tags"] == []
    assert body["trial_ends_at"] is None


def test_setting_map_reads_columns_without_a_class(
    db: Db, origin: str, issuer: TokenIssuer
) -> None:
    fields = {"plan": "string", "twoFactorEnabled": "boolean", "tags": "string[]",
              "trialEndsAt": "date"}  # fmt: skip
    settings = settings_for(origin, db.url, user_fields=fields, **db.options)
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    with TestClient(app) as client:
        body = _me(client, TOKEN)
        jwt_body = _me(client, issuer.mint({}, sub=USER_ID))
    expected = {
        "plan": "pro",
        "two_factor_enabled": True,
        "tags": ["beta", "staff"],
        "trial_ends_at": "2031-01-02T03:04:05.678000Z",
    }
    assert {key: body[key] for key in expected} == expected
    assert {key: jwt_body[key] for key in expected} == expected
    assert "locale" not in body
    schema = app.openapi()["paths"]["/api/v1/auth/me"]["get"]["responses"]["200"]
    ref = schema["content"]["application/json"]["schema"]["$ref"]
    properties = app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "two_factor_enabled" in properties["properties"]


def test_never_freshness_reads_the_fields_from_the_jwt_claims(
    db_url: str, origin: str, issuer: TokenIssuer
) -> None:
    claims = {
        "email": "ada@example.com",
        "name": "Ada",
        "emailVerified": True,
        "plan": "team",
        "twoFactorEnabled": True,
        "trialEndsAt": "2031-01-02T03:04:05.678Z",
        "tags": ["x"],
        "isVIP": True,
    }
    settings = settings_for(origin, db_url, freshness="never")
    with TestClient(create_app(settings)) as client:
        body = _me(client, issuer.mint(claims, sub="not-in-the-database"))
        bare = _me(client, issuer.mint({}, sub="another"))
    assert body["plan"] == "team"
    assert body["two_factor_enabled"] is True
    assert body["trial_ends_at"] == "2031-01-02T03:04:05.678000Z"
    assert body["tags"] == ["x"]
    assert body["is_vip"] is True
    assert body["username"] is None
    assert (bare["plan"], bare["two_factor_enabled"], bare["tags"]) == (
        "free",
        False,
        [],
    )


class Strict(AuthenticatedUser):
    plan: Literal["free", "pro"] = "free"
    credits: int = 0


def test_a_value_the_declared_type_refuses_reads_as_the_default_and_is_logged(
    db: Db, origin: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastAPI()
    settings = settings_for(origin, db.url, **db.options)
    app.include_router(better_auth_router(settings, user_model=Strict))

    async def corrupt() -> None:
        engine = create_async_engine(db.url)
        column = db.naming.column("user", "plan")
        async with engine.begin() as conn:
            await conn.execute(
                text(f'UPDATE "{db.naming.table("user")}" SET "{column}" = \'gold\'')
            )
        await engine.dispose()

    asyncio.run(corrupt())
    with TestClient(app) as client, caplog.at_level(logging.WARNING):
        body = _me(client, TOKEN)
    assert (body["plan"], body["credits"]) == ("free", 7)
    record = next(
        r for r in caplog.records if r.msg == "better_auth.user_field_invalid"
    )
    assert record.fields == ["plan"]  # type: ignore[attr-defined]
    assert "gold" not in caplog.text


async def _migrate_only(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await _migrate.upgrade(engine)
    finally:
        await engine.dispose()


def test_a_declared_column_missing_fails_at_start_naming_it(
    db_url: str, origin: str
) -> None:
    asyncio.run(_migrate_only(db_url))
    app = create_app(settings_for(origin, db_url))
    with pytest.raises(ConfigurationError) as caught, TestClient(app):
        pass  # pragma: no cover
    message = str(caught.value)
    assert message.startswith("user_model=User: ")
    assert "plan (column 'plan')" in message
    assert "twoFactorEnabled (column 'twoFactorEnabled')" in message
    assert "BETTER_AUTH_COLUMN_CASE" in message


def test_the_setting_names_itself_when_its_column_is_missing_under_snake_case(
    db: Db, origin: str
) -> None:
    settings = settings_for(
        origin, db.url, user_fields={"phoneNumber": "string"}, **db.options
    )
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    with pytest.raises(ConfigurationError) as caught, TestClient(app):
        pass  # pragma: no cover
    column = db.naming.column("user", "phoneNumber")
    assert f"BETTER_AUTH_USER_FIELDS: the '{db.naming.table('user')}' table" in str(
        caught.value
    )
    assert f"phoneNumber (column '{column}')" in str(caught.value)


def test_database_down_at_start_is_not_fatal_with_declared_fields(
    origin: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none"
    with (
        caplog.at_level(logging.WARNING),
        TestClient(create_app(settings_for(origin, url))),
    ):
        pass
    assert "better_auth.user_columns_unchecked" in caplog.text


MISSING_PLAN = (
    "BETTER_AUTH_USER_FIELDS: the 'user' table has no column for plan (column 'plan'); "
    "add the field to Better-Auth and migrate, or match the naming "
    "(BETTER_AUTH_COLUMN_CASE, BETTER_AUTH_FIELD_NAMES)"
)


class _ColumnReads:
    """Counts the user table's own column reads (the real ones run: a spy, not a stand-in)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        read = StartChecks._user_columns

        async def counted(checks: StartChecks) -> frozenset[str] | None:
            self.count += 1
            return await read(checks)

        monkeypatch.setattr(StartChecks, "_user_columns", counted)


@pytest.mark.parametrize("schema_check", [True, False])
def test_a_declared_column_missing_fails_start_alike_with_the_schema_check_on_or_off(
    db_url: str, origin: str, schema_check: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One message either way; the columns are read once: by the schema check, or on their own."""
    asyncio.run(_migrate_only(db_url))
    reads = _ColumnReads(monkeypatch)
    settings = settings_for(
        origin, db_url, user_fields={"plan": "string"}, schema_check=schema_check
    )

    async def start() -> None:
        async with BetterAuth(settings):
            pass  # pragma: no cover

    with pytest.raises(ConfigurationError) as caught:
        asyncio.run(start())
    assert caught.value.message == MISSING_PLAN
    assert reads.count == (0 if schema_check else 1)


def test_check_schema_alone_reports_the_naming_without_the_declared_fields(
    db_url: str, origin: str
) -> None:
    """The public check compares the naming only, as before; start adds the declared fields."""
    asyncio.run(_migrate_only(db_url))
    settings = settings_for(origin, db_url, user_fields={"plan": "string"})

    async def check() -> bool:
        auth = BetterAuth(settings)
        try:
            report = await auth.check_schema()
        finally:
            await auth.close()
        return report is not None and report.ok

    assert asyncio.run(check())


def test_declared_fields_on_a_database_not_migrated_yet_do_not_fail_start(
    db_url: str, origin: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No user table: the schema check only logs it, and the fields are left to the first request."""
    settings = settings_for(origin, db_url, user_fields={"plan": "string"})

    async def start() -> None:
        async with BetterAuth(settings):
            pass

    with caplog.at_level(logging.WARNING):
        asyncio.run(start())
    assert "better_auth.schema_not_migrated" in caplog.text
    assert "better_auth.user_columns_unchecked" in caplog.text


def test_admin_writes_keep_working_with_extra_columns(db: Db, origin: str) -> None:
    """Updates, role changes, bans and unbans never touch (nor trip on) the app's columns."""
    settings = settings_for(origin, db.url, admin_user_ids=[USER_ID], **db.options)
    headers = _bearer(TOKEN)
    with TestClient(create_app(settings)) as client:
        for user_id in (USER_ID, OTHER_ID):
            base = f"/api/v1/users/{user_id}"
            r = client.patch(base, json={"name": "Renamed"}, headers=headers)
            assert r.status_code == 200, r.text
            r = client.put(f"{base}/role", json={"role": "editor"}, headers=headers)
            assert r.status_code == 200, r.text
        other = f"/api/v1/users/{OTHER_ID}"
        r = client.post(f"{other}/ban", json={"reason": "test"}, headers=headers)
        assert r.status_code == 200, r.text
        r = client.delete(f"{other}/ban", headers=headers)
        assert r.status_code == 200, r.text
        r = client.get(f"{other}/sessions", headers=headers)
        assert r.status_code == 200, r.text
        listed = client.get("/api/v1/users", headers=headers)
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == 2
        body = _me(client, TOKEN)
    assert (body["name"], body["role"]) == ("Renamed", "editor")
    assert (body["plan"], body["username"], body["tags"]) == (
        "pro",
        "ada",
        ["beta", "staff"],
    )


def test_me_documents_the_app_user_class() -> None:
    schema = create_app().openapi()
    me = schema["paths"]["/api/v1/auth/me"]["get"]["responses"]["200"]
    ref = me["content"]["application/json"]["schema"]["$ref"]
    properties = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"plan", "two_factor_enabled", "tags", "email"} <= set(properties)
    assert properties["is_vip"]["better_auth_field"] == "isVIP"


def test_router_refuses_a_user_model_that_differs_from_the_runtime(origin: str) -> None:
    auth = BetterAuth(settings_for(origin, "sqlite+aiosqlite://"), user_model=User)
    assert better_auth_router(auth=auth, user_model=User) is not None
    with pytest.raises(ConfigurationError, match="differs"):
        better_auth_router(auth=auth, user_model=Strict)


def test_store_reads_are_typed_instances_of_the_app_class(db: Db, origin: str) -> None:
    async def read() -> AuthenticatedUser | None:
        settings = settings_for(origin, db.url, **db.options)
        async with BetterAuth(settings, user_model=User) as auth:
            return await _store.user_by_id(
                auth.read_row, auth.models, USER_ID, auth.user_fields
            )

    user = asyncio.run(read())
    assert isinstance(user, User)
    when = datetime(2031, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert user.trial_ends_at == when
    assert user.two_factor_enabled is True
    assert user.tags == ["beta", "staff"]
