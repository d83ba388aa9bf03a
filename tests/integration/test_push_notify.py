"""``migrate notify``: the triggers notify every change of trust, and nothing else, under any naming.

Each test writes to a real PostgreSQL and counts the notifications a second connection
receives; a sentinel ``NOTIFY`` after the writes marks the end (PostgreSQL delivers in commit
order), so nothing sleeps.
"""

import asyncio
import json
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import ConfigurationError, SchemaNaming
from fastapi_better_auth.__main__ import main
from fastapi_better_auth._push import sql as push_sql
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._schema.notify import (
    drop_triggers,
    install_triggers,
    notify_status,
)
from tests.pg import PostgresServer

pytestmark = pytest.mark.anyio

SNAKE_PLURAL = SchemaNaming.from_mappings(use_plural=True, column_case="snake")
NAMINGS = {"default": SchemaNaming(), "snake_plural": SNAKE_PLURAL}
SENTINEL = "end-of-test"


class Database:
    """A migrated database with the triggers, one user ``u1`` and two sessions ``s1``, ``s2``."""

    def __init__(self, dsn: str, url: str, naming: SchemaNaming) -> None:
        self.dsn, self.url, self.naming = dsn, url, naming

    def t(self, model: str) -> str:
        return push_sql.quote_ident(self.naming.table(model))

    def c(self, model: str, field: str) -> str:
        return push_sql.quote_ident(self.naming.column(model, field))

    async def seed(self, connection: Any) -> None:
        u, s = "user", "session"
        await connection.execute(
            f"INSERT INTO {self.t(u)} ({self.c(u, 'id')}, {self.c(u, 'name')}, "
            f"{self.c(u, 'email')}, {self.c(u, 'emailVerified')}, {self.c(u, 'updatedAt')}) "
            "VALUES ('u1', 'Ada', 'ada@example.com', true, now())"
        )
        for sid in ("s1", "s2"):
            await connection.execute(
                f"INSERT INTO {self.t(s)} ({self.c(s, 'id')}, {self.c(s, 'expiresAt')}, "
                f"{self.c(s, 'token')}, {self.c(s, 'updatedAt')}, {self.c(s, 'userId')}) "
                f"VALUES ('{sid}', now() + interval '1 day', 'secret-token-{sid}', now(), 'u1')"
            )

    async def notifications(self, *statements: str) -> list[dict[str, Any]]:
        """The payloads the statements (each its own transaction) make the triggers send."""
        received: list[str] = []
        done = asyncio.Event()

        def listener(*args: Any) -> None:
            if args[3] == SENTINEL:
                done.set()
            else:
                received.append(args[3])

        listen = await asyncpg.connect(self.dsn)
        write = await asyncpg.connect(self.dsn)
        try:
            await listen.add_listener(push_sql.CHANNEL, listener)
            for statement in statements:
                await write.execute(statement)
            await write.execute(f"NOTIFY {push_sql.CHANNEL}, '{SENTINEL}'")
            await asyncio.wait_for(done.wait(), 5)
        finally:
            await listen.close()
            await write.close()
        return [json.loads(payload) for payload in received]


@pytest.fixture(params=sorted(NAMINGS))
async def database(
    request: pytest.FixtureRequest, postgres: PostgresServer, pg_database: str
) -> Database:
    naming = NAMINGS[request.param]
    db = Database(postgres.dsn(pg_database), postgres.url(pg_database), naming)
    engine = create_async_engine(db.url)
    try:
        await _migrate.upgrade(engine, naming)
        report = await install_triggers(engine, naming)
        assert report.done == [naming.table("user"), naming.table("session")]
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(db.dsn)
    try:
        await db.seed(connection)
    finally:
        await connection.close()
    return db


def _user_update(db: Database, field: str, value: str) -> str:
    return f"UPDATE {db.t('user')} SET {db.c('user', field)} = {value} WHERE {db.c('user', 'id')} = 'u1'"


def _session_update(db: Database, field: str, value: str, sid: str = "s1") -> str:
    return f"UPDATE {db.t('session')} SET {db.c('session', field)} = {value} WHERE {db.c('session', 'id')} = '{sid}'"


USER = {"v": 1, "kind": "user", "id": "u1"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("banned", "true"),
        ("banExpires", "now() + interval '1 hour'"),
        ("role", "'admin'"),
        ("emailVerified", "false"),
    ],
)
async def test_user_change_of_trust_notifies_once(
    database: Database, field: str, value: str
) -> None:
    assert await database.notifications(_user_update(database, field, value)) == [USER]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "'Ada L.'"),
        ("image", "'https://example.com/a.png'"),
        ("updatedAt", "now() + interval '1 minute'"),
        ("banReason", "'spam'"),
        ("banned", "null"),  # null before and after: no change
    ],
)
async def test_user_change_without_trust_notifies_nothing(
    database: Database, field: str, value: str
) -> None:
    assert await database.notifications(_user_update(database, field, value)) == []


async def test_user_delete_notifies_the_user_and_each_cascaded_session(
    database: Database,
) -> None:
    deleted = (
        f"DELETE FROM {database.t('user')} WHERE {database.c('user', 'id')} = 'u1'"
    )
    payloads = await database.notifications(deleted)
    assert USER in payloads
    sessions = sorted(p["id"] for p in payloads if p["kind"] == "session")
    assert sessions == ["s1", "s2"]
    assert len(payloads) == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expiresAt", "now() - interval '1 second'"),
        ("token", "'rotated-token'"),
        ("impersonatedBy", "'u-admin'"),
    ],
)
async def test_session_change_of_trust_notifies_id_and_user_never_the_token(
    database: Database, field: str, value: str
) -> None:
    payloads = await database.notifications(_session_update(database, field, value))
    assert payloads == [{"v": 1, "kind": "session", "id": "s1", "user": "u1"}]
    assert "token" not in json.dumps(payloads)


async def test_session_delete_and_move_to_another_user_notify(
    database: Database,
) -> None:
    s, u = "session", "user"
    other = (
        f"INSERT INTO {database.t(u)} ({database.c(u, 'id')}, {database.c(u, 'name')}, "
        f"{database.c(u, 'email')}, {database.c(u, 'emailVerified')}, {database.c(u, 'updatedAt')}) "
        "VALUES ('u2', 'Bob', 'bob@example.com', true, now())"
    )
    payloads = await database.notifications(
        other,
        _session_update(database, "userId", "'u2'", sid="s2"),
        f"DELETE FROM {database.t(s)} WHERE {database.c(s, 'id')} = 's1'",
    )
    assert payloads == [
        {"v": 1, "kind": "session", "id": "s2", "user": "u1"},
        {"v": 1, "kind": "session", "id": "s1", "user": "u1"},
    ]


async def test_session_refresh_of_other_columns_notifies_nothing(
    database: Database,
) -> None:
    statements = [
        _session_update(database, "updatedAt", "now() + interval '1 minute'"),
        _session_update(database, "ipAddress", "'10.0.0.1'"),
        _session_update(database, "userAgent", "'curl'"),
    ]
    assert await database.notifications(*statements) == []


async def test_plugin_columns_notify_when_they_exist(database: Database) -> None:
    """The organization plugin's columns, added after the triggers, are watched too."""
    column = database.c("session", "activeOrganizationId")
    added = f"ALTER TABLE {database.t('session')} ADD COLUMN {column} text"
    payloads = await database.notifications(
        added, _session_update(database, "activeOrganizationId", "'org-1'")
    )
    assert payloads == [{"v": 1, "kind": "session", "id": "s1", "user": "u1"}]


async def test_truncate_notifies_reset(database: Database) -> None:
    truncate = f"TRUNCATE {database.t('session')}"
    assert await database.notifications(truncate) == [{"v": 1, "kind": "reset"}]


async def test_rolled_back_change_notifies_nothing(database: Database) -> None:
    ban = _user_update(database, "banned", "true")
    assert await database.notifications(f"BEGIN; {ban}; ROLLBACK") == []


async def test_install_is_idempotent_detects_outdated_and_drop_is_clean(
    database: Database,
) -> None:
    engine = create_async_engine(database.url)
    naming = database.naming
    tables = [naming.table("user"), naming.table("session")]
    try:
        assert (await notify_status(engine, naming)).installed
        again = await install_triggers(engine, naming)
        assert (again.done, again.unchanged) == ([], tables)
        async with engine.begin() as connection:  # an older body: replaced, not kept
            await connection.exec_driver_sql(
                f"ALTER TABLE {database.t('user')} DISABLE TRIGGER {push_sql.ROW_TRIGGER}"
            )
        status = await notify_status(engine, naming)
        assert status.problems == (f"trigger fba_notify on {tables[0]} is disabled",)
        repaired = await install_triggers(engine, naming)
        assert (repaired.done, repaired.unchanged) == ([tables[0]], [tables[1]])
        dropped = await drop_triggers(engine, naming)
        assert dropped.done == tables
        status = await notify_status(engine, naming)
        assert len(status.problems) == 4 and not status.present
        assert (await drop_triggers(engine, naming)).unchanged == tables
        async with engine.connect() as connection:
            functions = await connection.exec_driver_sql(
                "SELECT count(*) FROM pg_proc WHERE proname LIKE 'fba_notify%'"
            )
            assert functions.scalar() == 0
    finally:
        await engine.dispose()
    ban = _user_update(database, "banned", "true")
    assert await database.notifications(ban) == []


async def test_outdated_body_is_reported_and_replaced(database: Database) -> None:
    engine = create_async_engine(database.url)
    function = push_sql.quote_ident(push_sql.function_name(database.naming, "session"))
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
            )
        status = await notify_status(engine, database.naming)
        assert not status.installed
        assert status.stale == {database.naming.table("session")}
        await install_triggers(engine, database.naming)
        assert (await notify_status(engine, database.naming)).installed
    finally:
        await engine.dispose()


def test_notify_command_installs_reports_and_drops(
    postgres: PostgresServer, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres.url(pg_database)
    assert main(["migrate", "upgrade", "--database-url", url]) == 0
    capsys.readouterr()
    assert main(["migrate", "notify", "--database-url", url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "channel better_auth_invalidate: user and session changes of trust are notified",
        "installed triggers on user",
        "installed triggers on session",
    ]
    assert main(["migrate", "notify", "--database-url", url]) == 0
    assert capsys.readouterr().out.count("present triggers on ") == 2
    assert main(["migrate", "notify", "--drop", "--database-url", url]) == 0
    assert capsys.readouterr().out.count("dropped triggers on ") == 2
    assert main(["migrate", "notify", "--drop", "--database-url", url]) == 0
    assert capsys.readouterr().out.count("absent triggers on ") == 2


def test_notify_command_on_sqlite_says_postgresql_is_needed(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "upgrade", "--database-url", sqlite_url]) == 0
    capsys.readouterr()
    assert main(["migrate", "notify", "--database-url", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "needs PostgreSQL" in err and "BETTER_AUTH_DATABASE_URL" in err


async def test_status_on_sqlite_raises_configuration_error(sqlite_url: str) -> None:
    engine = create_async_engine(sqlite_url)
    try:
        with pytest.raises(ConfigurationError, match="sqlite database"):
            await notify_status(engine)
    finally:
        await engine.dispose()


def test_notify_sql_prints_the_ddl_without_a_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BETTER_AUTH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BETTER_AUTH_USE_PLURAL", "true")
    monkeypatch.setenv("BETTER_AUTH_COLUMN_CASE", "snake")
    assert main(["migrate", "notify", "--sql"]) == 0
    out = capsys.readouterr().out
    assert 'CREATE OR REPLACE FUNCTION "fba_notify_users"()' in out
    assert 'AFTER UPDATE OR DELETE ON "sessions" FOR EACH ROW' in out
    assert "old_row->'banned' IS NOT DISTINCT FROM" in out
    assert "old_row->>'user_id'" in out
    assert main(["migrate", "notify", "--sql", "--drop"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        'DROP FUNCTION IF EXISTS "fba_notify_users"() CASCADE;',
        'DROP FUNCTION IF EXISTS "fba_notify_sessions"() CASCADE;',
    ]


def test_long_table_names_get_a_hashed_function_name() -> None:
    naming = SchemaNaming.from_mappings(model_names={"user": "u" * 70})
    name = push_sql.function_name(naming, "user")
    assert len(name.encode()) == 63 and name.startswith("fba_notify_uuu")
    assert name != push_sql.function_name(
        SchemaNaming.from_mappings(model_names={"user": "u" * 71}), "user"
    )


def test_notify_command_before_the_tables_exist_names_the_settings(
    postgres: PostgresServer, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres.url(pg_database)
    assert main(["migrate", "notify", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "table user not found" in err and "BETTER_AUTH_USE_PLURAL" in err


def test_notify_command_as_a_role_that_does_not_own_the_tables_says_so(
    postgres: PostgresServer, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres.url(pg_database)
    assert main(["migrate", "upgrade", "--database-url", url]) == 0
    role = f"reader_{pg_database}"
    postgres.psql(f"CREATE ROLE {role} LOGIN PASSWORD 'pw-secret'")
    try:
        postgres.psql(f"GRANT ALL ON SCHEMA public TO {role}", pg_database)
        reader = url.replace("postgres@", f"{role}:pw-secret@")
        capsys.readouterr()
        assert main(["migrate", "notify", "--database-url", reader]) == 2
        err = capsys.readouterr().err
        assert "permission denied for table user" in err
        assert "run migrate notify as the tables' owner" in err
        assert "pw-secret" not in err
        assert main(["migrate", "notify", "--database-url", url]) == 0
        capsys.readouterr()
        assert main(["migrate", "notify", "--drop", "--database-url", reader]) == 2
        assert "must be owner of function fba_notify_user" in capsys.readouterr().err
    finally:
        postgres.psql(f"DROP OWNED BY {role}", pg_database)
        postgres.psql(f"DROP ROLE {role}")
