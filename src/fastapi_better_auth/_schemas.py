"""Pydantic shapes that cross the library's edges: errors, identities and health answers.

Dependencies hand routes these frozen snapshots, never live ORM rows or raw tokens: the
database session closes with the dependency and a snapshot cannot leak a credential. The
admin API's bodies build on them in :mod:`fastapi_better_auth._admin.schemas`.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, computed_field

from ._errors import BetterAuthError
from ._policy import parse_roles


class ErrorDetail(BaseModel):
    """What went wrong, as a stable code and a human message."""

    code: str = Field(examples=["TOKEN_EXPIRED"])
    message: str = Field(examples=["The token has expired."])


class ErrorResponse(BaseModel):
    """The body of every error this library answers: ``{"detail": {"code", "message"}}``."""

    detail: ErrorDetail

    @classmethod
    def from_error(cls, error: BetterAuthError) -> "ErrorResponse":
        """The body for a library error."""
        return cls(detail=ErrorDetail(code=error.code.value, message=error.message))


class _Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class AuthenticatedUser(_Snapshot):
    """The caller, as Better-Auth's ``user`` row said on this request."""

    id: str
    email: str
    name: str
    email_verified: bool
    image: str | None = None
    role: str | None = None
    banned: bool = False
    ban_reason: str | None = None
    ban_expires: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def roles(self) -> frozenset[str]:
        """Better-Auth's comma-joined ``role`` split into a set (empty when unset)."""
        return parse_roles(self.role)


class SessionInfo(_Snapshot):
    """A Better-Auth session without its token."""

    id: str
    user_id: str
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    ip_address: str | None = None
    user_agent: str | None = None
    impersonated_by: str | None = None


class AccountInfo(_Snapshot):
    """A linked account (``credential`` for email and password), without tokens or password hash."""

    id: str
    provider_id: str
    account_id: str
    scope: str | None = None
    access_token_expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


Credential = Literal["jwt", "bearer", "cookie"]


class AuthenticatedSession(_Snapshot):
    """Who the caller is, and through which credential and session.

    ``session`` is None for a JWT that carries no session id claim (Better-Auth's default
    payload): the token is then all we know about the sign-in. ``user`` serializes as its own
    class, so an app's declared user fields are in the JSON.
    """

    user: SerializeAsAny[AuthenticatedUser]
    session: SessionInfo | None = None
    credential: Credential

    @computed_field  # type: ignore[prop-decorator]
    @property
    def impersonated_by(self) -> str | None:
        """The admin's user id when this session was created by impersonation."""
        return None if self.session is None else self.session.impersonated_by


#: Where a guard leaves the request's :class:`AuthenticatedSession` in the request state, so the
#: request log line and the audit lines can name who the request authenticated as.
IDENTITY_STATE_KEY = "better_auth.identity"


class AccountList(BaseModel):
    """The caller's linked accounts."""

    accounts: list[AccountInfo]


class HealthStatus(BaseModel):
    """A health check's answer."""

    status: Literal["ok"] = "ok"
