"""The demo page in headless Chromium, against a real Better-Auth server and the example app.

Better-Auth (Node, the interop harness) and the example app (uvicorn, a subprocess) share one
temporary SQLite file, the secret and the trusted origin. The browser talks only to the app:
sign-up goes through its ``/api/auth`` proxy, and the session cookie Better-Auth sets there
authenticates ``/api/v1``. A screenshot of the signed-in admin page is saved to
``$DEMO_SCREENSHOT`` (default ``tests/interop/screenshots/demo.png``).

Needs Node + npm, Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) and the ``playwright``
package (never ``playwright install``: the system Chromium is used). Without them the tests
skip, unless ``FBA_INTEROP_REQUIRED=1``, where they fail.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from tests.interop.ba_server import PASSWORD, BetterAuthServer, running_better_auth
from tests.pg import free_port
from tests.processes import end_process

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = bool(os.environ.get("FBA_INTEROP_REQUIRED"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    """``$CHROMIUM`` if set (and executable), else ``chromium`` or ``chromium-browser`` on PATH."""
    if configured := os.environ.get("CHROMIUM"):
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"{reason} (FBA_INTEROP_REQUIRED=1)", pytrace=False)
    pytest.skip(f"{reason} (set FBA_INTEROP_REQUIRED=1 to fail instead)")


if not (shutil.which("node") and shutil.which("npm")):
    if REQUIRED:
        pytest.fail(
            "Node >= 20 and npm are needed (FBA_INTEROP_REQUIRED=1)", pytrace=False
        )
    pytest.skip(
        "Node >= 20 and npm are needed (set FBA_INTEROP_REQUIRED=1 to fail instead)",
        allow_module_level=True,
    )


@pytest.fixture
def chromium() -> str:
    """The system Chromium, with the playwright package to drive it; skips (or fails) without."""
    path = _chromium()
    if path is None:
        _unavailable("Chromium is needed (apt-get install chromium, or set CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable(
            "the playwright package is needed (no browser download: it drives the system Chromium)"
        )
    return path


class ExampleApp:
    """``uvicorn examples.app.main:create_app`` in a subprocess, stopped by its PID."""

    def __init__(
        self, better_auth: BetterAuthServer, database: Path, port: int
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = database.with_name("app.log")
        self.env = {
            **{
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("BETTER_AUTH_", "DEMO_"))
                and key != "DATABASE_URL"
            },
            "BETTER_AUTH_URL": better_auth.url,
            "BETTER_AUTH_SECRET": better_auth.secret,
            "BETTER_AUTH_DATABASE_URL": f"sqlite:///{database}",
            "BETTER_AUTH_TRUSTED_ORIGINS": self.url,
            "DEMO_FIRST_USER_ADMIN": "1",
            "DEMO_ORGANIZATIONS": "1",
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "examples.app.main:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while time.monotonic() < deadline and self._process.poll() is None:
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/api/v1/health/db").status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"the example app did not start:\n{self.log_path.read_text()}"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        end_process(process)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[BetterAuthServer, ExampleApp]]:
    """Better-Auth and the example app on one fresh SQLite file, each trusting the app's origin."""
    database = tmp_path / "demo.db"
    app_port = free_port()
    origin = f"http://127.0.0.1:{app_port}"
    with running_better_auth(
        str(database),
        env={"BETTER_AUTH_TRUSTED_ORIGINS": origin, "BA_ORGANIZATION": "1"},
    ) as better_auth:
        app = ExampleApp(better_auth, database, app_port)
        app.start()
        try:
            yield better_auth, app
        finally:
            app.stop()


def screenshot_path() -> Path:
    path = Path(
        os.environ.get("DEMO_SCREENSHOT")
        or ROOT / "tests" / "interop" / "screenshots" / "demo.png"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_demo_page_signs_up_lists_sessions_and_bans_as_admin(
    chromium: str, servers: tuple[BetterAuthServer, ExampleApp]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    better_auth, app = servers
    # Bob signs up straight at Better-Auth (not through the page: he is not promoted).
    better_auth.sign_up("bob@example.com", name="Bob")
    _, bob_cookie, _ = better_auth.sign_in("bob@example.com")
    assert (
        httpx.get(f"{app.url}/api/v1/auth/me", headers={"cookie": bob_cookie}).json()[
            "role"
        ]
        == "user"
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.set_default_timeout(10_000)
            page.goto(f"{app.url}/")
            expect(page.locator("#status")).to_have_text("Signed out.")

            # Sign up through the page: Better-Auth via the proxy, the cookie lands on the app.
            page.fill("#auth-name", "Alice")
            page.fill("#auth-email", "alice@example.com")
            page.fill("#auth-password", PASSWORD)
            page.click("#sign-up")
            expect(page.locator("#status")).to_have_text(
                "Signed in as alice@example.com."
            )
            cookies = {c["name"]: c for c in page.context.cookies()}
            assert cookies["better-auth.session_token"]["httpOnly"] is True

            # /api/v1/auth/me on the page: the first user became admin.
            summary = page.locator("#me-summary")
            expect(summary).to_contain_text("alice@example.com")
            expect(summary).to_contain_text("admin")
            assert '"email": "alice@example.com"' in (
                page.text_content("#me-json") or ""
            )

            def user_row(email: str) -> Any:
                return page.locator(f'#users tbody tr[data-email="{email}"]')

            # Sessions: this browser's, then a second one (signed in elsewhere) revoked here.
            sessions = page.locator("#sessions tbody tr")
            expect(sessions).to_have_count(1)
            expect(sessions.first).to_contain_text("this browser")
            _, other_cookie, _ = better_auth.sign_in("alice@example.com")
            page.click("#sessions-refresh")
            expect(sessions).to_have_count(2)
            other = page.locator("#sessions tbody tr:not(:has(.badge))")
            other.get_by_role("button", name="Revoke").click()
            expect(sessions).to_have_count(1)
            expect(sessions.first).to_contain_text("this browser")
            other_me = httpx.get(
                f"{app.url}/api/v1/auth/me", headers={"cookie": other_cookie}
            )
            assert other_me.status_code == 401, other_me.text

            # Admin view: both users; ban Bob, whose session ends at once.
            expect(page.locator("#admin-card")).to_be_visible()
            expect(page.locator("#users-total")).to_have_text("2 user(s)")
            bob = user_row("bob@example.com")
            expect(bob).to_contain_text("active")
            page.fill("#ban-reason", "Spamming the demo")
            bob.get_by_role("button", name="Ban").click()
            expect(bob).to_contain_text("banned")
            expect(bob).to_contain_text("Spamming the demo")
            expect(user_row("alice@example.com")).to_contain_text("you")
            bob_me = httpx.get(
                f"{app.url}/api/v1/auth/me", headers={"cookie": bob_cookie}
            )
            assert bob_me.status_code == 401, bob_me.text
            refused = better_auth.request(
                "POST",
                "/sign-in/email",
                json={"email": "bob@example.com", "password": PASSWORD},
            )
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "BANNED_USER"
            page.screenshot(path=str(screenshot_path()), full_page=True)

            # Unban: Bob can sign in again.
            bob.get_by_role("button", name="Unban").click()
            expect(bob).to_contain_text("active")
            better_auth.sign_in("bob@example.com")

            # The page logged its calls, and no action failed.
            expect(page.locator("#calls li").first).to_contain_text("→ 200")
            expect(page.locator("#action-error")).to_have_text("")
        finally:
            browser.close()


def test_demo_page_owner_manages_organization_members(
    chromium: str, servers: tuple[BetterAuthServer, ExampleApp]
) -> None:
    """Better-Auth creates the organization; our /api/v1/organizations routes list and manage it."""
    from playwright.sync_api import expect, sync_playwright

    better_auth, app = servers
    better_auth.sign_up("bob@example.com", name="Bob")
    _, bob_cookie, _ = better_auth.sign_in("bob@example.com")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1200})
            page.set_default_timeout(10_000)
            page.goto(f"{app.url}/")
            page.fill("#auth-name", "Alice")
            page.fill("#auth-email", "alice@example.com")
            page.fill("#auth-password", PASSWORD)
            page.click("#sign-up")
            expect(page.locator("#orgs-card")).to_be_visible()
            expect(page.locator("#orgs")).to_contain_text("None yet")

            # Create through Better-Auth (the proxy); the owner is listed by our route.
            page.fill("#org-name", "Acme")
            page.click("#org-form button[type=submit]")
            members = page.locator("#members tbody tr")
            expect(members).to_have_count(1)
            expect(page.locator("#members-title")).to_have_text("Acme: 1 member(s)")
            expect(members.first.locator("td").nth(2)).to_have_text("owner")

            # Bob joins by Better-Auth's invitation; the page then manages him.
            alice = "; ".join(
                f"{c['name']}={c['value']}" for c in page.context.cookies()
            )
            (org,) = httpx.get(
                f"{app.url}/api/v1/organizations", headers={"cookie": alice}
            ).json()["organizations"]
            invited = better_auth.request(
                "POST",
                "/organization/invite-member",
                cookie=alice,
                json={
                    "email": "bob@example.com",
                    "role": "member",
                    "organizationId": org["id"],
                },
            )
            assert invited.status_code == 200, invited.text
            accepted = better_auth.request(
                "POST",
                "/organization/accept-invitation",
                cookie=bob_cookie,
                json={"invitationId": invited.json()["id"]},
            )
            assert accepted.status_code == 200, accepted.text
            page.locator("#orgs li[data-slug] button").first.click()
            expect(members).to_have_count(2)
            bob = page.locator('#members tbody tr[data-email="bob@example.com"]')
            bob.locator("select").select_option("admin")
            bob.get_by_role("button", name="Set role").click()
            expect(bob.locator("td").nth(2)).to_have_text("admin")
            listed = better_auth.request(
                "GET",
                "/organization/list-members",
                cookie=bob_cookie,
                params={"organizationId": org["id"]},
            ).json()["members"]
            assert {m["user"]["email"]: m["role"] for m in listed} == {
                "alice@example.com": "owner",
                "bob@example.com": "admin",
            }
            bob.get_by_role("button", name="Remove").click()
            expect(members).to_have_count(1)
            expect(page.locator("#action-error")).to_have_text("")
            page.screenshot(
                path=str(screenshot_path().with_name("demo-organizations.png")),
                full_page=True,
            )
        finally:
            browser.close()


def test_demo_script_serves_the_page_and_stops_both_servers(tmp_path: Path) -> None:
    """``python -m examples.demo`` (what ``nox -s example`` runs): up, usable, then SIGTERM."""
    app_port, auth_port = free_port(), free_port()
    log_path = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETTER_AUTH_")}
    with log_path.open("wb") as log:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "examples.demo",
                "--app-port",
                str(app_port),
                "--auth-port",
                str(auth_port),
                "--db",
                str(tmp_path / "demo.db"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 40
        while "Ctrl-C stops both" not in log_path.read_text() and demo.poll() is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        output = log_path.read_text()
        assert f"open http://127.0.0.1:{app_port}/" in output, output
        assert "BETTER_AUTH_SECRET is not set" in output
        page = httpx.get(f"http://127.0.0.1:{app_port}/")
        assert page.status_code == 200
        assert "fastapi-better-auth" in page.text
        assert httpx.get(f"http://127.0.0.1:{app_port}/api/auth/ok").json() == {
            "ok": True
        }
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", output)]
        assert len(pids) == 2, output
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
        returncode = demo.wait(timeout=30)
    assert returncode == 0, log_path.read_text()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
