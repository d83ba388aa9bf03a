"""The guards: FastAPI dependencies that turn a request into an identity or a one-shape HTTP error.

Thin on purpose, the top of the request path: read the runtime from the request state; answer
a repeated ``Authorization`` header from the repeat cache (``_repeats``, ``push`` only); else read
the credential from plain request values (``_credentials``), have the authenticator check it
(``_identity``: verifier, then the rows), map a refusal to HTTP (``_http``).

Every dependency is one module-level object, so ``Depends(x)`` and
``app.dependency_overrides[x]`` key on it; ``require_role`` memoises, so the same roles give
the same dependency. The three credential guards (``current_session``, ``current_user``,
``optional_user``) are one dependency node each and share :func:`authenticate`;
``require_admin``, ``require_verified_email`` and ``require_role`` sit on ``current_user``, so
overriding it reaches them.
"""

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession

from ._credentials import authorization, present
from ._errors import (
    AuthenticationError,
    BetterAuthError,
    ConfigurationError,
    EmailNotVerifiedError,
    RoleRequiredError,
)
from ._http import BEARER_MODEL, BEARER_SCHEME_NAME, to_http_exception
from ._identity import log_failure
from ._policy import check_admin, effective_roles
from ._runtime import BetterAuth
from ._schemas import IDENTITY_STATE_KEY, AuthenticatedSession, AuthenticatedUser

logger = logging.getLogger(__name__)

#: ``request.state`` key under which the router's lifespan stores the runtime.
STATE_KEY = "better_auth"


def runtime_of(request: Request) -> BetterAuth:
    """The runtime the router's lifespan stored in the request state (what guards read).

    Raises:
        ConfigurationError: the lifespan did not run (the router is not included, or the
            app runs without its lifespan, as a ``TestClient`` used outside ``with``).
    """
    auth = request.scope.get("state", {}).get(STATE_KEY)  # request.state's own dict
    if not isinstance(auth, BetterAuth):
        raise ConfigurationError(
            "BetterAuth is not set up: include better_auth_router() in the app and run its lifespan"
        )
    return auth


async def get_better_auth(request: Request) -> BetterAuth:
    """The runtime the router's lifespan built for this app (async: no worker-thread hop per request).

    Raises:
        ConfigurationError: the lifespan did not run (the router is not included, or the
            app runs without its lifespan, as a ``TestClient`` used outside ``with``).
    """
    return runtime_of(request)


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


async def authenticate(request: Request) -> AuthenticatedSession | None:
    """The request's identity, or None when it sends no credential; a refused one is an HTTP error.

    The guards' one step: extract the credential (``_credentials``), have the runtime's
    authenticator check it, log a refusal and answer it in the library's shape.

    Raises:
        HTTPException: the credential is refused (401, 403) or cannot be checked now (503).
        ConfigurationError: the router's lifespan did not run.
    """
    # outside the try: a missing lifespan is no refused credential
    auth = runtime_of(request)
    scope = request.scope
    state = scope["state"]  # holds the runtime: runtime_of found it there
    header = authorization(scope["headers"])
    identity = None if header is None else auth.authenticator.repeats.get(header)
    if identity is None:
        try:
            credential = present(auth.settings, request)
            identity = (
                None
                if credential is None
                else await auth.authenticator.authenticate(credential, header)
            )
        except BetterAuthError as error:
            log_failure(
                error, "cookie" if header is None else "bearer", state.get("request_id")
            )
            raise to_http_exception(error) from error
    state[IDENTITY_STATE_KEY] = identity
    if identity is not None and logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "better_auth.authenticated",
            extra={"user_id": identity.user.id, "credential": identity.credential},
        )
    return identity


async def _required(request: Request) -> AuthenticatedSession:
    identity = await authenticate(request)
    if identity is None:
        error = AuthenticationError()
        log_failure(error, "none")
        raise to_http_exception(error)
    return identity


class CredentialGuard(SecurityBase):
    """A guard that is one FastAPI dependency and the bearer security scheme at once.

    FastAPI solves every dependency node on every request, about 12 µs each whatever it does,
    so each guard reads the credential itself instead of through sub-dependencies (see the
    performance page). Being a ``SecurityBase`` puts the scheme in the OpenAPI document of
    every route behind it. Override a guard itself: ``app.dependency_overrides[current_user]``.
    """

    def __init__(self) -> None:
        self.model = BEARER_MODEL
        self.scheme_name = BEARER_SCHEME_NAME


class SessionGuard(CredentialGuard):
    """`current_session`'s type."""

    async def __call__(self, request: Request) -> AuthenticatedSession:
        """The caller's identity; see `current_session`."""
        return await _required(request)


class UserGuard(CredentialGuard):
    """`current_user`'s type."""

    async def __call__(self, request: Request) -> AuthenticatedUser:
        """The caller's user; see `current_user`."""
        return (await _required(request)).user


class OptionalUserGuard(CredentialGuard):
    """`optional_user`'s type."""

    async def __call__(self, request: Request) -> AuthenticatedUser | None:
        """The caller's user or None; see `optional_user`."""
        identity = await authenticate(request)
        return None if identity is None else identity.user


current_session = SessionGuard()
"""The caller's identity: user, session (if known) and credential kind.

Accepts a Better-Auth JWT or session token as ``Authorization: Bearer``, or the signed session
cookie. Refuses banned users, revoked and expired sessions: 401 without a valid credential, 403
when banned or for a cookie write from an untrusted origin, 503 when keys or the database are
unavailable.
"""

CurrentSession = Annotated[AuthenticatedSession, Depends(current_session)]

current_user = UserGuard()
"""The authenticated, not banned user (a frozen snapshot of their row); errors as `current_session`."""

CurrentUser = Annotated[AuthenticatedUser, Depends(current_user)]

optional_user = OptionalUserGuard()
"""The user when a credential is sent, None when none is; an invalid credential is still a 401."""

OptionalUser = Annotated[AuthenticatedUser | None, Depends(optional_user)]


async def require_verified_email(user: CurrentUser) -> AuthenticatedUser:
    """The current user, if their email address is verified; else 403 ``EMAIL_NOT_VERIFIED``."""
    if not user.email_verified:
        raise to_http_exception(EmailNotVerifiedError())
    return user


VerifiedUser = Annotated[AuthenticatedUser, Depends(require_verified_email)]


async def require_admin(request: Request, user: CurrentUser) -> AuthenticatedUser:
    """The current user, if an admin (roles and user ids from settings); else 403 ``ROLE_REQUIRED``."""
    try:
        check_admin(user, runtime_of(request).settings)
    except RoleRequiredError as error:
        raise to_http_exception(error) from error
    return user


AdminUser = Annotated[AuthenticatedUser, Depends(require_admin)]


@lru_cache(maxsize=256)
def _role_guard(
    roles: frozenset[str],
) -> Callable[..., Coroutine[Any, Any, AuthenticatedUser]]:
    async def guard(request: Request, user: CurrentUser) -> AuthenticatedUser:
        default_role = runtime_of(request).settings.default_role
        if not effective_roles(user, default_role) & roles:
            raise to_http_exception(
                RoleRequiredError(
                    f"One of these roles is required: {', '.join(sorted(roles))}."
                )
            )
        return user

    guard.__name__ = "require_role_" + "_".join(sorted(roles))
    return guard


def require_role(*roles: str) -> Callable[..., Coroutine[Any, Any, AuthenticatedUser]]:
    """A dependency admitting users who hold any of ``roles`` (Better-Auth's comma-joined ``role``).

    The same roles, in any order, give the same object, so ``dependency_overrides`` works.

    Raises:
        TypeError: a role is not a string (``require_role(["a", "b"])`` instead of ``("a", "b")``).
        ValueError: no role, or a blank one, one with a comma or surrounding spaces.
    """
    if not all(isinstance(role, str) for role in roles):
        raise TypeError(
            "require_role() takes role names as separate arguments: "
            "require_role('editor', 'admin'), or require_role(*roles) for a list"
        )
    if not roles or any(not r or r != r.strip() or "," in r for r in roles):
        raise ValueError(
            "require_role() needs one or more role names without commas or surrounding "
            "spaces (Better-Auth compares roles exactly)"
        )
    return _role_guard(frozenset(roles))
