"""The opt-in list indexes (``migrate indexes``): exactly these, idempotent, reversible, used.

Better-Auth's schema stays untouched by ``migrate upgrade`` (test_schema_postgres.py diffs
it); these tests show that the separate command adds exactly the expected indexes under each
naming and removes them again, and that the list's queries use them at a realistic size.
"""

import secrets
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fastapi_better_auth import BetterAuthSettings, SchemaNaming
from fastapi_better_auth.__main__ import main
from fastapi_better_auth._admin.cursor import Cursor
from fastapi_better_auth._admin.listing import (
    UserQuery,
    count_statement,
    page_statement,
)
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._schema.indexes import (
    create_indexes,
    drop_indexes,
    existing_indexes,
    list_indexes,
)
from fastapi_better_auth.models import get_models
from fastapi_better_auth.testing import TokenIssuer, make_user, user_claims
from tests.admin_fixtures import admin_app, bearer
from tests.helpers import run, settings_for
from tests.pg import PostgresServer
from tests.schema_compare import describe_database, differences

PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
SNAKE_PLURAL = SchemaNaming.from_mappings(use_plural=True, column_case="snake")
RENAMED = SchemaNaming.from_mappings(
    model_names={"user": "members"}, field_names={"user": {"name": "full_name"}}
)
#: pg_indexes.indexdef of every opt-in index, per naming.
EXPECTED = {
    "default": (
        SchemaNaming(),
        {
            "user_createdAt_id_idx": 'CREATE INDEX "user_createdAt_id_idx" ON public."user" USING btree ("createdAt", id)',
            "user_updatedAt_id_idx": 'CREATE INDEX "user_updatedAt_id_idx" ON public."user" USING btree ("updatedAt", id)',
            "user_name_id_idx": 'CREATE INDEX user_name_id_idx ON public."user" USING btree (name, id)',
            "user_email_trgm_idx": 'CREATE INDEX user_email_trgm_idx ON public."user" USING gin (lower(email) gin_trgm_ops)',
            "user_name_trgm_idx": 'CREATE INDEX user_name_trgm_idx ON public."user" USING gin (lower(name) gin_trgm_ops)',
        },
    ),
    "snake_plural": (
        SNAKE_PLURAL,
        {
            "users_created_at_id_idx": "CREATE INDEX users_created_at_id_idx ON public.users USING btree (created_at, id)",
            "users_updated_at_id_idx": "CREATE INDEX users_updated_at_id_idx ON public.users USING btree (updated_at, id)",
            "users_name_id_idx": "CREATE INDEX users_name_id_idx ON public.users USING btree (name, id)",
            "users_email_trgm_idx": "CREATE INDEX users_email_trgm_idx ON public.users USING gin (lower(email) gin_trgm_ops)",
            "users_name_trgm_idx": "CREATE INDEX users_name_trgm_idx ON public.users USING gin (lower(name) gin_trgm_ops)",
        },
    ),
    "renamed": (
        RENAMED,
        {
            "members_createdAt_id_idx": 'CREATE INDEX "members_createdAt_id_idx" ON public.members USING btree ("createdAt", id)',
            "members_updatedAt_id_idx": 'CREATE INDEX "members_updatedAt_id_idx" ON public.members USING btree ("updatedAt", id)',
            "members_full_name_id_idx": "CREATE INDEX members_full_name_id_idx ON public.members USING btree (full_name, id)",
            "members_email_trgm_idx": "CREATE INDEX members_email_trgm_idx ON public.members USING gin (lower(email) gin_trgm_ops)",
            "members_full_name_trgm_idx": "CREATE INDEX members_full_name_trgm_idx ON public.members USING gin (lower(full_name) gin_trgm_ops)",
        },
    ),
}


async def _describe(engine: AsyncEngine) -> dict[str, dict[str, object]]:
    async with engine.connect() as conn:
        return await conn.run_sync(describe_database)


async def _indexdefs(engine: AsyncEngine) -> dict[str, str]:
    query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    async with engine.connect() as conn:
        rows = (await conn.execute(text(query))).all()
    return {str(name): str(definition) for name, definition in rows}


async def _valid(engine: AsyncEngine, naming: SchemaNaming) -> dict[str, bool]:
    async with engine.connect() as conn:
        return await conn.run_sync(existing_indexes, naming)


@pytest.mark.anyio
@pytest.mark.parametrize("variant", sorted(EXPECTED))
async def test_indexes_creates_exactly_the_expected_ones_idempotently_and_drops_them(
    pg_url: str, variant: str
) -> None:
    naming, expected = EXPECTED[variant]
    engine = create_async_engine(pg_url)
    try:
        await _migrate.upgrade(engine, naming)
        migrated, before = await _describe(engine), await _indexdefs(engine)
        assert await _valid(engine, naming) == {}  # upgrade never makes them

        report = await create_indexes(engine, naming)
        assert sorted(report.done) == sorted(expected)
        assert report.complete and report.unchanged == []
        assert report.messages == ["created extension pg_trgm"]
        after = await _indexdefs(engine)
        assert {k: v for k, v in after.items() if k not in before} == expected
        assert await _valid(engine, naming) == dict.fromkeys(expected, True)
        # the only difference from the migrated (= Better-Auth's) schema: these indexes
        table = naming.table("user")
        changes = differences(migrated, await _describe(engine))
        assert len(changes) == 1 and changes[0].startswith(f"{table}.indexes"), changes

        again = await create_indexes(engine, naming)
        assert (again.done, sorted(again.unchanged)) == ([], sorted(expected))
        assert again.messages == []  # pg_trgm is there already
        assert await _indexdefs(engine) == after

        dropped = await drop_indexes(engine, naming)
        assert sorted(dropped.done) == sorted(expected)
        assert await _indexdefs(engine) == before
        assert differences(migrated, await _describe(engine)) == []
        twice = await drop_indexes(engine, naming)
        assert (twice.done, sorted(twice.unchanged)) == ([], sorted(expected))
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_indexes_rebuilds_an_index_left_invalid_by_a_failed_build(
    pg_url: str,
) -> None:
    engine = create_async_engine(pg_url)
    try:
        await _migrate.upgrade(engine)
        await create_indexes(engine, concurrently=False)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE pg_index SET indisvalid = false"
                    " WHERE indexrelid = '\"user_createdAt_id_idx\"'::regclass"
                )
            )
        assert (await _valid(engine, SchemaNaming()))["user_createdAt_id_idx"] is False
        report = await create_indexes(engine)
        assert report.done == ["user_createdAt_id_idx"]
        assert report.messages == [
            "dropped invalid index user_createdAt_id_idx to rebuild it"
        ]
        assert all((await _valid(engine, SchemaNaming())).values())
    finally:
        await engine.dispose()


def test_indexes_without_pg_trgm_rights_makes_the_btree_ones_and_says_why(
    postgres: PostgresServer,
    pg_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A role that owns the tables but may not create extensions in the database."""
    role = "limited_" + secrets.token_hex(4)
    postgres.psql(f"CREATE ROLE {role} LOGIN")
    try:
        postgres.psql(f"GRANT CREATE ON SCHEMA public TO {role}", pg_database)
        url = postgres.url(pg_database).replace("postgres@", f"{role}@")
        assert main(["migrate", "upgrade", "--database-url", url]) == 0
        capsys.readouterr()
        assert main(["migrate", "indexes", "--database-url", url]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert "pg_trgm could not be created (permission denied" in err
        assert "CREATE EXTENSION pg_trgm;" in err
        assert "created user_createdAt_id_idx" in err
        assert "skipped user_email_trgm_idx\nskipped user_name_trgm_idx" in err
        names = postgres.psql(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_id\\_idx'"
            " OR indexname LIKE '%trgm%' ORDER BY 1",
            pg_database,
        ).split()
        assert names == [
            "user_createdAt_id_idx",
            "user_name_id_idx",
            "user_updatedAt_id_idx",
        ]
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {pg_database} WITH (FORCE)")
        postgres.psql(f"DROP ROLE {role}")


def test_indexes_command_line_creates_reports_and_drops(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "upgrade", "--database-url", pg_url]) == 0
    capsys.readouterr()
    assert main(["migrate", "indexes", "--database-url", pg_url]) == 0
    created = capsys.readouterr().out.splitlines()
    assert created[0] == "created extension pg_trgm"
    assert created[1:] == [
        "created user_createdAt_id_idx",
        "created user_updatedAt_id_idx",
        "created user_name_id_idx",
        "created user_email_trgm_idx",
        "created user_name_trgm_idx",
    ]
    assert main(["migrate", "indexes", "--database-url", pg_url]) == 0
    assert capsys.readouterr().out.count("present ") == 5
    assert main(["migrate", "indexes", "--drop", "--database-url", pg_url]) == 0
    assert capsys.readouterr().out.count("dropped ") == 5
    assert main(["migrate", "indexes", "--drop", "--database-url", pg_url]) == 0
    assert capsys.readouterr().out.count("absent ") == 5


def test_indexes_on_sqlite_are_the_btree_ones(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "upgrade", "--database-url", sqlite_url]) == 0
    assert main(["migrate", "indexes", "--database-url", sqlite_url]) == 0
    assert main(["migrate", "indexes", "--database-url", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert out.count("created ") == 3 and out.count("present ") == 3
    assert "pg_trgm" not in out

    async def names() -> dict[str, bool]:
        engine = create_async_engine(sqlite_url)
        try:
            return await _valid(engine, SchemaNaming())
        finally:
            await engine.dispose()

    assert sorted(run(names())) == [
        "user_createdAt_id_idx",
        "user_name_id_idx",
        "user_updatedAt_id_idx",
    ]
    assert main(["migrate", "indexes", "--drop", "--database-url", sqlite_url]) == 0
    assert run(names()) == {}


def test_indexes_sql_prints_the_statements_without_a_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BETTER_AUTH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["migrate", "indexes", "--sql"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "user_createdAt_id_idx" ON "user" ("createdAt", id);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "user_updatedAt_id_idx" ON "user" ("updatedAt", id);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS user_name_id_idx ON "user" (name, id);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS user_email_trgm_idx ON "user" USING gin (lower(email) gin_trgm_ops);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS user_name_trgm_idx ON "user" USING gin (lower(name) gin_trgm_ops);',
    ]
    monkeypatch.setenv("BETTER_AUTH_USE_PLURAL", "true")
    monkeypatch.setenv("BETTER_AUTH_COLUMN_CASE", "snake")
    argv = ["migrate", "indexes", "--sql", "--drop", "--dialect", "sqlite"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        "DROP INDEX IF EXISTS users_created_at_id_idx;",
        "DROP INDEX IF EXISTS users_updated_at_id_idx;",
        "DROP INDEX IF EXISTS users_name_id_idx;",
    ]
    assert main(["migrate", "indexes", "--sql", "--dialect", "sqlite"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "CREATE INDEX IF NOT EXISTS users_created_at_id_idx ON users (created_at, id);"
    )
    assert main(["migrate", "indexes", "--sql", "--no-concurrently", "--drop"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "DROP INDEX IF EXISTS users_created_at_id_idx;"
    )


@pytest.mark.anyio
async def test_long_names_stay_distinct_within_postgresql_63_bytes(pg_url: str) -> None:
    long = (
        "n" * 57
    )  # user_nnn…_id_idx and user_nnn…_trgm_idx share their first 63 bytes
    naming = SchemaNaming.from_mappings(field_names={"user": {"name": long}})
    names = [index.name for index in list_indexes(naming, PG_DIALECT)]
    assert names[:2] == [
        "user_createdAt_id_idx",
        "user_updatedAt_id_idx",
    ]  # short: kept
    assert names[2].startswith(f"user_{long[:49]}_") and len(names[2]) == 63
    assert names[4].startswith(f"user_{long[:49]}_") and len(names[4]) == 63
    assert len(set(names)) == 5  # merely cut at 63 bytes, those two would be one index
    engine = create_async_engine(pg_url)
    try:
        await _migrate.upgrade(engine, naming)
        report = await create_indexes(engine, naming, concurrently=False)
        assert sorted(report.done) == sorted(names)
        assert await _valid(engine, naming) == dict.fromkeys(names, True)
        assert sorted((await create_indexes(engine, naming)).unchanged) == sorted(names)
    finally:
        await engine.dispose()


# --- the plans at 20 000 users ---------------------------------------------------------

USERS = 20_000
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
SETTINGS = BetterAuthSettings.load(url="http://localhost", database_url="sqlite://")
MODELS = get_models(SchemaNaming())
_SEED = """
INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt", role, banned)
SELECT 'u' || lpad(i::text, 8, '0'), 'User ' || lpad(i::text, 6, '0'),
       'user' || lpad(i::text, 6, '0') || '@example.com', i % 3 = 0,
       timestamptz '2025-01-01' + (i / 2) * interval '1 second',
       timestamptz '2025-01-01' + (i / 2) * interval '1 second',
       CASE WHEN i = 2 THEN 'admin' ELSE 'user' END, false
FROM generate_series(1, :count) AS i
"""


@pytest.fixture(scope="module")
def seeded(postgres: PostgresServer) -> Iterator[str]:
    """20 000 users (pairs share createdAt; ``u00000002`` is an admin), vacuumed, analysed."""
    name = "plans_" + secrets.token_hex(6)
    postgres.psql(f"CREATE DATABASE {name}")
    url = postgres.url(name)

    async def seed() -> None:
        engine = create_async_engine(url)
        try:
            await _migrate.upgrade(engine)
            async with engine.begin() as conn:
                await conn.execute(text(_SEED), {"count": USERS})
        finally:
            await engine.dispose()

    try:
        run(seed())
        postgres.psql('VACUUM ANALYZE "user"', name)
        yield url
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _plan(url: str, statement: Any) -> str:
    engine = create_async_engine(url)
    try:
        sql = statement.compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}
        )
        async with engine.connect() as conn:
            rows = (await conn.exec_driver_sql(f"EXPLAIN {sql}")).all()
    finally:
        await engine.dispose()
    return "\n".join(str(row[0]) for row in rows)


def _page(query: UserQuery) -> Any:
    return page_statement(MODELS, SETTINGS, query, NOW)


_DEEP = UserQuery(limit=50, offset=USERS - 50)
_CURSOR = Cursor(
    "created_at", "asc", datetime(2025, 1, 1, 2, tzinfo=timezone.utc), "u1"
)
#: (query, what the plan must contain) at 20 000 users with the indexes.
PLANS = {
    "first page": (
        _page(UserQuery(limit=50)),
        'Index Scan using "user_createdAt_id_idx"',
    ),
    "newest first": (
        _page(UserQuery(limit=50, sort_direction="desc")),
        'Index Scan Backward using "user_createdAt_id_idx"',
    ),
    "by updatedAt": (
        _page(UserQuery(limit=50, sort_by="updated_at")),
        'Index Scan using "user_updatedAt_id_idx"',
    ),
    "by name, descending": (
        _page(UserQuery(limit=50, sort_by="name", sort_direction="desc")),
        "Index Scan Backward using user_name_id_idx",
    ),
    "cursor page": (
        _page(UserQuery(limit=50, cursor=_CURSOR)),
        'Index Cond: (ROW("createdAt", id) > ROW(',
    ),
    "deep offset page": (_page(_DEEP), 'Index Only Scan using "user_createdAt_id_idx"'),
    "search": (
        _page(UserQuery(limit=50, search="user012345")),
        "Bitmap Index Scan on user_email_trgm_idx",
    ),
    "search by name": (
        _page(UserQuery(limit=50, search="User 01234")),
        "Bitmap Index Scan on user_name_trgm_idx",
    ),
    "search count": (
        count_statement(MODELS, SETTINGS, UserQuery(limit=50, search="r 0123"), NOW),
        "Bitmap Index Scan on user_name_trgm_idx",
    ),
}


@pytest.fixture(scope="module")
def plans(seeded: str) -> Iterator[dict[str, tuple[str, str]]]:
    """Each query's plan without, then with, the opt-in indexes (dropped again at exit)."""
    without = {label: run(_plan(seeded, sql)) for label, (sql, _) in PLANS.items()}

    async def change(create: bool) -> None:
        engine = create_async_engine(seeded)
        try:
            if create:
                assert (await create_indexes(engine)).complete
            else:
                await drop_indexes(engine)
        finally:
            await engine.dispose()

    run(change(create=True))
    try:
        with_indexes = {
            label: run(_plan(seeded, sql)) for label, (sql, _) in PLANS.items()
        }
        yield {label: (without[label], with_indexes[label]) for label in PLANS}
    finally:
        run(change(create=False))


@pytest.mark.parametrize("label", sorted(PLANS))
def test_list_queries_use_the_opt_in_indexes_at_20k_users(
    plans: dict[str, tuple[str, str]], label: str
) -> None:
    without, with_indexes = plans[label]
    expected = PLANS[label][1]
    assert expected in with_indexes, with_indexes
    assert "Seq Scan" not in with_indexes, with_indexes
    assert expected not in without  # Better-Auth's own indexes cannot serve it
    if not label.startswith(("search", "deep")):  # an index walk that stops at the page
        assert "Sort" not in with_indexes, with_indexes


def test_cursor_pages_with_indexes_match_offset_pages_at_20k_users(
    seeded: str, issuer: TokenIssuer, origin: str
) -> None:
    """Across the seeded users (pairs share createdAt), cursors and offsets agree."""

    async def indexes() -> None:
        engine = create_async_engine(seeded)
        try:
            await create_indexes(engine)
        finally:
            await engine.dispose()

    run(indexes())
    admin = make_user(id="u00000002", role="admin")
    headers = bearer(issuer.mint(user_claims(admin)))
    settings = settings_for(origin, seeded, max_page_size=1000)
    with TestClient(admin_app(settings)) as client:
        cursor, offset = None, 0
        for _ in range(4):
            params: dict[str, Any] = {"limit": 999, "sort_direction": "desc"}
            by_cursor = client.get(
                "/api/v1/users",
                params={**params, **({"cursor": cursor} if cursor else {})},
                headers=headers,
            ).json()
            by_offset = client.get(
                "/api/v1/users", params={**params, "offset": offset}, headers=headers
            ).json()
            assert by_cursor["users"] == by_offset["users"]
            assert by_cursor["total"] == by_offset["total"] == USERS
            cursor, offset = by_cursor["next_cursor"], offset + 999


def test_uuid_ids_page_by_cursor_and_a_non_uuid_cursor_id_is_422(
    pg_url: str, issuer: TokenIssuer, origin: str
) -> None:
    naming = SchemaNaming.from_mappings(id_type="uuid")

    async def seed() -> None:
        engine = create_async_engine(pg_url)
        try:
            await _migrate.upgrade(engine, naming)
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        'INSERT INTO "user" (name, email, "emailVerified", role)'
                        " SELECT 'U' || i, 'u' || i || '@x.test', true, 'admin'"
                        " FROM generate_series(1, 25) AS i"
                    )
                )
            await create_indexes(engine, naming)
        finally:
            await engine.dispose()

    run(seed())
    settings = settings_for(origin, pg_url, id_type="uuid")
    with TestClient(admin_app(settings)) as client:
        admin_id = _first_id(pg_url)
        headers = bearer(issuer.mint(user_claims(make_user(id=admin_id, role="admin"))))
        everyone = client.get("/api/v1/users", params={"limit": 25}, headers=headers)
        expected = [user["id"] for user in everyone.json()["users"]]
        ids, cursor = [], None
        while True:
            page = client.get(
                "/api/v1/users",
                params={"limit": 4, **({"cursor": cursor} if cursor else {})},
                headers=headers,
            ).json()
            ids += [user["id"] for user in page["users"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert ids == expected and len(ids) == 25
        forged = Cursor("created_at", "asc", NOW, "not-a-uuid").encode()
        response = client.get(
            "/api/v1/users", params={"cursor": forged}, headers=headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def _first_id(url: str) -> str:
    async def read() -> str:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                query = 'SELECT id::text FROM "user" ORDER BY "createdAt", id LIMIT 1'
                return str((await conn.execute(text(query))).scalar_one())
        finally:
            await engine.dispose()

    return str(run(read()))
