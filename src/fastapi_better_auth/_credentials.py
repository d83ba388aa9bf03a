"""Which credential a request presents, read from plain values: no FastAPI, testable with dicts.

Better-Auth's rules, in its order: an ``Authorization`` header is judged alone (a JWT, or a
bearer-plugin session token, raw or signed); otherwise the session cookie under the one name
Better-Auth sets (``__Secure-``-prefixed on https: ``BetterAuthSettings.session_cookie_name``),
whose writes need a trusted ``Origin`` (CSRF) and whose signature is checked here. Out comes a
``PresentedCredential``: a JWT still to verify, or a raw session token still to look up.
"""

import logging
from collections.abc import Iterable, Mapping
from typing import Protocol

from ._cookies import bearer_session_token, looks_like_jwt, verify_signed_token
from ._errors import CsrfError, InvalidSessionError, InvalidTokenError
from ._schemas import Credential
from ._settings import BetterAuthSettings

logger = logging.getLogger(__name__)

#: Methods whose cookie-authenticated requests need a trusted ``Origin``.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


#: ``(kind, value)``, the form already checked. ``"jwt"``: ``value`` is a JWT to verify;
#: ``"bearer"`` or ``"cookie"``: the raw session token (its signature, if any, checked) to look
#: up. A plain pair, not a class: one is built per request, and a ``NamedTuple`` costs 0.2 µs.
PresentedCredential = tuple[Credential, str]


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


class RequestValues(Protocol):
    """What extraction reads of a request: Starlette's ``Request`` is one, so is a small dataclass.

    Read as attributes, not passed as values, so the cookies are parsed only when no
    ``Authorization`` header decides (a property on Starlette's request).
    """

    @property
    def method(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Looked up by lower-case name, as ASGI gives them."""
        ...

    @property
    def cookies(self) -> Mapping[str, str]: ...


def authorization(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """The first ``Authorization`` header's raw value (ASGI's names are lower-case), the one
    :func:`present` judges: the key of the repeat cache (``_repeats``), read without decoding."""
    for name, value in headers:
        if name == b"authorization":
            return value
    return None


def present(
    settings: BetterAuthSettings, request: RequestValues
) -> PresentedCredential | None:
    """The credential a request presents, or None when it presents none.

    Raises:
        InvalidTokenError: an ``Authorization`` header that is not ``Bearer <token>``.
        InvalidSessionError: a session token or cookie whose signature does not verify, or a
            cookie while no ``BETTER_AUTH_SECRET`` is configured to verify it.
        CsrfError: a cookie-authenticated write without a trusted ``Origin``.
    """
    header = request.headers.get("authorization")
    secret = settings.secret
    if header is not None:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise InvalidTokenError(
                "The Authorization header must be 'Bearer <token>'."
            )
        if looks_like_jwt(value):
            return ("jwt", value)
        raw = bearer_session_token(
            value, None if secret is None else secret.get_secret_value()
        )
        if raw is None:
            raise InvalidSessionError()
        return ("bearer", raw)
    cookie = request.cookies.get(settings.session_cookie_name)
    if cookie is None:
        return None
    check_origin(settings, request.method, request.headers.get("origin"))
    if secret is None:
        logger.warning("better_auth.cookie_without_secret")
        raise InvalidSessionError(
            "Session cookies need BETTER_AUTH_SECRET to be verified."
        )
    raw = verify_signed_token(cookie, secret.get_secret_value())
    if raw is None:
        raise InvalidSessionError()
    return ("cookie", raw)
