"""Better-Auth's JWTs verified against its JWKS, in four rooms, each owning one thing.

``_verifier`` (:class:`JWKSVerifier`: the token's path) → ``_keyset`` (fetch, cache and refresh
the JWKS: the only httpx import) and ``_claims`` (what a header and the claims must say) →
``_keys`` (a JWK loaded and bound to one algorithm; signature checks) → ``_jose`` (strict
base64url and JSON). The import-linter contract in ``pyproject.toml`` holds that order.
"""

from ._jose import b64url_decode, loads_object
from ._keys import MAX_KID_LENGTH, jwk_algorithm, normalize_algorithm
from ._verifier import MAX_TOKEN_LENGTH, TOKEN_CACHE_SIZE, JWKSVerifier, Verified

__all__ = [
    "MAX_KID_LENGTH",
    "MAX_TOKEN_LENGTH",
    "TOKEN_CACHE_SIZE",
    "JWKSVerifier",
    "Verified",
    "b64url_decode",
    "jwk_algorithm",
    "loads_object",
    "normalize_algorithm",
]
