"""Command line: ``python -m fastapi_better_auth migrate {upgrade,downgrade,current,sql,indexes,notify}`` and ``check``.

The database and naming come from the same ``BETTER_AUTH_*`` settings as the app.
``check`` prints one ``ok``/``FAIL`` line per part of the deployment (settings, database,
schema, JWKS, and a token or cookie if given) and exits 1 if any failed.
``migrate indexes`` creates (``--drop``: drops) the opt-in indexes of the admin user list,
which are not part of Better-Auth's schema and never created by ``upgrade``.
``migrate notify`` installs (``--drop``: drops) the PostgreSQL triggers of push invalidation.
"""

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import create_async_engine

from .._database_url import parse_database_url
from .._errors import ConfigurationError
from .._push import sql as _push_sql
from .._schema import indexes as _indexes
from .._schema import migrate as _migrate
from .._schema import notify as _notify
from .._settings import BetterAuthSettings
from . import check as _checks


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fastapi_better_auth", description=__doc__
    )
    commands = parser.add_subparsers(dest="command", required=True)
    migrate = commands.add_parser("migrate", help="create or drop Better-Auth's tables")
    actions = migrate.add_subparsers(dest="action", required=True)
    for name, default in (("upgrade", "head"), ("downgrade", "base")):
        action = actions.add_parser(name)
        action.add_argument("revision", nargs="?", default=default)
        action.add_argument(
            "--database-url", help="overrides BETTER_AUTH_DATABASE_URL / DATABASE_URL"
        )
    current = actions.add_parser("current", help="print the applied revision")
    current.add_argument("--database-url")
    sql = actions.add_parser("sql", help="print the DDL without connecting")
    sql.add_argument(
        "--dialect", choices=["postgresql", "sqlite"], default="postgresql"
    )
    indexes = actions.add_parser(
        "indexes",
        help="create the opt-in indexes of the admin user list (not Better-Auth's schema)",
    )
    indexes.add_argument("--database-url")
    indexes.add_argument(
        "--drop", action="store_true", help="drop them instead (pg_trgm stays)"
    )
    indexes.add_argument(
        "--no-concurrently",
        dest="concurrently",
        action="store_false",
        help="PostgreSQL: build without CONCURRENTLY (faster, blocks writes meanwhile)",
    )
    indexes.add_argument(
        "--sql", action="store_true", help="print the statements without connecting"
    )
    indexes.add_argument(
        "--dialect", choices=["postgresql", "sqlite"], default="postgresql"
    )
    notify = actions.add_parser(
        "notify",
        help="PostgreSQL: install the triggers that NOTIFY changes of trust (push invalidation)",
    )
    notify.add_argument("--database-url")
    notify.add_argument("--drop", action="store_true", help="drop them instead")
    notify.add_argument(
        "--sql", action="store_true", help="print the statements without connecting"
    )
    check = commands.add_parser(
        "check",
        help="check the settings, database, schema and JWKS (and a credential) of this deployment",
    )
    check.add_argument(
        "--token", help="a Better-Auth JWT or session token (bearer plugin) to verify"
    )
    check.add_argument(
        "--cookie", help="the value of Better-Auth's session cookie to verify"
    )
    return parser


def _settings(database_url: str | None, *, need_database: bool) -> BetterAuthSettings:
    overrides: dict[str, str] = {}
    if database_url:
        overrides["database_url"] = database_url
    if not need_database:
        overrides.setdefault("database_url", "sqlite://")
    overrides.setdefault("url", "http://localhost")  # migrations never use it
    return BetterAuthSettings.load(**overrides)


def _index_sql(args: argparse.Namespace, settings: BetterAuthSettings) -> str:
    dialect = (postgresql if args.dialect == "postgresql" else sqlite).dialect()
    if args.drop:
        names = [i.name for i in _indexes.list_indexes(settings.naming, dialect)]
        statements = [
            _indexes.drop_statement(dialect, name, concurrently=args.concurrently)
            for name in names
        ]
    else:
        statements = _indexes.create_statements(
            settings.naming, dialect, concurrently=args.concurrently
        )
    return "\n".join(f"{statement};" for statement in statements)


def _report(report: _indexes.IndexReport, *, drop: bool) -> str:
    verb = "dropped" if drop else "created"
    lines = [*report.messages]
    lines += [f"{verb} {name}" for name in report.done]
    lines += [f"{'absent' if drop else 'present'} {name}" for name in report.unchanged]
    lines += [f"skipped {name}" for name in report.skipped]
    return "\n".join(lines)


def _notify_sql(args: argparse.Namespace, settings: BetterAuthSettings) -> str:
    statements = (
        _push_sql.drop_statements if args.drop else _push_sql.create_statements
    )(settings.naming)
    return "\n".join(f"{statement};" for statement in statements)


def _notify_report(report: _notify.NotifyReport, *, drop: bool) -> str:
    verb, same = ("dropped", "absent") if drop else ("installed", "present")
    lines = [*report.messages]
    lines += [f"{verb} triggers on {table}" for table in report.done]
    lines += [f"{same} triggers on {table}" for table in report.unchanged]
    return "\n".join(lines)


async def _run(args: argparse.Namespace) -> str:
    offline = args.action == "sql" or (
        args.action in ("indexes", "notify") and args.sql
    )
    settings = _settings(getattr(args, "database_url", None), need_database=not offline)
    if args.action == "sql":
        return _migrate.offline_sql(settings.naming, dialect=args.dialect)
    if offline:
        notify = args.action == "notify"
        return _notify_sql(args, settings) if notify else _index_sql(args, settings)
    database = parse_database_url(settings.database_url.get_secret_value())
    pooled = settings.database_pooler == "transaction"
    engine = create_async_engine(
        database.sqlalchemy_url,
        connect_args=database.connect_args(transaction_pooler=pooled),
    )
    try:
        if args.action == "notify":
            act = _notify.drop_triggers if args.drop else _notify.install_triggers
            return _notify_report(await act(engine, settings.naming), drop=args.drop)
        if args.action == "indexes":
            change = _indexes.drop_indexes if args.drop else _indexes.create_indexes
            report = await change(
                engine, settings.naming, concurrently=args.concurrently
            )
            if not report.complete:
                raise _Incomplete(_report(report, drop=args.drop))
            return _report(report, drop=args.drop)
        if args.action == "upgrade":
            await _migrate.upgrade(engine, settings.naming, args.revision)
            return f"upgraded to {args.revision}"
        if args.action == "downgrade":
            await _migrate.downgrade(engine, settings.naming, args.revision)
            return f"downgraded to {args.revision}"
        return (await _migrate.current(engine)) or "none"
    finally:
        await engine.dispose()


class _Incomplete(Exception):
    """Some of the asked changes could not be made; the message says which and why."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (1: indexes skipped or a check failed; 2: bad settings)."""
    args = _parser().parse_args(argv)
    if args.command == "check":
        library = logging.getLogger("fastapi_better_auth")
        level = library.level
        library.setLevel(logging.ERROR)  # its warnings would repeat the lines on stderr
        try:
            passed = asyncio.run(
                _checks.run_checks(token=args.token, cookie=args.cookie)
            )
        finally:
            library.setLevel(level)
        return 0 if passed else 1
    try:
        print(asyncio.run(_run(args)))
    except ConfigurationError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except _Incomplete as incomplete:
        print(incomplete, file=sys.stderr)
        return 1
    return 0
