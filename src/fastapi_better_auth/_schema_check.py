"""Does the live database look the way the settings say? Checked at start and by ``python -m fastapi_better_auth check``.

Better-Auth's migration compares the tables it introspects with the schema its options describe;
this does the same for the tables this library reads: ``user``, ``session`` and ``account``, with
the admin plugin's columns (``verification`` and ``jwks`` are never read here, so they are not
required). When they differ, the other namings are tried (singular or plural tables, camelCase
or snake_case columns, a renamed table, another id type) so the message names the one setting
to change and the value the database shows, instead of a 500 on every request later.

One catalog query answers the common case: PostgreSQL's ``pg_catalog`` for the tables visible on
the connection's ``search_path``, SQLite's ``pragma_table_info``. A second one (every visible
table) runs only when a table is missing, to find where it went.
"""

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from ._catalog import (
    SUPPORTED_DIALECTS,
    Catalog,
    date_kind,
    driver_error,
    id_kind,
    read_catalog,
)
from ._errors import ConfigurationError
from ._naming import SchemaNaming, to_snake
from ._types import UTCDateTime
from .models import get_models

__all__ = [
    "CHECKED_MODELS",
    "SUPPORTED_DIALECTS",
    "Catalog",
    "SchemaReport",
    "check_schema",
    "diagnose",
    "driver_error",
    "read_catalog",
]

#: The models the library reads; ``verification`` and ``jwks`` are Better-Auth's alone.
CHECKED_MODELS = ("user", "session", "account")
#: Columns only Better-Auth's admin plugin adds; the library reads them on every request.
ADMIN_FIELDS = {
    "user": ("role", "banned", "banReason", "banExpires"),
    "session": ("impersonatedBy",),
}
_ID_FIELDS = ("id", "userId")
#: Columns that tell a model's table apart from any other, whatever its name.
_SIGNATURES = {
    "user": ("email", "emailVerified"),
    "session": ("token", "expiresAt", "userId"),
    "account": ("providerId", "accountId", "userId"),
}
MIGRATE_HINT = (
    "run Better-Auth's migration (npx @better-auth/cli migrate) "
    "or python -m fastapi_better_auth migrate upgrade"
)


def _fields(model: str) -> tuple[str, ...]:
    """Better-Auth's field names of a model, in the order the models declare them."""
    table = getattr(get_models(), model).__table__
    return tuple(column.name for column in table.columns)


def _date_fields(model: str) -> tuple[str, ...]:
    table = getattr(get_models(), model).__table__
    return tuple(c.name for c in table.columns if isinstance(c.type, UTCDateTime))


@dataclass(frozen=True)
class SchemaReport:
    """What the check found: problems (each naming the setting to change) and what it detected."""

    dialect: str
    problems: tuple[str, ...] = ()
    #: The settings lines that would match this database (``BETTER_AUTH_USE_PLURAL=true``).
    fixes: tuple[str, ...] = ()
    tables: dict[str, str] = field(default_factory=dict)
    #: ``text``, ``uuid`` or ``serial``, from the ``user`` table's id column.
    id_type: str | None = None
    #: PostgreSQL: ``timestamptz``, ``timestamp`` (without time zone) or ``date``; mixed ones joined by ``+``.
    timestamps: str | None = None
    #: SQLite: ``iso`` (text dates, Better-Auth's Kysely adapter) or ``epoch_ms`` (integer dates).
    #: The hook for a ``BETTER_AUTH_SQLITE_DATES`` setting: :func:`diagnose` compares it when given.
    sqlite_dates: Literal["iso", "epoch_ms"] | None = None
    #: The ``user`` table's column names as the catalog has them (what the declared user
    #: fields are checked against, without reading the catalog a second time).
    user_columns: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        """Whether the library can read this database with these settings."""
        return not self.problems

    @property
    def empty(self) -> bool:
        """No table of ``user``, ``session``, ``account`` at all: not migrated yet, not misnamed."""
        return not self.tables

    def summary(self) -> str:
        """One line: the tables, id type and date storage found."""
        tables = ", ".join(f'"{name}"' for name in self.tables.values())
        parts = [f"tables {tables}" if tables else "no tables"]
        if self.id_type:
            parts.append(f"ids {self.id_type}")
        if self.timestamps:
            parts.append(f"timestamps {self.timestamps}")
        if self.sqlite_dates:
            parts.append(f"dates {self.sqlite_dates}")
        return "; ".join(parts)

    def message(self) -> str:
        """The problems in one message, ending with the settings that match when there are several."""
        text_ = "the database does not match the settings: " + "; ".join(self.problems)
        if len(self.fixes) > 1:
            text_ += ". Settings that match it: " + " ".join(self.fixes)
        return text_

    def error(self) -> ConfigurationError:
        """The :class:`ConfigurationError` start raises for this report."""
        return ConfigurationError(self.message())


@dataclass
class _Diagnosis:
    catalog: Catalog
    naming: SchemaNaming
    problems: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)
    #: The models whose tables must exist (no ``session`` when sessions live only in Redis).
    models: tuple[str, ...] = CHECKED_MODELS

    def fail(self, evidence: str, fix: str) -> None:
        self.problems.append(f"{evidence}: {fix}")

    def setting(self, evidence: str, name: str, value: str) -> None:
        """A problem one setting fixes: ``…: set BETTER_AUTH_X=value``, and that line for the shell."""
        self.fail(evidence, f"set BETTER_AUTH_{name}={value}")
        self.fixes.append(f"BETTER_AUTH_{name}={shlex.quote(value)}")


def _has_signature(
    catalog: Catalog, columns: dict[str, str], model: str, naming: SchemaNaming
) -> bool:
    return all(
        any(
            catalog.column_type(columns, name) is not None
            for name in (naming.column(model, f), f, to_snake(f))
        )
        for f in _SIGNATURES[model]
    )


def _find_tables(d: _Diagnosis) -> None:
    """Resolve each model's table, switching ``use_plural`` or naming a renamed table if needed."""
    catalog, naming = d.catalog, d.naming
    present = {m for m in d.models if catalog.table(naming.table(m)) is not None}
    flipped = replace(naming, use_plural=not naming.use_plural)
    other = {m for m in d.models if catalog.table(flipped.table(m)) is not None}
    if len(other) > len(present):
        plural = "true" if flipped.use_plural else "false"
        kind = "plural" if flipped.use_plural else "singular"
        d.setting(
            f'tables are {kind} ("{flipped.table("user")}", not "{naming.table("user")}")',
            "USE_PLURAL",
            plural,
        )
        d.naming, naming, present = flipped, flipped, other
    d.tables = {m: naming.table(m) for m in d.models if m in present}
    missing = [m for m in d.models if m not in present]
    if not missing:
        return
    if len(missing) == len(d.models) and not _renamed_candidates(d, missing):
        d.fail("no Better-Auth tables (user, session, account) found", MIGRATE_HINT)
        return
    renamed: dict[str, str] = {}
    for model in missing:
        candidates = _renamed_candidates(d, [model])
        if len(candidates) == 1:
            renamed[model] = d.tables[model] = candidates[0]
        else:
            found = f" (tables like it: {', '.join(candidates)})" if candidates else ""
            d.fail(f'no table "{naming.table(model)}"{found}', MIGRATE_HINT)
    if not renamed:
        return
    # Better-Auth appends the plural "s" to modelName, so a plural table names its model without it
    names = dict(naming.model_names) | {
        model: table[:-1] if naming.use_plural and table.endswith("s") else table
        for model, table in renamed.items()
    }
    found = " and ".join(
        f'model "{model}" is table "{table}", not "{naming.table(model)}"'
        for model, table in renamed.items()
    )
    d.setting(found, "MODEL_NAMES", json.dumps(names))
    d.naming = replace(naming, model_names=tuple(sorted(names.items())))


def _renamed_candidates(d: _Diagnosis, models: Iterable[str]) -> list[str]:
    taken = set(d.tables.values())
    return sorted(
        table
        for table, columns in d.catalog.tables.items()
        if table not in taken
        and any(_has_signature(d.catalog, columns, m, d.naming) for m in models)
    )


def _check_columns(d: _Diagnosis) -> None:
    """Every field under the configured column names; else the case or field mapping that fits."""
    catalog, naming = d.catalog, d.naming
    explicit = {model: dict(fields) for model, fields in naming.field_names}
    in_case = 0  # fields whose two cases differ, found in the configured one
    other_case: list[tuple[str, str, str, str]] = []  # model, field, expected, found
    absent: list[tuple[str, str, str]] = []  # model, field, expected
    for model, table in d.tables.items():
        columns = catalog.table(table) or {}
        for f in _fields(model):
            want = naming.column(model, f)
            if catalog.column_type(columns, want) is not None:
                in_case += f != to_snake(f) and f not in explicit.get(model, {})
                continue
            alternative = f if want != f else to_snake(f)
            if alternative != want and catalog.column_type(columns, alternative):
                other_case.append((model, f, want, alternative))
            else:
                absent.append((model, f, want))
    if other_case:
        _fix_case(d, other_case, flip=in_case == 0)
    admin = [(m, w) for m, f, w in absent if f in ADMIN_FIELDS.get(m, ())]
    if admin:
        listed = ", ".join(f'"{d.tables[m]}"."{w}"' for m, w in admin)
        d.fail(
            f"no admin plugin columns {listed} (the library reads roles and bans)",
            "enable Better-Auth's admin plugin and run its migration",
        )
    for model, f, want in absent:
        if f not in ADMIN_FIELDS.get(model, ()):
            d.fail(
                f'table "{d.tables[model]}" has no column "{want}" (field {f})',
                f"{MIGRATE_HINT}, or map the field with BETTER_AUTH_FIELD_NAMES",
            )


def _fix_case(
    d: _Diagnosis, other_case: list[tuple[str, str, str, str]], *, flip: bool
) -> None:
    """Columns in the other case: ``column_case`` if all are, else a ``field_names`` mapping."""
    naming = d.naming
    explicit = {model: dict(fields) for model, fields in naming.field_names}
    if flip and not any(f in explicit.get(m, {}) for m, f, _, _ in other_case):
        model, _, want, found = other_case[0]
        case: Literal["camel", "snake"] = (
            "snake" if naming.column_case == "camel" else "camel"
        )
        d.setting(
            f'table "{d.tables[model]}" has column "{found}", not "{want}"',
            "COLUMN_CASE",
            case,
        )
        d.naming = replace(naming, column_case=case)
        return
    for model, f, _, found in other_case:
        explicit.setdefault(model, {})[f] = found
    names = ", ".join(
        f'"{d.tables[m]}"."{found}" (not "{want}")' for m, _, want, found in other_case
    )
    d.setting(
        f"columns {names} are named otherwise than the settings say",
        "FIELD_NAMES",
        json.dumps(explicit),
    )
    d.naming = replace(
        naming,
        field_names=tuple(
            sorted((m, tuple(sorted(fields.items()))) for m, fields in explicit.items())
        ),
    )


def _declared(d: _Diagnosis, model: str, f: str) -> str | None:
    columns = d.catalog.table(d.tables[model]) or {}
    return d.catalog.column_type(columns, d.naming.column(model, f))


def _check_ids(d: _Diagnosis) -> str | None:
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


def _check_dates(d: _Diagnosis) -> set[str]:
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
    d = _Diagnosis(catalog, naming, models=models)
    _find_tables(d)
    _check_columns(d)
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
