"""Request logging names method, path, status and duration, never headers or query strings."""

import json
import logging

import pytest
from fastapi import FastAPI, Request, WebSocket
from fastapi.testclient import TestClient

from fastapi_better_auth import BetterAuthSettings, RequestLoggingMiddleware, add_cors
from fastapi_better_auth._logging import JSONFormatter
from fastapi_better_auth._middleware import (
    API_KEY_STATE_KEY,
    ApiKeyIdentity,
    cors_options,
)


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    @app.get("/keyed")
    async def keyed(request: Request) -> None:  # what the API-key guards leave
        request.scope["state"][API_KEY_STATE_KEY] = ApiKeyIdentity("u1", "k1")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    app.add_middleware(RequestLoggingMiddleware)
    return app


def test_request_log_line_has_no_credentials(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="fastapi_better_auth.access"),
        TestClient(_app()) as client,
    ):
        response = client.get(
            "/items/42?token=query-secret",
            headers={
                "Authorization": "Bearer header-secret",
                "Cookie": "better-auth.session_token=cookie-secret",
            },
        )
    assert response.status_code == 200
    record = next(r for r in caplog.records if r.name == "fastapi_better_auth.access")
    line = json.loads(JSONFormatter().format(record))
    assert line["method"] == "GET"
    assert line["path"] == "/items/42"
    assert line["status"] == 200
    assert line["request_id"] == response.headers["x-request-id"]
    assert isinstance(line["duration_ms"], float)
    for secret in ("query-secret", "header-secret", "cookie-secret"):
        assert secret not in caplog.text


def test_request_id_is_kept_when_well_formed_and_replaced_otherwise() -> None:
    with TestClient(_app()) as client:
        assert (
            client.get("/items/1", headers={"X-Request-ID": "abc-123"}).headers[
                "x-request-id"
            ]
            == "abc-123"
        )
        replaced = client.get(
            "/items/1", headers={"X-Request-ID": "bad id\twith spaces"}
        ).headers["x-request-id"]
    assert replaced != "bad id\twith spaces"
    assert len(replaced) == 32


def test_unhandled_error_is_logged_as_500(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="fastapi_better_auth.access"),
        TestClient(_app(), raise_server_exceptions=False) as client,
    ):
        assert client.get("/boom").status_code == 500
    record = next(r for r in caplog.records if r.name == "fastapi_better_auth.access")
    assert record.status == 500  # type: ignore[attr-defined]


def test_websocket_passes_through() -> None:
    with TestClient(_app()) as client, client.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "hi"


def test_cors_allows_trusted_origins_with_credentials() -> None:
    settings = BetterAuthSettings.load(
        url="http://127.0.0.1:3005",
        database_url="sqlite://",
        trusted_origins="http://app.test",
    )
    assert cors_options(settings)["allow_origins"] == [
        "http://127.0.0.1:3005",
        "http://app.test",
    ]
    app = _app()
    add_cors(app, settings)
    with TestClient(app) as client:
        allowed = client.options(
            "/items/1",
            headers={
                "Origin": "http://app.test",
                "Access-Control-Request-Method": "GET",
            },
        )
        denied = client.options(
            "/items/1",
            headers={
                "Origin": "http://evil.test",
                "Access-Control-Request-Method": "GET",
            },
        )
    assert allowed.headers["access-control-allow-origin"] == "http://app.test"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in denied.headers


def test_api_key_request_line_names_owner_and_key_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="fastapi_better_auth.access"),
        TestClient(_app()) as client,
    ):
        assert client.get("/keyed").status_code == 200
        assert client.get("/items/1").status_code == 200
    keyed, anonymous = (
        json.loads(JSONFormatter().format(r))
        for r in caplog.records
        if r.name == "fastapi_better_auth.access"
    )
    assert {k: keyed[k] for k in ("user_id", "credential", "api_key_id")} == {
        "user_id": "u1",
        "credential": "api_key",
        "api_key_id": "k1",
    }
    assert keyed["impersonated_by"] is None
    assert "user_id" not in anonymous
