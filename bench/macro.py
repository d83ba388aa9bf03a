"""Requests/s and latency of a protected route against the same route unprotected, over loopback.

Every server runs at once (uvicorn, 1 worker, uvloop, httptools), idle when not under load; wrk
(1 thread, 50 connections) visits each scenario in turn, the order reversed every other round, so
each ratio compares numbers taken minutes apart at most and shares the machine's background load.
Ratios are per round; the tables quote the median of the rounds. A scenario whose responses are
not all 2xx fails the run: an error page is not a benchmark.

The issue's target ratios are also measured paired (``run_pairs``): the row and its reference
alternate in short runs, in A B B A order, so a change of the machine's speed over seconds
(this 2-vCPU VM's bare ``/ping`` ranged 10 169-15 178 requests/s between runs) falls on both.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fastapi_better_auth.testing import TokenIssuer

from ._server import Server, write_tokens, wrk
from ._util import fmt, median, quartiles, quick, table, verdict

TOKEN_MAX_AGE = 600.0  # re-mint before Better-Auth's 15-minute tokens expire mid-run


class Tokens:
    """A file of tokens for wrk, re-minted when old: one repeated token or one per user."""

    def __init__(
        self, issuer: TokenIssuer, user_ids: list[str], role: str = "user"
    ) -> None:
        self.issuer, self.user_ids, self.role = issuer, user_ids, role
        self.minted_at = -1e9
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None or time.time() - self.minted_at > TOKEN_MAX_AGE:
            self.minted_at = time.time()
            tokens = [
                self.issuer.mint(_claims(uid, self.role)) for uid in self.user_ids
            ]
            if self._path is not None:
                self._path.unlink(missing_ok=True)
            self._path = write_tokens(tokens)
        return self._path

    def cleanup(self) -> None:
        if self._path is not None:
            self._path.unlink(missing_ok=True)


def _claims(user_id: str, role: str) -> dict[str, Any]:
    # The payload Better-Auth's jwt plugin signs: the whole user row (as testing.user_claims).
    return {
        "name": "Bench User", "email": f"{user_id.lower()}@example.com", "emailVerified": True,
        "image": None, "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z",
        "role": role, "banned": False, "banReason": None, "banExpires": None, "id": user_id,
    }  # fmt: skip


class TokenFile(Protocol):
    """A file of credentials, one per line, sent as ``Authorization: Bearer <line>``."""

    @property
    def path(self) -> Path: ...


@dataclass
class Scenario:
    key: str
    label: str
    server: Server
    path: str
    tokens: TokenFile | None


def scenarios(servers: dict[str, Server], repeated: Tokens, many: Tokens, pool: Tokens,
              distinct: int, session_tokens: TokenFile | None = None) -> list["Scenario"]:  # fmt: skip
    """The rows of the macro table, on the servers that are running.

    ``session_tokens``: signed session tokens of the sessions the ``redis-*`` servers' Redis
    holds (one per user of ``pool``).
    """
    quick_mode = quick()
    never, always = servers["never"], servers["always"]
    scenarios = [
        Scenario("ping", "`/ping`, unprotected, declared after the library's router", never, "/ping", None),
        Scenario("never_rep", "`CurrentUser`, freshness=never, one repeated token", never, "/protected", repeated),
        Scenario("never_dist", f"`CurrentUser`, freshness=never, {distinct} distinct tokens", never, "/protected", many),
        Scenario("always_rep", "`CurrentUser`, freshness=always, one repeated token", always, "/protected", repeated),
        Scenario("me_always", "`/api/v1/auth/me`, freshness=always (200 users)", always, "/api/v1/auth/me", pool),
        Scenario("raw_me", "reference: verify + raw asyncpg `SELECT` (200 users)", always, "/raw/me", pool),
    ]  # fmt: skip
    if (
        "bare" in servers
    ):  # next to `ping`: their ratio is the cost of mounting the router
        scenarios.insert(1, Scenario("bare_ping", "`/ping` in a bare FastAPI app (no library)", servers["bare"], "/ping", None))  # fmt: skip
        scenarios.insert(2, Scenario("bare_noop", "`/no-op` in a bare FastAPI app: one dependency that does nothing", servers["bare"], "/no-op", repeated))  # fmt: skip
        scenarios.insert(3, Scenario("app_noop", "`/no-op` beside the library's router: the same dependency", never, "/no-op", repeated))  # fmt: skip
    if (
        "push" in servers
    ):  # freshness=push: its server installs the notify triggers (dbseed)
        push = servers["push"]
        # next to the floors it is compared with, as `never_rep` is
        at = next(i for i, s in enumerate(scenarios) if s.key == "never_rep")
        scenarios.insert(at, Scenario("push_rep", "`CurrentUser`, freshness=push, one repeated token", push, "/protected", repeated))  # fmt: skip
        scenarios += [
            Scenario("push_dist", f"`CurrentUser`, freshness=push, {distinct} distinct tokens (cache {distinct + 5_000})", push, "/protected", many),
            Scenario("me_push", "`/api/v1/auth/me`, freshness=push (200 users)", push, "/api/v1/auth/me", pool),
        ]  # fmt: skip
    if (
        "redis-always" in servers and session_tokens is not None
    ):  # secondaryStorage sessions
        redis_always, redis_push = servers["redis-always"], servers["redis-push"]
        scenarios += [
            Scenario("raw_redis", "reference: signature + raw redis-py `GET` + JSON (200 Redis sessions)", redis_always, "/raw/redis-session", session_tokens),
            Scenario("redis_always", "`CurrentUser`, session token in Redis, freshness=always (200 sessions)", redis_always, "/protected", session_tokens),
            Scenario("redis_push", "`CurrentUser`, session token in Redis, freshness=push (200 sessions)", redis_push, "/protected", session_tokens),
        ]  # fmt: skip
    if not quick_mode:
        scenarios += [
            Scenario("pyjwt", "reference: inline PyJWT EdDSA `decode`, one repeated token", never, "/pyjwt", repeated),
            Scenario("always_dist", f"`CurrentUser`, freshness=always, {distinct} distinct tokens", always, "/protected", many),
            Scenario("me_never", "`/api/v1/auth/me`, freshness=never (200 users)", never, "/api/v1/auth/me", pool),
            Scenario("me_cached", "`/api/v1/auth/me`, freshness=cached (200 users)", servers["cached"], "/api/v1/auth/me", pool),
            Scenario("raw_me_noreset", "reference: verify + raw asyncpg `SELECT`, pool without reset query (200 users)", always, "/raw/me-noreset", pool),
        ]  # fmt: skip
    for peer, name in (
        ("bridge", "fastapi-better-auth-bridge"),
        ("betterauth", "fastapi-betterauth"),
    ):
        if peer in servers:
            scenarios.append(
                Scenario(
                    f"{peer}_rep",
                    f"{name}, one repeated token",
                    servers[peer],
                    "/protected",
                    repeated,
                )
            )
            if not quick_mode:
                scenarios.append(Scenario(f"{peer}_dist", f"{name}, {distinct} distinct tokens", servers[peer], "/protected", many))  # fmt: skip
    return scenarios


def run_scenarios(
    scenarios: list[Scenario], rounds: int, seconds: int, warmup: int
) -> dict[str, list[dict[str, Any]]]:
    samples: dict[str, list[dict[str, Any]]] = {s.key: [] for s in scenarios}
    for scenario in scenarios if warmup else ():
        tokens = scenario.tokens.path if scenario.tokens else None
        wrk(scenario.server.url, scenario.path, tokens, warmup)
    for index in range(rounds):
        for scenario in scenarios if index % 2 == 0 else scenarios[::-1]:
            samples[scenario.key].append(_measure(scenario, seconds))
    return samples


def _measure(scenario: Scenario, seconds: int) -> dict[str, Any]:
    """One wrk run of ``scenario``; any error response fails the run."""
    tokens = scenario.tokens.path if scenario.tokens else None
    result = wrk(scenario.server.url, scenario.path, tokens, seconds)
    if result["errors"]:
        raise RuntimeError(f"{scenario.label}: {result} (see {scenario.server.log})")
    return result


#: (row, reference, target) measured paired: the issue's three target ratios
PAIRED = (
    ("push_rep", "bare_ping", 0.75),
    ("me_push", "raw_me", 1.2),
    ("redis_push", "raw_redis", 0.9),
)


def run_pairs(
    scenarios: list[Scenario], cycles: int, seconds: int
) -> dict[str, list[float]]:
    """``PAIRED`` rows that are running: row ÷ reference of each adjacent pair of short runs.

    Keyed ``"row/reference"``. Cycle ``i`` runs the row then the reference, cycle ``i + 1``
    the reference then the row: a drift within a cycle favours neither side.
    """
    by_key = {s.key: s for s in scenarios}
    ratios: dict[str, list[float]] = {}
    for key, reference, _ in PAIRED:
        if key not in by_key or reference not in by_key:
            continue
        pair = [by_key[key], by_key[reference]]
        found = ratios.setdefault(f"{key}/{reference}", [])
        for index in range(cycles):
            rps = {
                scenario.key: _measure(scenario, seconds)["rps"]
                for scenario in (pair if index % 2 == 0 else pair[::-1])
            }
            found.append(rps[key] / rps[reference])
    return ratios


def pair_settings() -> tuple[int, int]:
    """(pairs per target, seconds per run)."""
    return (2, 1) if quick() else (16, 2)


def render_pairs(labels: dict[str, str], ratios: dict[str, list[float]]) -> str:
    rows = []
    for key, reference, target in PAIRED:
        found = ratios.get(f"{key}/{reference}")
        if not found:
            continue
        value = median(found)
        low, high = quartiles(found)
        rows.append([labels[key], labels[reference], f"{value:.2f}×",
                     f"{low:.2f}–{high:.2f}", f"≥ {target}× (issue)", verdict(value >= target)])  # fmt: skip
    return table(
        [
            "scenario",
            "÷ reference (paired runs)",
            "median ratio",
            "quartiles",
            "target",
            "",
        ],
        rows,
    )


def ratio(
    samples: dict[str, list[dict[str, Any]]], key: str, reference: str
) -> float | None:
    if key not in samples or reference not in samples:
        return None
    return median(
        a["rps"] / b["rps"]
        for a, b in zip(samples[key], samples[reference], strict=True)
    )


def summary(samples: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    return {
        key: {
            "rps": median(r["rps"] for r in runs),
            "p50_ms": median(r["p50_us"] for r in runs) / 1000,
            "p99_ms": median(r["p99_us"] for r in runs) / 1000,
            "requests": sum(r["requests"] for r in runs),
        }
        for key, runs in samples.items()
    }


def settings() -> tuple[int, int, int]:
    """(rounds, seconds per run, warm-up seconds)."""
    return (2, 1, 1) if quick() else (5, 8, 2)


def render(
    labels: dict[str, str],
    samples: dict[str, list[dict[str, Any]]],
    comparisons: list[tuple[str, str, str, float | None]],
) -> str:
    stats = summary(samples)
    rows = [
        [labels[key], fmt(s["rps"], 0), fmt(s["p50_ms"]), fmt(s["p99_ms"])]
        for key, s in stats.items()
    ]
    out = table(["scenario", "requests/s", "p50 ms", "p99 ms"], rows)
    comparison_rows = []
    for key, reference, target_text, target in comparisons:
        value = ratio(samples, key, reference)
        if value is None:
            continue
        ok = None if target is None else value >= target
        comparison_rows.append(
            [labels[key], labels[reference], f"{value:.2f}×", target_text, verdict(ok)]
        )
    out += "\n\n" + table(
        ["scenario", "÷ reference (same round)", "median ratio", "target", ""],
        comparison_rows,
    )
    return out
