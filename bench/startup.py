"""The first authenticated request after start: fresh processes, the median of several.

"After start" means after the lifespan completed (what uvicorn reports as ready): the target
applies to the first request's own time; lifespan and start → first 200 are reported beside it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ._server import python_path
from ._util import ROOT, fmt, median, quick, table, verdict

TARGET_MS = 3.0


def run(origin: str, db_url: str, token: str) -> dict[str, Any]:
    """Medians of fresh processes per freshness mode."""
    repeats = 2 if quick() else 5
    results: dict[str, Any] = {}
    for mode in modes():
        runs = [probe(origin, db_url, token, mode) for _ in range(repeats)]
        results[mode] = medians(runs)
    return results


def modes() -> tuple[str, ...]:
    return ("never",) if quick() else ("never", "always")


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: median(r[key] for r in runs) for key in runs[0]} | {
        "repeats": len(runs)
    }


def probe(origin: str, db_url: str, token: str, mode: str, root: Path = ROOT) -> dict[str, float]:  # fmt: skip
    """One fresh process; ``root``: a checkout of another revision to probe instead."""
    env = {**os.environ, "PYTHONPATH": python_path(root), "BENCH_ORIGIN": origin,
           "BENCH_DB_URL": db_url, "BENCH_FRESHNESS": mode, "BENCH_TOKEN": token}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "bench.startup_probe"], env=env, cwd=root,
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def render(results: dict[str, Any]) -> str:
    rows = [
        [f"freshness={mode}", fmt(r["lifespan_ms"]), fmt(r["first_request_ms"]), fmt(r["total_ms"]),
         fmt(r["second_request_ms"]), f"first request ≤ {TARGET_MS:g} ms",
         verdict(r["first_request_ms"] <= TARGET_MS)]
        for mode, r in results.items()
    ]  # fmt: skip
    return table(["app", "lifespan ms", "first request ms", "start → first 200 ms",
                  "second request ms", "target", ""], rows)  # fmt: skip
