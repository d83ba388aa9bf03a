"""``python -m bench --compare REV``: this tree's macro rows and REV's, interleaved in one run.

REV's ``src/`` and ``bench/`` are exported with ``git archive`` into a temporary directory and
served from there by the same Python and dependencies, against the same PostgreSQL, JWKS and
tokens. Every round visits each row for both trees back to back, the order reversed every other
round, so both see the same background load. A row's ratio is new ÷ old per round; the table
quotes the median and the range of the rounds: the range is the run-to-run noise to judge the
median by. The first request after start is compared the same way (fresh processes, medians).
"""

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import macro, startup
from ._server import Server, python_path
from ._util import ROOT, fmt, median, quick, table

#: macro rows served by the library in both trees (no references, no other libraries)
ROWS = ("ping", "never_rep", "never_dist", "always_rep", "always_dist",
        "me_always", "me_never", "me_cached")  # fmt: skip


@contextmanager
def checkout(rev: str) -> Iterator[tuple[str, Path]]:
    """(short commit, directory) of ``rev``'s ``src`` and ``bench``; removed afterwards."""
    commit = _git("rev-parse", "--short", f"{rev}^{{commit}}").strip()
    with tempfile.TemporaryDirectory(prefix=f"bench-{commit}-") as tmp:
        root = Path(tmp)
        _git("archive", "--output", str(root / "tree.tar"), commit, "src", "bench")
        subprocess.run(["tar", "-xf", "tree.tar"], cwd=root, check=True)
        served = subprocess.run(
            [sys.executable, "-c", "import fastapi_better_auth as m; print(m.__file__)"],
            env={"PYTHONPATH": python_path(root), "PATH": ""}, cwd=root,
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if not served.startswith(str(root)):
            raise RuntimeError(f"{rev}: the package imports from {served}, not {root}")
        yield commit, root


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def old_servers(
    root: Path, commit: str, env: dict[str, str], modes: tuple[str, ...]
) -> dict[str, Server]:
    """REV's ``bench.apps:create_app`` per freshness mode, served from its checkout."""
    return {
        mode: Server(
            f"{commit}-{mode}",
            "bench.apps:create_app",
            {**env, "BENCH_FRESHNESS": mode},
            root=root,
        )
        for mode in modes
    }


def settings() -> tuple[int, int, int]:
    """(rounds, seconds per run, warm-up seconds): more rounds than the macro, to see noise."""
    return (4, 2, 1) if quick() else (6, 8, 2)


def interleave(
    scenarios: list[macro.Scenario], old: dict[str, Server]
) -> list[macro.Scenario]:
    """Each compared row of this tree followed by the same row served by ``old``."""
    by_name = {f"ours-{mode}": server for mode, server in old.items()}
    pairs: list[macro.Scenario] = []
    for s in scenarios:
        if s.key in ROWS and s.server.name in by_name:
            pairs.append(
                macro.Scenario(f"new:{s.key}", s.label, s.server, s.path, s.tokens)
            )
            pairs.append(macro.Scenario(f"old:{s.key}", s.label, by_name[s.server.name],
                                        s.path, s.tokens))  # fmt: skip
    return pairs


def run(pairs: list[macro.Scenario]) -> dict[str, list[dict[str, Any]]]:
    rounds, seconds, warmup = settings()
    macro.run_scenarios(pairs, rounds=0, seconds=seconds, warmup=warmup)
    return macro.run_scenarios(pairs, rounds=rounds, seconds=seconds, warmup=0)


def first_requests(origin: str, db_url: str, token: str, root: Path) -> dict[str, Any]:
    """The startup probe of both trees, alternated process by process; medians."""
    repeats = 4 if quick() else 9
    results: dict[str, Any] = {"new": {}, "old": {}}
    for mode in startup.modes():
        runs: dict[str, list[dict[str, float]]] = {"new": [], "old": []}
        for index in range(repeats):
            for side in ("new", "old") if index % 2 == 0 else ("old", "new"):
                tree = root if side == "old" else ROOT
                runs[side].append(startup.probe(origin, db_url, token, mode, tree))
        for side, side_runs in runs.items():
            results[side][mode] = startup.medians(side_runs)
    return results


def render(
    commit: str,
    labels: dict[str, str],
    samples: dict[str, list[dict[str, Any]]],
    first: dict[str, Any] | None,
) -> str:
    rows = []
    for key in ROWS:
        new, old = samples.get(f"new:{key}"), samples.get(f"old:{key}")
        if not new or not old:
            continue
        ratios = [a["rps"] / b["rps"] for a, b in zip(new, old, strict=True)]
        low, high = min(ratios), max(ratios)
        note = ("slower in every round" if high < 1 else
                "faster in every round" if low > 1 else "within noise")  # fmt: skip
        rows.append([labels[f"new:{key}"], fmt(median(r["rps"] for r in new), 0),
                     fmt(median(r["rps"] for r in old), 0), f"{median(ratios):.3f}×",
                     f"{low:.3f}–{high:.3f}", note])  # fmt: skip
    out = table(["scenario", "requests/s new", f"requests/s {commit}", "new ÷ old (median)",
                 "range of rounds", ""], rows)  # fmt: skip
    if first:
        rows = [
            [f"freshness={mode}", fmt(r["first_request_ms"]),
             fmt(first["old"][mode]["first_request_ms"]), fmt(r["lifespan_ms"]),
             fmt(first["old"][mode]["lifespan_ms"])]
            for mode, r in first["new"].items()
        ]  # fmt: skip
        out += "\n\n" + table(["first request after start", "new ms", f"{commit} ms",
                               "lifespan new ms", f"lifespan {commit} ms"], rows)  # fmt: skip
    return out
