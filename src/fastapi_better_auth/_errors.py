"""One exception tree with stable codes; HTTP knows it only through ``status_code``.

The tree, with each class's status and code, is drawn in the public ``errors`` module that
re-exports it.

This module imports nothing from FastAPI: the worker or CLI that raises these errors
does not speak HTTP. ``_http.to_http_exception`` is the one place that does. The codes
themselves, a table clients match on, live in ``_error_codes``.
"""

from typing import ClassVar

# re-exported: the codes are imported from here throughout the package
from ._error_codes import ErrorCode as ErrorCode
from ._error_codes import is_unavailable_sqlstate as is_unavailable_sqlstate


class BetterAuthError(Exception):
    """Base of every error this library raises on purpose."""

    code: ClassVar[ErrorCode] = ErrorCode.FORBIDDEN
    status_code: ClassVar[int] = 500

    def __init__(self, message: str | None = None) -> None:
        self.message = (
            message or (self.__doc__ or self.code.value).strip().splitlines()[0]
        )
        super().__init__(self.message)

    def http_headers(self) -> dict[str, str]:
        """Headers the HTTP answer must carry (challenges, ``Retry-After``)."""
        return {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.value!r}, message={self.message!r})"
        )


class ConfigurationError(BetterAuthError):
    """The library is not configured correctly."""

    code = ErrorCode.CONFIGURATION_ERROR


class AuthenticationError(BetterAuthError):
    """Not authenticated."""

    code = ErrorCode.NOT_AUTHENTICATED
    status_code = 401

    def http_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class InvalidTokenError(AuthenticationError):
    """The credential is invalid."""

    code = ErrorCode.INVALID_TOKEN
    #: A short machine reason for logs (``unknown_kid``, ``expired``…); never sent to clients.
    reason: str | None = None

    def http_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class TokenExpiredError(InvalidTokenError):
    """The token has expired."""

    code = ErrorCode.TOKEN_EXPIRED


class InvalidSessionError(AuthenticationError):
    """The session does not exist or was revoked."""

    code = ErrorCode.INVALID_SESSION


class SessionExpiredError(AuthenticationError):
    """The session has expired."""

    code = ErrorCode.SESSION_EXPIRED


class PermissionDeniedError(BetterAuthError):
    """You are not allowed to do this."""

    code = ErrorCode.FORBIDDEN
    status_code = 403


class RoleRequiredError(PermissionDeniedError):
    """A role you do not have is required."""

    code = ErrorCode.ROLE_REQUIRED


class PermissionRequiredError(RoleRequiredError):
    """Your roles do not grant this admin permission (Better-Auth's admin plugin roles)."""

    code = ErrorCode.PERMISSION_REQUIRED


class EmailNotVerifiedError(PermissionDeniedError):
    """A verified email address is required."""

    code = ErrorCode.EMAIL_NOT_VERIFIED


class UserBannedError(PermissionDeniedError):
    """The user is banned."""

    code = ErrorCode.USER_BANNED


class CsrfError(PermissionDeniedError):
    """The request's Origin is not trusted."""

    code = ErrorCode.INVALID_ORIGIN


class InvalidApiKeyError(AuthenticationError):
    """Invalid API key."""

    code = ErrorCode.INVALID_API_KEY

    def http_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "ApiKey"}


class ApiKeyDisabledError(InvalidApiKeyError):
    """API Key is disabled."""

    code = ErrorCode.API_KEY_DISABLED


class ApiKeyExpiredError(InvalidApiKeyError):
    """API Key has expired."""

    code = ErrorCode.API_KEY_EXPIRED


class ApiKeyPermissionError(PermissionDeniedError):
    """The API key lacks a required permission."""

    code = ErrorCode.API_KEY_PERMISSION_DENIED


class ApiKeyUsageExceededError(BetterAuthError):
    """API Key has reached its usage limit."""

    code = ErrorCode.API_KEY_USAGE_EXCEEDED
    status_code = 429


class ApiKeyRateLimitedError(ApiKeyUsageExceededError):
    """Rate limit exceeded."""

    code = ErrorCode.API_KEY_RATE_LIMITED

    def __init__(self, message: str | None = None, *, retry_after_ms: int) -> None:
        super().__init__(message)
        #: The plugin's ``tryAgainIn``, in milliseconds.
        self.retry_after_ms = retry_after_ms

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, -(-self.retry_after_ms // 1000)))}


class InvalidRequestError(BetterAuthError):
    """The request is not valid."""

    code = ErrorCode.INVALID_REQUEST
    status_code = 400


class NoActiveOrganizationError(InvalidRequestError):
    """No active organization."""

    code = ErrorCode.NO_ACTIVE_ORGANIZATION


class NotOrganizationMemberError(PermissionDeniedError):
    """You are not a member of this organization."""

    code = ErrorCode.NOT_ORGANIZATION_MEMBER


class OrganizationRoleRequiredError(PermissionDeniedError):
    """An organization role is required."""

    code = ErrorCode.ORGANIZATION_ROLE_REQUIRED


class OrganizationPermissionError(PermissionDeniedError):
    """Your organization role does not grant this permission."""

    code = ErrorCode.ORGANIZATION_PERMISSION_DENIED


class NotFoundError(BetterAuthError):
    """Not found."""

    code = ErrorCode.NOT_FOUND
    status_code = 404


class UserNotFoundError(NotFoundError):
    """The user does not exist."""

    code = ErrorCode.USER_NOT_FOUND


class ConflictError(BetterAuthError):
    """The request conflicts with the current state."""

    code = ErrorCode.CONFLICT
    status_code = 409


class UpstreamUnavailableError(BetterAuthError):
    """A service this library depends on is unavailable; retry later."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    status_code = 503

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class JWKSUnavailableError(UpstreamUnavailableError):
    """The signing keys of Better-Auth cannot be loaded; retry later."""

    code = ErrorCode.JWKS_UNAVAILABLE


class DatabaseUnavailableError(UpstreamUnavailableError):
    """The database is unavailable; retry later."""

    code = ErrorCode.DATABASE_UNAVAILABLE


class SessionStoreUnavailableError(DatabaseUnavailableError):
    """The session store (Better-Auth's secondaryStorage, Redis) is unavailable; retry later."""

    code = ErrorCode.SESSION_STORE_UNAVAILABLE
