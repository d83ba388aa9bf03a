"""The lifespan pre-builds what FastAPI builds lazily, so the first request after start builds nothing.

FastAPI 0.16x builds an included router's route contexts (``_IncludedRouter`` →
``_EffectiveRouteContext``) on the first request matched against it, and reads each endpoint's
source file (``inspect.getsourcelines``, cached in its ``_endpoint_context_cache``) on the
endpoint's first call. These tests look at those private structures on purpose: they are what the
warm-up is for (the warm-up itself uses public calls only).
"""

import inspect
import linecache
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi import routing as fastapi_routing
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from fastapi_better_auth import BetterAuth, BetterAuthSettings, better_auth_router
from fastapi_better_auth._router._warmup import warm_up

needs_lazy_fastapi = pytest.mark.skipif(
    not hasattr(fastapi_routing, "_IncludedRouter"),
    reason="this FastAPI builds included routes eagerly",
)
# FastAPI 0.137 to before 0.165 builds included routes lazily with no public way to build them
# ahead (``iter_route_contexts``): there the first request builds them, as without a warm-up.
needs_public_hook = pytest.mark.skipif(
    not hasattr(fastapi_routing, "iter_route_contexts"),
    reason="this FastAPI has no public iter_route_contexts to build included routes ahead",
)


@pytest.fixture(autouse=True)
def empty_endpoint_cache(monkeypatch: pytest.MonkeyPatch) -> dict[int, Any]:
    """FastAPI's endpoint-location cache and ``linecache``, emptied: endpoints are shared."""
    cache: dict[int, Any] = {}
    monkeypatch.setattr(
        fastapi_routing, "_endpoint_context_cache", cache, raising=False
    )
    linecache.clearcache()
    return cache


class _Hello:
    """An endpoint without source of its own: ``inspect.getsourcelines`` refuses it."""

    def __call__(self) -> dict[str, str]:
        return {"hello": "object"}


def _settings(database_url: str) -> BetterAuthSettings:
    return BetterAuthSettings.load(
        url="http://127.0.0.1:3005", database_url=database_url
    )


def _hello() -> dict[str, str]:
    return {"hello": "world"}


def _app(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.add_api_route("/hello", _hello)
    return app


def _unbuilt(routes: Sequence[Any]) -> list[str]:
    """Prefixes of included routers (paths of routes) FastAPI has not built yet."""
    unbuilt: list[str] = []
    for route in routes:
        if isinstance(route, fastapi_routing._IncludedRouter):
            if route._effective_candidates_version is None:
                prefix = route.include_context.prefix + route.original_router.prefix
                unbuilt.append(prefix or "/")
            else:
                unbuilt += _unbuilt(route._effective_candidates)
        elif (
            isinstance(route, fastapi_routing._EffectiveRouteContext)
            and isinstance(route.original_route, fastapi_routing.APIRoute)
            and route.app is None
        ):
            unbuilt.append(route.path)  # a context without its request handler
    return unbuilt


def _endpoints(routes: list[BaseRoute]) -> list[Callable[..., Any]]:
    return [
        context.dependant.call
        for context in fastapi_routing.iter_route_contexts(routes)
        if isinstance(context.original_route, fastapi_routing.APIRoute)
    ]


@pytest.fixture(params=["settings", "runtime"])
def router(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[APIRouter]:
    """The library's router, starting its own runtime or given one."""
    if request.param == "settings":
        yield better_auth_router(_settings(sqlite_url))
        return
    auth = BetterAuth(_settings(sqlite_url))
    yield better_auth_router(auth=auth)


@needs_lazy_fastapi
@needs_public_hook
def test_lifespan_builds_every_route_context_and_reads_every_endpoint_source(
    router: APIRouter,
) -> None:
    app = _app(router)
    assert _unbuilt(app.routes) == ["/api/v1"]  # FastAPI's lazy state before the start
    with TestClient(app):
        assert _unbuilt(app.routes) == []
        endpoints = _endpoints(app.routes)
        assert _hello in endpoints
        assert len(endpoints) >= 10  # the library's routes and the app's own
        missing = [
            e.__name__
            for e in endpoints
            if inspect.getsourcefile(e) not in linecache.cache
        ]
        assert missing == []


@needs_lazy_fastapi
@needs_public_hook
def test_first_request_after_start_builds_nothing(
    router: APIRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(router)
    with TestClient(app) as client:
        built: list[str] = []
        from_api_route = fastapi_routing._EffectiveRouteContext.from_api_route
        updatecache = linecache.updatecache

        def counting_from_api_route(**kwargs: Any) -> Any:
            built.append(f"context {kwargs['original_route'].path}")
            return from_api_route(**kwargs)

        def counting_updatecache(filename: str, *args: Any) -> Any:
            built.append(f"read {filename}")
            return updatecache(filename, *args)

        monkeypatch.setattr(
            fastapi_routing._EffectiveRouteContext,
            "from_api_route",
            counting_from_api_route,
        )
        monkeypatch.setattr(linecache, "updatecache", counting_updatecache)
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/hello").json() == {"hello": "world"}
        assert client.get("/api/v1/auth/me").status_code == 401
    assert built == []


@needs_lazy_fastapi
@needs_public_hook
def test_mounted_apps_are_warmed_too(sqlite_url: str) -> None:
    sub = FastAPI()
    inner = APIRouter()
    inner.add_api_route("/hello", _hello)
    sub.include_router(inner, prefix="/inner")
    app = _app(better_auth_router(_settings(sqlite_url)))
    app.mount("/sub", sub)
    with TestClient(app) as client:
        assert _unbuilt(sub.routes) == []
        assert client.get("/sub/inner/hello").json() == {"hello": "world"}


@needs_lazy_fastapi
@needs_public_hook
def test_startup_without_iter_route_contexts_warms_what_it_can(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(fastapi_routing, "iter_route_contexts")
    app = _app(better_auth_router(_settings(sqlite_url)))
    with TestClient(app) as client:
        assert _unbuilt(app.routes) == ["/api/v1"]  # left to the first request
        assert (
            inspect.getsourcefile(_hello) in linecache.cache
        )  # the app's, listed flat
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/hello").status_code == 200


def test_an_endpoint_without_source_is_skipped(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(better_auth_router(_settings(sqlite_url)))
    app.add_api_route("/object", _Hello())
    with caplog.at_level(logging.WARNING), TestClient(app) as client:
        assert client.get("/object").json() == {"hello": "object"}
    assert "warmup_failed" not in caplog.text
    assert warm_up(app) >= 2  # completed: /hello and /object at least


def test_startup_succeeds_when_the_warm_up_fails(
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(routes: object) -> Iterator[object]:
        raise RuntimeError("a FastAPI that changed")

    monkeypatch.setattr(fastapi_routing, "iter_route_contexts", broken, raising=False)
    app = _app(better_auth_router(_settings(sqlite_url)))
    with caplog.at_level(logging.WARNING), TestClient(app) as client:
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/hello").status_code == 200
    assert "better_auth.warmup_failed" in caplog.text


def test_warm_up_of_something_without_routes_is_a_no_op() -> None:
    assert warm_up(object()) == 0
    assert warm_up(None) == 0
