"""The ``check`` command's JWKS and credential lines: what a token needs and whether one is accepted.

The JWKS and its keys, the issuer and audience a JWT needs, and, when given, a token or
cookie verified step by step as a request would (signature, then the user and session rows).
The reason a credential fails is explained with its claims, never with the token itself.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from .. import _cookies
from .._errors import (
    AuthenticationError,
    BetterAuthError,
    PermissionDeniedError,
    UpstreamUnavailableError,
)
from .._jwks import JWKSVerifier, b64url_decode, loads_object, normalize_algorithm
from .._runtime import BetterAuth
from .._schemas import AuthenticatedSession, Credential
from .._settings import SUPPORTED_ALGORITHMS, BetterAuthSettings
from .lines import Checks

__all__ = ["check_claims", "check_jwks", "check_jwt", "check_session_token"]


def _shown_url(url: str) -> str:
    """An HTTP URL without credentials or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


async def check_jwks(checks: Checks, settings: BetterAuthSettings) -> None:
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


def check_claims(checks: Checks, settings: BetterAuthSettings) -> None:
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


async def check_jwt(
    checks: Checks, auth: BetterAuth, token: str, database: bool
) -> None:
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


async def check_session_token(
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
