"""One prefix test in front of the library's routes: mounting them costs the app's routes nothing.

A router matches its routes in order, so every request for a route the app declares after
``app.include_router(better_auth_router())`` is first tried against each of ours (about 60 µs
on FastAPI 0.165, a quarter of a bare route's requests/s). FastAPI since 0.137 keeps an included
router as one route that asks the router's public :meth:`APIRouter.matches`;
:class:`PrefixRouter` answers "no" there after one substring test of the request path, before
any of our routes is tried. Everything else (OpenAPI, ``url_for``, ``dependency_overrides``, the
lifespan, 404/405 under the prefix) is FastAPI's own, untouched.

The test is "the path contains the prefix's fixed part" (the text before its first ``{``), not
"starts with": the path FastAPI matches may sit behind a ``root_path`` or an
``include_router(..., prefix=...)`` of the app, and both only add text in front. A prefix with no
fixed part (``""``, or ``"/{tenant}"``) cannot rule anything out: then every path goes on to our
routes, as with a plain ``APIRouter``.

FastAPI before 0.137 copies an included router's routes one by one into the app's route list,
which is also the list its OpenAPI generator reads: no public hook can put one test in front of
them there, so :meth:`PrefixRouter.matches` is never called and those versions route as before.
"""

from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


def fixed_part(prefix: str) -> str | None:
    """The text every path under ``prefix`` contains; ``None`` when it rules nothing out."""
    fixed = prefix.split("{", 1)[0]
    return fixed if fixed.strip("/") else None


class PrefixRouter(APIRouter):
    """An ``APIRouter`` whose routes are tried only for paths that contain its prefix."""

    def __init__(self, *, prefix: str = "", **kwargs: Any) -> None:
        super().__init__(prefix=prefix, **kwargs)
        self.fixed_prefix = fixed_part(prefix)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        fixed = self.fixed_prefix
        if fixed is not None and fixed not in scope["path"]:
            return Match.NONE, {}
        return super().matches(scope)
