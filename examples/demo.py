"""``python -m examples.demo``: Better-Auth + the example API + its web page, on one SQLite file.

What ``nox -s example`` runs. No database server is needed:

1. ``npm ci`` in ``examples/better-auth-server`` (once, when ``node_modules`` is missing);
2. Better-Auth's own migration (``node migrate.mjs``) on ``examples/demo.db`` (``--db`` or
   ``DEMO_DB`` to change it); running it again is harmless;
3. the Better-Auth server on ``127.0.0.1:3005`` and the example app (uvicorn) on
   ``127.0.0.1:8000`` (``--auth-port``, ``--app-port``), sharing ``BETTER_AUTH_SECRET``,
   ``BETTER_AUTH_URL``, the database and ``BETTER_AUTH_TRUSTED_ORIGINS`` (the app's origin);
4. waits until both answer, prints where to go, and on Ctrl-C or SIGTERM stops both
   children by their PIDs. If either child dies, the other is stopped too.

Admin: the first user who signs up through the page while there is no admin becomes one;
with ``DEMO_ADMIN_EMAIL`` set, only the user who signs up with that email does
(``--no-auto-admin`` turns both off). Needs Node >= 20 with npm, and the example's Python
packages (``pip install -e ".[sqlite]" uvicorn``).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
SERVER_DIR = ROOT / "examples" / "better-auth-server"
DEFAULT_DB = ROOT / "examples" / "demo.db"
#: Used when BETTER_AUTH_SECRET is unset; printed with a warning. Never use it outside a demo.
DEV_SECRET = "demo-secret-not-for-production-0123456789abcdef"
HOST = "127.0.0.1"


class DemoError(RuntimeError):
    """The demo cannot start; the message says why."""


class Stop(Exception):
    """Raised by the signal handler to leave the wait loop."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo",
        description="Run Better-Auth and the fastapi-better-auth example app on one SQLite file.",
    )
    parser.add_argument("--app-port", type=int, default=8000, help="default 8000")
    parser.add_argument("--auth-port", type=int, default=3005, help="default 3005")
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("DEMO_DB", DEFAULT_DB)),
        help="SQLite file (default: $DEMO_DB or examples/demo.db)",
    )
    parser.add_argument(
        "--no-auto-admin",
        action="store_true",
        help="do not make the first user (or DEMO_ADMIN_EMAIL) an admin",
    )
    return parser.parse_args(argv)


def which(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise DemoError(f"{program} not found: the demo needs Node >= 20 and npm")
    return path


def ensure_node_modules() -> None:
    """``npm ci`` once, as the interop tests do."""
    if (SERVER_DIR / "node_modules" / "better-auth").is_dir():
        return
    print("demo: npm ci in examples/better-auth-server (once)…", flush=True)
    subprocess.run(  # noqa: S603 (fixed command)
        [which("npm"), "ci", "--no-audit", "--no-fund"], cwd=SERVER_DIR, check=True
    )


def environments(
    args: argparse.Namespace, secret: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The environments of the Better-Auth server and of the app: the same auth settings."""
    auth_url = f"http://{HOST}:{args.auth_port}"
    origins = f"http://{HOST}:{args.app_port},http://localhost:{args.app_port}"
    database = args.db.resolve()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BETTER_AUTH_", "BA_"))
        and key not in {"NODE_ENV", "PORT", "DATABASE_URL"}
    }
    shared = {
        "BETTER_AUTH_URL": auth_url,
        "BETTER_AUTH_SECRET": secret,
        "BETTER_AUTH_TRUSTED_ORIGINS": origins,
    }
    node = {
        **inherited,
        **shared,
        "DATABASE_URL": f"sqlite://{database}",  # auth.mjs: sqlite:///abs/path
        "PORT": str(args.auth_port),
        "BA_ORGANIZATION": "1",  # organization(): the page's organizations card
    }
    app = {
        **inherited,
        **shared,
        # SQLAlchemy needs four slashes for an absolute path: sqlite:////abs/path
        "BETTER_AUTH_DATABASE_URL": f"sqlite:///{database}",
        "DEMO_FIRST_USER_ADMIN": "0" if args.no_auto_admin else "1",
        "DEMO_ORGANIZATIONS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if args.no_auto_admin:
        app.pop("DEMO_ADMIN_EMAIL", None)
    return node, app


def migrate(env: Mapping[str, str]) -> None:
    """Better-Auth's own migration (``getMigrations``), idempotent."""
    result = subprocess.run(  # noqa: S603 (fixed command)
        [which("node"), "migrate.mjs"],
        cwd=SERVER_DIR,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise DemoError(
            f"Better-Auth's migration failed:\n{result.stdout}{result.stderr}"
        )


def start(
    command: list[str], cwd: Path, env: Mapping[str, str]
) -> "subprocess.Popen[bytes]":
    """A child in its own session, so a terminal's Ctrl-C reaches only us and we stop it."""
    return subprocess.Popen(  # noqa: S603 (our own commands)
        command, cwd=cwd, env=dict(env), start_new_session=True
    )


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_until_up(
    children: Mapping[str, "subprocess.Popen[bytes]"],
    urls: Mapping[str, str],
    timeout: float = 60.0,
) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    while pending:
        for name in list(pending):
            if children[name].poll() is not None:
                raise DemoError(f"{name} exited with {children[name].returncode}")
            if answers(pending[name]):
                del pending[name]
        if time.monotonic() > deadline:
            raise DemoError(
                f"not answering after {timeout:.0f} s: {', '.join(pending)}"
            )
        time.sleep(0.2)


def stop(processes: Sequence["subprocess.Popen[bytes]"], timeout: float = 10.0) -> None:
    """SIGTERM each by PID at once, then SIGKILL whatever has not exited in time."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def run(args: argparse.Namespace) -> int:
    secret = os.environ.get("BETTER_AUTH_SECRET", "")
    if not secret:
        secret = DEV_SECRET
        print(
            "demo: WARNING: BETTER_AUTH_SECRET is not set; using a public development "
            "secret. Anyone who knows it can forge sessions: never use it outside this demo.",
            file=sys.stderr,
            flush=True,
        )
    node_env, app_env = environments(args, secret)
    ensure_node_modules()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    migrate(node_env)

    children: dict[str, subprocess.Popen[bytes]] = {}
    previous = {
        sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        children["Better-Auth"] = start(
            [which("node"), "server.mjs"], SERVER_DIR, node_env
        )
        children["the app"] = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "examples.app.main:create_app",
                "--factory",
                "--host",
                HOST,
                "--port",
                str(args.app_port),
            ],
            ROOT,
            app_env,
        )
        app_url = f"http://{HOST}:{args.app_port}"
        wait_until_up(
            children,
            {
                "Better-Auth": f"{node_env['BETTER_AUTH_URL']}/api/auth/ok",
                "the app": f"{app_url}/api/v1/health/db",
            },
        )
        admin = app_env.get("DEMO_ADMIN_EMAIL")
        rule = (
            "nobody is made admin (--no-auto-admin)"
            if args.no_auto_admin
            else f"{admin} becomes admin on sign-up"
            if admin
            else "the first user to sign up becomes admin"
        )
        print(
            "\n"
            f"  open {app_url}/\n\n"
            f"  API docs     {app_url}/docs\n"
            f"  Better-Auth  {node_env['BETTER_AUTH_URL']} (proxied at {app_url}/api/auth)\n"
            f"  database     {args.db.resolve()}\n"
            f"  admin        {rule}\n"
            f"  processes    {', '.join(f'{n} pid {c.pid}' for n, c in children.items())}\n\n"
            "  Ctrl-C stops both servers.\n",
            flush=True,
        )
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    raise DemoError(f"{name} exited with {child.returncode}")
            time.sleep(0.5)
    except Stop as reason:
        print(f"\ndemo: {reason}, stopping…", flush=True)
        return 0
    finally:
        for sig in previous:
            # a second Ctrl-C must not abandon a child
            signal.signal(sig, signal.SIG_IGN)
        stop(list(children.values()))
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (DemoError, subprocess.CalledProcessError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the servers started
        return 130


if __name__ == "__main__":
    sys.exit(main())
