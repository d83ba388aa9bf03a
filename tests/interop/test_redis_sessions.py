"""Sessions in Redis (``secondaryStorage``) written by a real Better-Auth 1.7.25, seen both ways.

Better-Auth runs with ``BA_REDIS_URL`` (``examples/better-auth-server/auth.mjs``: node-redis as
its ``secondaryStorage``) and ``BA_SID_CLAIM=1``, alone and with ``BA_STORE_SESSION_IN_DB=1``
(``session.storeSessionInDatabase``); the example app reads the same Redis and SQLite file. Each
rule of ``fastapi_better_auth._secondary_layout`` is pinned here against what Better-Auth wrote.
"""

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from fastapi_better_auth.testing import (
    make_session,
    make_user,
    session_cookie,
    store_redis_session,
)
from tests.interop.ba_server import running_better_auth
from tests.interop.flow import (
    KINDS,
    SESSION_KINDS,
    Kind,
    Login,
    Rig,
    SqliteProbe,
    app_settings,
    error_code,
    example_app,
    login,
    require_node,
    sign_in,
    unique_email,
)
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop
require_node()

SESSION_SECONDS = 604_800  # Better-Auth's default session.expiresIn


@dataclass
class RedisRig:
    rig: Rig
    redis: "redis.Redis"
    in_database: bool


@pytest.fixture(scope="module", params=["redis-only", "store-in-db"])
def redis_rig(
    request: pytest.FixtureRequest,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisRig]:
    in_database = request.param == "store-in-db"
    url = redis_server.url(db=2 if in_database else 1)  # one Redis database per rig
    path: Path = tmp_path_factory.mktemp("redis-rig") / "better-auth.db"
    database = f"sqlite:///{path}"
    env = {"BA_REDIS_URL": url, "BA_SID_CLAIM": "1"}
    if in_database:
        env["BA_STORE_SESSION_IN_DB"] = "1"
    with contextlib.ExitStack() as stack:
        client = redis.Redis.from_url(url, decode_responses=True)
        stack.callback(client.close)
        client.flushdb()
        server = stack.enter_context(running_better_auth(database, env=env))
        settings = app_settings(
            server,
            database,
            redis_url=url,
            store_session_in_database=in_database,
        )
        app = stack.enter_context(example_app(settings))
        rig = Rig(server, app, SqliteProbe(path))
        first = login(server, unique_email("admin"), name="Admin")
        rig.promote_in_sql(first.user_id)
        # Better-Auth's admin checks read the role from the session's Redis snapshot, taken
        # when the session was created: a session after the promotion carries it
        rig.admin = sign_in(server, first.email)
        yield RedisRig(rig, client, in_database)


def _session_json(client: "redis.Redis", token: str) -> dict[str, object]:
    raw = client.get(token)
    assert isinstance(raw, str), "Better-Auth stored no key under the session token"
    return dict(json.loads(raw))


def test_better_auth_layout_in_redis(redis_rig: RedisRig) -> None:
    """createSession: the token's key holds {session, user} for the session's lifetime, the
    user's active-sessions list names it, and the table holds it only with storeSessionInDatabase."""
    rig, client = redis_rig.rig, redis_rig.redis
    user = login(rig.server, unique_email("layout"))
    stored = _session_json(client, user.raw)
    assert set(stored) == {"session", "user"}
    session = stored["session"]
    assert isinstance(session, dict)
    assert (session["id"], session["userId"]) == (user.session_id, user.user_id)
    assert SESSION_SECONDS - 60 < client.ttl(user.raw) <= SESSION_SECONDS
    listed = json.loads(str(client.get(f"active-sessions-{user.user_id}")))
    assert user.raw in [entry["token"] for entry in listed]  # sign-up's session too
    assert all(entry["expiresAt"] > time.time() * 1000 for entry in listed)
    assert client.get(f"{user.session_id}") is None  # no key by session id
    tables = {row[0] for row in rig.sql.rows("SELECT name FROM sqlite_master")}
    if redis_rig.in_database:
        assert rig.session_count(user.user_id) == 2
    else:  # Better-Auth's migration creates no session table: sessions live in Redis only
        assert "session" not in tables


def test_every_credential_of_a_redis_session_is_accepted(redis_rig: RedisRig) -> None:
    rig = redis_rig.rig
    user = login(rig.server, unique_email("creds"))
    for (
        kind
    ) in KINDS:  # the JWT carries sid: looked up through the active-sessions list
        response = rig.api("GET", "/auth/me", user, kind)
        assert response.status_code == 200, (kind, response.text)
        assert response.json()["id"] == user.user_id


def _refused(rig: Rig, user: Login, kinds: tuple[str, ...] = KINDS) -> None:
    for kind in kinds:
        response = rig.api("GET", "/auth/me", user, kind)  # type: ignore[arg-type]
        assert response.status_code in (401, 403), (kind, response.text)


def test_revoke_through_our_api_ends_the_session_for_better_auth(
    redis_rig: RedisRig,
) -> None:
    rig = redis_rig.rig
    user = login(rig.server, unique_email("revoke"))
    other = sign_in(rig.server, user.email)
    ours = rig.api("GET", f"/users/{user.user_id}/sessions", rig.the_admin, "cookie")
    listed = {session["id"] for session in ours.json()["sessions"]}
    assert listed == rig.ba_session_ids(user.user_id)
    assert {user.session_id, other.session_id} <= listed
    response = rig.api(
        "DELETE", f"/users/{user.user_id}/sessions/{user.session_id}", rig.the_admin
    )
    assert response.json() == {"revoked": 1}
    assert rig.server.get_session(user.cookie) is None
    assert rig.ba_session_ids(user.user_id) == listed - {user.session_id}
    _refused(rig, user)
    assert rig.api("GET", "/auth/me", other, "raw").status_code == 200

    response = rig.api("DELETE", f"/users/{user.user_id}/sessions", rig.the_admin)
    assert response.json() == {"revoked": len(listed) - 1}
    assert rig.server.get_session(other.cookie) is None
    assert rig.ba_session_ids(user.user_id) == set()
    _refused(rig, other)


def test_ban_through_our_api_is_seen_by_better_auth(redis_rig: RedisRig) -> None:
    rig = redis_rig.rig
    user = login(rig.server, unique_email("ourban"))
    response = rig.api(
        "POST", f"/users/{user.user_id}/ban", rig.the_admin, json={"reason": "spam"}
    )
    assert response.status_code == 200, response.text
    assert rig.server.get_session(user.cookie) is None
    assert redis_rig.redis.get(user.raw) is None
    status = rig.server.request(
        "POST", "/sign-in/email", json={"email": user.email, "password": "password1234"}
    ).status_code
    assert status == 403  # Better-Auth reads the ban from the user row
    _refused(rig, user)


def test_revocations_and_ban_through_better_auth_are_seen_by_us(
    redis_rig: RedisRig,
) -> None:
    rig = redis_rig.rig
    user = login(rig.server, unique_email("baban"))
    second = sign_in(rig.server, user.email)
    third = sign_in(rig.server, user.email)

    revoked = rig.ba_admin_post("revoke-user-session", {"sessionToken": user.raw})
    assert revoked.status_code == 200, revoked.text
    _refused(rig, user)
    assert rig.api("GET", "/auth/me", second, "jwt").status_code == 200

    revoked = rig.ba_admin_post("revoke-user-sessions", {"userId": user.user_id})
    assert revoked.status_code == 200, revoked.text
    _refused(rig, second)
    mark = redis_rig.redis.get(f"revoked-sessions-before-{user.user_id}")
    assert mark is not None  # deleteUserSessions marks the user (Redis only or not)
    # its TTL: max(session.expiresIn, 1 day, impersonationSessionDuration) = 7 days by default
    ttl = redis_rig.redis.ttl(f"revoked-sessions-before-{user.user_id}")
    assert SESSION_SECONDS - 60 < ttl <= SESSION_SECONDS

    fourth = sign_in(rig.server, user.email)
    assert rig.api("GET", "/auth/me", fourth, "cookie").status_code == 200
    banned = rig.ba_admin_post("ban-user", {"userId": user.user_id})
    assert banned.status_code == 200, banned.text
    _refused(rig, fourth)
    _refused(rig, third, SESSION_KINDS)
    jwt = rig.api("GET", "/auth/me", fourth, "jwt")
    assert error_code(jwt) in {"INVALID_SESSION", "USER_BANNED"}


def test_a_ban_written_to_the_row_alone_counts_on_the_next_request(
    redis_rig: RedisRig,
) -> None:
    """Our guarantee beyond Better-Auth's snapshot: the user row decides, not Redis's copy."""
    rig = redis_rig.rig
    user = login(rig.server, unique_email("rowban"))
    rig.sql.rows(
        f"UPDATE {rig.table('user')} SET {rig.column('user', 'banned')} = 1 "
        f"WHERE {rig.column('user', 'id')} = '{user.user_id}'"
    )
    snapshot = _session_json(redis_rig.redis, user.raw)["user"]
    assert isinstance(snapshot, dict) and not snapshot.get("banned")
    for kind in KINDS:
        response = rig.api("GET", "/auth/me", user, kind)
        assert (response.status_code, error_code(response)) == (403, "USER_BANNED")


def test_role_set_through_our_api_reaches_better_auth_session_snapshots(
    redis_rig: RedisRig,
) -> None:
    """Better-Auth's admin plugin reads the role from the Redis snapshot; our role writes
    refresh the snapshots as its updateUser does (refreshUserSessions), both ways of a change."""
    rig = redis_rig.rig
    user = login(rig.server, unique_email("role"))
    path = f"/users/{user.user_id}/role"

    def ba_admin_status() -> int:
        return rig.server.admin_get(
            "list-users", {"limit": 1}, cookie=user.cookie
        ).status_code

    assert ba_admin_status() == 403
    promoted = rig.api("PUT", path, rig.the_admin, json={"role": "admin"})
    assert promoted.status_code == 200, promoted.text
    assert ba_admin_status() == 200
    snapshot = _session_json(redis_rig.redis, user.raw)["user"]
    assert isinstance(snapshot, dict) and snapshot["role"] == "admin"
    assert snapshot["email"] == user.email  # the rest of Better-Auth's snapshot is kept
    demoted = rig.api("PUT", path, rig.the_admin, json={"role": "user"})
    assert demoted.status_code == 200, demoted.text
    assert ba_admin_status() == 403
    renamed = rig.api("PATCH", f"/users/{user.user_id}", user, json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert rig.server.get_session(user.cookie)["user"]["name"] == "Renamed"  # type: ignore[index]


def test_a_redis_miss_and_a_revocation_mark_are_read_alike(redis_rig: RedisRig) -> None:
    """findSession: a token Redis lost is looked up in the table only under
    storeSessionInDatabase; a session created before revoked-sessions-before is none."""
    rig, client = redis_rig.rig, redis_rig.redis
    user = login(rig.server, unique_email("miss"))
    client.delete(user.raw)
    ba_sees = rig.server.get_session(user.cookie) is not None
    ours = rig.api("GET", "/auth/me", user, "raw").status_code
    assert ba_sees is redis_rig.in_database
    assert ours == (200 if redis_rig.in_database else 401)

    other = sign_in(rig.server, user.email)
    assert rig.server.get_session(other.cookie) is not None
    future = int(time.time() * 1000) + 5_000
    client.set(f"revoked-sessions-before-{user.user_id}", str(future), ex=60)
    assert rig.server.get_session(other.cookie) is None
    _refused(rig, other)


def test_better_auth_accepts_a_session_the_testing_kit_wrote(
    redis_rig: RedisRig,
) -> None:
    """``testing.store_redis_session`` writes what Better-Auth's ``findSession`` reads: the
    session and the user snapshot come back from ``get-session``, and our app accepts its
    cookie and raw token."""
    rig, client = redis_rig.rig, redis_rig.redis
    user = login(rig.server, unique_email("kit"))
    row = make_user(id=user.user_id, email=user.email, name="Kit User")
    session = make_session(row, ip_address="127.0.0.1", user_agent="pytest")
    store_redis_session(client, session, row)
    cookie_name = user.cookie.split("=", 1)[0]
    _, value = session_cookie(session.token, rig.server.secret)
    seen = rig.server.get_session(f"{cookie_name}={value}")
    assert seen is not None, "Better-Auth did not find the session the kit wrote"
    assert (seen["session"]["id"], seen["session"]["userId"]) == (
        session.id,
        user.user_id,
    )
    assert (seen["user"]["id"], seen["user"]["name"]) == (user.user_id, "Kit User")
    assert seen["session"]["userAgent"] == "pytest"
    # the same user, the kit's session: its cookie and raw token (the others are Better-Auth's)
    kit = dataclasses.replace(
        user, session_id=session.id, raw=session.token, cookie=f"{cookie_name}={value}"
    )
    kinds: tuple[Kind, ...] = ("cookie", "raw")
    for kind in kinds:
        response = rig.api("GET", "/auth/me", kit, kind)
        assert response.status_code == 200, (kind, response.text)
