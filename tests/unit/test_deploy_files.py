"""``examples/Dockerfile`` and ``examples/docker-compose.yml`` hold together (no Docker engine needed).

Both servers must read the same secret, URL, database and trusted origins; every service has a
healthcheck and starts after what it needs is healthy; images run as non-root users, expose the
ports their commands bind, and bake in no secret.
"""

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SHARED = (
    "BETTER_AUTH_URL",
    "BETTER_AUTH_SECRET",
    "DATABASE_URL",
    "BETTER_AUTH_TRUSTED_ORIGINS",
)
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|API_KEY", re.IGNORECASE)
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (what a container must bind)
REQUIRED_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Z_]+):\?[^}]+\}$")


def instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined, comments dropped."""
    text = (EXAMPLES / "Dockerfile").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            result.append((keyword.upper(), arguments.strip()))
    return result


def stages() -> dict[str, list[tuple[str, str]]]:
    """The instructions of each named stage, in order (``FROM image AS name``)."""
    result: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for keyword, arguments in instructions():
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", arguments, re.IGNORECASE)
            assert match, f"every stage is named: FROM {arguments}"
            current = result[match[2]] = [("FROM", match[1])]
        elif current is not None:
            current.append((keyword, arguments))
    return result


def args_of(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for kw, arguments in stage if kw == keyword]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in args_of(stage, "ENV"):
        for pair in shlex.split(arguments):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def exec_form(arguments: str) -> list[str]:
    """``CMD ["a", "b"]`` as a list (JSON exec form is required)."""
    loaded = yaml.safe_load(arguments)
    assert isinstance(loaded, list), f"use the exec form: {arguments}"
    return [str(part) for part in loaded]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((EXAMPLES / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def service_env(compose: dict[str, Any], name: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"][name]["environment"].items()}


# -- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_and_ends_with_the_api_on_python_slim() -> None:
    found = stages()
    assert {"build", "api", "better-auth", "better-auth-deps"} <= set(found)
    assert list(found)[-1] == "api", "the default target is the API"
    assert re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim", found["api"][0][1])
    assert "--from=build" in " ".join(args_of(found["api"], "COPY"))
    assert found["better-auth"][0][1].startswith("node:")
    assert "--from=better-auth-deps" in " ".join(args_of(found["better-auth"], "COPY"))


@pytest.mark.parametrize("stage", ["api", "better-auth"])
def test_dockerfile_runtime_stages_run_as_non_root(stage: str) -> None:
    users = args_of(stages()[stage], "USER")
    assert users, f"{stage} sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_api_exposes_and_binds_port_8000_on_all_interfaces() -> None:
    api = stages()["api"]
    assert args_of(api, "EXPOSE") == ["8000"]
    command = exec_form(args_of(api, "CMD")[-1])
    assert command[:3] == ["uvicorn", "examples.app.main:create_app", "--factory"]
    assert command[command.index("--host") + 1] == ALL_INTERFACES
    assert command[command.index("--port") + 1] == "8000"
    assert args_of(api, "HEALTHCHECK"), "the API image checks its own health"


def test_dockerfile_better_auth_listens_on_its_exposed_port() -> None:
    node = stages()["better-auth"]
    env = env_of(node)
    assert args_of(node, "EXPOSE") == [env["PORT"]]
    assert env["HOST"] == ALL_INTERFACES
    assert "node migrate.mjs && exec node server.mjs" in args_of(node, "CMD")[-1]


def test_dockerfile_bakes_in_no_secret() -> None:
    for keyword, arguments in instructions():
        if keyword in {"ENV", "ARG"}:
            names = [part.partition("=")[0] for part in shlex.split(arguments)]
            assert not [n for n in names if SECRET_NAME.search(n)], arguments
        if keyword in {"COPY", "ADD"}:
            assert ".env" not in shlex.split(arguments), arguments
    text = (EXAMPLES / "Dockerfile").read_text()
    assert "secret-" not in text.lower()


def test_dockerfile_copies_files_that_exist() -> None:
    for keyword, arguments in instructions():
        if keyword != "COPY" or "--from=" in arguments:
            continue
        *sources, _destination = shlex.split(arguments)
        for source in sources:
            assert (ROOT / source).exists(), (
                f"COPY {source}: missing in the build context"
            )


# -- docker-compose.yml ------------------------------------------------------------------------


def test_compose_runs_postgres_15_better_auth_and_the_api(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"db", "better-auth", "api"}
    assert services["db"]["image"].startswith("postgres:15")
    targets = {name: services[name]["build"] for name in ("better-auth", "api")}
    for name, build in targets.items():
        assert build["target"] == name
        assert build["target"] in stages()
        assert (EXAMPLES / build["context"] / build["dockerfile"]).resolve() == (
            EXAMPLES / "Dockerfile"
        )


def test_compose_both_servers_share_the_auth_settings(
    compose: dict[str, Any],
) -> None:
    node, api = service_env(compose, "better-auth"), service_env(compose, "api")
    for key in SHARED:
        assert node[key] == api[key], key


def test_compose_secrets_come_from_the_environment_and_are_required(
    compose: dict[str, Any],
) -> None:
    api = service_env(compose, "api")
    db = service_env(compose, "db")
    secret = REQUIRED_VARIABLE.match(api["BETTER_AUTH_SECRET"])
    assert secret and secret["name"] == "BETTER_AUTH_SECRET"
    password = REQUIRED_VARIABLE.match(db["POSTGRES_PASSWORD"])
    assert password and password["name"] == "POSTGRES_PASSWORD"


def test_compose_database_url_points_at_the_db_service(
    compose: dict[str, Any],
) -> None:
    db = service_env(compose, "db")
    url = service_env(compose, "api")["DATABASE_URL"]
    match = re.fullmatch(
        r"postgresql://(?P<user>[^:]+):(?P<password>\$\{[^}]+\})@(?P<host>[^:/]+):5432/(?P<name>\w+)",
        url,
    )
    assert match, url
    assert match["user"] == db["POSTGRES_USER"]
    assert match["name"] == db["POSTGRES_DB"]
    assert match["host"] == "db"
    assert REQUIRED_VARIABLE.match(match["password"])
    assert match["password"].split(":")[0] == db["POSTGRES_PASSWORD"].split(":")[0]


def test_compose_better_auth_url_is_the_better_auth_service(
    compose: dict[str, Any],
) -> None:
    node = service_env(compose, "better-auth")
    url = urlsplit(node["BETTER_AUTH_URL"])
    assert url.hostname == "better-auth"
    assert str(url.port) == node["PORT"]
    assert node["HOST"] == ALL_INTERFACES, "reachable from the api container"
    assert f"127.0.0.1:{node['PORT']}" in " ".join(
        compose["services"]["better-auth"]["healthcheck"]["test"]
    )
    assert "ports" not in compose["services"]["better-auth"], (
        "only the API is published"
    )


def test_compose_api_is_published_and_its_origin_trusted(
    compose: dict[str, Any],
) -> None:
    api = compose["services"]["api"]
    assert api["ports"] == ["8000:8000"]
    container_port = api["ports"][0].split(":")[-1]
    assert args_of(stages()["api"], "EXPOSE") == [container_port]
    origins = service_env(compose, "api")["BETTER_AUTH_TRUSTED_ORIGINS"].split(",")
    assert "http://localhost:8000" in origins
    assert "http://127.0.0.1:8000" in origins


def test_compose_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
    expected = {"better-auth": {"db"}, "api": {"db", "better-auth"}}
    for name, needs in expected.items():
        depends = services[name]["depends_on"]
        assert set(depends) == needs, name
        assert {d["condition"] for d in depends.values()} == {"service_healthy"}


def test_better_auth_server_listens_on_host_from_the_environment() -> None:
    """server.mjs must read HOST, or the api container cannot reach Better-Auth."""
    server = (EXAMPLES / "better-auth-server" / "server.mjs").read_text()
    assert "process.env.HOST" in server


def test_env_example_names_every_setting_and_only_real_ones() -> None:
    """``.env.example`` lists every setting (set or commented out) and nothing unknown."""
    from fastapi_better_auth import BetterAuthSettings

    text = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#? ?((?:BETTER_AUTH_)?[A-Z_]+)=", text, re.MULTILINE))
    expected = {
        f"BETTER_AUTH_{name.upper()}" for name in BetterAuthSettings.model_fields
    }
    expected = (expected - {"BETTER_AUTH_DATABASE_URL"}) | {"DATABASE_URL"}
    assert named == expected
