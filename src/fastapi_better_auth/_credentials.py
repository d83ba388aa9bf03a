"""Which credential a request presents, read from plain values: no FastAPI, testable with dicts.

Better-Auth's rules, in its order: an ``Authorization`` header is judged alone (a JWT, or a
bearer-plugin session token, raw or signed); otherwise the session cookie under the one name
Better-Auth sets (``__Secure-``-prefixed on https: ``BetterAuthSettings.session_cookie_name``),
whose writes need a trusted ``Origin`` (CSRF) and whose signature is checked here. Out comes a
:class:`PresentedCredential`: a JWT still to verify, or a raw session token still to look up.
"""

import logging
from collections.abc import Mapping
from typing import NamedTuple

from ._cookies import bearer_session_token, looks_like_jwt, verify_signed_token
from ._errors import CsrfError, InvalidSessionError, InvalidTokenError
from ._schemas import Credential
from ._settings import BetterAuthSettings

logger = logging.getLogger(__name__)

#: Methods whose cookie-authenticated requests need a trusted ``Origin``.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PresentedCredential(NamedTuple):
    """A credential as the request presented it, its form already checked.

    ``kind`` ``"jwt"``: ``value`` is a JWT to verify; ``"bearer"`` or ``"cookie"``: ``value``
    is the raw session token (its signature, if any, checked) to look up.
    """

    kind: Credential
    value: str


def check_origin(settings: BetterAuthSettings, method: str, origin: str | None) -> None:
    """Refuse a cookie-authenticated write whose ``Origin`` is missing or not trusted.

    Raises:
        CsrfError: an unsafe method without a trusted ``Origin``.
    """
    if method not in UNSAFE_METHODS:
        return
    if not origin or origin == "null":
        raise CsrfError(
            "A cookie-authenticated request that changes state needs an Origin header."
        )
    if origin.rstrip("/") not in settings.all_trusted_origins:
        raise CsrfError()


def _bearer(header: str, secret: str | None) -> PresentedCredential:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise InvalidTokenError("The Authorization header must be 'Bearer <token>'.")
    if looks_like_jwt(value):
        return PresentedCredential("jwt", value)
    raw = bearer_session_token(value, secret)
    if raw is None:
        raise InvalidSessionError()
    return PresentedCredential("bearer", raw)


def present(
    settings: BetterAuthSettings,
    method: str,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
) -> PresentedCredential | None:
    """The credential a request presents, or None when it presents none.

    Args:
        settings: the secret, the cookie name and the trusted origins.
        method: the request's method (a cookie write needs a trusted ``Origin``).
        headers: the request's headers, looked up by lower-case name (as ASGI gives them).
        cookies: the request's cookies by name.

    Raises:
        InvalidTokenError: an ``Authorization`` header that is not ``Bearer <token>``.
        InvalidSessionError: a session token or cookie whose signature does not verify, or a
            cookie while no ``BETTER_AUTH_SECRET`` is configured to verify it.
        CsrfError: a cookie-authenticated write without a trusted ``Origin``.
    """
    secret = settings.secret
    header = headers.get("authorization")
    if header is not None:
        return _bearer(header, None if secret is None else secret.get_secret_value())
    cookie = cookies.get(settings.session_cookie_name)
    if cookie is None:
        return None
    check_origin(settings, method, headers.get("origin"))
    if secret is None:
        logger.warning("better_auth.cookie_without_secret")
        raise InvalidSessionError(
            "Session cookies need BETTER_AUTH_SECRET to be verified."
        )
    raw = verify_signed_token(cookie, secret.get_secret_value())
    if raw is None:
        raise InvalidSessionError()
    return PresentedCredential("cookie", raw)
