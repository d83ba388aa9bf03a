"""``/api/v1/users``: listing (on PostgreSQL and SQLite), profile updates, roles and bans.

Listing runs against 250 varied users inserted in one statement and is checked against a
Python oracle of the same rows; the writes run against the admin cast on PostgreSQL.
"""

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import BetterAuthSettings, RequestLoggingMiddleware
from fastapi_better_auth._admin.schemas import RoleUpdate
from fastapi_better_auth._admin.writes import set_role
from fastapi_better_auth._policy import count_admins, parse_roles
from fastapi_better_auth._schema.indexes import create_indexes
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.errors import ConflictError
from fastapi_better_auth.models import User, get_models
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_user,
    session_cookie,
    user_claims,
)
from tests.admin_fixtures import (
    ALICE,
    BOB,
    IMPERSONATION,
    ROOT,
    ZED,
    admin_app,
    bearer,
    bulk_insert_users,
    later_than,
    pg_database,
    snapshot,
)
from tests.helpers import SECRET, execute, run, settings_for
from tests.pg import PostgresServer, free_port

# --- listing: 250 users on each database ------------------------------------------------

NOW = utcnow()
FIRST = ["Ada", "grace", "ALAN", "Barbara", "Edsger", "Donald", "Frances", "John"]
LAST = ["Lovelace", "Hopper", "Turing", "LISKOV", "Dijkstra", "knuth", "Allen", "Kay"]
DOMAINS = ["example.com", "corp.test", "mail.org"]
ROLES = ["user", "user", None, "admin", "user,editor", "editor", "", "editor,admin"]


def _population() -> list[dict[str, Any]]:
    rows = []
    for i in range(250):
        first, last = FIRST[i % 8], LAST[(i // 8) % 8]
        name = f"{(i * 37) % 250:03d} {first} {last}"
        email = f"u{(i * 53) % 250:03d}.{first.lower()}@{DOMAINS[i % 3]}"
        if i == 10:
            name = f"{(i * 37) % 250:03d} 100% Sure"
        if i == 11:
            name = f"{(i * 37) % 250:03d} Snake_Case"
        if i == 12:
            email = email.replace(".", "_", 1)
        created = NOW - timedelta(days=30) + timedelta(minutes=((i * 7) % 250) // 2)
        banned: bool | None = i % 7 == 0
        expires = None
        if banned and (i // 7) % 3 == 1:
            expires = NOW + timedelta(days=1)
        elif banned and (i // 7) % 3 == 2:
            expires = NOW - timedelta(days=1)  # an expired ban: not banned now
        if i % 50 == 1:
            banned = None
        rows.append(
            {
                "id": f"user{i:04d}",
                "name": name,
                "email": email,
                "email_verified": i % 3 == 0,
                "role": ROLES[i % len(ROLES)],
                "banned": banned,
                "ban_reason": "spam" if banned else None,
                "ban_expires": expires,
                "created_at": created,
                "updated_at": created + timedelta(seconds=((i * 11) % 250) // 3),
            }
        )
    return rows


POPULATION = _population()


@dataclass(frozen=True)
class Listing:
    client: TestClient
    headers: dict[str, str]

    def ids(self, **params: Any) -> list[str]:
        response = self.client.get(
            "/api/v1/users", params={"limit": 300, **params}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["users"])
        return [user["id"] for user in body["users"]]


@pytest.fixture(scope="module", params=["postgres", "postgres-indexed", "sqlite"])
def listing(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    issuer: TokenIssuer,
    origin: str,
) -> Iterator[Listing]:
    """The population on each database, inserted once per module (the tests only read).

    ``postgres-indexed`` has the opt-in list indexes and sequential scans disabled, so every
    listing test also runs on the plans those indexes give (a trigram search, index walks).
    """
    with contextlib.ExitStack() as stack:
        if request.param.startswith("postgres"):
            postgres: PostgresServer = request.getfixturevalue("postgres")
            url = stack.enter_context(pg_database(postgres))
        else:
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('listing') / 'ba.db'}"
        bulk_insert_users(url, POPULATION)
        if request.param == "postgres-indexed":
            run(_create_indexes(url))
            postgres.psql(
                f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET enable_seqscan = off"
            )
        admin = next(row for row in POPULATION if row["role"] == "admin")
        token = issuer.mint(user_claims(User(**admin)))
        settings = settings_for(origin, url, max_page_size=300)
        client = stack.enter_context(TestClient(admin_app(settings)))
        yield Listing(client, bearer(token))


async def _create_indexes(url: str) -> None:
    engine = create_async_engine(url)
    try:
        report = await create_indexes(engine, concurrently=False)
    finally:
        await engine.dispose()
    assert report.complete and len(report.done) == 5, report


def _oracle(
    rows: list[dict[str, Any]], sort_by: str = "created_at", direction: str = "asc"
) -> list[str]:
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return (row[sort_by], row["id"])

    if sort_by == "email":
        ordered = sorted(rows, key=lambda r: r["email"])
    elif sort_by == "role":
        present = sorted((r for r in rows if r["role"] is not None), key=key)
        missing = sorted((r for r in rows if r["role"] is None), key=lambda r: r["id"])
        if direction == "desc":
            return [r["id"] for r in present[::-1] + missing[::-1]]
        return [r["id"] for r in present + missing]
    else:
        ordered = sorted(rows, key=key)
    if direction == "desc":
        ordered = ordered[::-1]
    return [row["id"] for row in ordered]


def _banned_now(row: dict[str, Any]) -> bool:
    return bool(row["banned"]) and (
        row["ban_expires"] is None or row["ban_expires"] > NOW
    )


def test_list_users_pages_cover_every_user_once_in_a_stable_order(
    listing: Listing,
) -> None:
    seen: list[str] = []
    for offset in range(0, 260, 40):
        response = listing.client.get(
            "/api/v1/users",
            params={"limit": 40, "offset": offset},
            headers=listing.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["total"], body["limit"], body["offset"]) == (250, 40, offset)
        seen += [user["id"] for user in body["users"]]
    assert seen == _oracle(POPULATION)
    past_the_end = listing.client.get(
        "/api/v1/users", params={"offset": 250}, headers=listing.headers
    ).json()
    assert (past_the_end["users"], past_the_end["total"]) == ([], 250)
    default = listing.client.get("/api/v1/users", headers=listing.headers).json()
    assert (len(default["users"]), default["limit"], default["offset"]) == (50, 50, 0)
    assert "token" not in default["users"][0]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 301}, ["query", "limit"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
        ({"sort_by": "password"}, ["query", "sort_by"]),
        ({"sort_direction": "up"}, ["query", "sort_direction"]),
        ({"banned": "maybe"}, ["query", "banned"]),
        ({"search": ""}, ["query", "search"]),
    ],
)
def test_list_users_invalid_paging_or_sort_returns_422(
    listing: Listing, params: dict[str, Any], loc: list[str]
) -> None:
    response = listing.client.get(
        "/api/v1/users", params=params, headers=listing.headers
    )
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [loc]


def test_list_users_search_is_case_insensitive_and_escapes_wildcards(
    listing: Listing,
) -> None:
    for term in ["ALAN", "corp.TEST", "%", "_", "100% s", "U001", "lovelace", "nope"]:
        expected = [
            row
            for row in POPULATION
            if term.lower() in row["email"] or term.lower() in row["name"].lower()
        ]
        assert listing.ids(search=term) == _oracle(expected), term
    assert len(listing.ids(search="%")) == 1
    assert len(listing.ids(search="_")) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"role": "admin"},
        {"role": "editor"},
        {"role": "user"},  # the default role also matches an empty column
        {"role": "edit"},
        {"banned": True},
        {"banned": False},
        {"email_verified": True},
        {"email_verified": False},
        {"role": "admin", "banned": False, "email_verified": True},
        {"search": "grace", "banned": True},
    ],
)
def test_list_users_filters_match_the_oracle_and_combine(
    listing: Listing, params: dict[str, Any]
) -> None:
    def keep(row: dict[str, Any]) -> bool:
        roles = parse_roles(row["role"]) or {"user"}
        return all(
            [
                params.get("role") is None or params["role"] in roles,
                params.get("banned") is None or _banned_now(row) == params["banned"],
                params.get("email_verified") in (None, row["email_verified"]),
                params.get("search") is None
                or params["search"] in (row["name"].lower() + row["email"]),
            ]
        )

    expected = _oracle([row for row in POPULATION if keep(row)])
    assert expected or params == {
        "role": "edit"
    }  # a role matches whole, never a prefix
    assert listing.ids(**params) == expected


def test_list_users_every_sort_field_and_direction_is_total_and_stable(
    listing: Listing,
) -> None:
    for sort_by in ["created_at", "updated_at", "email", "name", "role"]:
        for direction in ["asc", "desc"]:
            ids = listing.ids(sort_by=sort_by, sort_direction=direction)
            assert ids == _oracle(POPULATION, sort_by, direction), (sort_by, direction)


def _follow(listing: Listing, **params: Any) -> list[dict[str, Any]]:
    """Every page of a listing, following ``next_cursor`` from the first page."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = listing.client.get(
            "/api/v1/users",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=listing.headers,
        )
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


@pytest.mark.parametrize(
    "sort_by", ["created_at", "updated_at", "email", "name", "role"]
)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_list_users_cursor_pages_cover_every_user_once_in_order(
    listing: Listing, sort_by: str, direction: str
) -> None:
    # a page of 7 splits runs of equal createdAt/updatedAt/role: the id tiebreak is tested
    pages = _follow(listing, limit=7, sort_by=sort_by, sort_direction=direction)
    ids = [user["id"] for page in pages for user in page["users"]]
    assert ids == _oracle(POPULATION, sort_by, direction)
    assert {page["total"] for page in pages} == {250}
    assert [len(page["users"]) for page in pages] == [7] * 35 + [5]
    assert {(page["limit"], page["offset"]) for page in pages} == {(7, 0)}


def test_list_users_cursor_keeps_filters_and_search_and_an_exact_last_page(
    listing: Listing,
) -> None:
    params = {"search": "a", "banned": False, "sort_by": "name", "limit": 10}
    expected = listing.ids(**{**params, "limit": 300})
    pages = _follow(listing, **params)
    assert [user["id"] for page in pages for user in page["users"]] == expected
    assert {page["total"] for page in pages} == {len(expected)}
    exact = _follow(listing, limit=50)  # 250 users: the fifth page is the last one
    assert [len(page["users"]) for page in exact] == [50] * 5
    assert exact[-1]["next_cursor"] is None


def test_list_users_offset_page_gives_a_cursor_to_continue_from(
    listing: Listing,
) -> None:
    first = listing.client.get(
        "/api/v1/users", params={"limit": 30, "offset": 100}, headers=listing.headers
    ).json()
    after = listing.client.get(
        "/api/v1/users",
        params={"limit": 30, "cursor": first["next_cursor"]},
        headers=listing.headers,
    ).json()
    ids = [user["id"] for user in first["users"] + after["users"]]
    assert ids == _oracle(POPULATION)[100:160]
    assert (first["total"], after["total"], after["offset"]) == (250, 250, 0)


def _encoded(data: Any) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",  # not base64url
        "a" * 2049,  # too long
        "YWJj",  # base64 of "abc": no JSON
        "_w",  # base64 of a byte that is no UTF-8
        _encoded({"sort": "created_at"}),
        _encoded([2, "created_at", "asc", "2026-01-01T00:00:00+00:00", "user0001"]),
        _encoded([1, "name", "asc", "Ada", "user0001"]),  # made for another sort
        _encoded([1, "created_at", "desc", "2026-01-01T00:00:00+00:00", "u"]),
        _encoded([1, "created_at", "asc", "yesterday", "user0001"]),
        _encoded([1, "created_at", "asc", "2026-01-01T00:00:00", "user0001"]),  # naive
        _encoded([1, "created_at", "asc", 5, "user0001"]),
        _encoded([1, "created_at", "asc", None, "user0001"]),
        _encoded([1, "created_at", "asc", "2026-01-01T00:00:00+00:00", ""]),
        _encoded([1, "created_at", "asc", "2026-01-01T00:00:00+00:00", 7]),
        # nested past the JSON parser's recursion limit (was a 500 with a traceback)
        base64.urlsafe_b64encode(b"[" * 1500).rstrip(b"=").decode(),
    ],
)
def test_list_users_tampered_cursor_returns_422(listing: Listing, cursor: str) -> None:
    response = listing.client.get(
        "/api/v1/users", params={"cursor": cursor}, headers=listing.headers
    )
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["query", "cursor"]
    ]


def test_list_users_cursor_with_nul_or_offset_returns_422(listing: Listing) -> None:
    nul = _encoded([1, "name", "asc", "Ada\x00", "user0001"])
    page = listing.client.get(
        "/api/v1/users", params={"limit": 5}, headers=listing.headers
    ).json()
    for params in (
        {"cursor": nul, "sort_by": "name"},
        {"cursor": page["next_cursor"], "offset": 5},
    ):
        response = listing.client.get(
            "/api/v1/users", params=params, headers=listing.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


# --- writes: the admin cast on PostgreSQL -----------------------------------------------


def _make_admin(url: str, member_id: str) -> None:
    execute(url, update(User).where(User.id == member_id).values(role="user,admin"))


def test_update_user_admin_changes_email_lowercased_and_no_longer_verified(
    client: TestClient, url: str
) -> None:
    response = client.patch(
        f"/api/v1/users/{ALICE.id}",
        headers=bearer(ROOT),
        json={"email": "  Alice.New@Example.COM ", "image": "https://img.test/a.png"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "alice.new@example.com"
    assert body["email_verified"] is False
    assert body["image"] == "https://img.test/a.png"
    row = snapshot(url).users[ALICE.id]
    assert (row["email"], row["email_verified"]) == ("alice.new@example.com", False)
    assert later_than(row["updated_at"])


def test_update_user_same_email_in_other_case_keeps_verification(
    client: TestClient, url: str
) -> None:
    response = client.patch(
        f"/api/v1/users/{ALICE.id}",
        headers=bearer(ROOT),
        json={"email": "ALICE@example.com"},
    )
    assert response.status_code == 200, response.text
    assert snapshot(url).users[ALICE.id]["email_verified"] is True


def test_update_user_duplicate_email_returns_409_and_changes_nothing(
    client: TestClient, url: str
) -> None:
    before = snapshot(url)
    response = client.patch(
        f"/api/v1/users/{ALICE.id}",
        headers=bearer(ROOT),
        json={"email": "BOB@example.com", "name": "Alice B"},
    )
    assert response.status_code == 409, response.text
    assert response.json()["detail"]["code"] == "CONFLICT"
    assert snapshot(url) == before


def test_update_user_own_name_and_image_removal_are_saved(
    client: TestClient, url: str
) -> None:
    execute(url, update(User).where(User.id == ALICE.id).values(image="old.png"))
    response = client.patch(
        f"/api/v1/users/{ALICE.id}",
        headers=bearer(ALICE),
        json={"name": "  Alice L. ", "image": None},
    )
    assert response.status_code == 200, response.text
    row = snapshot(url).users[ALICE.id]
    assert (row["name"], row["image"], row["email"]) == (
        "Alice L.",
        None,
        ALICE.email,
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"name": None}, 422),
        ({"name": "   "}, 422),
        ({"name": "x" * 257}, 422),
        ({"email": None}, 422),
        ({"email": "not-an-email"}, 422),
        ({"image": "x" * 2049}, 422),
        ([], 422),
    ],
)
def test_update_user_invalid_body_returns_4xx_and_changes_nothing(
    client: TestClient, url: str, body: Any, status: int
) -> None:
    before = snapshot(url)
    response = client.patch(
        f"/api/v1/users/{ALICE.id}", headers=bearer(ROOT), json=body
    )
    assert response.status_code == status, response.text
    assert snapshot(url) == before


def test_admin_routes_missing_user_return_404_user_not_found(
    client: TestClient, url: str
) -> None:
    before = snapshot(url)
    for method, path, body in [
        ("GET", "/api/v1/users/nobody", None),
        ("PATCH", "/api/v1/users/nobody", {"name": "x"}),
        ("PUT", "/api/v1/users/nobody/role", {"role": "user"}),
        ("POST", "/api/v1/users/nobody/ban", {}),
        ("DELETE", "/api/v1/users/nobody/ban", None),
    ]:
        response = client.request(method, path, headers=bearer(ROOT), json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.json() == {
            "detail": {"code": "USER_NOT_FOUND", "message": "The user does not exist."}
        }
    assert snapshot(url) == before


@pytest.mark.parametrize(
    ("role", "stored"),
    [
        (["user", "admin"], "user,admin"),
        ("editor, admin", "editor,admin"),
        (["user", "user", " editor "], "user,editor"),
        ("superuser", "superuser"),
    ],
)
def test_set_role_is_stored_comma_joined_as_better_auth_does(
    client: TestClient, url: str, role: str | list[str], stored: str
) -> None:
    response = client.put(
        f"/api/v1/users/{BOB.id}/role", headers=bearer(ROOT), json={"role": role}
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == stored
    assert snapshot(url).users[BOB.id]["role"] == stored


@pytest.mark.parametrize("role", ["", [], [""], "a,,b", "x" * 65, None])
def test_set_role_blank_or_oversized_returns_422(
    client: TestClient, url: str, role: Any
) -> None:
    response = client.put(
        f"/api/v1/users/{BOB.id}/role", headers=bearer(ROOT), json={"role": role}
    )
    assert response.status_code == 422, response.text
    assert snapshot(url).users[BOB.id]["role"] == "user"


def test_set_role_outside_allowed_roles_returns_400_naming_it(
    url: str, origin: str
) -> None:
    settings = settings_for(origin, url, allowed_roles="user,admin,editor")
    with TestClient(admin_app(settings)) as client:
        refused = client.put(
            f"/api/v1/users/{BOB.id}/role",
            headers=bearer(ROOT),
            json={"role": ["editor", "owner"]},
        )
        allowed = client.put(
            f"/api/v1/users/{BOB.id}/role",
            headers=bearer(ROOT),
            json={"role": "editor"},
        )
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"] == {
        "code": "INVALID_REQUEST",
        "message": "Unknown role(s): owner; allowed: admin, editor, user.",
    }
    assert allowed.status_code == 200, allowed.text


def test_set_role_demoting_an_admin_while_another_remains_succeeds(
    client: TestClient, url: str
) -> None:
    _make_admin(url, ALICE.id)
    response = client.put(
        f"/api/v1/users/{ROOT.id}/role", headers=bearer(ROOT), json={"role": "user"}
    )
    assert response.status_code == 200, response.text
    last = client.put(
        f"/api/v1/users/{ALICE.id}/role", headers=bearer(ALICE), json={"role": "user"}
    )
    assert last.status_code == 409, last.text
    assert last.json()["detail"] == {
        "code": "CONFLICT",
        "message": "This is the last admin; make another admin first.",
    }
    state = snapshot(url)
    assert (state.users[ROOT.id]["role"], state.users[ALICE.id]["role"]) == (
        "user",
        "user,admin",
    )


def test_set_role_admin_user_ids_count_as_admins_and_keep_admin_rights(
    url: str, origin: str
) -> None:
    settings = settings_for(origin, url, admin_user_ids=ALICE.id)
    with TestClient(admin_app(settings)) as client:
        root = client.put(
            f"/api/v1/users/{ROOT.id}/role", headers=bearer(ROOT), json={"role": "user"}
        )
        assert root.status_code == 200, root.text  # Alice is an admin by id
        alice = client.put(
            f"/api/v1/users/{ALICE.id}/role",
            headers=bearer(ALICE),
            json={"role": "member"},
        )
        assert alice.status_code == 200, alice.text  # and stays one
        assert client.get("/api/v1/users", headers=bearer(ALICE)).status_code == 200
    state = snapshot(url)
    assert (state.users[ROOT.id]["role"], state.users[ALICE.id]["role"]) == (
        "user",
        "member",
    )


async def _wait_for_lock_wait(engine: Any) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(1000):
        async with engine.connect() as conn:
            if (await conn.execute(query)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the second demotion never waited for the admin lock")


async def _race(url: str) -> tuple[str | None, str | None]:
    settings = BetterAuthSettings.load(url="http://127.0.0.1:3005", database_url=url)
    models = get_models()
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as first, AsyncSession(engine) as second:

            async def demote(db: AsyncSession, member_id: str) -> None:
                async with db.begin():
                    await set_role(
                        db,
                        models,
                        settings,
                        member_id,
                        RoleUpdate(role="user"),
                        utcnow(),
                    )

            transaction = await first.begin()
            await set_role(
                first, models, settings, ROOT.id, RoleUpdate(role="user"), utcnow()
            )
            racing = asyncio.create_task(demote(second, ALICE.id))
            await _wait_for_lock_wait(engine)
            assert not racing.done()
            await transaction.commit()
            with pytest.raises(ConflictError):
                await racing
        async with AsyncSession(engine) as db:
            assert await count_admins(db, models, settings, utcnow()) == 1
            rows = await db.execute(
                text('SELECT id, role FROM "user" WHERE id IN (:a, :b)'),
                {"a": ROOT.id, "b": ALICE.id},
            )
            roles = {row[0]: row[1] for row in rows}
        return roles.get(ROOT.id), roles.get(ALICE.id)
    finally:
        await engine.dispose()


def test_set_role_concurrent_demotions_of_the_last_two_admins_one_gets_conflict(
    url: str,
) -> None:
    _make_admin(url, ALICE.id)
    assert run(_race(url)) == ("user", "user,admin")


def test_ban_user_sets_ban_fields_and_deletes_every_session(
    client: TestClient, url: str
) -> None:
    before = utcnow()
    response = client.post(
        f"/api/v1/users/{ALICE.id}/ban",
        headers=bearer(ROOT),
        json={"expires_in_seconds": 3600},
    )
    after = utcnow()
    assert response.status_code == 200, response.text
    state = snapshot(url)
    row = state.users[ALICE.id]
    assert (row["banned"], row["ban_reason"]) == (True, "No reason")
    assert (
        before + timedelta(hours=1) <= row["ban_expires"] <= after + timedelta(hours=1)
    )
    assert ALICE.id not in state.sessions.values()
    assert BOB.id in state.sessions.values()


def test_ban_user_with_expires_at_and_reason_stores_them(
    client: TestClient, url: str
) -> None:
    until = datetime(2100, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    response = client.post(
        f"/api/v1/users/{BOB.id}/ban",
        headers=bearer(ROOT),
        json={"reason": "  spamming ", "expires_at": until.isoformat()},
    )
    assert response.status_code == 200, response.text
    assert response.json()["ban_expires"] == "2100-01-02T03:04:05Z"
    row = snapshot(url).users[BOB.id]
    assert (row["ban_reason"], row["ban_expires"]) == ("spamming", until)


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in_seconds": 0},
        {"expires_in_seconds": -5},
        {"expires_in_seconds": 60, "expires_at": "2100-01-01T00:00:00Z"},
        {"expires_at": "2000-01-01T00:00:00Z"},
        {"expires_at": "2100-01-01T00:00:00"},  # no time zone
        {"reason": "x" * 1025},
        {"banned": True},
    ],
)
def test_ban_user_invalid_body_returns_422_and_bans_nobody(
    client: TestClient, url: str, body: dict[str, Any]
) -> None:
    before = snapshot(url)
    response = client.post(
        f"/api/v1/users/{BOB.id}/ban", headers=bearer(ROOT), json=body
    )
    assert response.status_code == 422, response.text
    assert snapshot(url) == before


def test_ban_user_is_effective_on_next_request_with_any_credential(
    client: TestClient, url: str, issuer: TokenIssuer
) -> None:
    bob = make_user(id=BOB.id, name=BOB.name, email=BOB.email, role="user")
    jwt = bearer(issuer.mint(user_claims(bob)))
    name, value = session_cookie(BOB.token, SECRET)
    cookie = {"Cookie": f"{name}={value}"}
    assert client.get("/api/v1/auth/me", headers=jwt).status_code == 200
    assert client.get("/api/v1/auth/me", headers=cookie).status_code == 200

    banned = client.post(f"/api/v1/users/{BOB.id}/ban", headers=bearer(ROOT), json={})
    assert banned.status_code == 200, banned.text

    refused = client.get("/api/v1/auth/me", headers=jwt)
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "USER_BANNED"
    for headers in (bearer(BOB), cookie):
        gone = client.get("/api/v1/auth/me", headers=headers)
        assert gone.status_code == 401, gone.text
        assert gone.json()["detail"]["code"] == "INVALID_SESSION"


def test_ban_user_clears_the_cached_freshness_of_this_process(
    url: str, origin: str, issuer: TokenIssuer
) -> None:
    bob = make_user(id=BOB.id, name=BOB.name, email=BOB.email, role="user")
    jwt = bearer(issuer.mint(user_claims(bob)))
    settings = settings_for(
        origin, url, freshness="cached", freshness_cache_seconds=3600
    )
    with TestClient(admin_app(settings)) as client:
        assert client.get("/api/v1/auth/me", headers=jwt).status_code == 200
        banned = client.post(
            f"/api/v1/users/{BOB.id}/ban", headers=bearer(ROOT), json={}
        )
        assert banned.status_code == 200, banned.text
        assert client.get("/api/v1/auth/me", headers=jwt).status_code == 403


def test_ban_user_another_admin_is_allowed_and_ends_their_admin_access(
    client: TestClient, url: str
) -> None:
    _make_admin(url, ALICE.id)
    response = client.post(
        f"/api/v1/users/{ALICE.id}/ban", headers=bearer(ROOT), json={}
    )
    assert response.status_code == 200, response.text
    assert client.get("/api/v1/users", headers=bearer(ALICE)).status_code == 401


def test_ban_user_session_deletion_failure_leaves_user_unbanned_and_sessions_intact(
    url: str, origin: str, caplog: pytest.LogCaptureFixture
) -> None:
    execute(
        url,
        text(
            "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'session deletion refused'; END $$"
        ),
    )
    execute(
        url,
        text(
            "CREATE TRIGGER refuse_delete BEFORE DELETE ON session "
            "FOR EACH ROW EXECUTE FUNCTION refuse_delete()"
        ),
    )
    try:
        before = snapshot(url)
        app = admin_app(settings_for(origin, url))
        with (
            TestClient(app, raise_server_exceptions=False) as client,
            caplog.at_level(logging.INFO, "fastapi_better_auth.audit"),
        ):
            response = client.post(
                f"/api/v1/users/{ALICE.id}/ban", headers=bearer(ROOT), json={}
            )
        assert response.status_code == 500
        assert snapshot(url) == before
        (event,) = [r for r in caplog.records if r.name == "fastapi_better_auth.audit"]
        assert (event.action, event.outcome) == ("users.ban", "error")  # type: ignore[attr-defined]
    finally:
        execute(url, text("DROP TRIGGER refuse_delete ON session"))
        execute(url, text("DROP FUNCTION refuse_delete()"))


def test_unban_user_clears_ban_fields_and_lets_the_user_back_in(
    client: TestClient, url: str
) -> None:
    assert client.get("/api/v1/auth/me", headers=bearer(ZED)).status_code == 403
    response = client.delete(f"/api/v1/users/{ZED.id}/ban", headers=bearer(ROOT))
    assert response.status_code == 200, response.text
    row = snapshot(url).users[ZED.id]
    assert (row["banned"], row["ban_reason"], row["ban_expires"]) == (False, None, None)
    assert client.get("/api/v1/users", headers=bearer(ZED)).status_code == 200


def test_admin_actions_are_audited_without_tokens(
    client: TestClient, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "fastapi_better_auth.audit"):
        client.post(f"/api/v1/users/{BOB.id}/ban", headers=bearer(ROOT), json={})
        client.post(f"/api/v1/users/{ROOT.id}/ban", headers=bearer(ROOT), json={})
        client.put(
            f"/api/v1/users/{ROOT.id}/role",
            headers=bearer(ALICE),
            json={"role": "admin"},
        )
        client.get(f"/api/v1/users/{BOB.id}", headers=bearer(ALICE))
    events = [
        (r.action, r.actor, r.target, r.outcome, r.levelname)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "fastapi_better_auth.audit"
    ]
    assert events == [
        ("users.ban", ROOT.id, BOB.id, "success", "INFO"),
        ("users.ban", ROOT.id, ROOT.id, "denied", "WARNING"),
        ("users.set_role", ALICE.id, ROOT.id, "denied", "WARNING"),
        ("users.get", ALICE.id, BOB.id, "denied", "WARNING"),
    ]
    for token in (ROOT.token, ALICE.token, BOB.token, SECRET):
        assert token not in caplog.text


def test_admin_routes_database_down_return_503_with_retry_after(
    issuer: TokenIssuer, origin: str
) -> None:
    root = make_user(id=ROOT.id, name=ROOT.name, email=ROOT.email, role="admin")
    jwt = bearer(issuer.mint(user_claims(root)))
    down = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    settings = settings_for(origin, down, freshness="never")
    with TestClient(admin_app(settings)) as client:
        for method, path, body in [
            ("GET", "/api/v1/users", None),
            ("PATCH", f"/api/v1/users/{ROOT.id}", {"name": "x"}),
            ("GET", f"/api/v1/users/{ROOT.id}/sessions", None),
        ]:
            response = client.request(method, path, headers=jwt, json=body)
            assert response.status_code == 503, response.text
            assert response.json()["detail"]["code"] == "DATABASE_UNAVAILABLE"
            assert int(response.headers["retry-after"]) > 0


def test_router_admin_false_leaves_users_and_sessions_routes_out(
    url: str, origin: str
) -> None:
    with TestClient(admin_app(settings_for(origin, url), admin=False)) as client:
        assert client.get("/api/v1/users", headers=bearer(ROOT)).status_code == 404
        paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/api/v1/users")]


def test_openapi_documents_admin_routes_names_tags_and_errors(
    client: TestClient,
) -> None:
    expected = {
        "better_auth:users.list": (
            "get",
            "/api/v1/users",
            {"401", "403", "422", "503"},
        ),
        "better_auth:users.get": ("get", "/api/v1/users/{user_id}", {"404"}),
        "better_auth:users.update": (
            "patch",
            "/api/v1/users/{user_id}",
            {"400", "404", "409", "422"},
        ),
        "better_auth:users.set_role": (
            "put",
            "/api/v1/users/{user_id}/role",
            {"400", "404", "409"},
        ),
        "better_auth:users.ban": (
            "post",
            "/api/v1/users/{user_id}/ban",
            {"400", "404", "409"},
        ),
        "better_auth:users.unban": ("delete", "/api/v1/users/{user_id}/ban", {"404"}),
        "better_auth:sessions.list": (
            "get",
            "/api/v1/users/{user_id}/sessions",
            {"404"},
        ),
        "better_auth:sessions.revoke_all": (
            "delete",
            "/api/v1/users/{user_id}/sessions",
            {"404"},
        ),
        "better_auth:sessions.revoke": (
            "delete",
            "/api/v1/users/{user_id}/sessions/{session_id}",
            {"404"},
        ),
    }
    app: Any = client.app
    schema = client.get("/openapi.json").json()
    for name, (method, path, statuses) in expected.items():
        params = {p: "{" + p + "}" for p in ("user_id", "session_id") if p in path}
        assert app.url_path_for(name, **params) == path
        operation = schema["paths"][path][method]
        assert operation["tags"] == ["better-auth"]
        responses = operation["responses"]
        assert statuses | {"200", "401", "403", "503"} <= set(responses), name
        assert "$ref" in str(responses["200"]["content"]["application/json"]["schema"])
        for status in statuses - {"422"}:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorResponse"), (name, status)


def test_audit_lines_of_an_impersonated_session_name_the_admin_behind_it(
    url: str, origin: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Root impersonates Bob (Better-Auth's ``impersonatedBy``): Bob's own-session actions are
    audited with Bob as the actor and Root as ``impersonated_by``, joined by the request id."""
    app = admin_app(settings_for(origin, url))
    app.add_middleware(RequestLoggingMiddleware)
    with (
        caplog.at_level(logging.INFO, "fastapi_better_auth.audit"),
        TestClient(app) as client,
    ):
        client.get(
            f"/api/v1/users/{BOB.id}/sessions",
            headers={**bearer(IMPERSONATION), "X-Request-ID": "req-impersonated-1"},
        )
        client.get(f"/api/v1/users/{BOB.id}/sessions", headers=bearer(BOB))
    events = [
        (r.action, r.actor, r.impersonated_by, r.request_id)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "fastapi_better_auth.audit"
    ]
    assert events[0] == ("sessions.list", BOB.id, ROOT.id, "req-impersonated-1")
    assert events[1][:3] == ("sessions.list", BOB.id, None)
