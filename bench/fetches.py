"""JWKS fetches per verification: warm, and under a flood of tokens naming unknown ``kid``s.

In process, against ``TokenIssuer.serve()``; ``verifier.fetch_count`` counts fetches started
and ``issuer.requests`` the requests the JWKS server actually answered.
"""

import asyncio
import time
from typing import Any

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._errors import InvalidTokenError
from fastapi_better_auth._jwks import JWKSVerifier
from fastapi_better_auth._types import generate_id
from fastapi_better_auth.testing import TokenIssuer, make_user, user_claims

from ._util import quick, table, verdict


async def _run(count: int) -> dict[str, Any]:
    issuer = TokenIssuer()
    with issuer.serve() as origin:
        settings = BetterAuthSettings.load(
            url=origin, database_url="sqlite+aiosqlite://"
        )
        now = [
            0.0
        ]  # the key cache's clock, moved by hand: the flood spans simulated minutes
        verifier = JWKSVerifier(settings, monotonic=lambda: now[0])
        await verifier.warm()
        valid = [issuer.mint(user_claims(make_user())) for _ in range(200)]
        before, served = verifier.fetch_count, issuer.requests
        for index in range(count):
            await verifier.verify(valid[index % len(valid)])
        warm = {"requests": count, "fetches": verifier.fetch_count - before,
                "served": issuer.requests - served}  # fmt: skip

        bogus = [
            issuer.mint(user_claims(make_user()), headers={"kid": generate_id()})
            for _ in range(count)
        ]
        now[0] += (
            settings.jwks_min_refresh_seconds + 1
        )  # the cooldown after warm-up is over
        before, served = verifier.fetch_count, issuer.requests
        started = time.perf_counter()

        async def one(token: str) -> bool:
            try:
                await verifier.verify(token)
            except InvalidTokenError:
                return False
            return True

        half = count // 2
        concurrent = await asyncio.gather(*(one(t) for t in bogus[:half]))
        burst_fetches = verifier.fetch_count - before
        sequential = []
        for token in bogus[half:]:  # then one bogus token every 50 ms of simulated time
            now[0] += 0.05
            sequential.append(await one(token))
        span = now[0] - (settings.jwks_min_refresh_seconds + 1)
        allowed = 1 + int(span // settings.jwks_min_refresh_seconds) + 1
        still_valid = all(await asyncio.gather(*(one(t) for t in valid)))
        flood = {"requests": count, "fetches": verifier.fetch_count - before,
                 "served": issuer.requests - served, "refused": (not any(concurrent + sequential)),
                 "valid_tokens_still_accepted": still_valid,
                 "seconds": time.perf_counter() - started, "burst": half, "burst_fetches": burst_fetches,
                 "simulated_seconds": span, "allowed": allowed}  # fmt: skip
        await verifier.aclose()
    return {"warm": warm, "flood": flood}


def run() -> dict[str, Any]:
    return asyncio.run(_run(2_000 if quick() else 20_000))


def render(results: dict[str, Any], macro_fetches: dict[str, int] | None = None) -> str:
    warm, flood = results["warm"], results["flood"]
    rows = [
        ["warm keys, valid tokens (in process)", warm["requests"], warm["fetches"],
         f"{warm['fetches'] / warm['requests']:.5f}", "0 per request", verdict(warm["fetches"] == 0)],
        [f"unknown-`kid` flood: {flood['burst']} at once, then one per 50 ms over "
         f"{flood['simulated_seconds']:.0f} s (simulated)", flood["requests"],
         f"{flood['fetches']} ({flood['burst_fetches']} for the burst)",
         f"{flood['fetches'] / flood['requests']:.5f}", f"≤ 1 per 30 s (≤ {flood['allowed']})",
         verdict(flood["fetches"] <= flood["allowed"] and flood["burst_fetches"] <= 1
                 and flood["refused"] and flood["valid_tokens_still_accepted"])],
    ]  # fmt: skip
    if macro_fetches:
        # No fetch on the request path; each server may refresh in the background once per
        # jwks_cache_seconds (300 s: TokenIssuer sends no Cache-Control).
        allowed = macro_fetches["servers"] * (1 + int(macro_fetches["seconds"] // 300))
        rows.append([f"all HTTP scenarios after warm-up ({macro_fetches['servers']} servers, "
                     f"{macro_fetches['seconds']:.0f} s)", macro_fetches["requests"],
                     macro_fetches["served"], f"{macro_fetches['served'] / max(macro_fetches['requests'], 1):.7f}",
                     f"≤ 1 background refresh per server per 300 s (≤ {allowed})",
                     verdict(macro_fetches["served"] <= allowed)])  # fmt: skip
    return table(
        ["case", "verifications", "JWKS fetches", "per verification", "target", ""],
        rows,
    )
