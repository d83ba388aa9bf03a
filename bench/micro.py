"""µs per verification: ``JWKSVerifier.verify`` against a raw ``cryptography`` check of the same signature.

Keys are warm (fetched once from ``TokenIssuer.serve()``), the verifier's wall clock is frozen, and
the coroutine is driven by hand (``send(None)``): a warm verify never suspends, so this times the
function, not an event loop. Variants and references alternate inside each round; the table quotes
the median per-round ratio.
"""

import asyncio
import time
import timeit
from collections.abc import Callable, Coroutine
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._jwks import JWKSVerifier, b64url_decode
from fastapi_better_auth.testing import TokenIssuer, make_user, user_claims

from ._util import fmt, median, quick, table, verdict

ALGORITHMS = ("EdDSA", "ES256", "RS256")
TARGET = 1.15


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """The result of a coroutine that never suspends (a warm ``verify``)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("verify suspended: keys are not warm")


def _raw_check(issuer: TokenIssuer, token: str) -> Callable[[], None]:
    """The cheapest correct check of the token's signature with ``cryptography`` (inputs pre-decoded)."""
    head, payload, sig = token.split(".")
    data = f"{head}.{payload}".encode()
    signature = b64url_decode(sig)
    public = issuer.current.private_key.public_key()
    if issuer.algorithm == "EdDSA":
        return lambda: public.verify(signature, data)
    if issuer.algorithm == "ES256":
        der = utils.encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        ecdsa = ec.ECDSA(hashes.SHA256())
        return lambda: public.verify(der, data, ecdsa)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    return lambda: public.verify(signature, data, pkcs1, sha256)


async def _setup(algorithm: str) -> dict[str, Callable[[], Any]]:
    issuer = TokenIssuer(algorithm)  # type: ignore[arg-type]
    with issuer.serve() as origin:
        settings = BetterAuthSettings.load(
            url=origin, database_url="sqlite+aiosqlite://", jwt_algorithms={algorithm}
        )
        now = time.time()
        uncached = JWKSVerifier(settings, clock=lambda: now, token_cache_size=0)
        cached = JWKSVerifier(settings, clock=lambda: now)
        assert await uncached.warm()
        assert await cached.warm()
        token = issuer.mint(user_claims(make_user()), issued_at=now)
    public = issuer.current.private_key.public_key()
    run_sync(uncached.verify(token))  # header cache filled, as after the first request
    run_sync(cached.verify(token))

    def pyjwt() -> None:
        jwt.decode(
            token,
            public,
            algorithms=[algorithm],
            audience=origin,
            issuer=origin,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )

    return {
        "raw": _raw_check(issuer, token),
        "verify": lambda: run_sync(uncached.verify(token)),
        "verify_cached": lambda: run_sync(cached.verify(token)),
        "pyjwt": pyjwt,
    }


def _time(fn: Callable[[], Any], number: int) -> float:
    return timeit.timeit(fn, number=number) / number * 1e6


def run() -> dict[str, Any]:
    rounds = 5 if quick() else 15
    budget = 0.03 if quick() else 0.08  # seconds per measurement
    results: dict[str, Any] = {}
    for algorithm in ALGORITHMS:
        variants = asyncio.run(_setup(algorithm))
        numbers = {
            name: max(20, int(budget / (max(_time(fn, 20), 0.05) * 1e-6)))
            for name, fn in variants.items()
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        order = list(variants)
        for index in range(rounds):
            for name in order if index % 2 == 0 else order[::-1]:
                samples[name].append(_time(variants[name], numbers[name]))
        ratios = {
            name: median(
                v / r for v, r in zip(samples[name], samples["raw"], strict=True)
            )
            for name in variants
        }
        results[algorithm] = {
            "us": {name: median(values) for name, values in samples.items()},
            "ratio": ratios,
            "rounds": rounds,
        }
    return results


def render(results: dict[str, Any]) -> str:
    rows = []
    for algorithm, data in results.items():
        us, ratio = data["us"], data["ratio"]
        rows.append(
            [
                algorithm,
                fmt(us["raw"], 1),
                fmt(us["verify"], 1),
                f"{ratio['verify']:.3f}×",
                fmt(us["verify_cached"], 1),
                f"{ratio['verify_cached']:.3f}×",
                fmt(us["pyjwt"], 1),
                f"{ratio['pyjwt']:.2f}×",
                verdict(ratio["verify"] <= TARGET),
            ]
        )
    return table(
        [
            "alg",
            "raw `cryptography` µs",
            "`verify` µs",
            "÷ raw",
            "repeated token µs",
            "÷ raw",
            "PyJWT `decode` µs",
            "÷ raw",
            f"≤ {TARGET}×",
        ],
        rows,
    )


if __name__ == "__main__":
    print(render(run()))
