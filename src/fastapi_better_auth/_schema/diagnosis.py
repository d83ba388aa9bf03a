"""Does the live database look the way the settings say? Checked at start and by ``python -m fastapi_better_auth check``.

Better-Auth's migration compares the tables it introspects with the schema its options describe;
this does the same for the tables this library reads: ``user``, ``session`` and ``account``, with
the admin plugin's columns (``verification`` and ``jwks`` are never read here, so they are not
required). When they differ, the other namings are tried (singular or plural tables, camelCase
or snake_case columns, a renamed table, another id type) so the message names the one setting
to change and the value the database shows, instead of a 500 on every request later.
Table and column names are :mod:`.tables`' part; the id and date types are checked here.

One catalog query answers the common case: PostgreSQL's ``pg_catalog`` for the tables visible on
the connection's ``search_path``, SQLite's ``pragma_table_info``. A second one (every visible
table) runs only when a table is missing, to find where it went.
"""

from dataclasses import replace
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from .._naming import SchemaNaming
from .._types import UTCDateTime
from ..models import get_models
from .catalog import Catalog, date_kind, id_kind, read_catalog
from .report import CHECKED_MODELS, Diagnosis, SchemaReport
from .tables import check_columns, find_tables

__all__ = ["check_schema", "diagnose"]

_ID_FIELDS = ("id", "userId")


def _date_fields(model: str) -> tuple[str, ...]:
    table = getattr(get_models(), model).__table__
    return tuple(c.name for c in table.columns if isinstance(c.type, UTCDateTime))


def _declared(d: Diagnosis, model: str, f: str) -> str | None:
    columns = d.catalog.table(d.tables[model]) or {}
    return d.catalog.column_type(columns, d.naming.column(model, f))


def _check_ids(d: Diagnosis) -> str | None:
    """The id type the ``user`` table shows, failing when the settings say another."""
    dialect = d.catalog.dialect
    kinds = {
        (model, f): id_kind(dialect, declared)
        for model in d.tables
        for f in _ID_FIELDS
        if (declared := _declared(d, model, f)) is not None
    }
    if not kinds:
        return None
    detected = kinds.get(("user", "id")) or next(iter(kinds.values()))
    expected = d.naming.id_type
    fits = {expected} | (
        {"text"} if expected == "uuid" and dialect == "sqlite" else set()
    )
    if detected not in fits:
        shown = {
            "serial": 'integer (Better-Auth generateId: "serial")',
            "uuid": 'uuid (Better-Auth generateId: "uuid")',
            "text": "text (Better-Auth's default ids)",
        }[detected]
        d.setting(f"ids are {shown}", "ID_TYPE", detected)
    odd = sorted(
        f'"{d.tables[m]}"."{d.naming.column(m, f)}"'
        for (m, f), kind in kinds.items()
        if kind != detected
    )
    if odd:
        d.fail(
            f"id columns {', '.join(odd)} differ in type from the user id ({detected})",
            "make them the same type, as Better-Auth's migration does",
        )
    return detected


def _check_dates(d: Diagnosis) -> set[str]:
    dialect, kinds = d.catalog.dialect, set()
    for model in d.tables:
        for f in _date_fields(model):
            declared = _declared(d, model, f)
            if declared is None:
                continue
            kind = date_kind(dialect, declared)
            if kind is None:
                d.fail(
                    f'column "{d.tables[model]}"."{d.naming.column(model, f)}" is {declared}, not a timestamp',
                    "Better-Auth's migration makes it timestamptz; alter the column",
                )
            else:
                kinds.add(kind)
    return kinds


def diagnose(
    catalog: Catalog,
    naming: SchemaNaming,
    *,
    sqlite_dates: str | None = None,
    models: tuple[str, ...] = CHECKED_MODELS,
) -> SchemaReport:
    """Compare a catalog with what ``naming`` expects; pure, so every case is testable offline.

    Args:
        catalog: what the database holds.
        naming: what the settings say.
        sqlite_dates: ``iso`` or ``epoch_ms`` if the settings declare how SQLite stores dates
            (a future ``BETTER_AUTH_SQLITE_DATES``); None reports the stored form only.
        models: the models whose tables must exist (without ``session`` when Better-Auth
            keeps sessions only in its secondary storage).
    """
    d = Diagnosis(catalog, naming, models=models)
    find_tables(d)
    check_columns(d)
    id_type = _check_ids(d) if d.tables else None
    dates = _check_dates(d)
    report_dates: Literal["iso", "epoch_ms"] | None = None
    timestamps = None
    if catalog.dialect == "sqlite" and dates and dates != {"datetime"}:
        # Prisma's DATETIME holds either form (engine vs driver adapter): nothing to enforce
        report_dates = "epoch_ms" if dates <= {"epoch_ms", "datetime"} else "iso"
        if sqlite_dates is not None and report_dates != sqlite_dates:
            d.setting(
                f"dates are stored as {report_dates}", "SQLITE_DATES", report_dates
            )
    elif dates:
        timestamps = "+".join(sorted(dates))
    return SchemaReport(
        dialect=catalog.dialect,
        problems=tuple(d.problems),
        fixes=tuple(d.fixes),
        tables={m: d.tables[m] for m in CHECKED_MODELS if m in d.tables},
        id_type=id_type,
        timestamps=timestamps,
        sqlite_dates=report_dates,
        user_columns=frozenset(catalog.table(d.tables["user"]) or ())
        if "user" in d.tables
        else frozenset(),
    )


def _candidate_names(naming: SchemaNaming) -> list[str]:
    flipped = replace(naming, use_plural=not naming.use_plural)
    return sorted({n.table(m) for n in (naming, flipped) for m in CHECKED_MODELS})


async def check_schema(
    connection: AsyncConnection,
    naming: SchemaNaming,
    *,
    sqlite_dates: str | None = None,
    models: tuple[str, ...] = CHECKED_MODELS,
) -> SchemaReport:
    """Read the catalog (one query, two when a table is missing) and :func:`diagnose` it.

    Raises:
        ValueError: the database is neither PostgreSQL nor SQLite.
    """
    catalog = await read_catalog(connection, _candidate_names(naming))
    report = diagnose(catalog, naming, sqlite_dates=sqlite_dates, models=models)
    if not catalog.complete and len(report.tables) < len(models):
        catalog = await read_catalog(connection)
        report = diagnose(catalog, naming, sqlite_dates=sqlite_dates, models=models)
    return report
