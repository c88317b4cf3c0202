"""One cluster bootstrap for compose, the devstack and the tests' container; the helpers the
tests and the bench share (env file, DSNs). No service needed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from devstack.bootstrap import BOOTSTRAP_FILES, PASSWORD_VARIABLES
from devstack.dsn import dsn_for
from devstack.envfile import ROOT, read_env_file, state_dir
from tests.unit.observability.metric_contract import load_yaml


def _compose_postgres() -> dict[str, Any]:
    postgres: dict[str, Any] = load_yaml(ROOT / "docker-compose.yml")["services"]["postgres"]
    return postgres


def test_the_tests_container_gets_the_bootstrap_files_compose_mounts() -> None:
    postgres = _compose_postgres()
    bootstrap_mounts = {
        m for m in postgres["volumes"] if ":/docker-entrypoint-initdb.d/" in m or ":/vinops/" in m
    }
    assert bootstrap_mounts == {f"./{source}:{target}:ro" for source, target, _ in BOOTSTRAP_FILES}
    for source, _, mode in BOOTSTRAP_FILES:
        assert (ROOT / source).stat().st_mode & 0o111 == mode & 0o111, source
    # Compose hands the passwords over as secrets (files), through NAME_FILE.
    assert {f"{v}_FILE" for v in PASSWORD_VARIABLES} <= set(postgres["environment"])
    wrapper = (ROOT / "deploy" / "postgres-init.sh").read_text()
    assert all(f"${{{variable}" in wrapper for variable in PASSWORD_VARIABLES)


def test_the_devstack_runs_the_same_wrapper_and_file() -> None:
    pg_sh = (ROOT / "devstack" / "pg.sh").read_text()
    body = pg_sh[pg_sh.index("pg_bootstrap() {") :].split("\n}\n", 1)[0]
    assert 'bash "$ROOT/deploy/postgres-init.sh"' in body
    assert 'VINOPS_BOOTSTRAP_SQL="$DEVSTACK/bootstrap.sql"' in body
    assert all(f"{variable}=" in body for variable in PASSWORD_VARIABLES)


def test_extensions_are_created_by_the_bootstrap_only() -> None:
    # Migrations are history (0001 creates them too, IF NOT EXISTS) and are left out.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    creating = re.compile(r"CREATE EXTENSION[^;\n]*\b(pgcrypto|pg_trgm|citext)\b", re.IGNORECASE)
    found: dict[str, list[str]] = {}
    for name in tracked:
        path = ROOT / name
        if name.startswith("migrations/") or path.suffix not in {".sql", ".py", ".sh"}:
            continue
        for extension in creating.findall(path.read_text(errors="replace")):
            found.setdefault(extension, []).append(name)
    assert found == {e: ["devstack/bootstrap.sql"] for e in ("pgcrypto", "pg_trgm", "citext")}


def test_env_file_reads_export_lines_and_undoes_shell_quoting(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text(
        "# written by devstack/stack.sh up\n"
        "export VINOPS_KAFKA_BOOTSTRAP=127.0.0.1:19092\n"
        "export VINOPS_PG_DSN='postgresql://etl:p w@h:5432/vinops'  # a comment\n"
        "NOT_EXPORTED=1\n"
        "\n"
    )
    assert read_env_file(env) == {
        "VINOPS_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
        "VINOPS_PG_DSN": "postgresql://etl:p w@h:5432/vinops",
    }
    assert read_env_file(tmp_path / "absent") == {}


def test_state_dir_follows_vinops_devstack_dir(tmp_path: Path) -> None:
    assert state_dir({"VINOPS_DEVSTACK_DIR": str(tmp_path)}) == tmp_path
    assert state_dir({}) == ROOT / ".devstack"
    assert state_dir({"VINOPS_DEVSTACK_DIR": ""}) == ROOT / ".devstack"


def test_dsn_for_changes_the_database_and_optionally_the_login() -> None:
    su = "postgresql://postgres:s3cret@127.0.0.1:15432/postgres?sslmode=disable"
    assert dsn_for(su, "vinops") == (
        "postgresql://postgres:s3cret@127.0.0.1:15432/vinops?sslmode=disable"
    )
    assert dsn_for(su, "vinops", user="vinops_etl", password="ab12") == (
        "postgresql://vinops_etl:ab12@127.0.0.1:15432/vinops?sslmode=disable"
    )
    assert dsn_for("postgresql://h/db", "other", user="u") == "postgresql://u@h/other"
