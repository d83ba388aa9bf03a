"""Better-Auth 1.7 schema: core tables with the admin and jwt plugins' columns.

A frozen copy of what Better-Auth 1.7.25's own migration creates (``schema.sql``), named
through the ``SchemaNaming`` of the settings. Later Better-Auth changes get new revisions;
this one never changes.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fastapi_better_auth._naming import SchemaNaming
from fastapi_better_auth._types import JSBoolean, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TEXT, _BOOL, _DATE = sa.Text(), JSBoolean(), UTCDateTime()
_NOW = sa.text("CURRENT_TIMESTAMP")
_GEN_UUID = sa.text("pg_catalog.gen_random_uuid()")

# (field, type, nullable, server default) in Better-Auth's column order
_TABLES: dict[str, list[tuple[str, Any, bool, Any]]] = {
    "user": [
        ("id", _TEXT, False, None),
        ("name", _TEXT, False, None),
        ("email", _TEXT, False, None),
        ("emailVerified", _BOOL, False, None),
        ("image", _TEXT, True, None),
        ("createdAt", _DATE, False, _NOW),
        ("updatedAt", _DATE, False, _NOW),
        ("role", _TEXT, True, None),
        ("banned", _BOOL, True, None),
        ("banReason", _TEXT, True, None),
        ("banExpires", _DATE, True, None),
    ],
    "session": [
        ("id", _TEXT, False, None),
        ("expiresAt", _DATE, False, None),
        ("token", _TEXT, False, None),
        ("createdAt", _DATE, False, _NOW),
        ("updatedAt", _DATE, False, None),
        ("ipAddress", _TEXT, True, None),
        ("userAgent", _TEXT, True, None),
        ("userId", _TEXT, False, None),
        ("impersonatedBy", _TEXT, True, None),
    ],
    "account": [
        ("id", _TEXT, False, None),
        ("accountId", _TEXT, False, None),
        ("providerId", _TEXT, False, None),
        ("userId", _TEXT, False, None),
        ("accessToken", _TEXT, True, None),
        ("refreshToken", _TEXT, True, None),
        ("idToken", _TEXT, True, None),
        ("accessTokenExpiresAt", _DATE, True, None),
        ("refreshTokenExpiresAt", _DATE, True, None),
        ("scope", _TEXT, True, None),
        ("password", _TEXT, True, None),
        ("createdAt", _DATE, False, _NOW),
        ("updatedAt", _DATE, False, None),
    ],
    "verification": [
        ("id", _TEXT, False, None),
        ("identifier", _TEXT, False, None),
        ("value", _TEXT, False, None),
        ("expiresAt", _DATE, False, None),
        ("createdAt", _DATE, False, _NOW),
        ("updatedAt", _DATE, False, _NOW),
    ],
    "jwks": [
        ("id", _TEXT, False, None),
        ("publicKey", _TEXT, False, None),
        ("privateKey", _TEXT, False, None),
        ("createdAt", _DATE, False, None),
        ("expiresAt", _DATE, True, None),
        ("alg", _TEXT, True, None),
        ("crv", _TEXT, True, None),
    ],
}
_UNIQUE = {"user": "email", "session": "token"}
_USER_FK = ("session", "account")
_INDEXES = {"session": "userId", "account": "userId", "verification": "identifier"}


def upgrade(*, naming: SchemaNaming, **_: Any) -> None:
    user_table, user_id = naming.table("user"), naming.column("user", "id")
    dialect = op.get_context().dialect.name
    # Better-Auth's SQLite DDL has no defaults: CURRENT_TIMESTAMP there would store local-time text
    defaults = dialect != "sqlite"
    # generateId "uuid": PostgreSQL uuid ids made by the database (elsewhere text ids made in JS)
    uuid_ids = naming.id_type == "uuid" and dialect == "postgresql"
    # generateId "serial": integer ids made by the database (an identity on PostgreSQL, the
    # rowid on SQLite), integer userId columns
    serial_ids = naming.id_type == "serial"
    # sqlite_dates "epoch_ms": integer dates on SQLite (Drizzle's timestamp_ms), the form the
    # settings then expect; Better-Auth's own (Kysely) DDL is the ISO text in ``date`` columns
    epoch_dates = naming.sqlite_dates == "epoch_ms" and dialect == "sqlite"

    def make_column(
        model: str, field: str, type_: Any, nullable: bool, default: Any
    ) -> sa.Column[Any]:
        extra: list[Any] = []
        if uuid_ids and field in ("id", "userId"):
            type_ = postgresql.UUID(as_uuid=False)
            default = _GEN_UUID if field == "id" else None
        elif serial_ids and field in ("id", "userId"):
            type_ = sa.Integer()
            if field == "id" and dialect == "postgresql":
                extra.append(sa.Identity(always=False))
        elif epoch_dates and type_ is _DATE:
            type_ = sa.Integer()
        return sa.Column(
            naming.column(model, field),
            type_,
            *extra,
            nullable=nullable,
            server_default=default if defaults else None,
        )

    for model, columns in _TABLES.items():
        table = naming.table(model)
        items: list[Any] = [make_column(model, *spec) for spec in columns]
        items.append(
            sa.PrimaryKeyConstraint(naming.column(model, "id"), name=f"{table}_pkey")
        )
        if model in _UNIQUE:
            column = naming.column(model, _UNIQUE[model])
            items.append(sa.UniqueConstraint(column, name=f"{table}_{column}_key"))
        if model in _USER_FK:
            column = naming.column(model, "userId")
            items.append(
                sa.ForeignKeyConstraint(
                    [column],
                    [f"{user_table}.{user_id}"],
                    name=f"{table}_{column}_fkey",
                    ondelete="CASCADE",
                )
            )
        op.create_table(table, *items)
    for model, field in _INDEXES.items():
        table, column = naming.table(model), naming.column(model, field)
        op.create_index(f"{table}_{column}_idx", table, [column])


def downgrade(*, naming: SchemaNaming, **_: Any) -> None:
    for model in ("jwks", "verification", "account", "session", "user"):
        op.drop_table(naming.table(model))
