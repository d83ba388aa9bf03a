"""Real Better-Auth credentials driving the example app in-process, on one shared database.

A :class:`Rig` is one Better-Auth server (Node, :mod:`tests.interop.ba_server`) and the example
app (``examples.app.create_app``) under ``fastapi.testclient.TestClient``, both on the same
PostgreSQL or SQLite database. :class:`Login` holds every credential one Better-Auth sign-in
yields: the raw session token of the JSON body, the signed ``set-auth-token``, the session
cookie and the ``/token`` JWT. :func:`run_core_flow` is the short end-to-end walk the
configuration variants share.
"""

import contextlib
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import pytest
from examples.app import create_app
from fastapi.testclient import TestClient

from fastapi_better_auth import BetterAuthSettings, SchemaNaming
from tests.interop.ba_server import PASSWORD, BetterAuthServer, running_better_auth
from tests.pg import PostgresServer

Kind = Literal["jwt", "raw", "signed", "cookie"]
#: Every credential Better-Auth issues that our API accepts.
KINDS: tuple[Kind, ...] = ("jwt", "raw", "signed", "cookie")
#: The session credentials (everything but the JWT).
SESSION_KINDS: tuple[Kind, ...] = ("raw", "signed", "cookie")
#: The ``credential`` our ``/auth/session`` reports for each kind.
REPORTED: dict[Kind, str] = {
    "jwt": "jwt",
    "raw": "bearer",
    "signed": "bearer",
    "cookie": "cookie",
}


class Reply(Protocol):
    """What our API answers through ``TestClient`` (an ``httpx`` or ``httpx2`` response)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Any: ...

    def json(self, **kwargs: Any) -> Any: ...


def require_node() -> None:
    """Skip the calling module without Node and npm (fail instead under ``FBA_INTEROP_REQUIRED``)."""
    if shutil.which("node") and shutil.which("npm"):
        return
    if os.environ.get("FBA_INTEROP_REQUIRED"):
        pytest.fail(
            "Node >= 20 and npm are needed (FBA_INTEROP_REQUIRED=1)", pytrace=False
        )
    pytest.skip(
        "Node >= 20 and npm are needed (set FBA_INTEROP_REQUIRED=1 to fail instead)",
        allow_module_level=True,
    )


def unique_email(label: str) -> str:
    return f"{label}-{secrets.token_hex(4)}@example.com"


@dataclass(frozen=True)
class Login:
    """One Better-Auth sign-in and every credential it yields."""

    user_id: str
    email: str
    session_id: str
    raw: str  # the JSON ``token`` of sign-in: what the database stores
    signed: str  # ``set-auth-token``: raw + "." + HMAC
    cookie: str  # ``<prefix>.session_token=<url-encoded signed>``
    jwt: str  # ``GET /api/auth/token``

    def headers(self, kind: Kind) -> dict[str, str]:
        """The request headers that carry this login's ``kind`` credential, and only it."""
        if kind == "cookie":
            return {"cookie": self.cookie}
        token = {"jwt": self.jwt, "raw": self.raw, "signed": self.signed}[kind]
        return {"authorization": f"Bearer {token}"}


def login(server: BetterAuthServer, email: str, *, name: str = "Test User") -> Login:
    """Sign up and sign in through Better-Auth; every credential of it."""
    server.sign_up(email, name=name)
    return sign_in(server, email)


def sign_in(server: BetterAuthServer, email: str) -> Login:
    """A new session of an existing user, through Better-Auth's sign-in."""
    body, cookie, signed = server.sign_in(email)
    session = server.get_session(cookie)
    assert session is not None
    assert session["session"]["token"] == body["token"]
    return Login(
        user_id=body["user"]["id"],
        email=body["user"]["email"],
        session_id=session["session"]["id"],
        raw=body["token"],
        signed=signed,
        cookie=cookie,
        jwt=server.token(cookie),
    )


def sign_in_status(server: BetterAuthServer, email: str) -> tuple[int, Any]:
    """Better-Auth's answer to an email sign-in: status and JSON body."""
    response = server.request(
        "POST", "/sign-in/email", json={"email": email, "password": PASSWORD}
    )
    return response.status_code, response.json()


# -- the database, read directly --------------------------------------------------------------


class SqlProbe(Protocol):
    """Runs one SQL query on the shared database."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class PgProbe:
    postgres: PostgresServer
    database: str

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        out = self.postgres.psql(sql, self.database)
        return [tuple(line.split("|")) for line in out.splitlines() if line]


@dataclass(frozen=True)
class SqliteProbe:
    path: Path

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            return [tuple(row) for row in db.execute(sql)]


def truthy(value: Any) -> bool:
    """A boolean as psql (``t``/``f``) or SQLite (``1``/``0``) returns it."""
    return value in (True, 1, "t", "1", "true")


@contextlib.contextmanager
def pg_database(postgres: PostgresServer, prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (its name), dropped at exit."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    postgres.psql(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def better_auth_on_postgres(
    postgres: PostgresServer, prefix: str, env: dict[str, str] | None = None
) -> Iterator[tuple[BetterAuthServer, str]]:
    """A real Better-Auth configured by ``env``, migrated onto a new database: (server, its URL)."""
    with (
        pg_database(postgres, prefix) as name,
        running_better_auth(postgres.url(name), env=env) as server,
    ):
        yield server, postgres.url(name)


# -- the rig ----------------------------------------------------------------------------------


def app_settings(
    server: BetterAuthServer, database_url: str, **overrides: Any
) -> BetterAuthSettings:
    """Our settings for ``server``: its URL, secret and database, plus ``overrides``."""
    return BetterAuthSettings.load(
        url=server.url,
        secret=server.secret,
        database_url=database_url,
        **overrides,
    )


@contextlib.contextmanager
def example_app(
    settings: BetterAuthSettings, *, raise_server_exceptions: bool = True
) -> Iterator[TestClient]:
    """The example app in-process, its lifespan running."""
    with TestClient(
        create_app(settings), raise_server_exceptions=raise_server_exceptions
    ) as client:
        yield client


@dataclass
class Rig:
    """Better-Auth and the example app on one database; the first admin signed in."""

    server: BetterAuthServer
    client: TestClient
    sql: SqlProbe
    naming: SchemaNaming = field(default_factory=SchemaNaming)
    admin: Login | None = None

    # -- our API --

    def api(
        self,
        method: str,
        path: str,
        who: Login | None = None,
        kind: Kind = "jwt",
        *,
        origin: str | None = "trusted",
        client: TestClient | None = None,
        **kwargs: Any,
    ) -> Reply:
        """``/api/v1{path}`` with ``who``'s ``kind`` credential (cookies also send ``Origin``)."""
        headers: dict[str, str] = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers.update(who.headers(kind))
            if kind == "cookie" and origin is not None:
                headers["origin"] = self.server.url if origin == "trusted" else origin
        response = (client or self.client).request(
            method, f"/api/v1{path}", headers=headers, **kwargs
        )
        (client or self.client).cookies.clear()
        return response

    @property
    def the_admin(self) -> Login:
        assert self.admin is not None
        return self.admin

    # -- Better-Auth --

    def ba_admin_post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.server.admin_post(path, body, cookie=self.the_admin.cookie)

    def ba_get_user(self, user_id: str) -> dict[str, Any]:
        response = self.server.admin_get(
            "get-user", {"id": user_id}, cookie=self.the_admin.cookie
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def ba_session_ids(self, user_id: str) -> set[str]:
        response = self.ba_admin_post("list-user-sessions", {"userId": user_id})
        assert response.status_code == 200, response.text
        return {session["id"] for session in response.json()["sessions"]}

    # -- the database --

    def table(self, model: str) -> str:
        return f'"{self.naming.table(model)}"'

    def column(self, model: str, name: str) -> str:
        return f'"{self.naming.column(model, name)}"'

    def promote_in_sql(self, user_id: str, role: str = "admin") -> None:
        self.sql.rows(
            f"UPDATE {self.table('user')} SET {self.column('user', 'role')} = '{role}' "
            f"WHERE {self.column('user', 'id')} = '{user_id}' RETURNING 1"
        )

    def user_row(self, user_id: str) -> dict[str, Any]:
        """name, email, role, banned, banReason of the user row, read in SQL."""
        names = ("name", "email", "role", "banned", "banReason")
        columns = ", ".join(self.column("user", name) for name in names)
        rows = self.sql.rows(
            f"SELECT {columns} FROM {self.table('user')} "
            f"WHERE {self.column('user', 'id')} = '{user_id}'"
        )
        assert len(rows) == 1
        row = dict(zip(names, rows[0], strict=True))
        row["banned"] = truthy(row["banned"])
        row["role"] = row["role"] or None
        return row

    def session_count(self, user_id: str) -> int:
        rows = self.sql.rows(
            f"SELECT count(*) FROM {self.table('session')} "
            f"WHERE {self.column('session', 'userId')} = '{user_id}'"
        )
        return int(rows[0][0])


def error_code(response: Reply) -> str:
    """Our error body's code: ``{"detail": {"code", "message"}}``."""
    return str(response.json()["detail"]["code"])


def start_rig(
    server: BetterAuthServer,
    client: TestClient,
    sql: SqlProbe,
    naming: SchemaNaming | None = None,
) -> Rig:
    """A rig whose first admin signed up through Better-Auth and was promoted in SQL."""
    rig = Rig(server, client, sql, naming or SchemaNaming())
    admin = login(server, unique_email("admin"), name="Admin")
    rig.promote_in_sql(admin.user_id)
    rig.admin = admin
    return rig


# -- the short end-to-end walk of the configuration variants ----------------------------------


def run_core_flow(rig: Rig) -> None:
    """Every ``/api/v1`` route once with real credentials, and the effects seen by both sides."""
    server, admin = rig.server, rig.the_admin
    assert rig.api("GET", "/health").json() == {"status": "ok"}
    assert rig.api("GET", "/health/db").json() == {"status": "ok"}

    user = login(server, unique_email("flow"), name="Flow User")
    # every credential identifies the user
    for kind in KINDS:
        response = rig.api("GET", "/auth/session", user, kind)
        assert response.status_code == 200, (kind, response.text)
        body = response.json()
        assert body["user"]["id"] == user.user_id
        assert body["credential"] == REPORTED[kind]
        if kind != "jwt":
            assert body["session"]["id"] == user.session_id
    me = rig.api("GET", "/auth/me", user, "cookie")
    assert (me.status_code, me.json()["email"]) == (200, user.email)
    accounts = rig.api("GET", "/auth/accounts", user, "signed").json()["accounts"]
    assert [(a["provider_id"], a["account_id"]) for a in accounts] == [
        ("credential", user.user_id)
    ]

    # admin reads
    listed = rig.api("GET", "/users", admin, "jwt", params={"search": user.email})
    assert listed.status_code == 200, listed.text
    assert [u["id"] for u in listed.json()["users"]] == [user.user_id]
    assert rig.api("GET", "/users", user, "jwt").status_code == 403
    got = rig.api("GET", f"/users/{user.user_id}", admin, "raw")
    assert (got.status_code, got.json()["email"]) == (200, user.email)

    # PATCH name → Better-Auth's get-session shows it
    patched = rig.api(
        "PATCH", f"/users/{user.user_id}", user, "cookie", json={"name": "Renamed"}
    )
    assert patched.status_code == 200, patched.text
    session = server.get_session(user.cookie)
    assert session is not None and session["user"]["name"] == "Renamed"

    # PUT role → Better-Auth shows and grants it
    role = rig.api(
        "PUT", f"/users/{user.user_id}/role", admin, "signed", json={"role": "admin"}
    )
    assert (role.status_code, role.json()["role"]) == (200, "admin")
    assert rig.ba_get_user(user.user_id)["role"] == "admin"
    assert server.admin_get("list-users", cookie=user.cookie).status_code == 200
    rig.api(
        "PUT", f"/users/{user.user_id}/role", admin, "signed", json={"role": "user"}
    )
    assert server.admin_get("list-users", cookie=user.cookie).status_code == 403

    # sessions: ours and Better-Auth's agree; a revoke is seen by Better-Auth
    second = sign_in(server, user.email)
    sessions = rig.api("GET", f"/users/{user.user_id}/sessions", user, "raw").json()
    assert {s["id"] for s in sessions["sessions"]} == rig.ba_session_ids(user.user_id)
    revoked = rig.api(
        "DELETE", f"/users/{user.user_id}/sessions/{second.session_id}", user, "jwt"
    )
    assert revoked.json() == {"revoked": 1}
    assert server.get_session(second.cookie) is None
    assert rig.api("GET", "/auth/me", second, "raw").status_code == 401

    # our ban → Better-Auth refuses sign-in; our unban → it signs in again
    banned = rig.api(
        "POST", f"/users/{user.user_id}/ban", admin, "cookie", json={"reason": "spam"}
    )
    assert (banned.status_code, banned.json()["banned"]) == (200, True)
    status, body = sign_in_status(server, user.email)
    assert (status, body["code"]) == (403, "BANNED_USER")
    assert server.get_session(user.cookie) is None
    assert rig.api("GET", "/auth/me", user, "jwt").status_code == 403
    assert (
        rig.api("DELETE", f"/users/{user.user_id}/ban", admin, "raw").status_code == 200
    )
    again = sign_in(server, user.email)
    assert rig.api("GET", "/auth/me", again, "cookie").status_code == 200

    # Better-Auth's ban-user → our API refuses the sessions (401) and the JWT (403)
    assert rig.ba_admin_post("ban-user", {"userId": user.user_id}).status_code == 200
    assert rig.api("GET", "/auth/me", again, "cookie").status_code == 401
    refused = rig.api("GET", "/auth/me", again, "jwt")
    assert (refused.status_code, error_code(refused)) == (403, "USER_BANNED")
    assert rig.ba_admin_post("unban-user", {"userId": user.user_id}).status_code == 200

    # revoke all through our API → Better-Auth has none left
    last = sign_in(server, user.email)
    all_revoked = rig.api("DELETE", f"/users/{user.user_id}/sessions", admin, "jwt")
    assert all_revoked.status_code == 200 and all_revoked.json()["revoked"] >= 1
    assert server.get_session(last.cookie) is None
    assert rig.ba_session_ids(user.user_id) == set()
