"""The stable codes: :class:`ErrorCode`, what we answer, and the SQLSTATEs that mean "unavailable".

Both are tables other code matches on (clients match ``detail.code``; the database layers turn a
refusing server's SQLSTATE into ``DATABASE_UNAVAILABLE``), kept apart from the exception tree in
``_errors`` so the contract reads in one place.
"""

from enum import Enum


class ErrorCode(str, Enum):
    """Stable machine-readable codes, part of the public contract (``StrEnum`` needs 3.11)."""

    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105 (an error code, not a secret)
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105
    INVALID_SESSION = "INVALID_SESSION"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    FORBIDDEN = "FORBIDDEN"
    ROLE_REQUIRED = "ROLE_REQUIRED"
    PERMISSION_REQUIRED = "PERMISSION_REQUIRED"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    USER_BANNED = "USER_BANNED"
    INVALID_ORIGIN = "INVALID_ORIGIN"
    INVALID_REQUEST = "INVALID_REQUEST"
    NOT_FOUND = "NOT_FOUND"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    CONFLICT = "CONFLICT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    JWKS_UNAVAILABLE = "JWKS_UNAVAILABLE"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    SESSION_STORE_UNAVAILABLE = "SESSION_STORE_UNAVAILABLE"
    CONFIGURATION_ERROR = "CONFIGURATION_ERROR"
    INVALID_API_KEY = "INVALID_API_KEY"
    API_KEY_DISABLED = "API_KEY_DISABLED"
    API_KEY_EXPIRED = "API_KEY_EXPIRED"
    API_KEY_PERMISSION_DENIED = "API_KEY_PERMISSION_DENIED"
    API_KEY_USAGE_EXCEEDED = "API_KEY_USAGE_EXCEEDED"
    API_KEY_RATE_LIMITED = "API_KEY_RATE_LIMITED"
    NO_ACTIVE_ORGANIZATION = "NO_ACTIVE_ORGANIZATION"
    NOT_ORGANIZATION_MEMBER = "NOT_ORGANIZATION_MEMBER"
    ORGANIZATION_ROLE_REQUIRED = "ORGANIZATION_ROLE_REQUIRED"
    ORGANIZATION_PERMISSION_DENIED = "ORGANIZATION_PERMISSION_DENIED"

    def __str__(self) -> str:
        return self.value


#: SQLSTATEs of a server refusing work for now: connection exceptions (08…), shutting down or
#: starting up (57P01-57P03), too many connections (53300), database not accepting connections (55000).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "55000")


def is_unavailable_sqlstate(sqlstate: object) -> bool:
    """Whether a driver error's SQLSTATE means "the database cannot serve now", not "bad query"."""
    return isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
