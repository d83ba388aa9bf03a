"""The FastAPI boundary: reaching the runtime from a request and speaking HTTP errors.

Everything here is a module-level function, so ``Depends(x)`` and
``app.dependency_overrides[x]`` key on one stable object.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ._errors import BetterAuthError, ConfigurationError
from ._runtime import BetterAuth
from ._schemas import ErrorResponse

#: ``request.state`` key under which the router's lifespan stores the runtime.
STATE_KEY = "better_auth"


def to_http_exception(error: BetterAuthError) -> HTTPException:
    """The only place that knows what a library error looks like over HTTP."""
    detail = ErrorResponse.from_error(error).detail.model_dump()
    return HTTPException(
        error.status_code, detail=detail, headers=error.http_headers() or None
    )


def get_better_auth(request: Request) -> BetterAuth:
    """The runtime the router's lifespan built for this app.

    Raises:
        ConfigurationError: the lifespan did not run (the router is not included, or the
            app runs without its lifespan, as a ``TestClient`` used outside ``with``).
    """
    auth = getattr(request.state, STATE_KEY, None)
    if not isinstance(auth, BetterAuth):
        raise ConfigurationError(
            "BetterAuth is not set up: include better_auth_router() in the app and run its lifespan"
        )
    return auth


BetterAuthDep = Annotated[BetterAuth, Depends(get_better_auth)]


async def get_db(auth: BetterAuthDep) -> AsyncIterator[AsyncSession]:
    """A database session for one request, on Better-Auth's database.

    Raises:
        HTTPException: 503 ``DATABASE_UNAVAILABLE`` with ``Retry-After`` when it cannot be reached.
    """
    try:
        async with auth.session() as session:
            yield session
    except BetterAuthError as error:
        raise to_http_exception(error) from error


DbSession = Annotated[AsyncSession, Depends(get_db)]
