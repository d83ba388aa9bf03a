"""``examples/scale``: three replicas behind HAProxy, consistent with the single-API stack.

The compose file cannot run here (no Docker engine), so its structure is checked against
``examples/docker-compose.yml`` and ``examples/Dockerfile``; ``haproxy.cfg`` is the file the
replica interop test runs for real, and ``haproxy -c`` validates it with the compose settings.
"""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.unit.test_deploy_files import (
    EXAMPLES,
    REQUIRED_VARIABLE,
    SHARED,
    args_of,
    stages,
)

SCALE = EXAMPLES / "scale"
REPLICAS = ("api1", "api2", "api3")
HAPROXY_CFG = SCALE / "haproxy.cfg"


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def scale() -> dict[str, Any]:
    return load(SCALE / "docker-compose.yml")


@pytest.fixture(scope="module")
def single() -> dict[str, Any]:
    return load(EXAMPLES / "docker-compose.yml")


def env(compose: dict[str, Any], name: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"][name]["environment"].items()}


def config_lines() -> list[str]:
    """haproxy.cfg's directives, comments and blank lines dropped."""
    lines = (
        line.split("#", 1)[0].strip() for line in HAPROXY_CFG.read_text().splitlines()
    )
    return [line for line in lines if line]


def test_scale_runs_three_api_replicas_of_the_api_image_behind_haproxy(
    scale: dict[str, Any],
) -> None:
    services = scale["services"]
    assert set(services) == {"db", "redis", "better-auth", *REPLICAS, "haproxy"}
    for name in ("better-auth", *REPLICAS):
        build = services[name]["build"]
        assert build["target"] in stages()
        assert (SCALE / build["context"] / build["dockerfile"]).resolve() == (
            EXAMPLES / "Dockerfile"
        )
    assert {services[name]["build"]["target"] for name in REPLICAS} == {"api"}
    assert [n for n, s in services.items() if "ports" in s] == ["haproxy"]
    assert services["haproxy"]["image"].startswith("haproxy:")


def test_scale_every_server_reads_the_same_auth_settings_as_the_single_stack(
    scale: dict[str, Any], single: dict[str, Any]
) -> None:
    node = env(scale, "better-auth")
    replicas = [env(scale, name) for name in REPLICAS]
    assert all(replica == replicas[0] for replica in replicas), "replicas differ"
    for key in SHARED:
        assert replicas[0][key] == node[key], key
    for key in ("BETTER_AUTH_URL", "BETTER_AUTH_TRUSTED_ORIGINS"):
        assert node[key] == env(single, "better-auth")[key], key
    secret = REQUIRED_VARIABLE.match(node["BETTER_AUTH_SECRET"])
    assert secret and secret["name"] == "BETTER_AUTH_SECRET"
    assert scale["services"]["db"]["image"] == single["services"]["db"]["image"]
    assert env(scale, "db").keys() == env(single, "db").keys()
    assert node["PORT"] == env(single, "better-auth")["PORT"]


def test_scale_sessions_live_in_the_one_redis_both_sides_read(
    scale: dict[str, Any],
) -> None:
    node, api = env(scale, "better-auth"), env(scale, "api1")
    assert node["BA_REDIS_URL"] == api["BETTER_AUTH_REDIS_URL"]
    assert urlsplit(api["BETTER_AUTH_REDIS_URL"]).hostname == "redis"
    assert node["BA_SID_CLAIM"] == "1", "a revoked session must refuse its JWTs too"
    assert api["BETTER_AUTH_FRESHNESS"] == "always"
    assert api["DATABASE_URL"].endswith("}@db:5432/app")


def test_scale_every_service_is_health_checked_and_waits_for_healthy_dependencies(
    scale: dict[str, Any],
) -> None:
    services = scale["services"]
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
    expected = {
        "better-auth": {"db", "redis"},
        **{name: {"db", "redis", "better-auth"} for name in REPLICAS},
        "haproxy": set(REPLICAS),
    }
    for name, needs in expected.items():
        depends = services[name]["depends_on"]
        assert set(depends) == needs, name
        assert {d["condition"] for d in depends.values()} == {"service_healthy"}


def test_scale_haproxy_gets_every_address_its_config_names(
    scale: dict[str, Any],
) -> None:
    haproxy = scale["services"]["haproxy"]
    named = set(re.findall(r"\$\{(\w+)\}", HAPROXY_CFG.read_text()))
    balancer = env(scale, "haproxy")
    assert named == set(balancer)
    api_port = args_of(stages()["api"], "EXPOSE")[0]
    assert [balancer[f"API{i}"] for i in (1, 2, 3)] == [
        f"{n}:{api_port}" for n in REPLICAS
    ]
    published = haproxy["ports"][0].split(":")[-1]
    assert balancer["HAPROXY_BIND"] == f":{published}"
    source, target, *_ = haproxy["volumes"][0].split(":")
    assert (SCALE / source).resolve() == HAPROXY_CFG
    assert target == "/usr/local/etc/haproxy/haproxy.cfg"  # the official image's path


def test_haproxy_checks_health_and_retries_only_idempotent_requests_elsewhere() -> None:
    lines = config_lines()
    assert "option httpchk GET /api/v1/health" in lines
    assert "http-check expect status 200" in lines
    assert "option redispatch 1" in lines
    assert "http-request disable-l7-retry if !METH_GET" in lines
    retry_on = next(line for line in lines if line.startswith("retry-on "))
    assert {"conn-failure", "empty-response"} <= set(retry_on.split()[1:])
    assert any(re.fullmatch(r"retries [1-9]", line) for line in lines)
    servers = [line.split() for line in lines if line.startswith("server ")]
    assert [s[1] for s in servers] == list(REPLICAS)
    default = next(line for line in lines if line.startswith("default-server "))
    assert " check " in f"{default} "


@pytest.mark.skipif(
    shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
    reason="Debian's haproxy is not installed (nox installs it for the replicas sessions)",
)
def test_haproxy_config_is_valid_with_the_compose_settings(
    scale: dict[str, Any],
) -> None:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    result = subprocess.run(
        [binary, "-c", "-f", str(HAPROXY_CFG)],
        env=env(scale, "haproxy"),
        capture_output=True,
        text=True,
        check=False,
    )  # the replica names do not resolve here: HAProxy starts anyway (init-addr none)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_test_the_scale_page_cites_exists() -> None:
    """docs/guides/scale.md pins each guarantee to a test by name: the names must not rot."""
    page = (EXAMPLES.parent / "docs" / "guides" / "scale.md").read_text()
    cited = set(re.findall(r"`(test_\w+)`", page))
    assert len(cited) >= 8
    defined = {
        name
        for path in (EXAMPLES.parent / "tests").rglob("test_*.py")
        for name in re.findall(r"^(?:async )?def (test_\w+)\(", path.read_text(), re.M)
    }
    assert cited <= defined, sorted(cited - defined)
