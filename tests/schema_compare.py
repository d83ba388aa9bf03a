"""Describe a schema as plain data, from a live database or from SQLAlchemy metadata, to diff them.

Both sides go through the same description: table → columns (type as PostgreSQL names it,
nullability, server default), primary key, unique constraints, indexes and foreign keys,
each with its name. Two equal descriptions mean zero differences.
"""

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import ForeignKeyConstraint, UniqueConstraint

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
Description = dict[str, dict[str, Any]]


def _default(value: Any) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "arg", value))
    text = getattr(getattr(value, "arg", None), "text", text)
    return text.upper()


def describe_database(connection: Connection) -> Description:
    """What is really in the database (reflected)."""
    inspector = inspect(connection)
    result: Description = {}
    for table in inspector.get_table_names():
        if table == "fastapi_better_auth_version":
            continue
        pk = inspector.get_pk_constraint(table)
        result[table] = {
            "columns": {
                col["name"]: (
                    col["type"].compile(dialect=_PG),
                    col["nullable"],
                    _default(col["default"]),
                )
                for col in inspector.get_columns(table)
            },
            "column_order": [col["name"] for col in inspector.get_columns(table)],
            "primary_key": (pk["name"], tuple(pk["constrained_columns"])),
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if not i.get("duplicates_constraint")
            ),
            "foreign_keys": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options") or {}).get("ondelete", "").upper() or None,
                )
                for fk in inspector.get_foreign_keys(table)
            ),
        }
    return result


def describe_metadata(metadata: MetaData) -> Description:
    """What the models declare, in the same form."""
    result: Description = {}
    for table in metadata.sorted_tables:
        pk = table.primary_key
        result[table.name] = {
            "columns": {
                col.name: (
                    col.type.compile(dialect=_PG),
                    bool(col.nullable),
                    _default(col.server_default),
                )
                for col in table.columns
            },
            "column_order": [col.name for col in table.columns],
            "primary_key": (pk.name, tuple(c.name for c in pk.columns)),
            "unique": sorted(
                (c.name, tuple(col.name for col in c.columns))
                for c in table.constraints
                if isinstance(c, UniqueConstraint)
            ),
            "indexes": sorted(
                (i.name, tuple(c.name for c in i.columns), bool(i.unique))
                for i in table.indexes
            ),
            "foreign_keys": sorted(
                (
                    c.name,
                    tuple(col.name for col in c.columns),
                    c.referred_table.name,
                    tuple(e.column.name for e in c.elements),
                    (c.ondelete or "").upper() or None,
                )
                for c in table.constraints
                if isinstance(c, ForeignKeyConstraint)
            ),
        }
    return result


def differences(expected: Description, actual: Description) -> list[str]:
    """Every difference, one readable line each; empty when the schemas match."""
    lines = [f"missing table {t}" for t in sorted(set(expected) - set(actual))]
    lines += [f"unexpected table {t}" for t in sorted(set(actual) - set(expected))]
    for table in sorted(set(expected) & set(actual)):
        for key, value in expected[table].items():
            if actual[table][key] != value:
                lines.append(
                    f"{table}.{key}: expected {value!r}, got {actual[table][key]!r}"
                )
    return lines


def ddl_section(path: Path, number: int) -> list[str]:
    """The SQL statements of section ``number`` of Better-Auth's ``schema.sql`` (commented or not)."""
    sections = re.split(r"^-- (\d)\) ", path.read_text(), flags=re.MULTILINE)
    body = dict(zip(sections[1::2], sections[2::2], strict=True))[str(number)]
    return re.findall(r"^create [^;]+;", body, flags=re.MULTILINE)
