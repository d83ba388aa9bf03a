"""The start-up schema check, against real databases built by Better-Auth's DDL and the shipped migration.

Each mismatch gives one ``ConfigurationError`` that names the setting to change and the value
the database shows; a matching database starts.
"""

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import (
    BetterAuth,
    BetterAuthSettings,
    ConfigurationError,
    SchemaNaming,
)
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._schema import start
from fastapi_better_auth._schema.catalog import Catalog, read_catalog
from fastapi_better_auth._schema.diagnosis import check_schema, diagnose
from fastapi_better_auth._schema.report import SchemaReport
from tests.conftest import DATA
from tests.pg import PostgresServer
from tests.schema_compare import ddl_section

pytestmark = pytest.mark.anyio

BA_SCHEMA = DATA / "better_auth_1_7_25_schema.sql"
DEFAULT_DDL = ddl_section(BA_SCHEMA, 1)
UUID_DDL = ddl_section(BA_SCHEMA, 2)
SERIAL_DDL = ddl_section(BA_SCHEMA, 3)
RENAMED_DDL = ddl_section(BA_SCHEMA, 4)
SNAKE_PLURAL_DDL = re.findall(
    r"^create [^;]+;", (DATA / "snake_plural_schema.sql").read_text(), re.M
)
#: Sections 2 and 3 were compiled without plugins: the admin plugin's columns, added as it does.
ADMIN_COLUMNS = [
    'alter table "user" add column "role" text, add column "banned" boolean, '
    'add column "banReason" text, add column "banExpires" timestamptz',
    'alter table "session" add column "impersonatedBy" text',
]
RENAMED = SchemaNaming.from_mappings(
    model_names={"user": "users", "session": "user_sessions", "jwks": "jwks_keys"},
    field_names={
        "user": {
            "name": "full_name",
            "emailVerified": "email_verified",
            "banExpires": "ban_expires",
        },
        "session": {"userId": "user_id", "expiresAt": "expires_at"},
        "jwks": {"publicKey": "public_key"},
    },
)
SNAKE = SchemaNaming.from_mappings(column_case="snake")
PLURAL = SchemaNaming.from_mappings(use_plural=True)
SNAKE_PLURAL = SchemaNaming.from_mappings(use_plural=True, column_case="snake")
MIGRATE = (
    "run Better-Auth's migration (npx @better-auth/cli migrate) "
    "or python -m fastapi_better_auth migrate upgrade"
)


def _sqlite_ddl(statements: list[str]) -> list[str]:
    """Better-Auth's PostgreSQL DDL with SQLite's types (``date``, ``integer``), as its Kysely adapter writes."""
    return [
        s.replace("timestamptz", "date").replace("boolean", "integer")
        for s in statements
    ]


async def _load(url: str, statements: list[str]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate_up(url: str, naming: SchemaNaming | None = None) -> None:
    engine = create_async_engine(url)
    try:
        await _migrate.upgrade(engine, naming)
    finally:
        await engine.dispose()


async def _check(
    url: str, naming: SchemaNaming, sqlite_dates: str | None = None
) -> SchemaReport:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await check_schema(conn, naming, sqlite_dates=sqlite_dates)
    finally:
        await engine.dispose()


async def _start_error(url: str, **settings: object) -> str:
    """The message ``BetterAuth.start()`` fails with on this database and these settings."""
    config = BetterAuthSettings.load(
        url="http://127.0.0.1:9", database_url=url, **settings
    )
    with pytest.raises(ConfigurationError) as caught:
        async with BetterAuth(config):
            pass
    return caught.value.message


async def _starts(url: str, **settings: object) -> None:
    config = BetterAuthSettings.load(
        url="http://127.0.0.1:9", database_url=url, jwks_timeout_seconds=0.5, **settings
    )
    async with BetterAuth(config) as auth:
        assert auth.engine.url.get_backend_name() in {"postgresql", "sqlite"}


# --- PostgreSQL: each naming Better-Auth can have, matched and mismatched -------------------


@pytest.mark.parametrize(
    ("statements", "settings"),
    [
        (DEFAULT_DDL, {}),
        (SNAKE_PLURAL_DDL, {"use_plural": True, "column_case": "snake"}),
        (UUID_DDL + ADMIN_COLUMNS, {"id_type": "uuid"}),
        (SERIAL_DDL + ADMIN_COLUMNS, {"id_type": "serial"}),
        (
            RENAMED_DDL,
            {
                "model_names": dict(RENAMED.model_names),
                "field_names": {m: dict(f) for m, f in RENAMED.field_names},
            },
        ),
    ],
    ids=["default", "snake_plural", "uuid", "serial", "renamed"],
)
async def test_start_matching_better_auth_ddl_starts(
    pg_url: str, statements: list[str], settings: dict[str, object]
) -> None:
    await _load(pg_url, statements)
    await _starts(pg_url, **settings)


async def test_start_snake_plural_database_default_settings_names_both_settings(
    pg_url: str,
) -> None:
    await _load(pg_url, SNAKE_PLURAL_DDL)
    assert await _start_error(pg_url) == (
        "the database does not match the settings: "
        'tables are plural ("users", not "user"): set BETTER_AUTH_USE_PLURAL=true; '
        'table "users" has column "email_verified", not "emailVerified": '
        "set BETTER_AUTH_COLUMN_CASE=snake. "
        "Settings that match it: BETTER_AUTH_USE_PLURAL=true BETTER_AUTH_COLUMN_CASE=snake"
    )


async def test_start_snake_columns_camel_setting_names_column_case(pg_url: str) -> None:
    await _migrate_up(pg_url, SNAKE)
    assert await _start_error(pg_url) == (
        "the database does not match the settings: "
        'table "user" has column "email_verified", not "emailVerified": '
        "set BETTER_AUTH_COLUMN_CASE=snake"
    )


async def test_start_camel_columns_snake_setting_names_column_case(pg_url: str) -> None:
    await _load(pg_url, DEFAULT_DDL)
    assert await _start_error(pg_url, column_case="snake") == (
        "the database does not match the settings: "
        'table "user" has column "emailVerified", not "email_verified": '
        "set BETTER_AUTH_COLUMN_CASE=camel"
    )


async def test_start_plural_tables_without_use_plural_names_it(pg_url: str) -> None:
    await _migrate_up(pg_url, PLURAL)
    assert await _start_error(pg_url) == (
        "the database does not match the settings: "
        'tables are plural ("users", not "user"): set BETTER_AUTH_USE_PLURAL=true'
    )


async def test_start_singular_tables_with_use_plural_names_it(pg_url: str) -> None:
    await _load(pg_url, DEFAULT_DDL)
    assert await _start_error(pg_url, use_plural=True) == (
        "the database does not match the settings: "
        'tables are singular ("user", not "users"): set BETTER_AUTH_USE_PLURAL=false'
    )


async def test_start_uuid_ids_text_setting_names_id_type(pg_url: str) -> None:
    await _load(pg_url, UUID_DDL + ADMIN_COLUMNS)
    assert await _start_error(pg_url) == (
        "the database does not match the settings: "
        'ids are uuid (Better-Auth generateId: "uuid"): set BETTER_AUTH_ID_TYPE=uuid'
    )


async def test_start_serial_ids_text_setting_names_id_type(pg_url: str) -> None:
    await _load(pg_url, SERIAL_DDL + ADMIN_COLUMNS)
    assert await _start_error(pg_url, id_type="uuid") == (
        "the database does not match the settings: "
        'ids are integer (Better-Auth generateId: "serial"): set BETTER_AUTH_ID_TYPE=serial'
    )


async def test_start_text_ids_uuid_setting_names_id_type(pg_url: str) -> None:
    await _load(pg_url, DEFAULT_DDL)
    assert await _start_error(pg_url, id_type="uuid") == (
        "the database does not match the settings: "
        "ids are text (Better-Auth's default ids): set BETTER_AUTH_ID_TYPE=text"
    )


async def test_start_without_admin_plugin_columns_says_enable_it(pg_url: str) -> None:
    await _load(pg_url, UUID_DDL)
    assert await _start_error(pg_url, id_type="uuid") == (
        "the database does not match the settings: no admin plugin columns "
        '"user"."role", "user"."banned", "user"."banReason", "user"."banExpires", '
        '"session"."impersonatedBy" (the library reads roles and bans): '
        "enable Better-Auth's admin plugin and run its migration"
    )


async def test_start_renamed_models_default_settings_names_model_names(
    pg_url: str,
) -> None:
    await _load(pg_url, RENAMED_DDL)
    message = await _start_error(pg_url)
    assert message.startswith(
        "the database does not match the settings: "
        'model "user" is table "users", not "user" and '
        'model "session" is table "user_sessions", not "session": '
        'set BETTER_AUTH_MODEL_NAMES={"user": "users", "session": "user_sessions"}; '
        'columns "users"."email_verified" (not "emailVerified"), '
        '"users"."ban_expires" (not "banExpires"), '
        '"user_sessions"."expires_at" (not "expiresAt"), '
        '"user_sessions"."user_id" (not "userId") are named otherwise than the '
        "settings say: set BETTER_AUTH_FIELD_NAMES="
    ), message
    assert 'table "users" has no column "name" (field name)' in message
    assert message.endswith(
        "Settings that match it: "
        """BETTER_AUTH_MODEL_NAMES='{"user": "users", "session": "user_sessions"}' """
        """BETTER_AUTH_FIELD_NAMES='{"user": {"emailVerified": "email_verified", """
        """"banExpires": "ban_expires"}, "session": {"expiresAt": "expires_at", """
        """"userId": "user_id"}}'"""
    )


async def test_start_one_renamed_column_names_field_names(pg_url: str) -> None:
    await _load(pg_url, DEFAULT_DDL)
    await _load(
        pg_url, ['alter table "user" rename column "emailVerified" to "verified_at"']
    )
    await _load(
        pg_url, ['alter table "session" rename column "ipAddress" to "ip_address"']
    )
    assert await _start_error(pg_url) == (
        "the database does not match the settings: "
        'columns "session"."ip_address" (not "ipAddress") are named otherwise than the '
        'settings say: set BETTER_AUTH_FIELD_NAMES={"session": {"ipAddress": "ip_address"}}; '
        'table "user" has no column "emailVerified" (field emailVerified): '
        f"{MIGRATE}, or map the field with BETTER_AUTH_FIELD_NAMES"
    )


async def test_start_empty_database_only_warns_to_run_the_migration(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Not migrated yet is no naming mismatch: start logs it (``check`` fails on it)."""
    await _starts(pg_url)
    [record] = [r for r in caplog.records if r.msg == "better_auth.schema_not_migrated"]
    assert record.detail == (  # type: ignore[attr-defined]
        f"no Better-Auth tables (user, session, account) found: {MIGRATE}"
    )
    report = await _check(pg_url, SchemaNaming())
    assert (report.ok, report.empty) == (False, True)


async def test_start_one_table_missing_says_run_the_migration(pg_url: str) -> None:
    await _load(pg_url, DEFAULT_DDL)
    await _load(pg_url, ['drop table "account"'])
    assert await _start_error(pg_url) == (
        f'the database does not match the settings: no table "account": {MIGRATE}'
    )


async def test_start_date_column_of_another_type_fails(pg_url: str) -> None:
    await _load(
        pg_url,
        [
            s.replace('"expiresAt" timestamptz', '"expiresAt" bigint')
            for s in DEFAULT_DDL
        ],
    )
    assert await _start_error(pg_url) == (
        "the database does not match the settings: "
        'column "session"."expiresAt" is bigint, not a timestamp: '
        "Better-Auth's migration makes it timestamptz; alter the column"
    )


async def test_id_columns_of_mixed_types_are_reported(pg_url: str) -> None:
    await _load(pg_url, DEFAULT_DDL)
    await _load(pg_url, ['alter table "account" alter column "id" type varchar(64)'])
    assert (await _check(pg_url, SchemaNaming())).ok  # varchar is text too
    await _load(
        pg_url,
        [
            'alter table "account" drop column "id"',
            'alter table "account" add column "id" uuid',
        ],
    )
    report = await _check(pg_url, SchemaNaming())
    assert report.problems == (
        'id columns "account"."id" differ in type from the user id (text): '
        "make them the same type, as Better-Auth's migration does",
    )


async def test_report_tells_timestamp_kinds_apart(pg_url: str) -> None:
    await _load(pg_url, DEFAULT_DDL)
    report = await _check(pg_url, SchemaNaming())
    assert report.ok
    assert report.summary() == (
        'tables "user", "session", "account"; ids text; timestamps timestamptz'
    )
    await _load(
        pg_url,
        [
            'alter table "session" alter column "expiresAt" type timestamp',
            'alter table "user" alter column "banExpires" type date',
        ],
    )
    report = await _check(pg_url, SchemaNaming())
    assert report.ok
    assert report.timestamps == "date+timestamp+timestamptz"


async def test_migration_without_time_zone_reports_timestamp(pg_url: str) -> None:
    await _load(pg_url, [s.replace("timestamptz", "timestamp(3)") for s in DEFAULT_DDL])
    report = await _check(pg_url, SchemaNaming())
    assert (report.ok, report.timestamps) == (True, "timestamp")


async def test_check_reads_only_the_search_path(pg_url: str) -> None:
    """Tables in a schema off the search_path are not seen; a user's engine that sets it is honoured."""
    await _load(pg_url, ["create schema ba", "set search_path to ba", *DEFAULT_DDL])
    assert (await _check(pg_url, SchemaNaming())).empty
    engine = create_async_engine(
        pg_url, connect_args={"server_settings": {"search_path": "ba"}}
    )
    try:
        config = BetterAuthSettings.load(url="http://127.0.0.1:9", database_url=pg_url)
        async with BetterAuth(config, engine=engine) as auth:
            report = await auth.check_schema()
        assert report is not None and report.tables == {
            "user": "user",
            "session": "session",
            "account": "account",
        }
    finally:
        await engine.dispose()


async def test_check_ignores_other_schemas_same_names(pg_url: str) -> None:
    """A snake_case copy in another schema does not hide the search_path's own tables."""
    await _load(
        pg_url, ["create schema other", "set search_path to other", *SNAKE_PLURAL_DDL]
    )
    await _load(pg_url, DEFAULT_DDL)
    assert (await _check(pg_url, SchemaNaming())).ok


async def test_start_unreachable_database_is_not_fatal() -> None:
    await _starts("postgresql+asyncpg://nobody@127.0.0.1:1/none")


async def test_start_schema_check_off_skips_it(pg_url: str) -> None:
    await _starts(pg_url, schema_check=False)


async def test_start_with_migration_starts_and_reports(migrated_url: str) -> None:
    config = BetterAuthSettings.load(
        url="http://127.0.0.1:9", database_url=migrated_url, jwks_timeout_seconds=0.5
    )
    async with BetterAuth(config) as auth:
        report = await auth.check_schema()
    assert report is not None and report.ok
    assert report.id_type == "text"


# --- SQLite: declared types, and the hook for BETTER_AUTH_SQLITE_DATES ---------------------


async def test_sqlite_better_auth_ddl_reports_iso_dates(sqlite_url: str) -> None:
    await _load(sqlite_url, _sqlite_ddl(DEFAULT_DDL))
    report = await _check(sqlite_url, SchemaNaming())
    assert report.ok
    assert report.summary() == (
        'tables "user", "session", "account"; ids text; dates iso'
    )
    assert report.timestamps is None


async def test_sqlite_datetime_and_integer_dates(sqlite_url: str) -> None:
    await _load(
        sqlite_url,
        [re.sub(r"\bdate\b", "DATETIME", s) for s in _sqlite_ddl(DEFAULT_DDL)],
    )
    report = await _check(sqlite_url, SchemaNaming())
    # Prisma's DATETIME holds epoch ms (its engine) or ISO text (driver adapters): not enforced
    assert (report.ok, report.sqlite_dates) == (True, None)
    await _load(
        sqlite_url,
        [
            'drop table "account"',
            'drop table "session"',
            'drop table "verification"',
            'drop table "jwks"',
            'drop table "user"',
        ],
    )
    await _load(
        sqlite_url,
        [re.sub(r"\bdate\b", "integer", s) for s in _sqlite_ddl(DEFAULT_DDL)],
    )
    report = await _check(sqlite_url, SchemaNaming())
    assert (report.ok, report.sqlite_dates) == (True, "epoch_ms")
    report = await _check(sqlite_url, SchemaNaming(), sqlite_dates="iso")
    assert report.problems == (
        "dates are stored as epoch_ms: set BETTER_AUTH_SQLITE_DATES=epoch_ms",
    )


async def test_sqlite_mismatches_name_the_settings(sqlite_url: str) -> None:
    await _load(sqlite_url, _sqlite_ddl(SNAKE_PLURAL_DDL))
    assert await _start_error(sqlite_url) == (
        "the database does not match the settings: "
        'tables are plural ("users", not "user"): set BETTER_AUTH_USE_PLURAL=true; '
        'table "users" has column "email_verified", not "emailVerified": '
        "set BETTER_AUTH_COLUMN_CASE=snake. "
        "Settings that match it: BETTER_AUTH_USE_PLURAL=true BETTER_AUTH_COLUMN_CASE=snake"
    )
    await _starts(sqlite_url, use_plural=True, column_case="snake")


async def test_sqlite_integer_ids_name_serial(sqlite_url: str) -> None:
    ddl = [re.sub(r'"(id|userId)" text', r'"\1" integer', s) for s in DEFAULT_DDL]
    await _load(sqlite_url, _sqlite_ddl(ddl))
    assert await _start_error(sqlite_url) == (
        "the database does not match the settings: "
        'ids are integer (Better-Auth generateId: "serial"): set BETTER_AUTH_ID_TYPE=serial'
    )
    # uuid ids are text on SQLite: the check cannot tell them from default ids
    await _load(sqlite_url, ["drop table jwks"])
    assert (await _check(sqlite_url, SchemaNaming(id_type="serial"))).ok


async def test_sqlite_names_compare_without_case(sqlite_url: str) -> None:
    await _load(
        sqlite_url,
        [
            s.replace('"emailVerified"', '"EMAILVERIFIED"').replace('"user"', '"USER"')
            for s in _sqlite_ddl(DEFAULT_DDL)
        ],
    )
    assert (await _check(sqlite_url, SchemaNaming())).ok


async def test_sqlite_migrated_starts(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await _migrate_up(url)
    await _starts(url)


# --- offline: what the catalog alone can and cannot tell -----------------------------------


def test_renamed_table_among_several_lookalikes_is_not_guessed() -> None:
    user = {"id": "text", "email": "text", "emailVerified": "boolean"}
    catalog = Catalog("postgresql", {"people": dict(user), "persons": dict(user)})
    report = diagnose(catalog, SchemaNaming())
    assert report.problems[0] == (
        'no table "user" (tables like it: people, persons): ' + MIGRATE
    )


async def test_read_catalog_refuses_other_databases() -> None:
    class Dialect:
        name = "mysql"

    class Connection:
        dialect = Dialect()

    with pytest.raises(ValueError, match="mysql"):
        await read_catalog(Connection())  # type: ignore[arg-type]


def test_tables_without_id_columns_report_no_id_type() -> None:
    columns = {"email": "text", "emailVerified": "boolean", "token": "text"}
    catalog = Catalog(
        "postgresql", {"user": dict(columns), "session": {}, "account": {}}
    )
    report = diagnose(catalog, SchemaNaming())
    assert report.id_type is None
    assert 'table "user" has no column "id" (field id)' in report.message()


@pytest.fixture
def reader_url(postgres: PostgresServer, pg_url: str) -> Iterator[str]:
    """``pg_url`` as a role that may not read ``pg_attribute`` (a hardened catalog)."""
    role = "reader_" + secrets.token_hex(4)
    database = pg_url.rsplit("/", 1)[1]
    postgres.psql(f"CREATE ROLE {role} LOGIN")
    postgres.psql("REVOKE SELECT ON pg_catalog.pg_attribute FROM PUBLIC", database)
    try:
        yield pg_url.replace("postgres@", f"{role}@")
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        postgres.psql(f"DROP ROLE {role}")


async def test_start_catalog_not_readable_names_the_setting(reader_url: str) -> None:
    assert await _start_error(reader_url) == (
        "the schema check cannot read the database catalog (InsufficientPrivilegeError: "
        "permission denied for table pg_attribute): "
        "grant the role read access to it, or set BETTER_AUTH_SCHEMA_CHECK=false"
    )
    await _starts(reader_url, schema_check=False)


async def test_start_other_database_kinds_are_not_checked(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No MySQL here: an engine that says it is one stands in for it."""
    engine = create_async_engine(sqlite_url)
    monkeypatch.setattr(engine.dialect, "name", "mysql")
    config = BetterAuthSettings.load(url="http://127.0.0.1:9", database_url=sqlite_url)
    try:
        async with BetterAuth(config, engine=engine) as auth:
            assert await auth.check_schema() is None
    finally:
        await engine.dispose()


async def test_start_database_lost_during_the_check_is_not_fatal(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection cut between connect and query (too narrow a window to hit for real)."""

    async def cut(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT", {}, ConnectionResetError("reset by peer"))

    monkeypatch.setattr(start, "check_schema", cut)
    await _starts(pg_url)
    [record] = [
        r for r in caplog.records if r.msg == "better_auth.schema_check_skipped"
    ]
    assert record.error == "ConnectionResetError"  # type: ignore[attr-defined]
