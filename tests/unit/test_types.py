"""Dates and booleans are stored as Better-Auth stores them, and read back timezone-aware."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from fastapi_better_auth._types import (
    JSBoolean,
    SerialId,
    UTCDateTime,
    UTCEpochMsDateTime,
    as_utc,
    generate_id,
    utcnow,
)

SQLITE = sqlite.dialect()
PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def test_generate_id_is_32_alphanumerics() -> None:
    ids = {generate_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", i) for i in ids)


def test_utcnow_is_aware_at_millisecond_precision() -> None:
    now = utcnow()
    assert now.tzinfo is timezone.utc
    assert now.microsecond % 1000 == 0


def test_sqlite_dates_are_javascript_iso_strings() -> None:
    value = datetime(
        2026, 11, 24, 19, 11, 55, 135000, tzinfo=timezone(timedelta(hours=1))
    )
    assert UTCDateTime().process_bind_param(value, SQLITE) == "2026-11-24T18:11:55.135Z"


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-24T18:11:55.135Z",
        "2026-11-24 18:11:55.135",
        "2026-11-24T18:11:55.135+00:00",
        1795975915135,
    ],
)
def test_sqlite_dates_parse_every_form_to_aware_utc(stored: str | int) -> None:
    parsed = UTCDateTime().process_result_value(stored, SQLITE)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.microsecond == 135000


def test_postgres_dates_pass_through_as_aware_utc() -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    assert UTCDateTime().process_bind_param(naive, PG) == naive.replace(
        tzinfo=timezone.utc
    )
    assert UTCDateTime().process_result_value(naive, PG) == naive.replace(
        tzinfo=timezone.utc
    )
    assert UTCDateTime().process_bind_param(None, PG) is None
    assert UTCDateTime().process_result_value(None, PG) is None


def test_booleans_are_integers_on_sqlite_only() -> None:
    assert JSBoolean().process_bind_param(True, SQLITE) == 1
    assert JSBoolean().process_bind_param(False, PG) is False
    assert JSBoolean().process_bind_param(None, PG) is None
    assert JSBoolean().process_result_value(0, SQLITE) is False
    assert JSBoolean().process_result_value(None, SQLITE) is None


def test_as_utc_converts_offsets() -> None:
    value = datetime(2026, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(value) == datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def test_epoch_ms_dates_are_integers_on_sqlite_only() -> None:
    """Drizzle's ``timestamp_ms`` (and Prisma's own SQLite engine): milliseconds since 1970."""
    value = datetime(
        2026, 11, 24, 19, 11, 55, 135999, tzinfo=timezone(timedelta(hours=1))
    )
    epoch = UTCEpochMsDateTime()
    assert epoch.process_bind_param(value, SQLITE) == 1795543915135
    assert epoch.process_bind_param(None, SQLITE) is None
    assert epoch.process_bind_param(value, PG) == as_utc(value)
    assert epoch.process_result_value(1795543915135, SQLITE) == datetime(
        2026, 11, 24, 18, 11, 55, 135000, tzinfo=timezone.utc
    )


def test_serial_ids_are_integers_in_sql_and_strings_in_python() -> None:
    serial = SerialId()
    assert serial.process_bind_param("42", PG) == 42
    assert serial.process_bind_param(None, PG) is None
    assert serial.process_result_value(42, SQLITE) == "42"
    assert serial.process_result_value("42", PG) == "42"  # selected as text
    assert serial.process_result_value(None, PG) is None
