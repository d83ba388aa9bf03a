"""Command line: ``python -m fastapi_better_auth migrate {upgrade,downgrade,current,sql}``.

The database and naming come from the same ``BETTER_AUTH_*`` settings as the app.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import create_async_engine

from . import _migrate
from ._errors import ConfigurationError
from ._settings import BetterAuthSettings


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
    return parser


def _settings(database_url: str | None, *, need_database: bool) -> BetterAuthSettings:
    overrides: dict[str, str] = {}
    if database_url:
        overrides["database_url"] = database_url
    if not need_database:
        overrides.setdefault("database_url", "sqlite://")
    overrides.setdefault("url", "http://localhost")  # migrations never use it
    return BetterAuthSettings.load(**overrides)


async def _run(args: argparse.Namespace) -> str:
    settings = _settings(
        getattr(args, "database_url", None), need_database=args.action != "sql"
    )
    if args.action == "sql":
        return _migrate.offline_sql(settings.naming, dialect=args.dialect)
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        if args.action == "upgrade":
            await _migrate.upgrade(engine, settings.naming, args.revision)
            return f"upgraded to {args.revision}"
        if args.action == "downgrade":
            await _migrate.downgrade(engine, settings.naming, args.revision)
            return f"downgraded to {args.revision}"
        return (await _migrate.current(engine)) or "none"
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        print(asyncio.run(_run(args)))
    except ConfigurationError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
