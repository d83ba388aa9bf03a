"""Run the shipped Alembic migrations on Better-Auth's database, under a given naming.

The version table has its own name, so an app's own Alembic history in the same database
is left alone; ``downgrade base`` drops it too, leaving no table behind.
"""

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from .._naming import SchemaNaming

VERSION_TABLE = "fastapi_better_auth_version"
_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(
    naming: SchemaNaming, *, connection: Connection | None = None, output: Any = None
) -> Config:
    """An Alembic ``Config`` for the shipped scripts; no ``alembic.ini`` is needed."""
    config = Config(stdout=output or io.StringIO())
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["naming"] = naming
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _run(
    engine_connection: Connection,
    action: Callable[[Config], None],
    naming: SchemaNaming,
) -> None:
    action(alembic_config(naming, connection=engine_connection))


async def upgrade(
    engine: AsyncEngine, naming: SchemaNaming | None = None, revision: str = "head"
) -> None:
    """Create (or bring up to ``revision``) Better-Auth's tables."""
    async with engine.begin() as connection:
        await connection.run_sync(
            _run, lambda cfg: command.upgrade(cfg, revision), naming or SchemaNaming()
        )


async def downgrade(
    engine: AsyncEngine, naming: SchemaNaming | None = None, revision: str = "base"
) -> None:
    """Go back to ``revision``; ``base`` drops every table, the version table included."""

    def action(config: Config) -> None:
        command.downgrade(config, revision)
        connection: Connection = config.attributes["connection"]
        if revision == "base" and inspect(connection).has_table(VERSION_TABLE):
            connection.exec_driver_sql(f"DROP TABLE {VERSION_TABLE}")

    async with engine.begin() as connection:
        await connection.run_sync(_run, action, naming or SchemaNaming())


async def current(engine: AsyncEngine) -> str | None:
    """The applied revision, or None when the migrations never ran."""

    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        query = f"SELECT version_num FROM {VERSION_TABLE}"  # noqa: S608 (a constant, no input)
        row = connection.exec_driver_sql(query).first()
        return None if row is None else str(row[0])

    async with engine.connect() as connection:
        return await connection.run_sync(read)


def offline_sql(
    naming: SchemaNaming | None = None,
    *,
    dialect: str = "postgresql",
    revision: str = "head",
) -> str:
    """The DDL ``upgrade`` would run, as text, without a database."""
    output = io.StringIO()
    config = alembic_config(naming or SchemaNaming(), output=output)
    config.attributes["dialect_name"] = dialect
    command.upgrade(config, revision, sql=True)
    return output.getvalue()
