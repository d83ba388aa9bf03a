"""``python -m fastapi_better_auth check``: is this deployment wired to its Better-Auth? One line per check.

Each line is ``ok``, ``FAIL`` or ``skip`` (a check that needs an earlier one), then what was
found: the settings, the database (its URL with the password hidden), the schema against the
naming settings, the JWKS and its keys, the issuer and audience a token needs and, when given,
whether a token or cookie is accepted, step by step. No token, secret or password is printed.
"""

import time
from collections.abc import Callable

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .. import _cookies
from .._errors import BetterAuthError, ConfigurationError, DatabaseUnavailableError
from .._runtime import BetterAuth
from .._schema.catalog import driver_error
from .._schema.diagnosis import check_schema
from .._schema.report import SchemaReport
from .._settings import BetterAuthSettings
from .check_tokens import check_claims, check_jwks, check_jwt, check_session_token
from .lines import Checks

__all__ = ["Checks", "run_checks"]


def _error_text(exc: BaseException, password: str | None) -> str:
    """The driver's own error (not SQLAlchemy's wrapper), one line, password removed."""
    cause = exc.__cause__ if isinstance(exc, BetterAuthError) and exc.__cause__ else exc
    detail = driver_error(cause)
    return detail.replace(password, "***") if password else detail


def _shown_database(url: str) -> str:
    """The database URL with its password as ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the database URL (unreadable)"


def _naming(settings: BetterAuthSettings) -> str:
    naming = settings.naming
    parts = [
        "plural tables" if naming.use_plural else "singular tables",
        f"{naming.column_case} columns",
        f"{naming.id_type} ids",
    ]
    if naming.model_names:
        parts.append(f"model names {dict(naming.model_names)}")
    if naming.field_names:
        parts.append("field names set")
    return ", ".join(parts)


async def _database(checks: Checks, auth: BetterAuth) -> bool:
    url = auth.engine.url
    shown = url.render_as_string(hide_password=True)
    started = time.perf_counter()
    try:
        await auth.check_database()
    except (DatabaseUnavailableError, SQLAlchemyError, OSError) as exc:
        checks.line("FAIL", "database", f"{shown}: {_error_text(exc, url.password)}")
        return False
    elapsed = (time.perf_counter() - started) * 1000
    checks.line("ok", "database", f"{shown} answers ({elapsed:.0f} ms)")
    return True


async def _schema(checks: Checks, auth: BetterAuth) -> bool:
    try:
        async with auth.engine.connect() as connection:
            report: SchemaReport = await check_schema(
                connection,
                auth.models.naming,
                sqlite_dates=getattr(auth.settings, "sqlite_dates", None),
            )
    except SQLAlchemyError as exc:
        checks.line("FAIL", "schema", _error_text(exc, auth.engine.url.password))
        return False
    except ValueError as exc:  # neither PostgreSQL nor SQLite
        checks.line("skip", "schema", str(exc))
        return False
    if not report.ok:
        checks.line("FAIL", "schema", report.message())
        return False
    off = (
        ""
        if auth.settings.schema_check
        else " (BETTER_AUTH_SCHEMA_CHECK=false: start skips this)"
    )
    checks.line("ok", "schema", f"matches the settings: {report.summary()}{off}")
    return True


async def run_checks(
    *,
    token: str | None = None,
    cookie: str | None = None,
    write: Callable[[str], None] = print,
) -> bool:
    """Run every check, printing one line each; True when none failed."""
    checks = Checks(write)
    try:
        settings = BetterAuthSettings.load()
    except ConfigurationError as error:
        checks.line("FAIL", "settings", error.message)
        return False
    checks.line(
        "ok",
        "settings",
        f"BETTER_AUTH_URL={settings.origin}, {_naming(settings)}",
    )
    try:
        auth = BetterAuth(settings)
    except (SQLAlchemyError, ImportError) as exc:  # no such driver, or not an async one
        shown = _shown_database(settings.sqlalchemy_url)
        checks.line("FAIL", "database", f"{shown}: {driver_error(exc)}")
        checks.line("skip", "schema", "needs the database")
        await check_jwks(checks, settings)
        check_claims(checks, settings)
        for name, value in (("token", token), ("cookie", cookie)):
            if value is not None:
                checks.line("skip", name, "needs a database engine")
        return False
    try:
        database = await _database(checks, auth)
        schema = database and await _schema(checks, auth)
        if not database:
            checks.line("skip", "schema", "needs the database")
        await check_jwks(checks, settings)
        check_claims(checks, settings)
        if token is not None:
            if _cookies.looks_like_jwt(token):
                await check_jwt(checks, auth, token, schema)
            else:
                await check_session_token(
                    checks, auth, token, cookie=False, database=schema
                )
        if cookie is not None:
            await check_session_token(
                checks, auth, cookie, cookie=True, database=schema
            )
    finally:
        await auth.close()
    return not checks.failed
