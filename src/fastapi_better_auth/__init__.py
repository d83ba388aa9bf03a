"""Trust the users, sessions, roles and bans that Better-Auth manages, from FastAPI.

``app.include_router(better_auth_router())`` mounts the ``/api/v1`` surface; the models,
settings, errors and helpers below are the public API. Submodules ``models`` and
``testing`` are public too; every name starting with ``_`` is private.
"""

from ._dependencies import (
    BetterAuthDep,
    DbSession,
    get_better_auth,
    get_db,
    to_http_exception,
)
from ._errors import (
    AuthenticationError,
    BetterAuthError,
    ConfigurationError,
    ConflictError,
    CsrfError,
    DatabaseUnavailableError,
    EmailNotVerifiedError,
    ErrorCode,
    InvalidRequestError,
    InvalidSessionError,
    InvalidTokenError,
    JWKSUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RoleRequiredError,
    SessionExpiredError,
    TokenExpiredError,
    UpstreamUnavailableError,
    UserBannedError,
    UserNotFoundError,
)
from ._logging import JSONFormatter, configure_logging
from ._middleware import RequestLoggingMiddleware, add_cors, cors_options
from ._naming import SchemaNaming
from ._router import better_auth_router
from ._runtime import BetterAuth
from ._schemas import (
    AuthenticatedUser,
    ErrorDetail,
    ErrorResponse,
    HealthStatus,
    SessionInfo,
)
from ._settings import BetterAuthSettings

__version__ = "0.1.0"

__all__ = [
    "AuthenticatedUser",
    "AuthenticationError",
    "BetterAuth",
    "BetterAuthDep",
    "BetterAuthError",
    "BetterAuthSettings",
    "ConfigurationError",
    "ConflictError",
    "CsrfError",
    "DatabaseUnavailableError",
    "DbSession",
    "EmailNotVerifiedError",
    "ErrorCode",
    "ErrorDetail",
    "ErrorResponse",
    "HealthStatus",
    "InvalidRequestError",
    "InvalidSessionError",
    "InvalidTokenError",
    "JSONFormatter",
    "JWKSUnavailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RequestLoggingMiddleware",
    "RoleRequiredError",
    "SchemaNaming",
    "SessionExpiredError",
    "SessionInfo",
    "TokenExpiredError",
    "UpstreamUnavailableError",
    "UserBannedError",
    "UserNotFoundError",
    "__version__",
    "add_cors",
    "better_auth_router",
    "configure_logging",
    "cors_options",
    "get_better_auth",
    "get_db",
    "to_http_exception",
]
