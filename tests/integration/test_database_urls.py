"""``DATABASE_URL`` as hosting providers and Prisma write it reaches PostgreSQL, not a per-request 500."""

from typing import Any

import pytest
from sqlalchemy import bindparam, func, select

from fastapi_better_auth import BetterAuth, BetterAuthSettings, _store
from fastapi_better_auth._schema import migrate as _migrate
from tests.pg import PostgresServer

pytestmark = pytest.mark.anyio


def _settings(database_url: str, **options: Any) -> BetterAuthSettings:
    return BetterAuthSettings.load(
        url="http://127.0.0.1:3005", database_url=database_url, **options
    )


@pytest.mark.parametrize("direct_reads", [True, False], ids=["direct", "sqlalchemy"])
@pytest.mark.parametrize(
    ("query", "setting", "value"),
    [
        ("sslmode=prefer", "application_name", ""),
        (
            "sslmode=disable&application_name=fba-test&connect_timeout=5",
            "application_name",
            "fba-test",
        ),
        ("schema=public", "search_path", "public"),
        ("options=-c%20statement_timeout%3D7s", "statement_timeout", "7s"),
    ],
)
async def test_runtime_reads_through_a_libpq_style_url(
    postgres: PostgresServer,
    pg_database: str,
    query: str,
    setting: str,
    value: str,
    direct_reads: bool,
) -> None:
    url = f"postgres://postgres@127.0.0.1:{postgres.port}/{pg_database}?{query}"
    auth = BetterAuth(_settings(url, database_direct_reads=direct_reads))
    try:
        await _migrate.upgrade(auth.engine)
        await auth.start()
        await auth.check_database()
        assert await _store.user_by_id(auth.read_row, auth.models, "nobody") is None
        current = select(func.current_setting(bindparam("name")).label("value"))
        assert (await auth.read_row(current, {"name": setting})).value == value
    finally:
        await auth.close()


def test_cli_migrates_through_a_libpq_style_url(
    postgres: PostgresServer, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastapi_better_auth.__main__ import main

    url = f"postgresql://postgres@127.0.0.1:{postgres.port}/{pg_database}?sslmode=disable&schema=public"
    assert main(["migrate", "upgrade", "--database-url", url]) == 0
    assert main(["migrate", "current", "--database-url", url]) == 0
    assert main(["migrate", "current", "--database-url", url + "&sslmod=x"]) == 2
    assert "unknown query parameter sslmod" in capsys.readouterr().err


def test_settings_load_refuses_an_unknown_parameter_before_any_connection() -> None:
    from fastapi_better_auth import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        _settings("postgres://u:hunter2@127.0.0.1:1/x?channel_binding=require")
    assert "channel_binding=require" in info.value.message
    assert "hunter2" not in info.value.message
