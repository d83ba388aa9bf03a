"""What the schema check found: the report start raises or logs, and the diagnosis it builds.

:class:`SchemaReport` is the outcome (problems naming the setting to change, and what was
detected); :class:`Diagnosis` is the working state the checks of :mod:`.tables` and
:mod:`.diagnosis` fill in, one finding at a time.
"""

import shlex
from dataclasses import dataclass, field
from typing import Literal

from .._errors import ConfigurationError
from .._naming import SchemaNaming
from .catalog import Catalog

__all__ = [
    "ADMIN_FIELDS",
    "CHECKED_MODELS",
    "MIGRATE_HINT",
    "Diagnosis",
    "SchemaReport",
]

#: The models the library reads; ``verification`` and ``jwks`` are Better-Auth's alone.
CHECKED_MODELS = ("user", "session", "account")
#: Columns only Better-Auth's admin plugin adds; the library reads them on every request.
ADMIN_FIELDS = {
    "user": ("role", "banned", "banReason", "banExpires"),
    "session": ("impersonatedBy",),
}
MIGRATE_HINT = (
    "run Better-Auth's migration (npx @better-auth/cli migrate) "
    "or python -m fastapi_better_auth migrate upgrade"
)


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
class Diagnosis:
    """The findings so far; the naming it holds is updated as each check finds the setting that fits."""

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
