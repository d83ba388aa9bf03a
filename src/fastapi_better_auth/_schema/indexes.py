"""Opt-in indexes for the admin user list, outside the migrations (``migrate indexes``).

Better-Auth's schema indexes the user table on ``id`` and ``email`` only, and the shipped
migration must create exactly that schema. These indexes are therefore separate, created and
dropped by their own command, never by ``migrate upgrade``:

- ``(createdAt, id)``, ``(updatedAt, id)``, ``(name, id)``: the list's ``ORDER BY <sort>, id``
  becomes an index walk that stops after the page (either direction: a backward scan), and
  deep ``offset`` pages an index-only scan of the sort index.
- on PostgreSQL, ``pg_trgm`` GIN indexes on ``lower(email)`` and ``lower(name)``
  (``gin_trgm_ops``): they serve the search's ``lower(email) LIKE lower('%…%') OR
  lower(name) LIKE lower('%…%')`` for terms of 3 characters or more. The extension is created when missing (``CREATE EXTENSION IF NOT EXISTS pg_trgm``,
  trusted since PostgreSQL 13, so a database owner may create it); when that fails the
  trigram indexes are skipped and the report says why.

On PostgreSQL every index is built ``CONCURRENTLY`` by default (writes go on; each statement
runs outside a transaction) and an index left invalid by an interrupted build is dropped and
rebuilt. On SQLite only the B-tree indexes are made (its search has no index to use).
Creating is idempotent; dropping removes exactly these indexes and leaves ``pg_trgm``.
Names follow the :class:`~fastapi_better_auth.SchemaNaming`: ``{table}_{column}_id_idx`` and
``{table}_{column}_trgm_idx`` (past 63 bytes: the first 54 and a hash of the whole name).
"""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Connection, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from .._naming import SchemaNaming

#: The user fields the list sorts on that get a ``(field, id)`` B-tree index.
SORT_FIELDS = ("createdAt", "updatedAt", "name")
#: The user fields the search reads, which get a trigram index on PostgreSQL.
SEARCH_FIELDS = ("email", "name")


@dataclass(frozen=True)
class ListIndex:
    """One opt-in index: its name, table and definition (what follows ``ON``)."""

    name: str
    table: str
    definition: str
    kind: Literal["btree", "trigram"]


@dataclass
class IndexReport:
    """What ``create_indexes`` or ``drop_indexes`` did, index by index."""

    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every index is now as asked (none skipped)."""
        return not self.skipped


def _index_name(name: str) -> str:
    """``name``, or if longer than PostgreSQL's 63 bytes, its start and a hash of the whole.

    PostgreSQL would cut it silently, and two long names could then become one.
    """
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name.encode()[:54].decode(errors="ignore") + "_" + digest


def list_indexes(naming: SchemaNaming, dialect: Dialect) -> list[ListIndex]:
    """The indexes for ``naming`` on ``dialect``, names and definitions quoted for it."""
    quote = dialect.identifier_preparer.quote
    table = naming.table("user")
    user_id = quote(naming.column("user", "id"))
    # (field, name suffix, column list after the table, kind): sort indexes, then trigram ones
    specs: list[tuple[str, str, str, Literal["btree", "trigram"]]] = [
        (field, "id_idx", "({column}, " + user_id + ")", "btree")
        for field in SORT_FIELDS
    ]
    if dialect.name == "postgresql":
        specs += [
            (field, "trgm_idx", "USING gin (lower({column}) gin_trgm_ops)", "trigram")
            for field in SEARCH_FIELDS
        ]
    indexes = []
    for field_name, suffix, columns, kind in specs:
        column = naming.column("user", field_name)
        indexes.append(
            ListIndex(
                name=_index_name(f"{table}_{column}_{suffix}"),
                table=table,
                definition=f"{quote(table)} {columns.format(column=quote(column))}",
                kind=kind,
            )
        )
    return indexes


def _concurrent(dialect: Dialect, concurrently: bool) -> str:
    return "CONCURRENTLY " if concurrently and dialect.name == "postgresql" else ""


def create_statements(
    naming: SchemaNaming, dialect: Dialect, *, concurrently: bool = True
) -> list[str]:
    """The SQL ``create_indexes`` runs on an empty slate, in order (``migrate indexes --sql``)."""
    quote, how = dialect.identifier_preparer.quote, _concurrent(dialect, concurrently)
    indexes = list_indexes(naming, dialect)
    statements = []
    if any(index.kind == "trigram" for index in indexes):
        statements.append("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    statements += [
        f"CREATE INDEX {how}IF NOT EXISTS {quote(index.name)} ON {index.definition}"
        for index in indexes
    ]
    return statements


def drop_statement(dialect: Dialect, name: str, *, concurrently: bool = True) -> str:
    """The SQL that drops index ``name`` if it exists."""
    quote = dialect.identifier_preparer.quote
    return f"DROP INDEX {_concurrent(dialect, concurrently)}IF EXISTS {quote(name)}"


def existing_indexes(connection: Connection, naming: SchemaNaming) -> dict[str, bool]:
    """Which of the opt-in indexes exist on the user table, each with whether it is valid."""
    names = {index.name for index in list_indexes(naming, connection.dialect)}
    table = naming.table("user")
    if connection.dialect.name == "postgresql":
        query = text(
            "SELECT c.relname, i.indisvalid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE t.relname = :table AND pg_catalog.pg_table_is_visible(t.oid)"
        )
        rows = connection.execute(query, {"table": table}).all()
        return {str(name): bool(valid) for name, valid in rows if name in names}
    query = text(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    )
    rows = connection.execute(query, {"t": table}).all()
    return {str(row[0]): True for row in rows if row[0] in names}


def _has_trigram(connection: Connection, report: IndexReport) -> bool:
    """Whether ``pg_trgm`` is (now) installed; why not in ``report`` when it is not."""
    installed = "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
    if connection.exec_driver_sql(installed).first() is not None:
        return True
    try:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as error:
        # SQLAlchemy 2.0 prefixes the driver's message with its exception class; 2.1 does not
        reason = re.sub(
            r"^<class '[^']*'>: ", "", str(error.orig).strip().splitlines()[0]
        )
        report.messages.append(
            f"pg_trgm could not be created ({reason}); the search indexes are skipped. "
            "Ask the database owner or a superuser to run `CREATE EXTENSION pg_trgm;` in "
            "this database (the package postgresql-contrib provides it on older "
            "PostgreSQL), then run this command again."
        )
        return False
    report.messages.append("created extension pg_trgm")
    return True


def _create(
    connection: Connection, naming: SchemaNaming, concurrently: bool
) -> IndexReport:
    dialect, report = connection.dialect, IndexReport()
    quote, how = dialect.identifier_preparer.quote, _concurrent(dialect, concurrently)
    present = existing_indexes(connection, naming)
    indexes = list_indexes(naming, dialect)
    trigram = any(index.kind == "trigram" for index in indexes) and _has_trigram(
        connection, report
    )
    for index in indexes:
        if index.kind == "trigram" and not trigram:
            report.skipped.append(index.name)
            continue
        if present.get(index.name):
            report.unchanged.append(index.name)
            continue
        if index.name in present:  # invalid: left by a failed concurrent build
            connection.exec_driver_sql(
                drop_statement(dialect, index.name, concurrently=concurrently)
            )
            report.messages.append(f"dropped invalid index {index.name} to rebuild it")
        connection.exec_driver_sql(
            f"CREATE INDEX {how}IF NOT EXISTS {quote(index.name)} ON {index.definition}"
        )
        report.done.append(index.name)
    return report


def _drop(
    connection: Connection, naming: SchemaNaming, concurrently: bool
) -> IndexReport:
    report = IndexReport()
    present = existing_indexes(connection, naming)
    for index in list_indexes(naming, connection.dialect):
        if index.name not in present:
            report.unchanged.append(index.name)
            continue
        connection.exec_driver_sql(
            drop_statement(connection.dialect, index.name, concurrently=concurrently)
        )
        report.done.append(index.name)
    return report


async def create_indexes(
    engine: AsyncEngine,
    naming: SchemaNaming | None = None,
    *,
    concurrently: bool = True,
) -> IndexReport:
    """Create the opt-in list indexes that are missing (see the module docstring).

    Each statement runs on its own (autocommit), as ``CREATE INDEX CONCURRENTLY`` requires;
    ``concurrently=False`` builds them faster under a lock that blocks writes to the table.
    """
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return await autocommit.run_sync(
            _create, naming or SchemaNaming(), concurrently
        )


async def drop_indexes(
    engine: AsyncEngine,
    naming: SchemaNaming | None = None,
    *,
    concurrently: bool = True,
) -> IndexReport:
    """Drop the opt-in list indexes that exist; ``pg_trgm`` stays (others may use it)."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return await autocommit.run_sync(_drop, naming or SchemaNaming(), concurrently)
