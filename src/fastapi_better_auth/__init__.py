"""Trust the users, sessions, roles and bans that Better-Auth manages, from FastAPI.

``app.include_router(better_auth_router())`` mounts the ``/api/v1`` surface; the names below
are the public API, reviewed in ``tests/unit/test_public_api.py``. The public submodules are
``errors`` (every error class), ``models`` (the tables), ``testing`` (your tests' kit) and
``api_keys`` (the API-key plugin); every name starting with ``_`` is private. The routes'
request and response bodies are described by the OpenAPI document, not exported.
"""

import importlib
import warnings
from typing import Any

from ._errors import BetterAuthError, ConfigurationError, ErrorCode
from ._guards import (
    AdminUser,
    BetterAuthDep,
    CurrentSession,
    CurrentUser,
    DbSession,
    OptionalUser,
    VerifiedUser,
    current_session,
    current_user,
    get_better_auth,
    get_db,
    optional_user,
    require_admin,
    require_role,
    require_verified_email,
)
from ._http import add_exception_handlers
from ._logging import configure_logging
from ._middleware import RequestLoggingMiddleware, add_cors
from ._naming import SchemaNaming
from ._permission_guard import require_permission
from ._router import better_auth_router
from ._runtime import BetterAuth
from ._schemas import (
    AuthenticatedSession,
    AuthenticatedUser,
    ErrorResponse,
    SessionInfo,
)
from ._settings import BetterAuthSettings

__version__ = "0.1.0"

__all__ = [
    "AdminUser",
    "AuthenticatedSession",
    "AuthenticatedUser",
    "BetterAuth",
    "BetterAuthDep",
    "BetterAuthError",
    "BetterAuthSettings",
    "ConfigurationError",
    "CurrentSession",
    "CurrentUser",
    "DbSession",
    "ErrorCode",
    "ErrorResponse",
    "OptionalUser",
    "RequestLoggingMiddleware",
    "SchemaNaming",
    "SessionInfo",
    "VerifiedUser",
    "__version__",
    "add_cors",
    "add_exception_handlers",
    "better_auth_router",
    "configure_logging",
    "current_session",
    "current_user",
    "get_better_auth",
    "get_db",
    "optional_user",
    "require_admin",
    "require_permission",
    "require_role",
    "require_verified_email",
]

#: Names 0.1 exported here and 0.2 moved: still importable, with a DeprecationWarning that
#: says where they went, until 0.3. ``(module, advice)`` per name.
_ERRORS = ("errors", "import it from fastapi_better_auth.errors")
_BODY = "route bodies are described by the OpenAPI document; define your own model"
_MOVED: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        (
            "AuthenticationError",
            "ConflictError",
            "CsrfError",
            "DatabaseUnavailableError",
            "EmailNotVerifiedError",
            "InvalidRequestError",
            "InvalidSessionError",
            "InvalidTokenError",
            "JWKSUnavailableError",
            "NotFoundError",
            "PermissionDeniedError",
            "RoleRequiredError",
            "SessionExpiredError",
            "SessionStoreUnavailableError",
            "TokenExpiredError",
            "UpstreamUnavailableError",
            "UserBannedError",
            "UserNotFoundError",
        ),
        _ERRORS,
    ),
    **dict.fromkeys(
        ("AccountInfo", "AccountList", "ErrorDetail", "HealthStatus"),
        ("_schemas", _BODY),
    ),
    **dict.fromkeys(
        (
            "BanRequest",
            "RevokedSessions",
            "RoleUpdate",
            "SessionList",
            "UserList",
            "UserSession",
            "UserUpdate",
        ),
        ("_admin.schemas", _BODY),
    ),
    "JSONFormatter": ("_logging", "configure_logging() installs it"),
    "cors_options": ("_middleware", "use add_cors(app)"),
    "to_http_exception": (
        "_http",
        "raise the library error and call add_exception_handlers(app)",
    ),
}


def __getattr__(name: str) -> Any:
    """The 0.1 names moved out of the top level, with a warning saying where they went."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, advice = _MOVED[name]
    warnings.warn(
        f"fastapi_better_auth.{name} is deprecated and goes away in 0.3: {advice}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f".{module}", __name__), name)
