"""Column types that store values exactly as Better-Auth does on each database.

PostgreSQL has native ``timestamptz`` and ``boolean``. On SQLite Better-Auth's Kysely adapter
writes dates as ISO-8601 text (``2026-11-24T18:11:55.135Z``) and booleans as ``0``/``1``
in ``date`` and ``integer`` columns; these types read and write that form so both sides
understand each other's rows, and always hand Python timezone-aware UTC datetimes.
"""

import secrets
import string
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Boolean, ColumnElement, DateTime, Integer, Text, cast
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

_ID_ALPHABET = string.ascii_letters + string.digits
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def generate_id(length: int = 32) -> str:
    """A Better-Auth style id: 32 random characters of ``[A-Za-z0-9]``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_id(context: Any = None) -> str:
    """A new id for the column being inserted: a UUID for a ``uuid`` id (``generateId: "uuid"``)."""
    column = getattr(context, "current_column", None)
    if column is not None and column.info.get("better_auth_id") == "uuid":
        return str(uuid.uuid4())
    return generate_id()


def utcnow() -> datetime:
    """Now, timezone-aware, at millisecond precision as JavaScript dates are."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to naive datetimes (SQLite) and convert aware ones to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class _SQLiteDate(UserDefinedType[str]):
    """SQLite's ``date`` column type, as Better-Auth's migration declares it."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "date"


def _format_js_iso(value: datetime) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def js_date(value: datetime | None) -> str | None:
    """A date as JavaScript's ``JSON.stringify`` writes one (UTC, milliseconds, ``Z``)."""
    return None if value is None else _format_js_iso(value)


def _parse_iso(value: str | int | float) -> datetime:
    if isinstance(value, (int, float)):  # epoch milliseconds, as some adapters write
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(text))


class UTCDateTime(TypeDecorator[datetime]):
    """``timestamptz`` on PostgreSQL, ISO-8601 text in a ``date`` column on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteDate())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _format_js_iso(value)
        return as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return as_utc(value)
        return _parse_iso(value)


class UTCEpochMsDateTime(UTCDateTime):
    """As :class:`UTCDateTime`, but epoch milliseconds on SQLite (Drizzle's ``timestamp_ms``)."""

    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is not None and dialect.name == "sqlite":
            return (as_utc(value) - _EPOCH) // timedelta(milliseconds=1)
        return super().process_bind_param(value, dialect)


class SerialId(TypeDecorator[str]):
    """An ``integer`` id (``generateId: "serial"``) that is a string in Python, as in Better-Auth's JSON.

    Selected columns are cast to text in SQL (``column_expression``), so rows read through
    asyncpg directly carry strings too; bound values are converted to ``int``, and the callers
    check ids with ``SchemaNaming.valid_id`` first.
    """

    impl = Integer
    cache_ok = True

    def column_expression(self, colexpr: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(colexpr, Text)

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


class JSBoolean(TypeDecorator[bool]):
    """``boolean`` on PostgreSQL, ``integer`` 0/1 on SQLite (Better-Auth's choice there)."""

    impl = Boolean
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Integer())
        return dialect.type_descriptor(Boolean())

    def process_bind_param(self, value: bool | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return int(value) if dialect.name == "sqlite" else bool(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        return None if value is None else bool(value)
