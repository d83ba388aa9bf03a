"""Every check the project runs: ``nox`` runs the default sessions, ``nox -s example`` the demo.

The Python matrix comes from the classifiers; interpreters installed by pyenv are found
without activating them. Sessions install what they need themselves, PostgreSQL included.
"""

import glob
import os
import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)
LATEST = PYTHONS[-1]
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = CI
nox.options.reuse_existing_virtualenvs = not CI
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "hardening",
    "interop",
    "package",
    "docs",
    "coverage",
]
# use the interpreters on this machine, never download one
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


def _add_pyenv_interpreters() -> None:
    """Put pyenv's 3.10–3.13 on PATH so nox finds ``python3.X`` without ``pyenv global``."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    extra = []
    for version in PYTHONS:
        found = sorted(
            glob.glob(str(root / "versions" / f"{version}.*" / "bin")), reverse=True
        )
        extra += found[:1]
    os.environ["PATH"] = os.pathsep.join([*extra, os.environ.get("PATH", "")])


_add_pyenv_interpreters()


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _apt_install(session: nox.Session, missing: str, *packages: str) -> None:
    """Install Debian packages (the machines this project runs on have apt and root or sudo)."""
    if shutil.which("apt-get") is None:
        session.error(
            f"{missing} not found and apt-get is not available: install {' '.join(packages)}"
        )
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run(*sudo, "apt-get", "update", "-qq", external=True, env=env)
    session.run(
        *sudo, "apt-get", "install", "-y", "-qq", *packages, external=True, env=env
    )


def ensure_postgres(session: nox.Session) -> None:
    """Install Debian's PostgreSQL server when its binaries are missing (the tests start it)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")
    if not (found or os.environ.get("PG_BIN")):
        _apt_install(session, "PostgreSQL server binaries", "postgresql")


def ensure_pgbouncer(session: nox.Session) -> None:
    """Install Debian's PgBouncer when missing (the tests put it in front of PostgreSQL)."""
    if not (
        os.environ.get("PGBOUNCER")
        or shutil.which("pgbouncer")
        or Path("/usr/sbin/pgbouncer").exists()
    ):
        _apt_install(session, "PgBouncer", "pgbouncer")


def ensure_chromium(session: nox.Session) -> None:
    """Install Debian's Chromium when missing (the demo page's browser test drives it headless)."""
    if not (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    ):
        _apt_install(session, "Chromium", "chromium")


def ensure_redis(session: nox.Session) -> None:
    """Install Debian's Redis server when missing (the tests start one: secondaryStorage sessions)."""
    if not (shutil.which("redis-server") or Path("/usr/bin/redis-server").exists()):
        _apt_install(session, "redis-server", "redis-server")


def ensure_haproxy(session: nox.Session) -> None:
    """Install Debian's HAProxy when missing (the replica tests put it in front of the API)."""
    if not (
        os.environ.get("HAPROXY")
        or shutil.which("haproxy")
        or Path("/usr/sbin/haproxy").exists()
    ):
        _apt_install(session, "HAProxy", "haproxy")


def ensure_node(session: nox.Session) -> None:
    """Install Debian's Node.js and npm when missing (the Better-Auth server runs on Node >= 20)."""
    if not (shutil.which("node") and shutil.which("npm")):
        _apt_install(session, "Node.js", "nodejs", "npm")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit and PostgreSQL/SQLite integration tests with coverage; ``-- --installpkg WHEEL`` tests a built wheel."""
    ensure_postgres(session)
    ensure_pgbouncer(session)
    ensure_redis(session)
    ensure_haproxy(session)
    args = list(session.posargs)
    package = "."
    if "--installpkg" in args:
        index = args.index("--installpkg")
        package = args[index + 1]
        del args[index : index + 2]
    session.install(f"{package}[postgres,sqlite,redis,testing]", *_group("tests"))
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "tests/unit",
        "tests/integration",
        "examples",
        *args,
        env={"COVERAGE_FILE": str(ROOT / f".coverage.{session.python}")},
    )


FASTAPI_LOWEST = next(
    dep.split(">=")[1].split(",")[0].strip()
    for dep in PYPROJECT["project"]["dependencies"]
    if dep.startswith("fastapi>=")
)


@nox.session(default=False)
@nox.parametrize(
    ("python", "fastapi"), [(PYTHONS[0], FASTAPI_LOWEST), (LATEST, "latest")]
)
def fastapi_versions(session: nox.Session, fastapi: str) -> None:
    """Unit tests and the router's integration tests on the oldest and newest FastAPI allowed (opt-in)."""
    ensure_postgres(session)
    pin = "fastapi" if fastapi == "latest" else f"fastapi=={fastapi}"
    session.install(".[postgres,sqlite]", *_group("tests"))
    session.install("--upgrade", pin)
    session.run("python", "-c", "import fastapi; print('FastAPI', fastapi.__version__)")
    session.run(
        "pytest", "tests/unit", "tests/integration/test_router_prefix.py",
        "tests/integration/test_warmup.py", "tests/integration/test_health.py",
        "tests/integration/test_auth.py",
        # an old Starlette's test client imports an alias newer anyio deprecates
        "-W", "ignore::DeprecationWarning", *session.posargs,
    )  # fmt: skip


@nox.session(python=LATEST)
def interop(session: nox.Session) -> None:
    """Against a real Better-Auth 1.7.25 server (Node) on PostgreSQL and SQLite, on loopback.

    Includes the short replica run (3 replicas behind HAProxy, sessions in the database, JWTs);
    ``nox -s replicas`` is the whole one.
    """
    ensure_postgres(session)
    ensure_redis(session)
    ensure_haproxy(session)
    ensure_node(session)
    ensure_chromium(session)
    with session.chdir(ROOT / "examples" / "better-auth-server"):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.install(
        ".[postgres,sqlite,redis,testing]", *_group("tests"), *_group("browser")
    )
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "tests/interop",
        *session.posargs,
        env={
            "FBA_INTEROP_REQUIRED": "1",
            "COVERAGE_FILE": str(ROOT / ".coverage.interop"),
        },
    )


@nox.session(python=LATEST, default=False)
def replicas(session: nox.Session) -> None:
    """3 API replicas behind HAProxy on one PostgreSQL, one Redis and Better-Auth (opt-in, a few min).

    Every credential kind, sessions in the database and in Redis, freshness always, cached and
    never, a replica killed mid-load, a key rotation: ``nox -s replicas``.
    """
    ensure_postgres(session)
    ensure_redis(session)
    ensure_haproxy(session)
    ensure_node(session)
    with session.chdir(ROOT / "examples" / "better-auth-server"):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.install(".[postgres,sqlite,redis]", *_group("tests"))
    session.run(
        "pytest",
        "tests/interop/test_replicas.py",
        "tests/unit/test_deploy_scale.py",
        *session.posargs,
        env={"FBA_INTEROP_REQUIRED": "1", "FBA_REPLICAS_FULL": "1"},
    )


@nox.session(python=LATEST, default=False)
def interop_matrix(session: nox.Session) -> None:
    """Every Better-Auth adapter x database x id type cell (opt-in, ~15 min): ``nox -s interop_matrix``."""
    ensure_postgres(session)
    ensure_node(session)
    server = ROOT / "examples" / "better-auth-server"
    with session.chdir(server):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    with session.chdir(server / "prisma"):  # Prisma 7 is only needed here (~300 MB)
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.install(".[postgres,sqlite,testing]", *_group("tests"))
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "tests/interop/test_adapter_matrix.py",
        *session.posargs,
        env={
            "FBA_INTEROP_REQUIRED": "1",
            "FBA_INTEROP_MATRIX": "1",
            "COVERAGE_FILE": str(ROOT / ".coverage.interop_matrix"),
        },
    )


@nox.session(python=LATEST)
def hardening(session: nox.Session) -> None:
    """Attack corpus, property tests, Schemathesis, faults and a short load test (``FUZZ_LONG=1`` for more)."""
    ensure_postgres(session)
    session.install(
        ".[postgres,sqlite,testing]", *_group("tests"), *_group("hardening")
    )
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "tests/hardening",
        *session.posargs,
        env={"COVERAGE_FILE": str(ROOT / ".coverage.hardening")},
    )


@nox.session(python=LATEST, default=False)
def load(session: nox.Session) -> None:
    """100 connections for 5 minutes on /api/v1/auth/me and the admin list: no errors, flat RSS."""
    ensure_postgres(session)
    session.install("-e", ".[postgres,sqlite,testing]", *_group("tests"))
    args = session.posargs or ["--connections", "100", "--seconds", "300"]
    report = str(Path(session.create_tmp()) / "load.json")
    session.run("python", "-m", "bench.load.loadgen", *args, "--json", report)


@nox.session(python=LATEST, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (opt-in, over 20 min: the macro section alone took 21): ``nox -s bench``; ``nox -s bench -- --quick`` is the < 60 s smoke run."""
    ensure_postgres(session)
    ensure_redis(session)  # the rows of sessions in Better-Auth's secondaryStorage
    if not shutil.which("wrk"):
        _apt_install(session, "wrk", "wrk")
    session.install(
        "-e",
        ".[postgres,redis,testing]",
        "uvicorn>=0.30",
        "uvloop>=0.19",
        "httptools>=0.6",
    )
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(python=LATEST, default=False)
def audit(session: nox.Session) -> None:
    """pip-audit of the runtime dependencies (needs PyPI's advisory API, so not in the offline CI)."""
    session.install(".[postgres,sqlite]", "pip-audit>=2.7")
    session.run("pip-audit", "--skip-editable", "--strict", "--progress-spinner", "off")


@nox.session(python=LATEST)
def coverage(session: nox.Session) -> None:
    """Combine the coverage of every Python and fail under the floor in pyproject.toml."""
    session.install("coverage[toml]")
    session.run(
        "coverage",
        "combine",
        *glob.glob(str(ROOT / ".coverage.*")),
        success_codes=[0, 1],
    )
    session.run("coverage", "report")
    session.run("coverage", "html", "-d", "htmlcov", "--fail-under=0", silent=True)


@nox.session(python=LATEST)
def lint(session: nox.Session) -> None:
    """ruff format and check, and the import layers of the package."""
    session.install("-e", ".", *_group("lint"))
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
    session.run("lint-imports")


@nox.session(python=LATEST)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the example app."""
    session.install(
        "-e",
        ".[postgres,sqlite,testing]",
        *_group("typing"),
        *_group("tests"),
        *_group("browser"),
        *_group("hardening"),
        "nox",
    )
    session.run("mypy")


@nox.session(python=LATEST)
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors."""
    session.install("-e", ".", *_group("docs"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"))


@nox.session(python=LATEST)
def package(session: nox.Session) -> None:
    """Build the wheel and sdist, then install each into a clean virtualenv and import it."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.install("build", "twine")
    session.run("python", "-m", "build", "--installer", "uv", "--outdir", str(dist))
    session.run("twine", "check", "--strict", *glob.glob(str(dist / "*")))
    for artefact in sorted(dist.iterdir()):
        venv = Path(session.create_tmp()) / f"clean-{artefact.suffix.strip('.')}"
        shutil.rmtree(venv, ignore_errors=True)
        session.run(
            "uv",
            "venv",
            "-q",
            "-p",
            str(session.python or sys.executable),
            str(venv),
            external=True,
        )
        python = str(venv / "bin" / "python")
        session.run(
            "uv",
            "pip",
            "install",
            "-q",
            "-p",
            python,
            f"{artefact}[postgres,sqlite]",
            external=True,
        )
        session.run(
            python,
            "-c",
            "import fastapi_better_auth as f, fastapi_better_auth.models, fastapi_better_auth._schema.migrations; "
            "[getattr(f, n) for n in f.__all__]; print('imported', f.__version__, len(f.__all__), 'names')",
            external=True,
        )
        session.run(
            python,
            "-m",
            "fastapi_better_auth",
            "migrate",
            "sql",
            external=True,
            silent=True,
        )
        # PyJWT is the testing kit's alone: without the extra it names the extra to install
        session.run(
            python,
            "-c",
            "import importlib.util as u, sys\n"
            "assert u.find_spec('jwt') is None, 'PyJWT is installed without [testing]'\n"
            "try:\n    import fastapi_better_auth.testing\n"
            "except ModuleNotFoundError as e:\n"
            "    assert 'fastapi-better-auth-kit[testing]' in str(e), e\n"
            "else:\n    sys.exit('fastapi_better_auth.testing imported without PyJWT')",
            external=True,
        )


@nox.session(python=LATEST)
def example(session: nox.Session) -> None:
    """The demo: Better-Auth (Node) and the example API with its page, on an embedded SQLite file.

    Open http://127.0.0.1:8000/; Ctrl-C stops both servers. Arguments after ``--`` go to
    ``python -m examples.demo`` (``--app-port``, ``--auth-port``, ``--db``, ``--no-auto-admin``).
    """
    ensure_node(session)
    session.install("-e", ".[sqlite]", *_group("example"))
    # generous timeouts: the demo stops its two servers itself on Ctrl-C
    session.run(
        "python",
        "-m",
        "examples.demo",
        *session.posargs,
        interrupt_timeout=15.0,
        terminate_timeout=15.0,
    )
