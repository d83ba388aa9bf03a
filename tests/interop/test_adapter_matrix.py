"""Better-Auth's database adapters × databases × id types, each against a real Better-Auth 1.7.25.

Each :class:`Cell` is one way a user runs Better-Auth: the adapter that writes the rows (the
built-in Kysely one, ``drizzleAdapter`` over drizzle-orm, ``prismaAdapter``), the database, and
``advanced.database.generateId`` (default random text ids, ``"uuid"``, ``"serial"``). Its tables
are made by that adapter's own tool: Better-Auth's migration (Kysely) or drizzle-kit on the schema
Better-Auth's CLI generates for Drizzle. ``Cell.settings`` is what our library needs for that
setup, spelled as the environment variables users set: the table the docs show.

Every cell signs users up through Better-Auth, drives every ``/api/v1`` route with each credential
kind (JWT, raw and signed bearer session token, cookie) and checks bans and revocations both ways.
The default ``interop`` session runs :data:`SLICE`; ``nox -s interop_matrix``
(``FBA_INTEROP_MATRIX=1``) runs every cell.
"""

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fastapi_better_auth import SchemaNaming
from tests.interop.ba_server import SERVER_DIR, BetterAuthServer, running_better_auth
from tests.interop.flow import (
    KINDS,
    REPORTED,
    SESSION_KINDS,
    Kind,
    PgProbe,
    Rig,
    SqliteProbe,
    app_settings,
    error_code,
    example_app,
    login,
    pg_database,
    require_node,
    run_core_flow,
    sign_in,
    sign_in_status,
    start_rig,
    unique_email,
)
from tests.pg import PostgresServer

pytestmark = pytest.mark.interop
require_node()

MATRIX = bool(os.environ.get("FBA_INTEROP_MATRIX"))


@dataclass(frozen=True)
class Cell:
    """One Better-Auth setup and the settings our library needs for it."""

    adapter: str  # BA_ADAPTER: kysely | drizzle | prisma
    database: str  # postgres | sqlite
    ids: str  # BA_ID: text (Better-Auth's default) | uuid | serial
    settings: dict[str, str] = field(default_factory=dict)  # BETTER_AUTH_* we set

    @property
    def id(self) -> str:
        return f"{self.adapter}-{self.database}-{self.ids}"

    def env(self) -> dict[str, str]:
        """The Better-Auth rig's switches for this cell."""
        env = {"BA_ADAPTER": self.adapter}
        if self.ids != "text":
            env["BA_ID"] = self.ids
        return env

    def overrides(self) -> dict[str, Any]:
        """``settings`` as keyword arguments of ``BetterAuthSettings.load``."""
        return {
            name.removeprefix("BETTER_AUTH_").lower(): value
            for name, value in self.settings.items()
        }

    def naming(self) -> SchemaNaming:
        snake = self.settings.get("BETTER_AUTH_COLUMN_CASE") == "snake"
        return SchemaNaming.from_mappings(column_case="snake" if snake else "camel")


#: Drizzle's generated schema: snake_case columns
SNAKE = {"BETTER_AUTH_COLUMN_CASE": "snake"}
#: ...and on SQLite dates as integer milliseconds (`integer({ mode: "timestamp_ms" })`)
SNAKE_MS = {**SNAKE, "BETTER_AUTH_SQLITE_DATES": "epoch_ms"}

# --8<-- [start:cells]
CELLS = (
    # Better-Auth's built-in Kysely adapter, tables from Better-Auth's own migration
    Cell("kysely", "postgres", "text"),
    Cell("kysely", "postgres", "uuid", {"BETTER_AUTH_ID_TYPE": "uuid"}),
    Cell("kysely", "postgres", "serial", {"BETTER_AUTH_ID_TYPE": "serial"}),
    Cell("kysely", "sqlite", "text"),
    Cell("kysely", "sqlite", "uuid"),  # SQLite has no uuid type: text ids as usual
    Cell("kysely", "sqlite", "serial", {"BETTER_AUTH_ID_TYPE": "serial"}),
    # drizzleAdapter + the CLI's Drizzle schema + drizzle-kit
    Cell("drizzle", "postgres", "text", SNAKE),
    Cell("drizzle", "postgres", "uuid", {**SNAKE, "BETTER_AUTH_ID_TYPE": "uuid"}),
    Cell("drizzle", "postgres", "serial", {**SNAKE, "BETTER_AUTH_ID_TYPE": "serial"}),
    Cell("drizzle", "sqlite", "text", SNAKE_MS),
    # the CLI's SQLite uuid schema is the text one
    Cell("drizzle", "sqlite", "uuid", SNAKE_MS),
    Cell("drizzle", "sqlite", "serial", {**SNAKE_MS, "BETTER_AUTH_ID_TYPE": "serial"}),
    # prismaAdapter + a real Prisma Client 7 on the CLI's Prisma schema (tables: derived DDL);
    # no sqlite-uuid cell: the CLI's SQLite uuid schema is the text one
    Cell("prisma", "postgres", "text"),
    Cell("prisma", "postgres", "uuid", {"BETTER_AUTH_ID_TYPE": "uuid"}),
    Cell("prisma", "postgres", "serial", {"BETTER_AUTH_ID_TYPE": "serial"}),
    Cell("prisma", "sqlite", "text"),
    Cell("prisma", "sqlite", "serial", {"BETTER_AUTH_ID_TYPE": "serial"}),
)
# --8<-- [end:cells]
#: The cells the default ``interop`` session runs (the rest: ``nox -s interop_matrix``).
SLICE = {"drizzle-postgres-text", "kysely-sqlite-serial", "drizzle-sqlite-text"}


def _param(cell: Cell) -> Any:
    marks = (
        []
        if cell.id in SLICE or MATRIX
        else [pytest.mark.skip(reason="nox -s interop_matrix")]
    )
    return pytest.param(cell, id=cell.id, marks=marks)


def ensure_prisma_modules() -> None:
    """``npm ci`` in ``examples/better-auth-server/prisma`` once (Prisma 7, ~300 MB, a few minutes)."""
    folder = SERVER_DIR / "prisma"
    if (folder / "node_modules" / "@prisma" / "client").is_dir():
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (
        f"npm ci in {folder}:\n{result.stdout}\n{result.stderr}"
    )


@dataclass
class CellServer:
    """Better-Auth with this cell's adapter, its tables made by that adapter's tool."""

    cell: Cell
    server: BetterAuthServer
    url: str
    sql: Any  # PgProbe | SqliteProbe


@pytest.fixture(scope="module", params=[_param(cell) for cell in CELLS])
def cell_server(
    request: pytest.FixtureRequest,
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CellServer]:
    cell: Cell = request.param
    if cell.adapter == "prisma":
        ensure_prisma_modules()
    with contextlib.ExitStack() as stack:
        if cell.database == "postgres":
            db = stack.enter_context(pg_database(postgres, cell.id.replace("-", "_")))
            url = postgres.dsn(db)
            probe: Any = PgProbe(postgres, db)
        else:
            path: Path = tmp_path_factory.mktemp(cell.id) / "better-auth.db"
            url = f"sqlite:///{path}"
            probe = SqliteProbe(path)
        server = stack.enter_context(running_better_auth(url, env=cell.env()))
        yield CellServer(cell, server, url, probe)


@pytest.fixture(scope="module")
def cell_rig(cell_server: CellServer) -> Iterator[tuple[Cell, Rig]]:
    """The example app, with ``Cell.settings``, on the cell's database; the first admin."""
    cell, server = cell_server.cell, cell_server.server
    with example_app(
        app_settings(server, cell_server.url, **cell.overrides())
    ) as client:
        yield cell, start_rig(server, client, cell_server.sql, cell.naming())


# -- what the adapter's tool made ---------------------------------------------------------------


def _columns(sql: Any, database: str, table: str) -> dict[str, str]:
    if database == "postgres":
        rows = sql.rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = 'public' AND table_name = '{table}'"
        )
    else:
        rows = [(r[1], r[2]) for r in sql.rows(f"PRAGMA table_info('{table}')")]
    return {str(name): str(kind).lower() for name, kind in rows}


@pytest.mark.interop
def test_cell_schema_is_what_the_settings_say(cell_server: CellServer) -> None:
    """The facts behind ``Cell.settings``: column case and id column type per adapter.

    Needs only Better-Auth, so it holds for cells our library cannot serve yet.
    """
    cell = cell_server.cell
    session = _columns(cell_server.sql, cell.database, "session")
    user_id = cell.naming().column("session", "userId")
    assert user_id in session, sorted(session)
    assert ("user_id" in session) == (cell.adapter == "drizzle")
    expected_id = {
        ("postgres", "text"): "text",
        ("postgres", "uuid"): "uuid",
        ("postgres", "serial"): "integer",
        ("sqlite", "text"): "text",
        ("sqlite", "uuid"): "text",
        ("sqlite", "serial"): "integer",
    }[(cell.database, cell.ids)]
    assert session["id"] == session[user_id] == expected_id
    user = login(cell_server.server, unique_email("fact"))
    if cell.ids == "serial":
        assert str(user.user_id).isdigit()
    elif cell.ids == "uuid":
        assert len(user.user_id) == 36 and user.user_id.count("-") == 4


# -- every route, each credential --------------------------------------------------------------


def drive_every_route(rig: Rig, kind: Kind) -> None:
    """Each ``/api/v1`` operation once with ``kind`` credentials, effects checked in Better-Auth."""
    server, admin = rig.server, rig.the_admin
    user = login(server, unique_email(f"every-{kind}"), name="Every User")
    uid = str(user.user_id)
    assert rig.api("GET", "/health").json() == {"status": "ok"}
    assert rig.api("GET", "/health/db").json() == {"status": "ok"}

    session = rig.api("GET", "/auth/session", user, kind)
    assert session.status_code == 200, session.text
    body = session.json()
    assert (str(body["user"]["id"]), body["credential"]) == (uid, REPORTED[kind])
    if kind != "jwt":
        assert str(body["session"]["id"]) == str(user.session_id)
    me = rig.api("GET", "/auth/me", user, kind)
    assert (me.status_code, me.json()["email"]) == (200, user.email), me.text
    accounts = rig.api("GET", "/auth/accounts", user, kind)
    assert accounts.status_code == 200, accounts.text
    assert [a["provider_id"] for a in accounts.json()["accounts"]] == ["credential"]

    listed = rig.api("GET", "/users", admin, kind, params={"search": user.email})
    assert listed.status_code == 200, listed.text
    assert [str(u["id"]) for u in listed.json()["users"]] == [uid]
    got = rig.api("GET", f"/users/{uid}", admin, kind)
    assert (got.status_code, got.json()["email"]) == (200, user.email), got.text

    patched = rig.api("PATCH", f"/users/{uid}", user, kind, json={"name": f"By {kind}"})
    assert patched.status_code == 200, patched.text
    ba = server.get_session(user.cookie)
    assert ba is not None and ba["user"]["name"] == f"By {kind}"
    role = rig.api("PUT", f"/users/{uid}/role", admin, kind, json={"role": "editor"})
    assert (role.status_code, role.json()["role"]) == (200, "editor"), role.text
    assert rig.ba_get_user(uid)["role"] == "editor"

    second = sign_in(server, user.email)
    sessions = rig.api("GET", f"/users/{uid}/sessions", user, kind)
    assert sessions.status_code == 200, sessions.text
    ours = {str(s["id"]) for s in sessions.json()["sessions"]}
    assert ours == {str(s) for s in rig.ba_session_ids(uid)}
    one = rig.api("DELETE", f"/users/{uid}/sessions/{second.session_id}", user, kind)
    assert one.json() == {"revoked": 1}, one.text
    assert server.get_session(second.cookie) is None

    banned = rig.api("POST", f"/users/{uid}/ban", admin, kind, json={"reason": "x"})
    assert (banned.status_code, banned.json()["banned"]) == (200, True), banned.text
    status, refused = sign_in_status(server, user.email)
    assert (status, refused["code"]) == (403, "BANNED_USER")
    unbanned = rig.api("DELETE", f"/users/{uid}/ban", admin, kind)
    assert (unbanned.status_code, unbanned.json()["banned"]) == (200, False)
    last = sign_in(server, user.email)
    revoked = rig.api("DELETE", f"/users/{uid}/sessions", admin, kind)
    assert revoked.status_code == 200 and revoked.json()["revoked"] >= 1, revoked.text
    assert server.get_session(last.cookie) is None
    assert rig.ba_session_ids(uid) == set()


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_cell_every_route_each_credential(
    cell_rig: tuple[Cell, Rig], kind: Kind
) -> None:
    drive_every_route(cell_rig[1], kind)


@pytest.mark.interop
def test_cell_core_flow_passes(cell_rig: tuple[Cell, Rig]) -> None:
    """Both directions of bans, roles and revocations (``run_core_flow``)."""
    run_core_flow(cell_rig[1])


@pytest.mark.interop
def test_cell_better_auth_revocations_refused_by_our_api(
    cell_rig: tuple[Cell, Rig],
) -> None:
    rig = cell_rig[1]
    user = login(rig.server, unique_email("barevoke"))
    second = sign_in(rig.server, user.email)
    response = rig.ba_admin_post("revoke-user-session", {"sessionToken": second.raw})
    assert response.status_code == 200, response.text
    for kind in SESSION_KINDS:
        refused = rig.api("GET", "/auth/me", second, kind)
        assert (refused.status_code, error_code(refused)) == (401, "INVALID_SESSION")
        assert rig.api("GET", "/auth/me", user, kind).status_code == 200
    signed_out = rig.server.request("POST", "/sign-out", cookie=user.cookie, json={})
    assert signed_out.status_code == 200, signed_out.text
    for kind in SESSION_KINDS:
        assert rig.api("GET", "/auth/me", user, kind).status_code == 401
    banned = rig.ba_admin_post("ban-user", {"userId": user.user_id})
    assert banned.status_code == 200, banned.text
    jwt = rig.api("GET", "/auth/me", user, "jwt")
    assert (jwt.status_code, error_code(jwt)) == (403, "USER_BANNED")


# -- the committed DDL is what drizzle-kit (and the Prisma derivation) makes -------------------

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.interop
@pytest.mark.parametrize("ids", ["text", "uuid", "serial"])
@pytest.mark.parametrize("database", ["postgres", "sqlite"])
@pytest.mark.parametrize("adapter", ["drizzle", "prisma"])
def test_adapter_ddl_matches_ground_truth(
    adapter: str, database: str, ids: str, tmp_path: Path
) -> None:
    """tests/data/<adapter>_*_schema.sql is what ``migrate.mjs --sql`` applies, verbatim."""
    name = f"{adapter}_{database}{'' if ids == 'text' else '_' + ids}_schema.sql"
    committed = (DATA / name).read_text()
    url = (
        "postgresql://postgres@127.0.0.1:1/unused"
        if database == "postgres"
        else f"sqlite:///{tmp_path / 'unused.db'}"
    )
    env = {"BA_ADAPTER": adapter, **({} if ids == "text" else {"BA_ID": ids})}
    server = BetterAuthServer(url, env=env)
    try:
        out = server.migrate("--sql", "--dry-run")
    finally:
        server.stop()
    body = out.rsplit(f"{adapter}: planned", 1)[0]
    assert committed.endswith(body)
    header = committed.removesuffix(body).splitlines()
    assert header and all(line.startswith("-- ") for line in header)
