"""``python -m fastapi_better_auth migrate`` creates and drops the schema, and explains bad settings."""

import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_better_auth.__main__ import main


@pytest.fixture(autouse=True)
def _no_database_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BETTER_AUTH_DATABASE_URL", "DATABASE_URL", "BETTER_AUTH_URL"):
        monkeypatch.delenv(name, raising=False)


def test_migrate_upgrade_current_downgrade_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert main(["migrate", "current", "--database-url", url]) == 0
    assert main(["migrate", "upgrade", "--database-url", url]) == 0
    assert main(["migrate", "current", "--database-url", url]) == 0
    assert main(["migrate", "downgrade", "--database-url", url]) == 0
    assert capsys.readouterr().out.split() == [
        "none",
        "upgraded",
        "to",
        "head",
        "0001",
        "downgraded",
        "to",
        "base",
    ]


def test_migrate_reads_database_url_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert main(["migrate", "upgrade"]) == 0
    assert (tmp_path / "env.db").exists()


def test_migrate_sql_prints_ddl_without_a_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["migrate", "sql"]) == 0
    out = capsys.readouterr().out
    assert 'CREATE TABLE "user"' in out
    assert '"emailVerified" BOOLEAN NOT NULL' in out
    assert main(["migrate", "sql", "--dialect", "sqlite"]) == 0
    assert '"createdAt" date NOT NULL' in capsys.readouterr().out


def test_migrate_without_database_url_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["migrate", "upgrade"]) == 2
    assert "BETTER_AUTH_DATABASE_URL" in capsys.readouterr().err


def test_module_runs_as_a_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fastapi_better_auth", "migrate", "sql"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
