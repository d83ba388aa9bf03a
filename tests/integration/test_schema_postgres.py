"""The models, the shipped migration and Better-Auth's own DDL describe the same PostgreSQL schema."""

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fastapi_better_auth import SchemaNaming
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth.models import get_models
from tests.conftest import DATA
from tests.schema_compare import (
    ddl_section,
    describe_database,
    describe_metadata,
    differences,
)

pytestmark = pytest.mark.anyio

BA_SCHEMA = DATA / "better_auth_1_7_25_schema.sql"
SNAKE_PLURAL = SchemaNaming.from_mappings(use_plural=True, column_case="snake")
# schema.sql section 4: the config Better-Auth compiled that DDL from
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
VARIANTS = {
    "default": (SchemaNaming(), ddl_section(BA_SCHEMA, 1)),
    "renamed": (RENAMED, ddl_section(BA_SCHEMA, 4)),
    "snake_plural": (
        SNAKE_PLURAL,
        re.findall(
            r"^create [^;]+;", (DATA / "snake_plural_schema.sql").read_text(), re.M
        ),
    ),
}


async def _load(engine: AsyncEngine, statements: list[str]) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def _describe(engine: AsyncEngine) -> dict[str, dict[str, object]]:
    async with engine.connect() as conn:
        return await conn.run_sync(describe_database)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
async def test_models_better_auth_ddl_zero_differences(
    pg_url: str, variant: str
) -> None:
    naming, statements = VARIANTS[variant]
    engine = create_async_engine(pg_url)
    try:
        await _load(engine, statements)
        reflected = await _describe(engine)
    finally:
        await engine.dispose()
    assert len(reflected) == 5
    assert differences(describe_metadata(get_models(naming).metadata), reflected) == []


async def _migrated_beside_better_auth(
    pg_url: str, naming: SchemaNaming, statements: list[str]
) -> tuple[dict[str, dict[str, object]], dict[str, dict[str, object]]]:
    """Our migration in ``public`` and Better-Auth's DDL in schema ``ba`` of one database, described."""
    engine = create_async_engine(pg_url)
    try:
        await _migrate.upgrade(engine, naming)
        assert await _migrate.current(engine) == "0001"
        migrated = await _describe(engine)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE SCHEMA ba"))
            await conn.execute(text("SET search_path TO ba"))
            for statement in statements:
                await conn.execute(text(statement))
        async with engine.connect() as conn:
            await conn.execute(text("SET search_path TO ba"))
            expected = await conn.run_sync(describe_database)
    finally:
        await engine.dispose()
    return migrated, expected


@pytest.mark.parametrize("variant", sorted(VARIANTS))
async def test_migration_upgrade_head_matches_better_auth_ddl(
    pg_url: str, variant: str
) -> None:
    naming, statements = VARIANTS[variant]
    migrated, expected = await _migrated_beside_better_auth(pg_url, naming, statements)
    assert differences(expected, migrated) == []


async def test_migration_downgrade_base_leaves_no_tables(pg_url: str) -> None:
    engine = create_async_engine(pg_url)
    try:
        await _migrate.upgrade(engine)
        await _migrate.downgrade(engine)
        assert await _describe(engine) == {}
        async with engine.connect() as conn:
            tables = (
                await conn.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname='public'")
                )
            ).scalar()
        assert tables == 0
        assert await _migrate.current(engine) is None
    finally:
        await engine.dispose()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
async def test_rows_written_by_models_follow_better_auth_conventions(
    pg_url: str, variant: str
) -> None:
    naming, statements = VARIANTS[variant]
    models = get_models(naming)
    engine = create_async_engine(pg_url)
    try:
        await _load(engine, statements)
        async with engine.begin() as conn:
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(bind=conn) as session:
                user = models.user(name="Alice", email="alice@example.com")
                session.add(user)
                await session.flush()
                session.add(
                    models.session(
                        token="t" * 32,
                        user_id=user.id,
                        expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                        ip_address="",
                        user_agent="",
                    )
                )
                await session.flush()
                user_id = user.id
        # read back with raw SQL on the physical names, as Better-Auth does
        user_table, session_table = naming.table("user"), naming.table("session")
        ev = naming.column("user", "emailVerified")
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        f'SELECT id, "{ev}", banned, "{naming.column("user", "createdAt")}" FROM "{user_table}"'
                    )
                )
            ).one()
            count = (
                await conn.execute(
                    text(
                        f'SELECT count(*) FROM "{session_table}" WHERE "{naming.column("session", "userId")}" = :u'
                    ),
                    {"u": user_id},
                )
            ).scalar()
        assert re.fullmatch(r"[A-Za-z0-9]{32}", row[0])
        assert row[1] is False
        assert row[2] is False
        assert row[3].tzinfo is not None
        assert count == 1
        async with engine.connect() as conn:
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(bind=conn) as session:
                loaded = (await session.execute(select(models.user))).scalar_one()
        assert loaded.created_at.tzinfo is not None
        assert loaded.updated_at.utcoffset() is not None
        assert loaded.email_verified is False
    finally:
        await engine.dispose()


async def test_migration_with_uuid_ids_matches_better_auth_generate_id_uuid(
    pg_url: str,
) -> None:
    """generateId "uuid": uuid ids made by the database, uuid userId columns (schema.sql section 2's rule)."""
    naming = SchemaNaming.from_mappings(id_type="uuid")
    statements = [
        s.replace(
            '"id" text not null primary key',
            '"id" uuid default pg_catalog.gen_random_uuid() not null primary key',
        ).replace(
            '"userId" text not null references', '"userId" uuid not null references'
        )
        for s in ddl_section(BA_SCHEMA, 1)
    ]
    migrated, expected = await _migrated_beside_better_auth(pg_url, naming, statements)
    columns: dict[str, tuple[str, bool, str | None]] = migrated["user"]["columns"]  # type: ignore[assignment]
    assert columns["id"][0] == "UUID"
    assert differences(expected, migrated) == []


def _serial_statements() -> list[str]:
    """Better-Auth's migration under generateId "serial" (schema.sql section 3's rule, with plugins)."""
    return [
        s.replace(
            '"id" text not null primary key',
            '"id" integer GENERATED BY DEFAULT AS IDENTITY not null primary key',
        ).replace('"userId" text not null', '"userId" integer not null')
        for s in ddl_section(BA_SCHEMA, 1)
    ]


async def test_migration_and_models_with_serial_ids_match_better_auth_generate_id_serial(
    pg_url: str,
) -> None:
    """generateId "serial": identity integer ids, integer userId columns, zero differences."""
    naming = SchemaNaming.from_mappings(id_type="serial")
    statements = _serial_statements()
    migrated, expected = await _migrated_beside_better_auth(pg_url, naming, statements)
    columns: dict[str, tuple[str, bool, str | None]] = migrated["session"]["columns"]  # type: ignore[assignment]
    assert (columns["id"][0], columns["userId"][0]) == ("INTEGER", "INTEGER")
    assert differences(expected, migrated) == []
    assert differences(describe_metadata(get_models(naming).metadata), expected) == []
    engine = create_async_engine(pg_url)
    try:  # the identity numbers the rows the models insert
        async with engine.connect() as conn:
            identity = (
                await conn.execute(
                    text(
                        "SELECT is_identity, identity_generation FROM information_schema.columns"
                        " WHERE table_schema = 'public' AND table_name = 'user'"
                        " AND column_name = 'id'"
                    )
                )
            ).one()
        assert tuple(identity) == ("YES", "BY DEFAULT")
        from sqlalchemy.ext.asyncio import AsyncSession

        models = get_models(naming)
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            first = models.user(name="A", email="a@example.com")
            second = models.user(name="B", email="b@example.com")
            session.add_all([first, second])
            await session.flush()
            session.add(
                models.session(
                    token="t" * 32,
                    user_id=second.id,
                    expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                )
            )
        assert (first.id, second.id) == ("1", "2")
        async with AsyncSession(engine) as session:
            found = (await session.execute(select(models.session.user_id))).scalar_one()
        assert found == "2"
    finally:
        await engine.dispose()
