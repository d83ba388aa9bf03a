"""Pre-builds, at startup, the per-route work FastAPI otherwise leaves to the first request.

FastAPI (0.16x) builds the routes of an included router lazily: the first request matched
against an ``include_router``-ed router builds every route's context there (dependant,
response field, handler: dozens of pydantic ``TypeAdapter`` objects), and the first call of each
endpoint reads its source location (``inspect.getsourcelines``) for error messages. Together
that is tens of milliseconds on the first request after start.

:func:`warm_up` does that work for every route of the app at startup, without dispatching a
request and with public calls only: ``fastapi.routing.iter_route_contexts`` (what FastAPI's
OpenAPI generator walks) builds and caches the included routes' contexts, and
``inspect.getsourcelines`` on each endpoint loads its source file into ``linecache``, so FastAPI's
own lookup on the first call reads no file (what is left is a few tens of µs of tokenising).
A FastAPI without ``iter_route_contexts`` (older ones build routes eagerly) gets its routes walked
as listed; nothing here ever fails startup.
"""

import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import routing
from fastapi.routing import APIRoute, APIWebSocketRoute

logger = logging.getLogger(__name__)


def warm_up(app: object) -> int:
    """Build the lazy per-route state of ``app``'s routes now; the number of routes visited.

    Never raises: a FastAPI without the hooks, or a route that fails to build (it would fail
    the same way on its first request), leaves the rest to the first request.
    """
    routes = getattr(app, "routes", None)
    if not isinstance(routes, list):
        return 0
    iter_route_contexts = getattr(routing, "iter_route_contexts", None)
    if not callable(iter_route_contexts):
        iter_route_contexts = iter  # routes built eagerly, included ones listed flat
    start = time.perf_counter()
    try:
        visited = _visit(routes, iter_route_contexts)
    except Exception:
        logger.warning(
            "better_auth.warmup_failed: routes are built on their first request instead",
            exc_info=True,
        )
        return 0
    elapsed_ms = round((time.perf_counter() - start) * 1e3, 1)
    logger.debug(
        "better_auth.warmup", extra={"routes": visited, "elapsed_ms": elapsed_ms}
    )
    return visited


def _visit(
    routes: list[Any],
    iter_route_contexts: Callable[[list[Any]], Iterable[Any]],
) -> int:
    visited = 0
    pending, seen = [routes], {id(routes)}
    while pending:
        for context in iter_route_contexts(pending.pop()):
            visited += 1
            route = getattr(context, "original_route", context)
            if isinstance(route, (APIRoute, APIWebSocketRoute)):
                _read_source(context.dependant.call)
            # a mounted FastAPI (or Starlette) app: its routes are the app's routes too
            sub_routes = getattr(context, "routes", None)
            if (
                sub_routes
                and isinstance(sub_routes, list)
                and id(sub_routes) not in seen
            ):
                seen.add(id(sub_routes))
                pending.append(sub_routes)
    return visited


def _read_source(endpoint: object) -> None:
    """Load ``endpoint``'s source file into ``linecache`` as FastAPI's first call would."""
    # no source (a callable object, a built-in): FastAPI's lookup skips it too
    with contextlib.suppress(OSError, TypeError):
        inspect.getsourcelines(endpoint)  # type: ignore[arg-type]
