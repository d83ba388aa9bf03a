"""/health answers while the process lives; /health/db runs a real query and says 503 when it cannot."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_better_auth import BetterAuthSettings, better_auth_router
from tests.pg import PostgresServer, running_postgres

UNAVAILABLE = {
    "detail": {
        "code": "DATABASE_UNAVAILABLE",
        "message": "The database is unavailable; retry later.",
    }
}


def _app(database_url: str) -> FastAPI:
    app = FastAPI()
    app.include_router(
        better_auth_router(
            BetterAuthSettings.load(
                url="http://127.0.0.1:3005", database_url=database_url
            )
        )
    )
    return app


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A cluster of this test's own, so stopping it disturbs no other test."""
    with running_postgres() as server:
        yield server


def test_health_live_needs_no_database() -> None:
    with TestClient(_app("postgresql+asyncpg://nobody@127.0.0.1:1/none")) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def test_health_db_ok_on_sqlite_and_postgres(db_url: str) -> None:
    with TestClient(_app(db_url)) as client:
        response = client.get("/api/v1/health/db")
    assert response.status_code == 200, response.text


def test_health_db_stopped_database_returns_503_then_recovers(
    private_postgres: PostgresServer,
) -> None:
    with TestClient(_app(private_postgres.url())) as client:
        assert client.get("/api/v1/health/db").status_code == 200
        private_postgres.stop()
        down = client.get("/api/v1/health/db")
        assert down.status_code == 503, down.text
        assert down.json() == UNAVAILABLE
        assert down.headers["retry-after"].isdigit()
        private_postgres.start()
        private_postgres.wait_ready()
        assert client.get("/api/v1/health/db").status_code == 200


def test_health_db_unreachable_at_startup_does_not_crash_the_app() -> None:
    with TestClient(_app("postgresql+asyncpg://nobody@127.0.0.1:9/none")) as client:
        response = client.get("/api/v1/health/db")
    assert response.status_code == 503, response.text
    assert response.json() == UNAVAILABLE
