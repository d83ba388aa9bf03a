"""The example app starts on the embedded SQLite default and serves the library's routes."""

from pathlib import Path

import pytest
from examples.app import create_app
from fastapi.testclient import TestClient

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth.__main__ import main as cli


def test_example_app_on_sqlite_serves_health_and_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'example.db'}"
    assert cli(["migrate", "upgrade", "--database-url", url]) == 0
    monkeypatch.setenv("BETTER_AUTH_URL", "http://127.0.0.1:3000")
    monkeypatch.setenv("BETTER_AUTH_DATABASE_URL", url)
    with TestClient(create_app()) as client:
        assert client.get("/api").json()["docs"] == "/docs"
        assert client.get("/api/v1/health/db").json() == {"status": "ok"}
        assert "x-request-id" in client.get("/api/v1/health").headers
        assert client.get("/openapi.json").status_code == 200


def test_example_app_with_explicit_settings() -> None:
    settings = BetterAuthSettings.load(
        url="http://127.0.0.1:3000", database_url="sqlite://"
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health").status_code == 200


def test_configured_example_serves_with_cors_and_request_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from examples.configured import create_app as create_configured

    monkeypatch.chdir(tmp_path)  # its SQLite file lands here
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with TestClient(create_configured()) as client:
            response = client.get(
                "/api/v1/health", headers={"Origin": "http://127.0.0.1:5173"}
            )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
    assert response.headers["x-request-id"]
