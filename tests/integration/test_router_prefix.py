"""Mounting the library's router costs the app's other routes one prefix test, and changes nothing else.

The reference in each comparison is the same router built as before, on a plain ``APIRouter``
(``_factory.PrefixRouter`` replaced): OpenAPI, ``url_for``, 404 and 405 must not tell them apart.
"""

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.testclient import TestClient
from starlette.routing import Match

from fastapi_better_auth import (
    AuthenticatedUser,
    BetterAuthSettings,
    ConfigurationError,
    better_auth_router,
    current_user,
)
from fastapi_better_auth._router import _factory
from fastapi_better_auth._router._prefix import PrefixRouter, fixed_part

NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # /health needs none

nests_included_routers = pytest.mark.skipif(
    not hasattr(APIRouter, "matches"),
    reason="this FastAPI copies included routes into the app one by one",
)


def _router(**kwargs: Any) -> APIRouter:
    settings = BetterAuthSettings.load(
        url="http://127.0.0.1:3005", database_url=NO_DATABASE
    )
    return better_auth_router(settings, **kwargs)


def _orders() -> dict[str, str]:
    return {"orders": "none"}


def _ping() -> dict[str, str]:
    return {"pong": "yes"}


def _app(**kwargs: Any) -> FastAPI:
    """An app with its own routes under our prefix before and after ours, and ``/ping`` after."""
    app = FastAPI()
    app.add_api_route("/api/v1/orders", _orders)
    app.include_router(_router(**kwargs))
    app.add_api_route("/api/v1/auth/extra", _orders)
    app.add_api_route("/ping", _ping)
    return app


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FastAPI]:
    """Builds ``_app`` as before this change: the library's routes on a plain ``APIRouter``."""

    def build(**kwargs: Any) -> FastAPI:
        with monkeypatch.context() as patch:
            patch.setattr(_factory, "PrefixRouter", APIRouter)
            return _app(**kwargs)

    return build


@pytest.fixture
def tried(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the library's routes whose ``matches`` ran."""
    names: list[str] = []
    original = fastapi_routing.APIRoute.matches

    def counting(self: fastapi_routing.APIRoute, scope: Any) -> tuple[Match, Any]:
        if self.name.startswith("better_auth:"):
            names.append(self.name)
        return original(self, scope)

    monkeypatch.setattr(fastapi_routing.APIRoute, "matches", counting)
    return names


@nests_included_routers
def test_a_foreign_path_tries_none_of_the_library_routes(tried: list[str]) -> None:
    with TestClient(_app()) as client:
        tried.clear()
        assert client.get("/ping").json() == {"pong": "yes"}
        assert tried == []
        assert client.get("/api/v1/health").status_code == 200
        assert tried  # a path under the prefix goes on to our routes


@nests_included_routers
def test_two_routers_under_two_prefixes_are_both_skipped(tried: list[str]) -> None:
    app = FastAPI()
    app.include_router(_router(prefix="/a"))
    app.include_router(_router(prefix="/b", admin=False))
    app.add_api_route("/ping", _ping)
    with TestClient(app) as client:
        tried.clear()
        assert client.get("/ping").status_code == 200
        assert tried == []
        assert client.get("/a/health").status_code == 200
        assert client.get("/b/health").status_code == 200
        assert client.get("/b/users").status_code == 404  # admin=False there
        assert client.get("/a/users").status_code == 401


def test_openapi_is_the_document_of_a_plain_router(
    reference: Callable[..., FastAPI],
) -> None:
    for kwargs in ({}, {"admin": False}, {"prefix": "/auth-api"}):
        assert _app(**kwargs).openapi() == reference(**kwargs).openapi()


def test_status_and_headers_under_the_prefix_are_unchanged(
    reference: Callable[..., FastAPI],
) -> None:
    requests = [
        ("POST", "/api/v1/health"),  # wrong method: 405 with Allow
        ("DELETE", "/api/v1/auth/me"),
        ("GET", "/api/v1/nowhere"),  # 404
        ("GET", "/api/v1/health/"),  # redirect_slashes
        ("GET", "/api/v1/orders"),  # the app's, declared before ours
        ("GET", "/api/v1/auth/extra"),  # the app's, declared after ours
        ("GET", "/api/v1/auth/me"),  # 401
        ("GET", "/ping"),
    ]
    with TestClient(_app()) as ours, TestClient(reference()) as plain:
        for method, path in requests:
            got = ours.request(method, path, follow_redirects=False)
            want = plain.request(method, path, follow_redirects=False)
            assert (got.status_code, got.text) == (want.status_code, want.text), path
            assert got.headers.get("allow") == want.headers.get("allow"), path
            assert got.headers.get("location") == want.headers.get("location"), path
    with TestClient(_app()) as client:
        response = client.post("/api/v1/health")
        assert (response.status_code, response.headers["allow"]) == (405, "GET")
        assert client.get("/api/v1/orders").json() == {"orders": "none"}
        assert client.get("/api/v1/auth/extra").json() == {"orders": "none"}


def test_url_for_names_the_library_routes() -> None:
    app = _app()

    @app.get("/links")
    def links(request: Request) -> dict[str, str]:
        return {
            "live": str(request.url_for("better_auth:health.live")),
            "user": str(request.url_for("better_auth:users.get", user_id="u1")),
        }

    assert app.url_path_for("better_auth:health.database") == "/api/v1/health/db"
    with TestClient(app) as client:
        assert client.get("/links").json() == {
            "live": "http://testserver/api/v1/health",
            "user": "http://testserver/api/v1/users/u1",
        }


def test_dependency_overrides_reach_the_library_routes() -> None:
    app = _app()
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    user = AuthenticatedUser(
        id="u1", email="u1@example.com", name="U", email_verified=True,
        created_at=now, updated_at=now,
    )  # fmt: skip
    app.dependency_overrides[current_user] = lambda: user
    with TestClient(
        app
    ) as client:  # the router's lifespan runs: /auth/me needs its state
        response = client.get("/api/v1/auth/me")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "u1"


@pytest.mark.parametrize(
    ("prefix", "path"),
    [
        ("", "/health"),
        ("/", "/health"),
        ("/t/{tenant}", "/t/acme/health"),
        ("/x", "/x/health"),
    ],
)
def test_any_prefix_still_routes(prefix: str, path: str) -> None:
    app = FastAPI()
    app.include_router(_router(prefix=prefix))
    app.add_api_route("/ping", _ping)
    with TestClient(app) as client:
        assert client.get(path).json() == {"status": "ok"}
        assert client.get("/ping").status_code == 200


@pytest.mark.parametrize("prefix", ["api", "/api/", "//"])
def test_a_malformed_prefix_is_a_configuration_error(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match=r"better_auth_router\(prefix="):
        _router(prefix=prefix)


def test_an_outer_prefix_and_a_root_path_still_route() -> None:
    app = FastAPI()
    outer = APIRouter(prefix="/outer")
    outer.include_router(_router())
    app.include_router(outer, prefix="/v2")
    app.add_api_route("/ping", _ping)
    with TestClient(app) as client:
        assert client.get("/v2/outer/api/v1/health").status_code == 200
        assert client.get("/api/v1/health").status_code == 404
    with TestClient(_app(), root_path="/proxy") as client:
        assert client.get("/proxy/api/v1/health").status_code == 200
        assert client.get("/proxy/ping").status_code == 200


def test_fixed_part_of_a_prefix() -> None:
    assert fixed_part("/api/v1") == "/api/v1"
    assert fixed_part("/t/{tenant}/api") == "/t/"
    assert fixed_part("") is None
    assert fixed_part("/{tenant}") is None
    assert PrefixRouter(prefix="").fixed_prefix is None
