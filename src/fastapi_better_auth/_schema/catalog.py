"""What a database holds: its tables, their columns and declared types, in one catalog query.

PostgreSQL: ``pg_catalog`` for the tables visible on the connection's ``search_path`` (what the
queries will use); SQLite: ``pragma_table_info`` of every table. Read by the schema check.
"""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "SUPPORTED_DIALECTS",
    "Catalog",
    "date_kind",
    "driver_error",
    "id_kind",
    "read_catalog",
]

SUPPORTED_DIALECTS = frozenset({"postgresql", "sqlite"})

_PG_COLUMNS = """
SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  AND pg_catalog.pg_table_is_visible(c.oid)
"""
_PG_NAMED = text(_PG_COLUMNS + "  AND c.relname = ANY(:names)")
_PG_ALL = text(_PG_COLUMNS)
_SQLITE_COLUMNS = text(
    "SELECT m.name, p.name, p.type FROM sqlite_master AS m "
    "JOIN pragma_table_info(m.name) AS p "
    "WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
)


def driver_error(exc: BaseException) -> str:
    """``InsufficientPrivilegeError: permission denied…``: the driver's error under SQLAlchemy's wrappers."""
    error = getattr(exc, "orig", None) or exc
    error = error.__cause__ or error  # asyncpg's own, under SQLAlchemy's adapted one
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


@dataclass(frozen=True)
class Catalog:
    """Tables and their columns' declared types, as the database reports them.

    SQLite names compare without case (as SQLite does); PostgreSQL's are exact, because
    Better-Auth quotes them.
    """

    dialect: str
    tables: dict[str, dict[str, str]]
    complete: bool = True

    def _fold(self, name: str) -> str:
        return name.lower() if self.dialect == "sqlite" else name

    def table(self, name: str) -> dict[str, str] | None:
        """``{column: type}`` of a table, or None."""
        wanted = self._fold(name)
        for table, columns in self.tables.items():
            if self._fold(table) == wanted:
                return columns
        return None

    def column_type(self, columns: dict[str, str], name: str) -> str | None:
        """The declared type (lower case) of a column, or None if it is absent."""
        wanted = self._fold(name)
        for column, kind in columns.items():
            if self._fold(column) == wanted:
                return kind
        return None


def id_kind(dialect: str, declared: str) -> str:
    """``text``, ``uuid`` or ``serial`` (an integer id): what Better-Auth's ``generateId`` made."""
    if "int" in declared or declared in {"serial", "bigserial"}:
        return "serial"
    if declared == "uuid" and dialect == "postgresql":
        return "uuid"
    return "text"


def date_kind(dialect: str, declared: str) -> str | None:
    """How a date column stores its value; None when it cannot hold a date at all."""
    if dialect == "sqlite":  # any declared type stores text or numbers
        if "int" in declared:
            return "epoch_ms"  # Drizzle's integer({ mode: "timestamp_ms" })
        if "datetime" in declared.lower():
            return (
                "datetime"  # Prisma: epoch ms (its own engine) or ISO (driver adapters)
            )
        return "iso"
    if declared.startswith("timestamp") and "without" in declared:
        return "timestamp"
    if declared.startswith("timestamp"):
        return "timestamptz"
    if declared == "date":
        return "date"
    return None


async def read_catalog(
    connection: AsyncConnection, names: list[str] | None = None
) -> Catalog:
    """The tables visible on ``connection`` (only ``names`` if given) with their columns' types.

    Raises:
        ValueError: the database is neither PostgreSQL nor SQLite.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        query = _PG_ALL if names is None else _PG_NAMED
        params = {} if names is None else {"names": names}
        rows = await connection.execute(query, params)
    elif dialect == "sqlite":
        rows = await connection.execute(_SQLITE_COLUMNS)
        names = None  # one query reads every table anyway
    else:
        raise ValueError(f"schema check does not support {dialect}")
    tables: dict[str, dict[str, str]] = {}
    for table, column, declared in rows:
        tables.setdefault(table, {})[column] = (declared or "").lower()
    return Catalog(dialect, tables, complete=names is None)
