"""``python -m bench [--quick] [--only micro,fetches,startup,macro,admin] [--compare REV]``.

Runs, prints and saves: ``bench/results/latest.md`` (the tables of docs/performance.md) and one
JSON per section. ``--quick`` (or ``BENCH_QUICK=1``) is the CI smoke mode: under a minute, fewer
and shorter rounds, 5 000 users, no other libraries. ``--compare REV`` runs the library's macro
rows and the first request for this tree and for git revision REV interleaved in one run, and
prints new ÷ old per row (alone, unless ``--only`` names other sections too).
"""

import argparse
import os
import platform
import sys
import time
from contextlib import ExitStack
from typing import Any

SECTIONS = ("micro", "fetches", "startup", "macro", "admin", "compare")


def _machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip()
                for line in info
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
            f"Python {platform.python_version()}, load average {load:.2f} at start")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI smoke mode (< 60 s)")
    parser.add_argument("--only", help="comma-separated sections (default: all)")
    parser.add_argument(
        "--compare", metavar="REV", help="git revision to compare this tree with"
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="skip the other libraries"
    )
    parser.add_argument(
        "--rows",
        help="comma-separated macro rows to run (their keys: bare_ping,push_rep,...; default all)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["BENCH_QUICK"] = "1"
    default = {"compare"} if args.compare else set(SECTIONS) - {"compare"}
    only = set(args.only.split(",")) if args.only else default
    if unknown := only - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if "compare" in only and not args.compare:
        parser.error("the compare section needs --compare REV")

    from . import _util

    started = time.time()
    mode = "quick" if _util.quick() else "full"
    parts = [f"Mode: **{mode}**. Machine: {_machine()}."]
    if "micro" in only:
        parts += _micro()
    if "fetches" in only and not {"macro"} & only:
        parts += _fetches(None)
    if only & {"startup", "macro", "admin", "compare"}:
        rows = set(args.rows.split(",")) if args.rows else set()
        parts += _servers(only, peers=not args.no_peers, rev=args.compare, rows=rows)
    parts.append(f"Total time: {time.time() - started:.0f} s.")
    text = "\n\n".join(parts) + "\n"
    _util.RESULTS.mkdir(parents=True, exist_ok=True)
    (_util.RESULTS / "latest.md").write_text(text)
    print(text)
    print(f"written to {_util.RESULTS / 'latest.md'}", file=sys.stderr)
    return 0


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _micro() -> list[str]:
    from . import _util, micro

    _log("micro")
    results = micro.run()
    _util.save("micro", results)
    return [
        "### Verification (µs per token, warm keys, frozen clock)",
        micro.render(results),
    ]


def _fetches(macro_fetches: dict[str, int] | None) -> list[str]:
    from . import _util, fetches

    _log("fetches")
    results = fetches.run()
    _util.save("fetches", {"in_process": results, "macro": macro_fetches})
    return ["### JWKS fetches", fetches.render(results, macro_fetches)]


def _servers(only: set[str], peers: bool, rev: str | None, rows: set[str]) -> list[str]:
    from fastapi_better_auth.testing import TokenIssuer

    from . import _util, admin, compare, macro, redis_sessions, startup
    from . import peers as peer_env
    from ._server import Server, wrk_available
    from .dbseed import seeded_database

    parts: list[str] = []
    quick = _util.quick()
    users = 5_000 if quick else 100_000
    distinct = 3_000 if quick else 20_000
    issuer = TokenIssuer()
    with ExitStack() as stack:
        origin = stack.enter_context(issuer.serve())
        _log(f"PostgreSQL with {users} users")
        db = stack.enter_context(seeded_database(users))
        ids = db.user_ids
        repeated = macro.Tokens(issuer, ids[1:2])
        many = macro.Tokens(issuer, ids[1 : 1 + distinct])
        pool = macro.Tokens(issuer, ids[1:201])
        admin_token = macro.Tokens(issuer, ids[:1], role="admin")
        for tokens in (repeated, many, pool, admin_token):
            stack.callback(tokens.cleanup)

        if "startup" in only:
            _log("startup")
            result = startup.run(origin, db.url, repeated.path.read_text().split()[0])
            _util.save("startup", result)
            parts += [
                "### First authenticated request after start",
                startup.render(result),
            ]

        if not only & {"macro", "admin", "compare"}:
            return parts
        if not wrk_available():
            return [
                *parts,
                "wrk is not installed (`apt-get install -y wrk`): no HTTP benchmarks.",
            ]
        base_env = {"BENCH_ORIGIN": origin, "BENCH_DB_URL": db.url}
        session_tokens, redis_note = None, ""
        if only & {"macro", "admin"}:  # the raw references' pools (not compared)
            base_env["BENCH_DSN"] = db.dsn
        modes = ("never", "always") if quick else ("never", "cached", "always")
        servers = {
            mode: Server(
                f"ours-{mode}",
                "bench.apps:create_app",
                {**base_env, "BENCH_FRESHNESS": mode},
            )
            for mode in modes
        }
        if "macro" in only:  # the floor: /ping in an app without the library
            servers["bare"] = Server("bare", "bench.apps:create_bare_app", base_env)
            # not in `modes`: an older revision (--compare) has no freshness=push
            # the cache sized above the distinct users, as docs/guides/push.md says to
            push_env = {
                **base_env,
                "BENCH_FRESHNESS": "push",
                "BENCH_CACHE_SIZE": str(distinct + 5_000),
            }
            servers["push"] = Server("ours-push", "bench.apps:create_app", push_env)  # fmt: skip
            if (
                redis_sessions.available()
            ):  # sessions in secondaryStorage, and the reference
                _log("Redis with one session per user of the pool")
                stored = stack.enter_context(
                    redis_sessions.redis_sessions(pool.user_ids)
                )
                session_tokens = stored.tokens
                redis_env = {**base_env, "BENCH_REDIS_URL": stored.url,
                             "BENCH_SECRET": redis_sessions.SECRET}  # fmt: skip
                for mode in ("always", "push"):
                    servers[f"redis-{mode}"] = Server(f"ours-redis-{mode}", "bench.apps:create_app",
                                                      {**redis_env, "BENCH_FRESHNESS": mode})  # fmt: skip
            else:
                redis_note = "redis-server is not installed: no Redis session rows."
        old: dict[str, Any] = {}
        if "compare" in only:
            assert rev is not None
            commit, old_root = stack.enter_context(compare.checkout(rev))
            # the same environment as ours: no raw-reference pools on either side
            old_env = {k: v for k, v in base_env.items() if k != "BENCH_DSN"}
            old = compare.old_servers(old_root, commit, old_env, modes)
        peer_python, peer_note = (None, "skipped (--no-peers, or --quick)")
        if peers and not quick and "macro" in only:
            peer_python, peer_note = peer_env.python(create=not quick)
        if peer_python:
            for peer in ("bridge",) if quick else ("bridge", "betterauth"):
                servers[peer] = Server(peer, "bench.peer_apps:create_app",
                                       {**base_env, "BENCH_PEER": peer}, python=peer_python)  # fmt: skip
        every = [*servers.values(), *old.values()]
        _log(f"servers: {', '.join(s.name for s in every)}")
        for server in every:
            stack.callback(server.stop)
            server.spawn()
        for server in every:
            server.wait_ready()

        scenarios = macro.scenarios(
            servers, repeated, many, pool, distinct, session_tokens
        )
        if rows:  # one figure again, in minutes: only these rows, same rounds
            if unknown := rows - {s.key for s in scenarios}:
                raise SystemExit(f"--rows: no such rows: {', '.join(sorted(unknown))}")
            scenarios = [s for s in scenarios if s.key in rows]
        if "macro" in only:
            parts += _macro(scenarios, len(servers), issuer, peer_note)
            parts += [redis_note] if redis_note else []
        if "compare" in only:
            _log(f"compare with {commit}")
            pairs = compare.interleave(scenarios, old)
            samples = compare.run(pairs)
            token = repeated.path.read_text().split()[0]
            first = compare.first_requests(origin, db.url, token, old_root)
            _util.save(
                "compare", {"commit": commit, "macro": samples, "startup": first}
            )
            rounds, seconds, _ = compare.settings()
            parts += [
                f"### This tree ÷ {commit}, interleaved in one run "
                f"({rounds} rounds × {seconds} s; requests/s medians)",
                compare.render(commit, {s.key: s.label for s in pairs}, samples, first),
            ]
        if "admin" in only:
            _log("admin")
            result = admin.run(servers["always"], admin_token, users, db.dsn, db.url)
            _util.save("admin", result)
            parts += [
                f"### Admin user list at {users:,} users".replace(",", " "),
                admin.render(result),
            ]
    return parts


def _macro(scenarios: list[Any], server_count: int, issuer: Any, peer_note: str) -> list[str]:  # fmt: skip
    from . import _server, _util, macro

    quick = _util.quick()
    rounds, seconds, warmup = macro.settings()
    _log(f"macro: {len(scenarios)} scenarios, {rounds} rounds of {seconds} s")
    macro.run_scenarios(
        scenarios, rounds=0, seconds=seconds, warmup=warmup
    )  # warm every server first
    served_before, began = issuer.requests, time.time()
    samples = macro.run_scenarios(
        scenarios, rounds=rounds, seconds=seconds, warmup=0 if quick else 1
    )
    cycles, pair_seconds = macro.pair_settings()
    _log(f"macro: the issue's targets, {cycles} paired runs of {pair_seconds} s each")
    paired = macro.run_pairs(scenarios, cycles, pair_seconds)
    fetch_totals = {"requests": sum(r["requests"] for runs in samples.values() for r in runs),
                    "served": issuer.requests - served_before, "servers": server_count,
                    "seconds": time.time() - began}  # fmt: skip
    _util.save("macro", samples)
    _util.save("macro_paired", paired)
    labels = {s.key: s.label for s in scenarios}
    comparisons = [
        ("ping", "bare_ping", "≥ 0.98×", 0.98),
        ("never_rep", "bare_ping", "", None),
        ("always_rep", "bare_ping", "", None),
        ("bare_noop", "bare_ping", "", None),
        ("push_rep", "bare_ping", "≥ 0.75× (issue)", 0.75),
        ("push_rep", "bare_noop", "", None),
        ("app_noop", "bare_noop", "", None),
        ("push_rep", "app_noop", "", None),
        ("never_rep", "bare_noop", "", None),
        ("push_dist", "bare_ping", "", None),
        ("never_rep", "ping", "≥ 0.85×", 0.85),
        ("never_dist", "ping", "≥ 0.45×", 0.45),
        ("pyjwt", "ping", "(issue: 0.40×)", None),
        ("always_rep", "ping", "", None),
        ("always_dist", "ping", "", None),
        ("bridge_rep", "ping", "(issue: ≈ 0.27–0.29×)", None),
        ("bridge_dist", "ping", "", None),
        ("betterauth_rep", "ping", "(issue: ≈ 0.27–0.29×)", None),
        ("betterauth_dist", "ping", "", None),
        ("never_rep", "bridge_rep", "≥ 2.5×", 2.5),
        ("never_dist", "bridge_dist", "≥ 2.5×", 2.5),
        ("never_rep", "betterauth_rep", "", None),
        ("never_dist", "betterauth_dist", "", None),
        ("me_always", "raw_me", "≥ 1.0×", 1.0),
        ("me_always", "raw_me_noreset", "", None),
        ("me_cached", "raw_me", "", None),
        ("me_never", "raw_me", "", None),
        ("me_push", "raw_me", "≥ 1.2× (issue)", 1.2),
        ("redis_push", "raw_redis", "≥ 0.9× (issue)", 0.9),
        ("redis_always", "raw_redis", "", None),
    ]
    header = (f"### Requests/s over loopback (uvicorn 1 worker + uvloop + httptools; wrk 1 thread, "
              f"{_server.CONNECTIONS} connections; {rounds} rounds × {seconds} s; medians)")  # fmt: skip
    parts = [
        header,
        macro.render(labels, samples, comparisons),
        f"The issue's targets again, paired: the row and its reference alternate, {cycles} "
        f"pairs of {pair_seconds}-s runs each (A B, then B A), after the rounds above; the "
        "median and quartiles of the pairs' ratios.",
        macro.render_pairs(labels, paired),
        f"Other libraries: {peer_note}.",
    ]
    return parts + _fetches(fetch_totals)


if __name__ == "__main__":
    raise SystemExit(main())
