"""The organization plugin's start check: its tables and session columns, before any request.

Without it, an app whose Better-Auth was migrated without ``organization()`` (or under another
naming) started and answered every organization request 500 (PostgreSQL: no such table) or 503
(SQLite reports it as an ``OperationalError``). Run by the router's lifespan after
``BetterAuth.start()``; it follows the core check (:mod:`fastapi_better_auth._schema.start`): one
:class:`ConfigurationError` naming what is missing and the settings to change; a database that
is down or not migrated at all is only logged, ``BETTER_AUTH_SCHEMA_CHECK=false`` skips it.
The tables are read by the core check's reader
(:func:`~fastapi_better_auth._schema.catalog.read_catalog`): what the queries will see (views
too), SQLite's names without case. Framework-free.
"""

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection

from .._errors import ConfigurationError
from .._runtime import BetterAuth
from .._schema.catalog import SUPPORTED_DIALECTS, Catalog, read_catalog
from .._secondary import redis_only
from ._config import STATE_ATTRIBUTE, HasState, Organizations
from ._models import get_organization_models

logger = logging.getLogger(__name__)


def _expected(auth: BetterAuth, config: Organizations) -> dict[str, tuple[str, ...]]:
    """Physical table → the physical columns the guards and routes read, under the naming."""
    models = get_organization_models(auth.settings.naming)
    mapped: list[Any] = [models.organization, models.member]
    if config.teams:
        mapped += [models.team, models.team_member]
    if config.dynamic_access_control:
        mapped.append(models.organization_role)
    expected = {
        model.__table__.name: tuple(c.name for c in model.__table__.columns)
        for model in mapped
    }
    if redis_only(
        auth.session_store
    ):  # the active organization is in Redis's JSON then
        return expected
    activity = models.session_activity.__table__  # type: ignore[attr-defined]
    columns = [activity.c.active_organization_id.name]
    if config.teams:
        columns.append(activity.c.active_team_id.name)
    expected[activity.name] = tuple(columns)
    return expected


async def _found(connection: AsyncConnection, tables: list[str]) -> Catalog | None:
    """The catalog of ``tables`` (the core check's reader); None when no table exists at all."""
    catalog = await read_catalog(connection, tables)
    if not catalog.tables and not catalog.complete:
        catalog = await read_catalog(connection)  # none of them: is anything migrated?
    return catalog if catalog.tables else None


async def check_organization_schema(auth: BetterAuth, config: Organizations) -> None:
    """Fail start when the plugin's tables or session columns are missing.

    Raises:
        ConfigurationError: a table or column the configuration needs is missing; the message
            names each, and what to migrate or set.
    """
    if (
        not auth.settings.schema_check
        or auth.engine.dialect.name not in SUPPORTED_DIALECTS
    ):
        return
    expected = _expected(auth, config)
    try:
        async with auth.engine.connect() as connection:
            found = await _found(connection, list(expected))
    except (DBAPIError, PoolTimeoutError, OSError) as exc:
        # down, or refusing us: not a schema question (the core check has said so)
        logger.warning(
            "better_auth.organization_schema_check_skipped",
            extra={"reason": "database_unavailable", "error": type(exc).__name__},
        )
        return
    if found is None:  # not migrated at all: the core check logged it
        return
    problems = []
    for table, columns in expected.items():
        present = found.table(table)
        if present is None:
            problems.append(f'no table "{table}"')
            continue
        missing = [c for c in columns if found.column_type(present, c) is None]
        problems += [f'the "{table}" table has no column "{c}"' for c in missing]
    if problems:
        raise ConfigurationError(_message(problems, config))


def _message(problems: list[str], config: Organizations) -> str:
    """Core-check style: what was found missing, then the migration or settings that fix it."""
    options = {
        "teams": ("teams: { enabled: true }", config.teams),
        "dynamic_access_control": (
            "dynamicAccessControl: { enabled: true }",
            config.dynamic_access_control,
        ),
    }
    on = [name for name, (_, enabled) in options.items() if enabled]
    plugin = ", ".join(options[name][0] for name in on)
    text = (
        "the organization plugin's tables do not match the settings: "
        + "; ".join(problems)
        + f": migrate Better-Auth with organization({{ {plugin} }}) on"
        if on
        else "the organization plugin's tables do not match the settings: "
        + "; ".join(problems)
        + ": migrate Better-Auth with organization() on"
    )
    text += (
        " (npx @better-auth/cli migrate), or set BETTER_AUTH_USE_PLURAL and "
        "BETTER_AUTH_COLUMN_CASE as Better-Auth names its tables"
    )
    if on:
        text += ", or " + " and ".join(f"Organizations({n}=False)" for n in on)
        text += " if Better-Auth runs without"
    return text


async def start_organizations(
    app: HasState, auth: BetterAuth, given: Organizations | None
) -> None:
    """At start: install ``given`` on ``app`` and check the tables of the configuration in use.

    Raises:
        ConfigurationError: another configuration was installed with
            :meth:`Organizations.install`, or the plugin's tables are missing.
    """
    installed = getattr(app.state, STATE_ATTRIBUTE, None)
    if given is not None:
        if isinstance(installed, Organizations) and installed is not given:
            raise ConfigurationError(
                "better_auth_router(organizations=...) and Organizations.install(app) give "
                "two configurations: give one"
            )
        given.install(app)
        installed = given
    if isinstance(installed, Organizations):
        await check_organization_schema(auth, installed)
