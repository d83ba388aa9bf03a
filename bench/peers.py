"""The other libraries' virtualenv: ``bench/.venv-peers`` (``BENCH_PEERS_PYTHON`` overrides).

A separate environment because ``fastapi-better-auth-bridge`` installs a package named
``fastapi_better_auth``, which would shadow ours.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).with_name(".venv-peers")
PACKAGES = [
    "fastapi-better-auth-bridge[httpx]",
    "fastapi-betterauth",
    "uvicorn",
    "uvloop",
    "httptools",
]
CHECK = "import fastapi_better_auth, fastapi_betterauth, uvicorn, uvloop, httptools; fastapi_better_auth.JwtVerifier"


def python(create: bool) -> tuple[str | None, str]:
    """The peers' interpreter, creating the venv if asked; else ``None`` and why."""
    candidate = os.environ.get("BENCH_PEERS_PYTHON") or str(VENV / "bin" / "python")
    if _works(candidate):
        return candidate, _versions(candidate)
    if not create:
        return (
            None,
            "not installed (run the full benchmark once, or set BENCH_PEERS_PYTHON)",
        )
    uv = shutil.which("uv")
    try:
        if uv:
            subprocess.run(
                [uv, "venv", "-q", "-p", sys.executable, str(VENV)],
                check=True,
                timeout=300,
            )
            subprocess.run([uv, "pip", "install", "-q", "-p", str(VENV / "bin" / "python"), *PACKAGES],
                           check=True, timeout=600)  # fmt: skip
        else:
            subprocess.run(
                [sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300
            )
            subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *PACKAGES],
                           check=True, timeout=600)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not be installed: {exc}"
    path = str(VENV / "bin" / "python")
    return (
        (path, _versions(path))
        if _works(path)
        else (None, "installed but not importable")
    )


def _works(path: str) -> bool:
    if not Path(path).exists():
        return False
    return (
        subprocess.run([path, "-c", CHECK], capture_output=True, check=False).returncode
        == 0
    )


def _versions(path: str) -> str:
    code = ("from importlib.metadata import version as v; "
            "print(f\"fastapi-better-auth-bridge {v('fastapi-better-auth-bridge')}, "
            "fastapi-betterauth {v('fastapi-betterauth')}, fastapi {v('fastapi')}\")")  # fmt: skip
    return subprocess.run(
        [path, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
