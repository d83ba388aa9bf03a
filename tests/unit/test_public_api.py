"""The public API is listed, sorted, importable and documented; the version is the package's."""

import importlib.metadata
import inspect

import fastapi_better_auth
from fastapi_better_auth import models, testing

#: Adding a name is a minor release, removing one a major one: change this list on purpose.
PUBLIC_API = [
    "AccountInfo",
    "AccountList",
    "AdminUser",
    "AuthenticatedSession",
    "AuthenticatedUser",
    "AuthenticationError",
    "BanRequest",
    "BetterAuth",
    "BetterAuthDep",
    "BetterAuthError",
    "BetterAuthSettings",
    "ConfigurationError",
    "ConflictError",
    "CsrfError",
    "CurrentSession",
    "CurrentUser",
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
    "OptionalUser",
    "PermissionDeniedError",
    "RequestLoggingMiddleware",
    "RevokedSessions",
    "RoleRequiredError",
    "RoleUpdate",
    "SchemaNaming",
    "SessionExpiredError",
    "SessionInfo",
    "SessionList",
    "SessionStoreUnavailableError",
    "TokenExpiredError",
    "UpstreamUnavailableError",
    "UserBannedError",
    "UserList",
    "UserNotFoundError",
    "UserSession",
    "UserUpdate",
    "VerifiedUser",
    "__version__",
    "add_cors",
    "add_exception_handlers",
    "better_auth_router",
    "configure_logging",
    "cors_options",
    "current_session",
    "current_user",
    "get_better_auth",
    "get_db",
    "optional_user",
    "require_admin",
    "require_role",
    "require_verified_email",
    "to_http_exception",
]


def test_all_is_sorted_and_importable() -> None:
    names = fastapi_better_auth.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(fastapi_better_auth, name), name


def test_every_public_name_has_a_docstring() -> None:
    undocumented = []
    for module in (fastapi_better_auth, models, testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(
                obj
            ):
                undocumented.append(f"{module.__name__}.{name}")
    assert undocumented == []


def test_version_matches_distribution_metadata() -> None:
    assert fastapi_better_auth.__version__ == importlib.metadata.version(
        "fastapi-better-auth-kit"
    )


def test_public_api_is_exactly_the_reviewed_list() -> None:
    assert fastapi_better_auth.__all__ == PUBLIC_API
