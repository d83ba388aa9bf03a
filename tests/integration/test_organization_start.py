"""The organization plugin's tables are checked at start, on PostgreSQL and SQLite.

A core schema without ``organization()``'s tables used to start, then answer every organization
request 500 ``CONFIGURATION_ERROR`` (PostgreSQL) or 503 (SQLite): a misconfiguration must fail
start instead, with one message naming what is missing and what to do.
"""

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import ConfigurationError, better_auth_router
from fastapi_better_auth.organizations import (
    ORGANIZATION_ROLES,
    CurrentOrganization,
    OrganizationInfo,
    Organizations,
    create_access_control,
    get_organization_models,
)
from fastapi_better_auth.organizations.access import ORGANIZATION_STATEMENTS
from fastapi_better_auth.testing import TokenIssuer, make_session, make_user
from tests.helpers import run, seed, settings_for

ORG = get_organization_models()


def _app(url: str, issuer: TokenIssuer, config: Organizations, **kw: Any) -> FastAPI:
    assert issuer.issuer is not None
    app = FastAPI()
    settings = settings_for(issuer.issuer, url, **kw)
    app.include_router(better_auth_router(settings, organizations=config))

    @app.get("/org")
    async def org(organization: CurrentOrganization) -> OrganizationInfo:
        return organization

    return app


async def _create(url: str, *tables: Any, columns: tuple[str, ...] = ()) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in tables:
                await conn.run_sync(table.create)
            for column in columns:
                await conn.execute(
                    text(f'ALTER TABLE session ADD COLUMN "{column}" TEXT')
                )
    finally:
        await engine.dispose()


def _table(model: Any) -> Any:
    return model.__table__


def test_missing_plugin_tables_fail_start_naming_them(
    db_url: str, issuer: TokenIssuer
) -> None:
    seed(db_url, migrate=True)
    alice = make_user()
    seed(db_url, alice, make_session(alice))
    with (
        pytest.raises(ConfigurationError) as caught,
        TestClient(_app(db_url, issuer, Organizations())),
    ):
        pass  # pragma: no cover (start fails)
    message = caught.value.message
    assert message.startswith(
        "the organization plugin's tables do not match the settings: "
    ), message
    assert 'no table "organization"' in message
    assert 'no table "member"' in message
    assert 'the "session" table has no column "activeOrganizationId"' in message
    assert "organization()" in message
    assert "BETTER_AUTH_USE_PLURAL" in message


def test_teams_and_dynamic_roles_are_checked_when_configured(
    db_url: str, issuer: TokenIssuer
) -> None:
    seed(db_url, migrate=True)
    run(
        _create(
            db_url,
            _table(ORG.organization),
            _table(ORG.member),
            columns=("activeOrganizationId",),
        )
    )
    with TestClient(_app(db_url, issuer, Organizations())):
        pass  # teams off, no dynamic roles: what exists is enough
    ac = create_access_control(ORGANIZATION_STATEMENTS)
    config = Organizations(
        roles=ORGANIZATION_ROLES, teams=True, ac=ac, dynamic_access_control=True
    )
    with (
        pytest.raises(ConfigurationError) as caught,
        TestClient(_app(db_url, issuer, config)),
    ):
        pass  # pragma: no cover (start fails)
    message = caught.value.message
    assert 'no table "team"' in message
    assert 'no table "teamMember"' in message
    assert 'no table "organizationRole"' in message
    assert 'no column "activeTeamId"' in message
    assert "Organizations(teams=False)" in message
    assert "dynamicAccessControl" in message


def test_installed_configuration_is_checked_too(
    db_url: str, issuer: TokenIssuer
) -> None:
    """``Organizations.install(app)`` without the router's parameter: the same start check."""
    seed(db_url, migrate=True)
    assert issuer.issuer is not None
    app = FastAPI()
    app.include_router(better_auth_router(settings_for(issuer.issuer, db_url)))
    Organizations().install(app)
    with (
        pytest.raises(ConfigurationError, match="organization plugin"),
        TestClient(app),
    ):
        pass  # pragma: no cover (start fails)


def test_not_migrated_at_all_or_check_off_starts(
    db_url: str, issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    """No core table either (not migrated yet), or ``schema_check`` off: only logged/skipped."""
    caplog.set_level(logging.WARNING)
    with TestClient(_app(db_url, issuer, Organizations())):
        pass
    seed(db_url, migrate=True)
    with TestClient(_app(db_url, issuer, Organizations(), schema_check=False)):
        pass


def test_database_down_at_start_is_logged_not_fatal(
    pg_url: str, issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    down = pg_url.rsplit("@", 1)[0] + "@127.0.0.1:9/nothing"
    caplog.set_level(logging.WARNING)
    with TestClient(_app(down, issuer, Organizations())):
        pass
    assert any(
        r.getMessage() == "better_auth.organization_schema_check_skipped"
        for r in caplog.records
    )
