"""The FastAPI boundary: credentials in, identities or one-shape HTTP errors out.

Every dependency is one module-level object, so ``Depends(x)`` and
``app.dependency_overrides[x]`` key on it; ``require_role`` memoises, so the same roles give
the same dependency. The three credential guards (``current_session``, ``current_user``,
``optional_user``) are one dependency node each and share ``_authenticate``, where the ban,
revocation and expiry checks live; ``require_admin``, ``require_verified_email`` and
``require_role`` sit on ``current_user``, so overriding it reaches them.
"""

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.responses import JSONResponse
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession

from ._cookies import (
    bearer_session_token,
    looks_like_jwt,
    verify_signed_token,
)
from ._errors import (
    AuthenticationError,
    BetterAuthError,
    ConfigurationError,
    CsrfError,
    EmailNotVerifiedError,
    InvalidSessionError,
    InvalidTokenError,
    RoleRequiredError,
)
from ._identity import log_failure
from ._policy import check_admin, effective_roles
from ._runtime import BetterAuth
from ._schemas import (
    IDENTITY_STATE_KEY,
    AuthenticatedSession,
    AuthenticatedUser,
    ErrorResponse,
)

logger = logging.getLogger(__name__)

#: ``request.state`` key under which the router's lifespan stores the runtime.
STATE_KEY = "better_auth"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: How OpenAPI describes the credential every guard reads (the guards are this scheme).
BEARER_SCHEME_NAME = "BetterAuthBearer"
_BEARER_MODEL = HTTPBearerModel(
    bearerFormat="JWT or session token",
    description=(
        "A Better-Auth JWT (from `/api/auth/token`) or a session token (bearer plugin). "
        "Browsers may send Better-Auth's signed session cookie (`better-auth.session_token`) "
        "instead; a cookie-authenticated write also needs a trusted `Origin`."
    ),
)

#: ``responses=`` for routes behind authentication: the errors they can answer.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorResponse,
        "description": "No valid credential (`WWW-Authenticate: Bearer`).",
    },
    403: {
        "model": ErrorResponse,
        "description": "Authenticated, but not allowed (banned, role, origin).",
    },
    503: {
        "model": ErrorResponse,
        "description": "Keys or database unavailable; see `Retry-After`.",
    },
}


def to_http_exception(error: BetterAuthError) -> HTTPException:
    """The only place that knows what a library error looks like over HTTP."""
    detail = ErrorResponse.from_error(error).detail.model_dump()
    return HTTPException(
        error.status_code, detail=detail, headers=error.http_headers() or None
    )


async def _answer_library_error(request: Request, exc: Exception) -> JSONResponse:
    """A library error raised by any route of the app, answered as the library's own routes do.

    A 500 (a misconfiguration) is logged with its message and answered with its code only: the
    message is for the operator, not the client.
    """
    if not isinstance(
        exc, BetterAuthError
    ):  # pragma: no cover  (registered for these only)
        raise exc
    http = to_http_exception(exc)
    detail: Any = http.detail
    if exc.status_code >= 500 and exc.status_code != 503:
        logger.error(
            "better_auth.error", extra={"code": exc.code.value, "detail": exc.message}
        )
        detail = {"code": exc.code.value, "message": "Internal server error."}
    return JSONResponse(
        {"detail": detail}, status_code=http.status_code, headers=http.headers
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Answer every library error raised anywhere in ``app`` in its documented status and shape.

    The library's own routes already do; this covers your routes and services that raise
    ``UserBannedError``, ``DatabaseUnavailableError``… themselves, which FastAPI would answer 500.
    """
    app.add_exception_handler(BetterAuthError, _answer_library_error)


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


def _check_origin(request: Request, auth: BetterAuth) -> None:
    if request.method not in _UNSAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        raise CsrfError(
            "A cookie-authenticated request that changes state needs an Origin header."
        )
    if origin.rstrip("/") not in auth.settings.all_trusted_origins:
        raise CsrfError()


async def _identify(request: Request, auth: BetterAuth) -> AuthenticatedSession | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise InvalidTokenError(
                "The Authorization header must be 'Bearer <token>'."
            )
        if looks_like_jwt(value):
            return await auth.authenticator.from_jwt(value)
        secret = auth.settings.secret
        raw = bearer_session_token(
            value, None if secret is None else secret.get_secret_value()
        )
        if raw is None:
            raise InvalidSessionError()
        return await auth.authenticator.from_session_token(raw, "bearer")
    cookie = request.cookies.get(auth.settings.session_cookie_name)
    if cookie is not None:
        _check_origin(request, auth)
        secret = auth.settings.secret
        if secret is None:
            logger.warning("better_auth.cookie_without_secret")
            raise InvalidSessionError(
                "Session cookies need BETTER_AUTH_SECRET to be verified."
            )
        raw = verify_signed_token(cookie, secret.get_secret_value())
        if raw is None:
            raise InvalidSessionError()
        return await auth.authenticator.from_session_token(raw, "cookie")
    return None


async def _authenticate(request: Request) -> AuthenticatedSession | None:
    auth = runtime_of(
        request
    )  # outside the try: a missing lifespan is not a refused credential
    state = request.scope["state"]  # holds the runtime: runtime_of found it there
    try:
        identity = await _identify(request, auth)
    except BetterAuthError as error:
        kind = "bearer" if "authorization" in request.headers else "cookie"
        log_failure(error, kind, state.get("request_id"))
        raise to_http_exception(error) from error
    state[IDENTITY_STATE_KEY] = identity
    if identity is not None and logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "better_auth.authenticated",
            extra={"user_id": identity.user.id, "credential": identity.credential},
        )
    return identity


async def _required(request: Request) -> AuthenticatedSession:
    identity = await _authenticate(request)
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
        self.model = _BEARER_MODEL
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
        identity = await _authenticate(request)
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
