"""The PostgreSQL triggers behind push invalidation, under any naming, and their catalog check.

One ``AFTER UPDATE OR DELETE … FOR EACH ROW`` trigger per table calls a PL/pgSQL function
that compares the old and new row *as JSON* (``to_jsonb``): a column the schema lacks (the
admin plugin's ``banned``, the organization plugin's ``activeOrganizationId``) reads as null on
both sides, so the trigger never fails a write of Better-Auth's, whatever plugins are on. It
``pg_notify``s on :data:`CHANNEL` only when trust changes:

- ``user``: deleted, or ``banned``, ``banExpires``, ``role``, ``emailVerified`` or ``id``
  changed → ``{"v": 1, "kind": "user", "id": <id>}``;
- ``session``: deleted, or ``token``, ``expiresAt``, ``userId``, ``impersonatedBy``,
  ``activeOrganizationId``, ``activeTeamId`` or ``id`` changed →
  ``{"v": 1, "kind": "session", "id": <id>, "user": <old userId>}``. Never the token.

A statement trigger on ``TRUNCATE`` sends ``{"v": 1, "kind": "reset"}``. PostgreSQL delivers a
notification when its transaction commits, so a listener that refills its cache then reads
the new row. Names: trigger ``fba_notify`` / ``fba_notify_truncate`` on each table, function
``fba_notify_<table>`` (in the connection's current schema, as the tables).
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._naming import SchemaNaming
from .events import PAYLOAD_VERSION

#: The one channel every trigger notifies and every listener listens on.
CHANNEL = "better_auth_invalidate"
ROW_TRIGGER = "fba_notify"
TRUNCATE_TRIGGER = "fba_notify_truncate"
#: Per model: the fields whose change is a change of trust.
WATCHED = {
    "user": ("id", "banned", "banExpires", "role", "emailVerified"),
    "session": ("id", "token", "expiresAt", "userId", "impersonatedBy",
                "activeOrganizationId", "activeTeamId"),
}  # fmt: skip
MODELS = ("user", "session")


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, always quoted (a table may be called ``user``)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A PostgreSQL string literal (standard_conforming_strings, the default since 9.1)."""
    return "'" + value.replace("'", "''") + "'"


def function_name(naming: SchemaNaming, model: str) -> str:
    """``fba_notify_<table>``, or its first 54 bytes and a hash past PostgreSQL's 63."""
    name = f"fba_notify_{naming.table(model)}"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name.encode()[:54].decode(errors="ignore") + "_" + digest


def function_body(naming: SchemaNaming, model: str) -> str:
    """The PL/pgSQL body (``pg_proc.prosrc``) of ``model``'s trigger function."""
    fields = [quote_literal(naming.column(model, name)) for name in WATCHED[model]]
    unchanged = "\n      AND ".join(
        f"old_row->{field} IS NOT DISTINCT FROM new_row->{field}" for field in fields
    )
    row_id = f"old_row->>{quote_literal(naming.column(model, 'id'))}"
    extra = ""
    if model == "session":
        extra = f", 'user', old_row->>{quote_literal(naming.column(model, 'userId'))}"
    channel = quote_literal(CHANNEL)
    return f"""
-- fastapi-better-auth push invalidation, payload v{PAYLOAD_VERSION}
DECLARE
  old_row jsonb;
  new_row jsonb;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify({channel}, '{{"v": {PAYLOAD_VERSION}, "kind": "reset"}}');
    RETURN NULL;
  END IF;
  old_row := to_jsonb(OLD);
  IF TG_OP = 'UPDATE' THEN
    new_row := to_jsonb(NEW);
    IF {unchanged} THEN
      RETURN NULL;
    END IF;
  END IF;
  PERFORM pg_notify({channel}, json_build_object(
    'v', {PAYLOAD_VERSION}, 'kind', '{model}', 'id', {row_id}{extra})::text);
  RETURN NULL;
END
"""


def create_statements(
    naming: SchemaNaming, models: Sequence[str] = MODELS
) -> list[str]:
    """The DDL that installs (or replaces) the tables' triggers; run in one transaction.

    ``models``: ``("user",)`` when sessions live in Redis only (no session table).
    """
    statements = []
    for model in models:
        table = quote_ident(naming.table(model))
        function = quote_ident(function_name(naming, model))
        statements += [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $fba${function_body(naming, model)}$fba$",
            f"DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON {table}",
            f"CREATE TRIGGER {ROW_TRIGGER} AFTER UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
            f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {table}",
            f"CREATE TRIGGER {TRUNCATE_TRIGGER} AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def drop_statements(naming: SchemaNaming) -> list[str]:
    """The DDL that removes the triggers and functions (``DROP FUNCTION … CASCADE``)."""
    return [
        f"DROP FUNCTION IF EXISTS {quote_ident(function_name(naming, model))}() CASCADE"
        for model in MODELS
    ]


def catalog_query(naming: SchemaNaming) -> str:
    """Per trigger of ours on both tables (visible in the search path): table, name, enabled, body.

    Names are inlined as literals, so asyncpg and SQLAlchemy run the same text.
    """
    triggers = ", ".join(map(quote_literal, (ROW_TRIGGER, TRUNCATE_TRIGGER)))
    tables = ", ".join(quote_literal(naming.table(model)) for model in MODELS)
    return (
        "SELECT c.relname, t.tgname, t.tgenabled <> 'D', p.prosrc"  # noqa: S608 (literals quoted)
        " FROM pg_catalog.pg_trigger t"
        " JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid"
        f" WHERE NOT t.tgisinternal AND t.tgname IN ({triggers})"
        f" AND c.relname IN ({tables}) AND pg_catalog.pg_table_is_visible(c.oid)"
    )


@dataclass(frozen=True)
class TriggerStatus:
    """Whether both tables carry the current triggers; ``problems`` says what is off."""

    problems: tuple[str, ...]
    #: Tables with a missing, disabled or outdated trigger of ours.
    stale: frozenset[str] = frozenset()
    #: Tables with at least one trigger of ours, current or not.
    present: frozenset[str] = frozenset()

    @property
    def installed(self) -> bool:
        """True when push invalidation can be relied on (every trigger present and current)."""
        return not self.problems


def trigger_status(
    naming: SchemaNaming, rows: Sequence[Sequence[Any]], models: Sequence[str] = MODELS
) -> TriggerStatus:
    """Compare :func:`catalog_query`'s rows with what ``migrate notify`` would install on
    ``models``' tables."""
    found = {(str(row[0]), str(row[1])): (bool(row[2]), str(row[3])) for row in rows}
    problems, stale = [], set()
    for model in models:
        table = naming.table(model)
        for trigger in (ROW_TRIGGER, TRUNCATE_TRIGGER):
            entry = found.get((table, trigger))
            if entry is None:
                problem = "is missing"
            elif not entry[0]:
                problem = "is disabled"
            elif entry[1] != function_body(naming, model):
                problem = "is outdated"
            else:
                continue
            problems.append(f"trigger {trigger} on {table} {problem}")
            stale.add(table)
    present = frozenset(table for table, _ in found)
    return TriggerStatus(tuple(problems), frozenset(stale), present)


async def read_trigger_status(
    connection: Any, naming: SchemaNaming, models: Sequence[str] = MODELS
) -> TriggerStatus:
    """Read the catalog on an asyncpg ``connection`` (the listener's, at start)."""
    rows = await connection.fetch(catalog_query(naming))
    return trigger_status(naming, rows, models)
