"""docker-compose.yml, Dockerfile, .env.example and the PostgreSQL init wrapper, checked
without a Docker engine (CI has none): against the compose specification's JSON Schema
always, and with `docker compose config` / `docker-compose config` where a CLI is installed
(always in CI)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.observability import compose_schema
from tests.unit.observability.metric_contract import ROOT, load_yaml

COMPOSE_SCHEMA = ROOT / "deploy" / "schema" / "compose-spec.json"

SERVICES = {"kafka", "postgres", "migrate", "consumer", "prometheus", "grafana"}
LONG_RUNNING = SERVICES - {"migrate"}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|PASSPHRASE|API_KEY", re.IGNORECASE)
ONLY_INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}$")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:(?P<secret>[^@\s]+)@")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(ROOT / "docker-compose.yml")
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def env(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment", {})
    if isinstance(raw, list):
        return dict(item.split("=", 1) for item in raw)
    return {k: str(v) for k, v in raw.items()}


def strings(node: Any) -> list[tuple[str, str]]:
    """Every (key, string value) in the compose tree; list items get their parent's key."""
    if isinstance(node, dict):
        return [pair for k, v in node.items() for pair in strings_under(str(k), v)]
    if isinstance(node, list):
        return [pair for item in node for pair in strings(item)]
    return []


def strings_under(key: str, node: Any) -> list[tuple[str, str]]:
    if isinstance(node, str):
        return [(key, node)]
    if isinstance(node, list) and all(isinstance(i, str) for i in node):
        return [(key, i) for i in node]
    return strings(node)


def test_the_six_services(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES


def test_kafka_is_the_official_image_in_kraft_mode(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    settings = env(kafka)
    assert set(settings["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://kafka:9092" in settings["KAFKA_ADVERTISED_LISTENERS"]
    assert not any("zookeeper" in k.lower() for k in settings)


def test_postgres_17_runs_the_bootstrap_through_the_wrapper(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:17"
    mounts = postgres["volumes"]
    assert "./deploy/postgres-init.sh:/docker-entrypoint-initdb.d/10-vinops-bootstrap.sh:ro" in (
        mounts
    )
    assert "./devstack/bootstrap.sql:/vinops/bootstrap.sql:ro" in mounts
    assert (ROOT / "deploy" / "postgres-init.sh").stat().st_mode & 0o111
    assert "-h 127.0.0.1" in postgres["healthcheck"]["test"][1]


def test_migrate_is_one_shot_after_postgres_is_healthy(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["consumer", "migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    assert env(migrate)["VINOPS_PG_ADMIN_DSN"].startswith("postgresql://vinops_admin:${")


def test_consumer_is_scalable_and_health_checked(services: dict[str, Any]) -> None:
    consumer = services["consumer"]
    assert consumer["build"]["context"] == "."
    assert (ROOT / consumer["build"]["dockerfile"]).is_file()
    assert consumer["command"] == ["consumer", "run"]
    # --scale consumer=3 needs no fixed name and no fixed host port.
    assert "container_name" not in consumer
    assert "ports" not in consumer
    assert any("/healthz" in part for part in consumer["healthcheck"]["test"])
    settings = env(consumer)
    assert settings["VINOPS_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert settings["VINOPS_PG_DSN"].startswith("postgresql://vinops_etl:${")
    assert settings["VINOPS_METRICS_PORT"] == "9108"
    assert consumer["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert consumer["depends_on"]["kafka"] == {"condition": "service_healthy"}
    assert consumer["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_prometheus_mounts_config_and_the_shared_rules(services: dict[str, Any]) -> None:
    mounts = services["prometheus"]["volumes"]
    assert "./prometheus/prometheus.compose.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert "./prometheus/rules:/etc/prometheus/rules:ro" in mounts


def test_grafana_mounts_provisioning_and_dashboards(services: dict[str, Any]) -> None:
    mounts = services["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    assert "./grafana/dashboards:/etc/grafana/dashboards:ro" in mounts
    assert env(services["grafana"])["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == (
        "/etc/grafana/dashboards/vinops-ingest.json"
    )


def test_bind_mounted_paths_exist(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"


def test_long_running_services_have_healthchecks(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck", {})
        assert check.get("test"), name
        assert not check.get("disable"), name


def test_named_volumes_are_declared_and_used(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    used = {
        mount.split(":", 1)[0]
        for service in services.values()
        for mount in service.get("volumes", [])
        if not mount.startswith((".", "/"))
    }
    assert used == set(compose["volumes"])
    assert {"kafka-data", "pg-data", "prometheus-data", "grafana-data"} <= used


def test_no_secret_literals_in_compose(compose: dict[str, Any]) -> None:
    leaks = [
        (key, value)
        for key, value in strings(compose)
        if (SECRET_KEY.search(key) and not ONLY_INTERPOLATION.match(value))
        or any(not m["secret"].startswith("${") for m in URL_PASSWORD.finditer(value))
    ]
    assert leaks == []


def test_every_interpolated_variable_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert used - set(example) == set()
    placeholders = {k: v for k, v in example.items() if SECRET_KEY.search(k)}
    assert placeholders
    assert all(v.startswith("change-me") for v in placeholders.values())


def test_env_file_is_ignored_by_git_and_docker() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".git" in ignored


def test_dockerfile_runs_the_consumer_unprivileged_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER +(\S+)", text, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert re.search(r"^RUN pip install \.", text, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.MULTILINE)
    assert 'CMD ["consumer", "run"]' in text
    assert "VINOPS_MIGRATIONS_DIR=/app/migrations" in text


def test_init_wrapper_sets_every_psql_variable_the_bootstrap_uses() -> None:
    wrapper = ROOT / "deploy" / "postgres-init.sh"
    syntax = subprocess.run(
        ["bash", "-n", str(wrapper)], capture_output=True, text=True, check=False
    )
    assert syntax.returncode == 0, syntax.stderr
    bootstrap = (ROOT / "devstack" / "bootstrap.sql").read_text()
    used = set(re.findall(r":'(\w+)'", bootstrap)) | set(re.findall(r"(?<!:):(\w+)\b", bootstrap))
    assert used
    assert used <= set(re.findall(r"\\\\set (\w+) ", wrapper.read_text()))


def compose_cli() -> list[str] | None:
    """The compose CLI at hand: Docker's plugin, else Debian's docker-compose (no engine
    needed for `config`), else None."""
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_matches_the_compose_specification() -> None:
    # Needs no binary: a fresh clone without a compose CLI still checks the file.
    found = compose_schema.problems(
        ROOT / "docker-compose.yml", ROOT / ".env.example", COMPOSE_SCHEMA
    )
    assert found == []


def test_the_schema_check_catches_what_compose_refuses(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  a:\n    image: x\n    restart: sometimes-${WHEN}\n    helthcheck: {}\n"
        "  b:\n    image: ${IMAGE:?set IMAGE}\n"
    )
    env = tmp_path / ".env"
    env.write_text("WHEN=later\n")
    with pytest.raises(compose_schema.InterpolationError, match="IMAGE: set IMAGE"):
        compose_schema.problems(broken, env, COMPOSE_SCHEMA)
    env.write_text("WHEN=later\nIMAGE=busybox:1.36\n")
    (problem,) = compose_schema.problems(broken, env, COMPOSE_SCHEMA)
    assert problem == "services/a: 'helthcheck' does not match any of the regexes: '^x-'"


def test_docker_compose_config_is_valid() -> None:
    cli = compose_cli()
    if cli is None:
        # CI installs docker-compose (.ci/run), so there a missing CLI is a failure.
        if os.environ.get("CI"):
            pytest.fail("no compose CLI: apt-get install docker-compose")
        pytest.skip("no compose CLI (apt-get install docker-compose); the schema check ran")
    result = subprocess.run(
        [*cli, "--env-file", ".env.example", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
