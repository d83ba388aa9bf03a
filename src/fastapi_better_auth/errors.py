"""Every error the library raises, for your own services and handlers to raise or catch.

The tree, each class's status and its stable ``code``::

    BetterAuthError
    ├── ConfigurationError                      (startup, never an HTTP answer)
    ├── AuthenticationError            401      NOT_AUTHENTICATED
    │   ├── InvalidTokenError          401      INVALID_TOKEN
    │   │   └── TokenExpiredError      401      TOKEN_EXPIRED
    │   ├── InvalidSessionError        401      INVALID_SESSION
    │   ├── SessionExpiredError        401      SESSION_EXPIRED
    │   └── InvalidApiKeyError         401      INVALID_API_KEY
    │       ├── ApiKeyDisabledError    401      API_KEY_DISABLED
    │       └── ApiKeyExpiredError     401      API_KEY_EXPIRED
    ├── PermissionDeniedError          403      FORBIDDEN
    │   ├── RoleRequiredError          403      ROLE_REQUIRED
    │   │   └── PermissionRequiredError 403     PERMISSION_REQUIRED
    │   ├── EmailNotVerifiedError      403      EMAIL_NOT_VERIFIED
    │   ├── UserBannedError            403      USER_BANNED
    │   ├── CsrfError                  403      INVALID_ORIGIN
    │   ├── ApiKeyPermissionError      403      API_KEY_PERMISSION_DENIED
    │   ├── NotOrganizationMemberError 403      NOT_ORGANIZATION_MEMBER
    │   ├── OrganizationRoleRequiredError 403   ORGANIZATION_ROLE_REQUIRED
    │   └── OrganizationPermissionError 403     ORGANIZATION_PERMISSION_DENIED
    ├── ApiKeyUsageExceededError       429      API_KEY_USAGE_EXCEEDED
    │   └── ApiKeyRateLimitedError     429      API_KEY_RATE_LIMITED
    ├── InvalidRequestError            400      INVALID_REQUEST
    │   └── NoActiveOrganizationError  400      NO_ACTIVE_ORGANIZATION
    ├── NotFoundError                  404      NOT_FOUND
    │   └── UserNotFoundError          404      USER_NOT_FOUND
    ├── ConflictError                  409      CONFLICT
    └── UpstreamUnavailableError       503      SERVICE_UNAVAILABLE
        ├── JWKSUnavailableError       503      JWKS_UNAVAILABLE
        └── DatabaseUnavailableError   503      DATABASE_UNAVAILABLE
            └── SessionStoreUnavailableError 503 SESSION_STORE_UNAVAILABLE

Catch :class:`BetterAuthError` and match ``error.code`` (an :class:`ErrorCode`): codes are the
stable contract, the classes below it may be regrouped. Raise any of them from your routes and
``add_exception_handlers(app)`` answers it in the documented shape. Framework-free.
"""

from ._errors import (
    ApiKeyDisabledError,
    ApiKeyExpiredError,
    ApiKeyPermissionError,
    ApiKeyRateLimitedError,
    ApiKeyUsageExceededError,
    AuthenticationError,
    BetterAuthError,
    ConfigurationError,
    ConflictError,
    CsrfError,
    DatabaseUnavailableError,
    EmailNotVerifiedError,
    ErrorCode,
    InvalidApiKeyError,
    InvalidRequestError,
    InvalidSessionError,
    InvalidTokenError,
    JWKSUnavailableError,
    NoActiveOrganizationError,
    NotFoundError,
    NotOrganizationMemberError,
    OrganizationPermissionError,
    OrganizationRoleRequiredError,
    PermissionDeniedError,
    PermissionRequiredError,
    RoleRequiredError,
    SessionExpiredError,
    SessionStoreUnavailableError,
    TokenExpiredError,
    UpstreamUnavailableError,
    UserBannedError,
    UserNotFoundError,
)

__all__ = [
    "ApiKeyDisabledError",
    "ApiKeyExpiredError",
    "ApiKeyPermissionError",
    "ApiKeyRateLimitedError",
    "ApiKeyUsageExceededError",
    "AuthenticationError",
    "BetterAuthError",
    "ConfigurationError",
    "ConflictError",
    "CsrfError",
    "DatabaseUnavailableError",
    "EmailNotVerifiedError",
    "ErrorCode",
    "InvalidApiKeyError",
    "InvalidRequestError",
    "InvalidSessionError",
    "InvalidTokenError",
    "JWKSUnavailableError",
    "NoActiveOrganizationError",
    "NotFoundError",
    "NotOrganizationMemberError",
    "OrganizationPermissionError",
    "OrganizationRoleRequiredError",
    "PermissionDeniedError",
    "PermissionRequiredError",
    "RoleRequiredError",
    "SessionExpiredError",
    "SessionStoreUnavailableError",
    "TokenExpiredError",
    "UpstreamUnavailableError",
    "UserBannedError",
    "UserNotFoundError",
]
