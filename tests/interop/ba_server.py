"""A real Better-Auth 1.7.25 server (``examples/better-auth-server``) for interop tests.

:func:`running_better_auth` installs the Node dependencies once (``npm ci``), runs Better-Auth's
own migration on the given database, starts ``node server.mjs`` on a free loopback port, waits
for ``/api/auth/ok`` and stops the process by its PID at exit. The helpers speak plain HTTP
with ``httpx``; no cookie jar is kept, so each call carries exactly the credential it is given.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from tests.pg import free_port
from tests.processes import end_process

SERVER_DIR = Path(__file__).resolve().parents[2] / "examples" / "better-auth-server"
SECRET = "test-secret-0123456789abcdef0123456789abcdef"  # throwaway, loopback only
PASSWORD = "password1234"  # throwaway


class BetterAuthError(RuntimeError):
    """The Node side failed: the message carries its output."""


def node_database_url(url: str) -> str:
    """The URL ``auth.mjs`` understands for a SQLAlchemy / DSN URL of the same database.

    ``postgresql+asyncpg://…`` → ``postgresql://…``; ``sqlite+aiosqlite:///path`` → ``sqlite:///path``;
    a bare file path → ``sqlite:///abs/path``.
    """
    if "://" not in url:
        return f"sqlite://{Path(url).resolve()}"
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0]
    if base in {"postgresql", "postgres"}:
        return f"postgresql://{rest}"
    if base == "sqlite":
        return f"sqlite://{rest}"
    raise ValueError(f"unsupported database URL for Better-Auth: {url}")


def ensure_node_modules() -> None:
    """``npm ci`` once, when a dependency of ``package.json`` is missing from ``node_modules``."""
    dependencies = json.loads((SERVER_DIR / "package.json").read_text())["dependencies"]
    if all((SERVER_DIR / "node_modules" / name).is_dir() for name in dependencies):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BetterAuthError(
            "npm not found: the interop tests need Node >= 20 and npm"
        )
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BetterAuthError(f"npm ci failed:\n{result.stdout}\n{result.stderr}")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise BetterAuthError("node not found: the interop tests need Node >= 20")
    return node


def cookie_from(response: httpx.Response, name: str = "session_token") -> str | None:
    """``<cookie-name>=<value>`` of the ``*.<name>`` cookie a response sets, ready for a Cookie header."""
    for header in response.headers.get_list("set-cookie"):
        pair = header.split(";", 1)[0]
        key, _, value = pair.partition("=")
        if key.endswith(f".{name}") and value:
            return pair
    return None


def is_cookie_header(credential: str) -> bool:
    """``name=value`` (a Cookie header) rather than a token: a signed token's only ``=`` is its padding."""
    return "=" in credential.rstrip("=")


class BetterAuthServer:
    """One Node process serving Better-Auth on ``127.0.0.1:<port>`` over ``database_url``."""

    def __init__(
        self,
        database_url: str,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = node_database_url(database_url)
        self.log_path = Path(log_dir or tempfile.gettempdir()) / (
            f"better-auth-{self.port}.log"
        )
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BA_", "BETTER_AUTH_"))
            and k
            not in {"NODE_ENV", "PORT"}  # NODE_ENV=production turns rate limits on
        }
        self.env = {
            **inherited,
            "BETTER_AUTH_URL": self.url,
            "BETTER_AUTH_SECRET": SECRET,
            "DATABASE_URL": self.database_url,
            "PORT": str(self.port),
            **(env or {}),
        }
        self.secret = self.env["BETTER_AUTH_SECRET"]
        self._process: subprocess.Popen[bytes] | None = None
        self._client = httpx.Client(base_url=self.url, timeout=20.0)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def migrate(self, *args: str) -> str:
        """``node migrate.mjs [args]`` (Better-Auth's getMigrations); its output."""
        ensure_node_modules()
        result = subprocess.run(
            [_node(), "migrate.mjs", *args],
            cwd=SERVER_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            raise BetterAuthError(
                f"migrate.mjs failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def start(self, timeout: float = 30.0) -> None:
        ensure_node_modules()
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [_node(), "server.mjs"],
                cwd=SERVER_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if self._client.get("/api/auth/ok").status_code == 200:
                    return
            time.sleep(0.1)
        log_text = self.log()
        self.stop()
        print(f"--- {self.log_path} ---\n{log_text}", file=sys.stderr)
        raise BetterAuthError(f"Better-Auth did not start on {self.url}:\n{log_text}")

    def stop(self) -> None:
        """Terminate the Node process (by its PID), killing it if it does not exit."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            end_process(process)
            self.log_path.unlink(missing_ok=True)  # kept only when Node died on its own
        self._client.close()

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- HTTP ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str | None = None,
        bearer: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request to ``/api/auth{path}`` with an allowed ``Origin`` and only the given credential."""
        headers = {"origin": self.url, **kwargs.pop("headers", {})}
        if cookie:
            headers["cookie"] = cookie
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        try:
            return self._client.request(
                method, f"/api/auth{path}", headers=headers, **kwargs
            )
        finally:
            self._client.cookies.clear()  # no jar: every call states its own credential

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code != 200:
            raise BetterAuthError(
                f"{response.request.method} {response.request.url} → {response.status_code}: {response.text}"
            )
        return response.json()

    def sign_up(
        self, email: str, password: str = PASSWORD, name: str = "Test User"
    ) -> dict[str, Any]:
        """``POST /sign-up/email``: ``{"token", "user"}``."""
        response = self.request(
            "POST",
            "/sign-up/email",
            json={"email": email, "password": password, "name": name},
        )
        return dict(self._json(response))

    def sign_in(
        self, email: str, password: str = PASSWORD
    ) -> tuple[dict[str, Any], str, str]:
        """``POST /sign-in/email``: the JSON, the ``Cookie`` header value, the signed token (``set-auth-token``)."""
        response = self.request(
            "POST", "/sign-in/email", json={"email": email, "password": password}
        )
        body = dict(self._json(response))
        cookie = cookie_from(response)
        if cookie is None:
            raise BetterAuthError(f"sign-in set no session cookie: {response.headers}")
        return body, cookie, response.headers["set-auth-token"]

    def token(self, cookie: str | None = None, *, bearer: str | None = None) -> str:
        """``GET /token``: the JWT."""
        return str(
            self._json(self.request("GET", "/token", cookie=cookie, bearer=bearer))[
                "token"
            ]
        )

    def jwks(self) -> dict[str, Any]:
        return dict(self._json(self.request("GET", "/jwks")))

    def get_session(
        self,
        credential: str | None = None,
        *,
        bearer: str | None = None,
        disable_cookie_cache: bool = True,
        disable_refresh: bool = False,
    ) -> dict[str, Any] | None:
        """``GET /get-session``; ``credential`` is a Cookie header value (``name=value``) or a bearer token."""
        cookie = credential if credential and is_cookie_header(credential) else None
        if credential and cookie is None:
            bearer = credential
        params = {"disableCookieCache": "true"} if disable_cookie_cache else {}
        if disable_refresh:
            params["disableRefresh"] = "true"
        body = self._json(
            self.request(
                "GET", "/get-session", cookie=cookie, bearer=bearer, params=params
            )
        )
        return None if body is None else dict(body)

    def admin_get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        cookie: str | None = None,
    ) -> httpx.Response:
        return self.request(
            "GET", f"/admin/{path.lstrip('/')}", cookie=cookie, params=params
        )

    def admin_post(
        self, path: str, json: Mapping[str, Any], cookie: str | None = None
    ) -> httpx.Response:
        return self.request(
            "POST", f"/admin/{path.lstrip('/')}", cookie=cookie, json=dict(json)
        )

    @staticmethod
    def raw_token(signed_or_cookie: str) -> str:
        """The raw session token (what the DB stores) of a signed token or a Cookie header value."""
        value = signed_or_cookie
        if is_cookie_header(value):
            value = unquote(value.split(";", 1)[0].split("=", 1)[1])
        return value.rsplit(".", 1)[0]


@contextlib.contextmanager
def running_better_auth(
    database_url: str,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    migrate: bool = True,
) -> Iterator[BetterAuthServer]:
    """Better-Auth on ``database_url`` (migrated by Better-Auth unless ``migrate=False``), stopped at exit."""
    server = BetterAuthServer(database_url, env=env, port=port)
    try:
        if migrate:
            server.migrate()
        server.start()
        yield server
    finally:
        server.stop()
