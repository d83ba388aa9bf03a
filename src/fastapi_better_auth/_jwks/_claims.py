"""What a token must say to be accepted: its header (before any key lookup) and its claims.

Pure functions of the decoded JSON and the settings, no I/O and no key: the verifier calls
:func:`check_header` before it looks a key up, and :class:`ClaimRules` once the signature holds.
Every refusal is an :class:`InvalidTokenError` with a short ``reason`` attribute for logs.
"""

from collections.abc import Callable
from typing import Any

from .._errors import InvalidTokenError, TokenExpiredError
from .._settings import BetterAuthSettings
from ._jose import b64url_decode, loads_object
from ._keys import MAX_KID_LENGTH, normalize_algorithm

__all__ = ["ClaimRules", "check_header", "copy_claims", "invalid", "nested_members"]

#: Time claims beyond this many seconds from the epoch (year 31 690 000) are nonsense.
_MAX_TIME = 1e15
#: Headers that would let a token choose its own key, or change what is signed.
_REFUSED_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "crit", "zip", "cty"})
_JWT_TYPES = frozenset({"jwt", "application/jwt"})


def invalid(
    message: str, reason: str, error: type[InvalidTokenError] = InvalidTokenError
) -> InvalidTokenError:
    """An :class:`InvalidTokenError` carrying ``reason`` (a short word for logs)."""
    exc = error(message)
    # InvalidTokenError declares no ``reason``; it is an optional attribute for logs.
    setattr(exc, "reason", reason)  # noqa: B010
    return exc


def check_header(segment: str, algorithms: frozenset[str]) -> tuple[str, str]:
    """``(alg, kid)`` of an acceptable header (a pure function of the segment, so it is cached)."""
    try:
        header = loads_object(b64url_decode(segment))
    except ValueError as exc:
        raise invalid("token is malformed", "malformed") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or normalize_algorithm(alg) not in algorithms:
        raise invalid("token algorithm is not allowed", "alg_not_allowed")
    if not _REFUSED_HEADERS.isdisjoint(header) or header.get("b64", True) is not True:
        raise invalid("token header has an unsupported member", "refused_header")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _JWT_TYPES):
        raise invalid("token type is not JWT", "bad_typ")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise invalid("token has no usable key id", "no_kid")
    return normalize_algorithm(alg), kid


def _copy(value: Any) -> Any:
    """A copy of JSON data, so callers never share (and mutate) the cached claims."""
    if isinstance(value, dict):
        return {name: _copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def nested_members(claims: dict[str, Any]) -> tuple[str, ...]:
    """The claims holding arrays or objects: a copy must copy those; the rest are immutable."""
    return tuple(
        name for name, value in claims.items() if isinstance(value, (dict, list))
    )


def copy_claims(claims: dict[str, Any], nested: tuple[str, ...]) -> dict[str, Any]:
    """A deep copy of claims whose containers are the ``nested`` members (usually none)."""
    copied = claims.copy()
    for name in nested:
        copied[name] = _copy(copied[name])
    return copied


def _number(claims: dict[str, Any], name: str) -> float:
    """A required time claim."""
    value = claims.get(name)
    if value is None:
        raise invalid(f"token has no {name!r} claim", "missing_claim")
    return _time(value, name)


def _time(value: Any, name: str) -> float:
    # JSON numbers only (no bool, no string, no null), and sane ones: no infinity, no 400-digit int.
    if type(value) not in (int, float) or not -_MAX_TIME <= value <= _MAX_TIME:
        raise invalid(f"token claim {name!r} is not a valid time", "bad_claim")
    number: float = value
    return number


class ClaimRules:
    """The claims Better-Auth's tokens must carry: ``exp``, ``iat``, ``sub``, ``iss``, ``aud``.

    Args:
        settings: the trusted issuer and audiences, the leeway and the longest lifetime.
        clock: the wall clock (seconds since the epoch); tests freeze it.
    """

    def __init__(
        self, settings: BetterAuthSettings, clock: Callable[[], float]
    ) -> None:
        self._issuer = settings.expected_issuer
        self._audiences = settings.expected_audiences
        self._leeway = settings.jwt_leeway_seconds
        self._max_lifetime = settings.jwt_max_lifetime_seconds
        self._clock = clock

    def window(self, claims: dict[str, Any]) -> tuple[float, float]:
        """``(from, until)``: claims that passed :meth:`check` stay acceptable while
        ``from <= now < until``. Only the time rules depend on when: a verified token's cache
        hit compares two floats instead of re-checking every claim (about 1 µs per request)."""
        start = max(claims["iat"], claims.get("nbf", claims["iat"]))
        return start - self._leeway, claims["exp"] + self._leeway

    def check(self, claims: dict[str, Any]) -> None:
        """Raise unless the claims are acceptable now.

        Raises:
            TokenExpiredError: ``exp`` has passed (beyond the leeway).
            InvalidTokenError: any other claim is missing, malformed or not accepted.
        """
        exp, iat = _number(claims, "exp"), _number(claims, "iat")
        # optional, but a NumericDate when present: ``null`` is refused, as jose and PyJWT do
        nbf = _time(claims["nbf"], "nbf") if "nbf" in claims else None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise invalid("token has no subject", "bad_sub")
        iss = claims.get("iss")
        if not isinstance(iss, str) or iss != self._issuer:
            raise invalid("token issuer is not trusted", "bad_iss")
        aud = claims.get("aud")
        if isinstance(aud, str):
            accepted = aud in self._audiences
        elif isinstance(aud, list) and all(isinstance(item, str) for item in aud):
            accepted = not self._audiences.isdisjoint(aud)
        else:
            raise invalid("token has no valid 'aud' claim", "bad_aud")
        if not accepted:
            raise invalid("token audience is not accepted", "bad_aud")
        if not 0 < exp - iat <= self._max_lifetime:
            raise invalid("token lifetime is invalid or too long", "bad_lifetime")
        now = self._clock()
        if iat > now + self._leeway:
            raise invalid("token is issued in the future", "iat_future")
        if nbf is not None and nbf > now + self._leeway:
            raise invalid("token is not valid yet", "not_yet_valid")
        if exp <= now - self._leeway:
            raise invalid("token expired", "expired", TokenExpiredError)
