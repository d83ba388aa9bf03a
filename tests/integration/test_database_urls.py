"""``DATABASE_URL`` as hosting providers and Prisma write it reaches PostgreSQL, not a per-request 500."""

from typing import Any

import pytest

from fastapi_better_auth import BetterAuth, BetterAuthSettings, _migrate, _store
from tests.pg import PostgresServer

pytestmark = pytest.mark.anyio


def _settings(database_url: str, **options: Any) -> BetterAuthSettings:
    return BetterAuthSettings.load(
        url="http://127.0.0.1:3005", database_url=database_url, **options
    )


@pytest.mark.parametrize("direct_reads", [True, False], ids=["direct", "sqlalchemy"])
@pytest.mark.parametrize(
    "query",
    [
        "sslmode=prefer",
        "sslmode=disable&application_name=fba-test&connect_timeout=5",
        "schema=public",
    ],
)
async def test_runtime_reads_through_a_libpq_style_url(
    postgres: PostgresServer, pg_database: str, query: str, direct_reads: bool
) -> None:
    url = f"postgres://postgres@127.0.0.1:{postgres.port}/{pg_database}?{query}"
    auth = BetterAuth(_settings(url, database_direct_reads=direct_reads))
    try:
        await _migrate.upgrade(auth.engine)
        await auth.start()
        await auth.check_database()
        assert await _store.user_by_id(auth.read_row, auth.models, "nobody") is None
    finally:
        await auth.close()
