"""``python -m fastapi_better_auth check``: is this deployment wired to its Better-Auth? One line per check.

Each line is ``ok``, ``FAIL`` or ``skip`` (a check that needs an earlier one), then what was
found: the settings, the database (its URL with the password hidden), the schema against the
naming settings, the JWKS and its keys, the issuer and audience a token needs and, when given,
whether a token or cookie is accepted, step by step. No token, secret or password is printed.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from . import _cookies
from ._errors import (
    AuthenticationError,
    BetterAuthError,
    ConfigurationError,
    DatabaseUnavailableError,
    PermissionDeniedError,
    UpstreamUnavailableError,
)
from ._jwks import JWKSVerifier, b64url_decode, loads_object, normalize_algorithm
from ._runtime import BetterAuth
from ._schema_check import SchemaReport, check_schema, driver_error
from ._schemas import AuthenticatedSession, Credential
from ._settings import SUPPORTED_ALGORITHMS, BetterAuthSettings

__all__ = ["Checks", "run_checks"]


@dataclass
class Checks:
    """The lines printed so far and whether any failed."""

    write: Callable[[str], None] = print
    failed: bool = False

    def line(self, status: str, name: str, detail: str) -> None:
        """Print ``status name: detail``; ``FAIL`` makes the command exit 1."""
        self.failed = self.failed or status == "FAIL"
        self.write(f"{status:<4} {name}: {detail}")


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


def _shown_url(url: str) -> str:
    """An HTTP URL without credentials or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


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


async def _jwks(checks: Checks, settings: BetterAuthSettings) -> None:
    """Every key the JWKS publishes, then which of them ``jwt_algorithms`` lets verify."""
    url = _shown_url(settings.resolved_jwks_url)
    every = settings.model_copy(update={"jwt_algorithms": SUPPORTED_ALGORITHMS})
    verifier = JWKSVerifier(every)
    try:
        await verifier.warm()
    finally:
        await verifier.aclose()
    keys = verifier.key_algorithms
    if not keys:
        checks.line("FAIL", "jwks", f"{url}: {verifier.last_error or 'no keys'}")
        return
    counts: dict[str, int] = {}
    for algorithm in keys.values():
        counts[algorithm] = counts.get(algorithm, 0) + 1
    listed = ", ".join(f"{alg} x{n}" for alg, n in sorted(counts.items()))
    skipped = len(verifier.unusable_kids)
    found = f"{url}: {len(keys)} key(s) ({listed})" + (
        f", {skipped} unusable skipped" if skipped else ""
    )
    allowed = {normalize_algorithm(name) for name in settings.jwt_algorithms}
    usable = sum(n for alg, n in counts.items() if alg in allowed)
    setting = f"BETTER_AUTH_JWT_ALGORITHMS={','.join(sorted(settings.jwt_algorithms))}"
    if usable:
        checks.line("ok", "jwks", f"{found}; {usable} usable with {setting}")
    else:
        published = ",".join(sorted(counts))
        checks.line(
            "FAIL",
            "jwks",
            f"{found}; none usable with {setting}: set BETTER_AUTH_JWT_ALGORITHMS={published}",
        )


def _claims_needed(checks: Checks, settings: BetterAuthSettings) -> None:
    audiences = " or ".join(f'"{a}"' for a in sorted(settings.expected_audiences))
    source = (
        "BETTER_AUTH_ISSUER" if settings.issuer else "the origin of BETTER_AUTH_URL"
    )
    checks.line(
        "ok",
        "claims",
        f'a JWT needs iss "{settings.expected_issuer}" ({source}) and aud {audiences}',
    )


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWT's header and payload, not verified: only to explain why verification failed."""
    try:
        header, payload, _ = token.split(".")
        return loads_object(b64url_decode(header)), loads_object(b64url_decode(payload))
    except ValueError:
        return {}, {}


def _why(error: BetterAuthError, token: str, settings: BetterAuthSettings) -> str:
    """The verifier's reason, with the claim values that explain it (never the token)."""
    header, claims = _unverified(token)
    reason = getattr(error, "reason", None)
    if reason == "bad_iss":
        return (
            f'{error.message}: iss is "{claims.get("iss")}", the settings expect '
            f'"{settings.expected_issuer}" (BETTER_AUTH_URL or BETTER_AUTH_ISSUER)'
        )
    if reason == "bad_aud":
        expected = ", ".join(sorted(settings.expected_audiences))
        return (
            f"{error.message}: aud is {claims.get('aud')!r}, the settings accept "
            f"{expected} (BETTER_AUTH_AUDIENCE)"
        )
    if reason == "expired" and isinstance(claims.get("exp"), (int, float)):
        return f"{error.message} {time.time() - claims['exp']:.0f} s ago"
    if header:
        return f"{error.message} (alg {header.get('alg')}, kid {header.get('kid')})"
    return error.message


async def _jwt(checks: Checks, auth: BetterAuth, token: str, database: bool) -> None:
    try:
        claims = await auth.verifier.verify(token)
    except (AuthenticationError, UpstreamUnavailableError) as error:
        checks.line("FAIL", "token", _why(error, token, auth.settings))
        return
    left = claims["exp"] - time.time()
    header, _ = _unverified(token)
    checks.line(
        "ok",
        "token",
        f"JWT signature, issuer, audience and expiry verify (alg {header.get('alg')}, "
        f"kid {header.get('kid')}, sub {claims['sub']}, expires in {left:.0f} s)",
    )
    await _identity(checks, database, lambda: auth.authenticator.from_jwt(token))


async def _session_token(
    checks: Checks, auth: BetterAuth, value: str, *, cookie: bool, database: bool
) -> None:
    name = "cookie" if cookie else "token"
    secret = auth.settings.secret
    cookie_name, equals, cookie_value = value.partition("=")
    if cookie and equals and cookie_name.endswith("session_token"):
        value = cookie_value  # pasted as name=value
    raw = None if cookie else _cookies.bearer_session_token(value, None)
    if raw is not None:
        checks.line(
            "ok", name, "a raw session token (unsigned, as the bearer plugin accepts)"
        )
    elif not _cookies.looks_signed(value):
        checks.line(
            "FAIL", name, "neither a JWT nor a signed session token (token.signature)"
        )
        return
    elif secret is None:
        checks.line(
            "FAIL", name, "signed, but BETTER_AUTH_SECRET is not set to verify it"
        )
        return
    else:
        raw = _cookies.verify_signed_token(value, secret.get_secret_value())
        if raw is None:
            checks.line(
                "FAIL",
                name,
                "the signature does not verify with BETTER_AUTH_SECRET "
                "(a different secret than Better-Auth's, or an altered value)",
            )
            return
        checks.line("ok", name, "signature verifies with BETTER_AUTH_SECRET")
    credential: Credential = "cookie" if cookie else "bearer"
    found = raw
    await _identity(
        checks,
        database,
        lambda: auth.authenticator.from_session_token(found, credential),
    )


async def _identity(
    checks: Checks,
    database: bool,
    lookup: Callable[[], Awaitable[AuthenticatedSession]],
) -> None:
    """Whether the user (and session) the credential names are accepted now, as a request would."""
    if not database:
        checks.line("skip", "session", "needs the database and a matching schema")
        return
    try:
        identity = await lookup()
    except (
        AuthenticationError,
        PermissionDeniedError,
        UpstreamUnavailableError,
    ) as error:
        checks.line("FAIL", "session", f"{error.code.value}: {error.message}")
        return
    session = identity.session
    detail = f"user {identity.user.id} accepted"
    if session is not None:
        detail += f", session {session.id} expires {session.expires_at.isoformat()}"
    checks.line("ok", "session", detail)


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
        await _jwks(checks, settings)
        _claims_needed(checks, settings)
        for name, value in (("token", token), ("cookie", cookie)):
            if value is not None:
                checks.line("skip", name, "needs a database engine")
        return False
    try:
        database = await _database(checks, auth)
        schema = database and await _schema(checks, auth)
        if not database:
            checks.line("skip", "schema", "needs the database")
        await _jwks(checks, settings)
        _claims_needed(checks, settings)
        if token is not None:
            if _cookies.looks_like_jwt(token):
                await _jwt(checks, auth, token, schema)
            else:
                await _session_token(checks, auth, token, cookie=False, database=schema)
        if cookie is not None:
            await _session_token(checks, auth, cookie, cookie=True, database=schema)
    finally:
        await auth.close()
    return not checks.failed
