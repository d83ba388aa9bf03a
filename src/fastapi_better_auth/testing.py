"""Test your own app as Better-Auth would call it: tokens, a JWKS on loopback, rows and overrides.

```python
issuer = TokenIssuer()                         # EdDSA, like Better-Auth's default
with issuer.serve() as base_url:               # GET {base_url}/api/auth/jwks on 127.0.0.1
    settings = BetterAuthSettings.load(url=base_url, database_url=...)
    token = issuer.mint(user_claims(user))     # a Better-Auth-shaped JWT for a user row
```

``TokenIssuer`` signs like Better-Auth's ``jwt`` plugin (header ``{alg, kid}``, the whole user row
as payload, ``iss`` = ``aud`` = the origin, 15 minutes); ``rotate()``, ``mint(..., expires_in=-1)``
and ``forge()`` make the variants a verifier must handle. ``make_user``/``make_session``/
``make_account``/``make_api_key`` build model rows with Better-Auth's conventions under any
naming (``naming=settings.naming``; ``make_organization``/``make_member``/
``set_active_organization`` the organization plugin's), ``store_redis_session`` writes a session
to Redis as Better-Auth's ``secondaryStorage`` does, and ``session_cookie`` signs a session
token as Better-Auth's cookie does.

It signs with PyJWT, which the library itself does not need: install the ``testing`` extra,
``pip install "fastapi-better-auth-kit[testing]"``.
"""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

try:
    import jwt
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
except (
    ModuleNotFoundError
) as exc:  # the library runs without PyJWT; the testing kit signs with it
    raise ModuleNotFoundError(
        "fastapi_better_auth.testing signs tokens with PyJWT, which is not installed: "
        'pip install "fastapi-better-auth-kit[testing]"',
        name=exc.name,
    ) from exc

from ._cookies import sign_token
from ._testing_org import make_member, make_organization, set_active_organization
from ._testing_redis import store_redis_session
from ._testing_rows import (
    create_tables,
    make_account,
    make_api_key,
    make_session,
    make_user,
    user_claims,
)
from ._testing_server import JWKS_PATH, running_jwks_server
from ._types import generate_id

__all__ = [
    "Algorithm",
    "SigningKey",
    "TokenIssuer",
    "create_tables",
    "make_account",
    "make_api_key",
    "make_member",
    "make_organization",
    "make_session",
    "make_user",
    "session_cookie",
    "set_active_organization",
    "store_redis_session",
    "user_claims",
]

Algorithm = Literal["EdDSA", "ES256", "ES512", "RS256", "PS256"]


@dataclass(frozen=True)
class SigningKey:
    """One key pair of the issuer, as a row of Better-Auth's ``jwks`` table would hold it."""

    kid: str
    algorithm: Algorithm
    private_key: Any = field(repr=False)

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK as Better-Auth's ``/jwks`` lists it: ``alg``, ``kid``, no ``use``."""
        public = self.private_key.public_key()
        if self.algorithm == "EdDSA":
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        elif self.algorithm in ("ES256", "ES512"):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "alg": self.algorithm, "kid": self.kid}


def _new_private_key(algorithm: Algorithm) -> Any:
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TokenIssuer:
    """Mints Better-Auth-shaped JWTs and serves their JWKS; a stand-in for the ``jwt`` plugin.

    Args:
        algorithm: the signing algorithm (Better-Auth's default is ``EdDSA``).
        issuer: ``iss`` and ``aud`` of minted tokens; defaults to the served origin once
            :meth:`serve` runs, else ``http://127.0.0.1:3005``.
    """

    def __init__(
        self, algorithm: Algorithm = "EdDSA", *, issuer: str | None = None
    ) -> None:
        self.algorithm: Algorithm = algorithm
        self.issuer = issuer
        self.keys: list[SigningKey] = [
            SigningKey(generate_id(), algorithm, _new_private_key(algorithm))
        ]
        self.requests = 0

    @property
    def current(self) -> SigningKey:
        """The key new tokens are signed with (the newest)."""
        return self.keys[-1]

    def rotate(self, *, keep_old: bool = True) -> SigningKey:
        """Start signing with a new key; the old ones stay in the JWKS unless ``keep_old=False``."""
        key = SigningKey(
            generate_id(), self.algorithm, _new_private_key(self.algorithm)
        )
        self.keys = [*self.keys, key] if keep_old else [key]
        return key

    def jwks(self) -> dict[str, Any]:
        """The JWKS document: ``{"keys": [...]}``."""
        return {"keys": [key.public_jwk() for key in self.keys]}

    def mint(
        self,
        payload: Mapping[str, Any] | None = None,
        *,
        sub: str | None = None,
        expires_in: float = 900,
        issued_at: float | None = None,
        audience: str | list[str] | None = None,
        headers: Mapping[str, Any] | None = None,
        key: SigningKey | None = None,
    ) -> str:
        """A signed token: ``payload`` (usually :func:`user_claims`) plus ``iat``/``exp``/``iss``/``aud``/``sub``.

        A negative ``expires_in`` gives an expired token; ``headers`` adds header members.
        """
        now = time.time() if issued_at is None else issued_at
        origin = self.issuer or "http://127.0.0.1:3005"
        claims: dict[str, Any] = {"iat": int(now), **(payload or {})}
        subject = sub or claims.get("id") or claims.get("sub") or generate_id()
        claims.update(
            sub=subject, exp=int(now + expires_in), iss=origin, aud=audience or origin
        )
        signer = key or self.current
        algorithm = "EdDSA" if signer.algorithm == "EdDSA" else signer.algorithm
        return jwt.encode(
            claims,
            signer.private_key,
            algorithm=algorithm,
            headers={"kid": signer.kid, **(headers or {})},
        )

    def forge(self, payload: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        """A token under the current ``kid`` but signed by another key: must be refused."""
        impostor = SigningKey(
            self.current.kid, self.algorithm, _new_private_key(self.algorithm)
        )
        return self.mint(payload, key=impostor, **kwargs)

    @contextmanager
    def serve(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve the JWKS at ``{origin}/api/auth/jwks`` on a free loopback port; yields the origin.

        The issuer signs with that origin as ``iss``/``aud`` while serving, unless set explicitly.
        """
        with running_jwks_server(
            host, path=JWKS_PATH, document=self.jwks, on_request=self._count
        ) as server:
            explicit = self.issuer
            self.issuer = explicit or server.url
            try:
                yield server.url
            finally:
                self.issuer = explicit

    def _count(self, path: str) -> None:
        self.requests += 1


def session_cookie(
    token: str, secret: str, *, prefix: str = "better-auth", secure: bool = False
) -> tuple[str, str]:
    """The ``(name, value)`` of Better-Auth's session cookie for a raw session token.

    The value is signed (``token.HMAC``) and URL-encoded as in ``Set-Cookie``.
    """
    name = f"{'__Secure-' if secure else ''}{prefix}.session_token"
    return name, quote(sign_token(token, secret), safe="")
