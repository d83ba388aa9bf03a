"""The admin API's request and response bodies, as routes and OpenAPI show them.

Request bodies refuse unknown fields and NUL characters (422), so a typo is never silently
dropped and PostgreSQL never sees text it cannot store. The identities they carry
(:class:`AuthenticatedUser`, :class:`SessionInfo`) are the core schemas of ``_schemas``.
"""

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .._policy import join_roles
from .._schemas import AuthenticatedUser, SessionInfo

#: Fields ``GET /users`` sorts on; the tiebreak is always ``id`` (``email`` is unique already).
UserSortField = Literal["created_at", "updated_at", "email", "name", "role"]
SortDirection = Literal["asc", "desc"]
#: Longest ban ``expires_in_seconds`` accepted: 100 years.
MAX_BAN_SECONDS = 100 * 365 * 86_400
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserList(BaseModel):
    """One page of users, with how many match in all."""

    users: list[AuthenticatedUser]
    total: int = Field(description="Users matching the search and filters, all pages.")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` (same filters and sort) for the next page; "
        "null on the last page.",
    )


class _Body(BaseModel):
    """A request body: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        """PostgreSQL's ``text`` cannot store NUL: refuse it here as a 422, not a 500 later."""
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and "\x00" in item for item in items):
            raise ValueError("text must not contain NUL characters")
        return value


class UserUpdate(_Body):
    """Profile fields to change; fields left out are kept.

    A user may change their own ``name`` and ``image``; an admin may also change ``email``.
    Role, ban fields, ``email_verified``, ids and timestamps are never writable here.
    """

    name: str | None = Field(default=None, min_length=1, max_length=256)
    image: str | None = Field(
        default=None, max_length=2048, description="null removes it"
    )
    email: str | None = Field(
        default=None, min_length=3, max_length=254, pattern=_EMAIL
    )

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @model_validator(mode="after")
    def _not_null(self) -> "UserUpdate":
        for name in ("name", "email"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RoleUpdate(_Body):
    """The user's new roles: one name, a comma-joined string or a list (stored comma-joined)."""

    role: str | list[str] = Field(examples=["editor", ["user", "admin"]])

    @field_validator("role")
    @classmethod
    def _normalise(cls, value: str | list[str]) -> str:
        items = [value] if isinstance(value, str) else value
        roles = [part.strip() for item in items for part in item.split(",")]
        if any(not role for role in roles) or not roles:
            raise ValueError("role names must not be blank")
        if any(len(role) > 64 for role in roles) or len(roles) > 32:
            raise ValueError("at most 32 roles of at most 64 characters")
        return join_roles(roles)

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles in stored order, without duplicates."""
        return tuple(str(self.role).split(","))


class BanRequest(_Body):
    """Why and until when; no expiry means a permanent ban (Better-Auth's ``banExpires`` NULL)."""

    reason: str | None = Field(
        default=None, max_length=1024, description='Default "No reason".'
    )
    expires_in_seconds: int | None = Field(default=None, gt=0, le=MAX_BAN_SECONDS)
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> "BanRequest":
        if self.expires_in_seconds is not None and self.expires_at is not None:
            raise ValueError("send expires_in_seconds or expires_at, not both")
        if self.expires_at is not None and self.expires_at <= datetime.now(
            timezone.utc
        ):
            raise ValueError("expires_at must be in the future")
        return self

    def expiry(self, now: datetime) -> datetime | None:
        """When the ban ends, or None for a permanent ban."""
        if self.expires_in_seconds is not None:
            return now + timedelta(seconds=self.expires_in_seconds)
        return self.expires_at


class UserSession(SessionInfo):
    """A session of a user (never its token); ``current`` marks the caller's own."""

    current: bool = False


class SessionList(BaseModel):
    """A user's unexpired sessions, newest first."""

    sessions: list[UserSession]


class RevokedSessions(BaseModel):
    """How many sessions were deleted."""

    revoked: int
