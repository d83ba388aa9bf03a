"""Fixtures shared by the integration tests: a served issuer and the admin cast on PostgreSQL."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fastapi_better_auth.testing import TokenIssuer
from tests.admin_fixtures import admin_app, pg_database, reset
from tests.helpers import settings_for
from tests.pg import PostgresServer


@pytest.fixture(scope="module")
def issuer() -> Iterator[TokenIssuer]:
    """A token issuer whose JWKS is served on loopback for the whole module."""
    issuer = TokenIssuer()
    with issuer.serve():
        yield issuer


@pytest.fixture(scope="module")
def origin(issuer: TokenIssuer) -> str:
    """The served issuer's origin: Better-Auth's URL for the app under test."""
    assert issuer.issuer is not None
    return issuer.issuer


@pytest.fixture(scope="module")
def cast_url(postgres: PostgresServer) -> Iterator[str]:
    """A migrated PostgreSQL database holding the admin cast (see tests/admin_fixtures.py)."""
    with pg_database(postgres) as url:
        reset(url, migrate=True)
        yield url


@pytest.fixture(scope="module")
def client(cast_url: str, origin: str) -> Iterator[TestClient]:
    """The admin app on the cast's database, started once per module."""
    with TestClient(admin_app(settings_for(origin, cast_url))) as client:
        yield client


@pytest.fixture
def url(cast_url: str) -> str:
    """The cast's database, reset to its initial rows for this test."""
    reset(cast_url)
    return cast_url
