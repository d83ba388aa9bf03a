"""Alembic environment: runs on the connection and naming that ``_schema.migrate`` hands over."""

from alembic import context

from fastapi_better_auth._schema.migrate import VERSION_TABLE

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # offline mode: emit SQL for the configured dialect
    context.configure(
        dialect_name=config.attributes.get("dialect_name", "postgresql"),
        literal_binds=True,
        version_table=VERSION_TABLE,
        transactional_ddl=True,
    )
else:
    context.configure(
        connection=connection, version_table=VERSION_TABLE, transactional_ddl=True
    )

with context.begin_transaction():
    context.run_migrations(naming=config.attributes["naming"])
