"""Better-Auth's signed session token: the session cookie and the bearer plugin's ``token.signature``.

Better-Auth signs a session token as ``token + "." + base64(HMAC-SHA256(secret, token))``
(standard, padded base64: 44 characters ending in ``=``) and URL-encodes it in ``Set-Cookie``.
A bad signature means "no session", so these pure functions return ``None`` rather than raise,
whatever their input; only the raw token (the part before the last dot) is ever looked up.
"""

import base64
import hashlib
import hmac
import re
from urllib.parse import unquote

__all__ = [
    "bearer_session_token",
    "looks_like_jwt",
    "looks_signed",
    "sign_token",
    "verify_signed_token",
]

#: Cookies cannot be longer than about 4 KiB; anything longer is not Better-Auth's.
MAX_SIGNED_LENGTH = 4096
_SIGNATURE_LENGTH = 44
#: A raw session token: Better-Auth's are 32 characters of ``[A-Za-z0-9]``.
_RAW_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _signature(token: str, secret: str) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), token.encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_token(token: str, secret: str) -> str:
    """The signed form Better-Auth puts in its session cookie (before URL-encoding) and ``set-auth-token``.

    Raises:
        ValueError: the secret is empty.
    """
    if not secret:
        raise ValueError("the secret must not be empty")
    return f"{token}.{_signature(token, secret)}"


def _split_signed(value: object) -> tuple[str, str] | None:
    """``(token, signature)`` if ``value`` has the signed shape, URL-decoded when it contains ``%``."""
    if not isinstance(value, str) or len(value) > MAX_SIGNED_LENGTH:
        return None
    if "%" in value:
        value = unquote(value)
    token, dot, signature = value.rpartition(".")
    if (
        not dot
        or len(signature) != _SIGNATURE_LENGTH
        or not signature.endswith("=")
        or not signature.isascii()
    ):
        return None
    return token, signature


def looks_signed(value: str) -> bool:
    """Whether a value has the signed form ``token.signature`` (whatever the signature's key)."""
    return _split_signed(value) is not None


def verify_signed_token(value: str, secret: str) -> str | None:
    """The raw session token of a correctly signed value, else ``None`` (never raises)."""
    parts = _split_signed(value)
    if parts is None or not isinstance(secret, str) or not secret or not parts[0]:
        return None
    token, signature = parts
    try:
        expected = _signature(token, secret)
    except UnicodeEncodeError:  # lone surrogates: no such token was ever signed
        return None
    return (
        token
        if hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))
        else None
    )


def looks_like_jwt(value: str) -> bool:
    """Whether a bearer value has a JWT's shape (three segments, a JSON header) rather than a session token's."""
    return isinstance(value, str) and value.startswith("eyJ") and value.count(".") == 2


def bearer_session_token(value: str, secret: str | None) -> str | None:
    """The raw session token in an ``Authorization: Bearer`` value, as Better-Auth's bearer plugin reads it.

    A signed value must carry a valid signature (``None`` otherwise, or when no secret is
    configured to check it); a raw token (``[A-Za-z0-9_-]``, at most 255 characters) is returned
    as it is. Anything else is ``None``. Tell JWTs apart first with :func:`looks_like_jwt`.
    """
    if _split_signed(value) is not None:
        return verify_signed_token(value, secret) if secret else None
    if isinstance(value, str) and _RAW_TOKEN.fullmatch(value):
        return value
    return None
