"""SQLAlchemy mapping of the ``apikey`` table of Better-Auth's API-key plugin (``@better-auth/api-key``).

Declared once, in :class:`ApiKeyMixin`, and mapped under any :class:`~fastapi_better_auth.SchemaNaming`
by :func:`get_api_key_model`, like the core tables in :mod:`fastapi_better_auth.models`. The
columns are those plugin 1.7.5 migrates (``dist/index.mjs``, ``apiKeySchema``): the owner is
``referenceId`` (a user id, no foreign key), ``key`` is ``base64url(sha256(key))`` without
padding, and the defaults below are the plugin's (they are applied in JavaScript, so the
database has no server defaults). Better-Auth owns the table: never ``create_all`` it on a
shared database.
"""

from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import Index, Integer, MetaData, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from .._naming import SchemaNaming
from .._tables import NAMING_CONVENTION, _Physical
from .._types import JSBoolean, UTCDateTime, new_id, utcnow

#: Plugin defaults (``rateLimit.timeWindow`` one day in milliseconds, ``maxRequests`` 10).
DEFAULT_RATE_LIMIT_TIME_WINDOW_MS = 86_400_000
DEFAULT_RATE_LIMIT_MAX = 10


def _now() -> datetime:
    return utcnow()


class ApiKeyMixin(_Physical):
    """Columns of the API-key plugin's ``apikey`` table, in its order."""

    __model__ = "apikey"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    config_id: Mapped[str] = mapped_column(Text, default="default")
    name: Mapped[str | None] = mapped_column(Text)
    start: Mapped[str | None] = mapped_column(Text)
    reference_id: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str | None] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    refill_interval: Mapped[int | None] = mapped_column(Integer)
    refill_amount: Mapped[int | None] = mapped_column(Integer)
    last_refill_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool | None] = mapped_column(JSBoolean, default=True)
    rate_limit_enabled: Mapped[bool | None] = mapped_column(JSBoolean, default=True)
    rate_limit_time_window: Mapped[int | None] = mapped_column(
        Integer, default=DEFAULT_RATE_LIMIT_TIME_WINDOW_MS
    )
    rate_limit_max: Mapped[int | None] = mapped_column(
        Integer, default=DEFAULT_RATE_LIMIT_MAX
    )
    request_count: Mapped[int | None] = mapped_column(Integer, default=0)
    remaining: Mapped[int | None] = mapped_column(Integer)
    last_request: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    permissions: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[str | None] = mapped_column(Text)  # column "metadata"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        return (
            Index(None, "config_id"),
            Index(None, "key"),
            Index(None, "reference_id"),
        )


class _ApiKeyBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __naming__: ClassVar[SchemaNaming] = SchemaNaming()


class ApiKey(ApiKeyMixin, _ApiKeyBase):
    """An API key of the ``apikey`` table under Better-Auth's default naming."""


@lru_cache(maxsize=16)
def get_api_key_model(naming: SchemaNaming | None = None) -> type[ApiKeyMixin]:
    """The ``apikey`` model mapped under ``naming``; the same class for the same naming."""
    if naming is None or naming == SchemaNaming():
        return ApiKey
    chosen: SchemaNaming = naming

    class NamedBase(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)
        __naming__: ClassVar[SchemaNaming] = chosen

    named: Any = type(
        "ApiKey",
        (ApiKeyMixin, NamedBase),
        {"__module__": __name__, "__qualname__": "ApiKey"},
    )
    return named  # type: ignore[no-any-return]
