"""µs per verification: ``JWKSVerifier.verify`` against a raw ``cryptography`` check of the same signature.

Keys are warm (fetched once from ``TokenIssuer.serve()``), the verifier's wall clock is frozen, and
the coroutine is driven by hand (``send(None)``): a warm verify never suspends, so this times the
function, not an event loop. Variants and references alternate inside each round; the table quotes
the median per-round ratio.
"""

import asyncio
import json
import os
import time
import timeit
import types
from collections.abc import Callable, Coroutine
from json.scanner import make_scanner
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._jwks import (
    JWKSVerifier,
    _jose,
    _keys,
    _verifier,
    b64url_decode,
)
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


# --- hand-written parts, kept here as the reference they were measured against -------------

_DER_INTEGER = tuple(bytes((0x02, size)) for size in range(128))


def hand_der_signature(signature: bytes, size: int) -> bytes:
    """The hand-built DER of ``r || s`` (until 0.x): no ``int`` conversions."""
    r = signature[:size].lstrip(b"\x00")
    s = signature[size:].lstrip(b"\x00")
    if not r or r[0] & 0x80:
        r = b"\x00" + r
    if not s or s[0] & 0x80:
        s = b"\x00" + s
    body = _DER_INTEGER[len(r)] + r + _DER_INTEGER[len(s)] + s
    length = len(body)
    return (
        bytes((0x30, length)) if length < 0x80 else bytes((0x30, 0x81, length))
    ) + body


#: typeshed wants a scanner as the context; any decoder is one
_SCAN = make_scanner(_jose._DECODER)  # type: ignore[arg-type]


def hand_loads_object(raw: bytes) -> dict[str, Any]:
    """``loads_object`` through ``json.scanner`` directly (until 0.x), ``decode`` as a fallback."""
    if raw.count(b"[") + raw.count(b"{") > _jose.MAX_DEPTH:
        return _jose.loads_object(raw)
    text = raw.decode("utf-8")
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        value = _jose._DECODER.decode(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _spread(values: list[float]) -> float:
    """Run-to-run noise of a measurement: (p75 - p25) / median, as a fraction."""
    ordered = sorted(values)
    quarter = len(ordered) // 4
    return (ordered[-1 - quarter] - ordered[quarter]) / median(ordered)


def _hand_written(rounds: int, budget: float) -> list[dict[str, Any]]:
    """Each hand-written part against its standard call: alone and inside a whole ES256 ``verify``."""
    variants = asyncio.run(_setup("ES256"))
    verify = variants["verify"]
    signature = os.urandom(64)
    payload = json.dumps(
        {"iat": 1, **user_claims(make_user()), "exp": 2}, separators=(",", ":")
    ).encode()
    parts: list[
        tuple[
            str,
            Callable[[], object],
            Callable[[], object],
            tuple[types.ModuleType, str, object],
        ]
    ] = [
        (
            "DER of an ES256 signature",
            lambda: hand_der_signature(signature, 32),
            lambda: _keys.der_signature(signature, 32),
            (_keys, "der_signature", hand_der_signature),
        ),
        (
            "JSON payload (`json.scanner`)",
            lambda: hand_loads_object(payload),
            lambda: _jose.loads_object(payload),
            (_verifier, "loads_object", hand_loads_object),
        ),
    ]
    rows = []
    for name, hand, standard, (module, attribute, replacement) in parts:
        assert hand() == standard()
        original = getattr(module, attribute)
        samples: dict[str, list[float]] = {
            "hand": [],
            "standard": [],
            "verify_hand": [],
            "verify_standard": [],
        }
        number = max(100, int(budget / (max(_time(standard, 100), 0.05) * 1e-6)))
        verify_number = max(20, int(budget / (max(_time(verify, 20), 0.05) * 1e-6)))
        for _ in range(rounds):
            samples["hand"].append(_time(hand, number))
            samples["standard"].append(_time(standard, number))
            setattr(module, attribute, replacement)
            try:
                samples["verify_hand"].append(_time(verify, verify_number))
            finally:
                setattr(module, attribute, original)
            samples["verify_standard"].append(_time(verify, verify_number))
        us = {key: median(values) for key, values in samples.items()}
        rows.append(
            {
                "part": name,
                "us": us,
                "saved_share": (us["standard"] - us["hand"]) / us["verify_standard"],
                "verify_ratio": median(
                    h / s
                    for h, s in zip(
                        samples["verify_hand"], samples["verify_standard"], strict=True
                    )
                ),
                "verify_spread": _spread(samples["verify_standard"]),
            }
        )
    return rows


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
    results["hand_written"] = _hand_written(rounds, budget)
    return results


def render(results: dict[str, Any]) -> str:
    rows = []
    for algorithm, data in results.items():
        if algorithm == "hand_written":
            continue
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
    return (
        table(
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
        + "\n\n"
        + render_hand_written(results.get("hand_written", []))
    )


def render_hand_written(rows: list[dict[str, Any]]) -> str:
    """Hand-written parts: what each saved, alone and in a whole ``verify``, against its noise."""
    return table(
        [
            "hand-written part",
            "hand µs",
            "standard µs",
            "saved, share of `verify`",
            "ES256 `verify` µs, standard",
            "hand ÷ standard, whole `verify`",
            "`verify` spread (IQR)",
        ],
        [
            [
                row["part"],
                fmt(row["us"]["hand"], 2),
                fmt(row["us"]["standard"], 2),
                f"{row['saved_share']:.1%}",
                fmt(row["us"]["verify_standard"], 1),
                f"{row['verify_ratio']:.3f}×",
                f"±{row['verify_spread'] / 2:.1%}",
            ]
            for row in rows
        ],
    )


if __name__ == "__main__":
    print(render(run()))
