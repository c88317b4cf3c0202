"""docker-compose.yml, Dockerfile, .env.example and the PostgreSQL init wrapper, checked
without a Docker engine (CI has none): against the compose specification's JSON Schema
always, and with `docker compose config` / `docker-compose config` where a CLI is installed
(always in CI)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.unit.observability import compose_schema
from tests.unit.observability.metric_contract import ROOT, load_yaml

COMPOSE_SCHEMA = ROOT / "deploy" / "schema" / "compose-spec.json"

SERVICES = {
    "kafka", "postgres", "postgres-exporter", "migrate", "consumer", "prometheus", "grafana"
}  # fmt: skip
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


def test_the_seven_services(services: dict[str, Any]) -> None:
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
    assert postgres["image"].startswith("postgres:17.")
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
    assert env(migrate)["VINOPS_PG_ADMIN_DSN_FILE"] == "/run/secrets/pg_admin_dsn"
    assert migrate["secrets"] == ["pg_admin_dsn"]


def test_consumer_is_scalable_and_health_checked(services: dict[str, Any]) -> None:
    consumer = services["consumer"]
    assert consumer["build"]["context"] == "."
    assert (ROOT / consumer["build"]["dockerfile"]).is_file()
    assert consumer["command"] == ["consumer", "run"]
    # --scale consumer=3 needs no fixed name and no fixed host port.
    assert "container_name" not in consumer
    assert "ports" not in consumer
    assert any("/readyz" in part for part in consumer["healthcheck"]["test"])
    settings = env(consumer)
    assert settings["VINOPS_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert settings["VINOPS_PG_DSN_FILE"] == "/run/secrets/pg_etl_dsn"
    assert consumer["secrets"] == ["pg_etl_dsn"]
    assert settings["VINOPS_METRICS_PORT"] == "9108"
    assert consumer["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert consumer["depends_on"]["kafka"] == {"condition": "service_healthy"}
    assert consumer["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_postgres_exporter_runs_the_devstack_queries(services: dict[str, Any]) -> None:
    exporter = services["postgres-exporter"]
    queries = "./prometheus/postgres-exporter/queries.yml:/etc/postgres-exporter/queries.yml:ro"
    assert queries in exporter["volumes"]
    assert "--extend.query-path=/etc/postgres-exporter/queries.yml" in exporter["command"]
    assert env(exporter)["DATA_SOURCE_PASS_FILE"] == "/run/secrets/postgres_password"
    # The same release as Debian's package, which the devstack and the tests run.
    assert exporter["image"].endswith(":v0.11.1")
    devstack = (ROOT / "devstack" / "prometheus.sh").read_text()
    assert "--no-collector.bgwriter" in devstack
    assert "--no-collector.bgwriter" in exporter["command"]
    scrape = load_yaml(ROOT / "prometheus" / "prometheus.compose.yml")["scrape_configs"]
    (job,) = [j for j in scrape if j["job_name"] == "vinops-postgres"]
    assert job["static_configs"] == [{"targets": ["postgres-exporter:9187"]}]


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
        if (
            SECRET_KEY.search(key)
            and not ONLY_INTERPOLATION.match(value)
            and not (key.endswith("FILE") and value.startswith("/run/secrets/"))
            and key != "secrets"  # a service's list of secret names: references, not values
        )
        or any(not m["secret"].startswith("${") for m in URL_PASSWORD.finditer(value))
    ]
    assert leaks == []


def test_every_interpolated_variable_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    example = compose_schema.read_env_file(ROOT / ".env.example")
    assert used - set(example) == set()
    # Passwords are compose secrets now, never variables.
    assert [k for k in example if SECRET_KEY.search(k)] == []


def test_secrets_are_compose_secrets_read_through_file_variables(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    declared = compose["secrets"]
    assert all(spec["file"].startswith("./secrets/") for spec in declared.values())
    used = set()
    for name, service in services.items():
        for key, value in env(service).items():
            assert not key.endswith("_DSN"), (name, key)
            assert key.endswith("FILE") or not SECRET_KEY.search(key), (name, key)
            if value.startswith("/run/secrets/"):
                assert key.endswith(("_FILE", "__FILE")), (name, key)
                secret = value.removeprefix("/run/secrets/")
                assert secret in service["secrets"], (name, secret)
                used.add(secret)
    assert used == set(declared)
    assert env(services["postgres"])["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "secrets" in (ROOT / ".dockerignore").read_text().splitlines()


def test_make_secrets_writes_every_secret_once(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    script = tmp_path / "deploy" / "make-secrets.sh"
    script.write_bytes((ROOT / "deploy" / "make-secrets.sh").read_bytes())
    first = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    written = {p.name: p.read_text() for p in (tmp_path / "secrets").iterdir()}
    declared = load_yaml(ROOT / "docker-compose.yml")["secrets"]
    assert set(written) == {Path(spec["file"]).name for spec in declared.values()}
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", written[n]) for n in written if "password" in n)
    assert written["pg_etl_dsn"] == (
        f"postgresql://vinops_etl:{written['vinops_etl_password']}@postgres:5432/vinops"
    )
    # Printed: file names only, never a value.
    assert not any(v in first.stdout for v in written.values())
    again = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    assert again.returncode == 0
    assert {p.name: p.read_text() for p in (tmp_path / "secrets").iterdir()} == written


def test_init_wrapper_reads_the_passwords_from_files(tmp_path: Path) -> None:
    # A psql stand-in records what the wrapper pipes to the real one.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    psql = bin_dir / "psql"
    psql.write_text(f"#!/bin/sh\ncat > {tmp_path}/psql-stdin\n")
    psql.chmod(0o755)
    files = {}
    for name in ("POSTGRES_PASSWORD", "VINOPS_ADMIN_PASSWORD", "VINOPS_ETL_PASSWORD"):
        path = tmp_path / name.lower()
        path.write_text(f"pw-{name.lower()}")
        files[f"{name}_FILE"] = str(path)
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "VINOPS_BOOTSTRAP_SQL": "/dev/null"}
    wrapper = str(ROOT / "deploy" / "postgres-init.sh")
    done = subprocess.run(
        ["bash", wrapper], env=base | files, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "psql-stdin").read_text().splitlines() == [
        "\\set su_pw pw-postgres_password",
        "\\set admin_pw pw-vinops_admin_password",
        "\\set etl_pw pw-vinops_etl_password",
    ]
    both = base | files | {"VINOPS_ETL_PASSWORD": "another"}
    refused = subprocess.run(
        ["bash", wrapper], env=both, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 1
    assert refused.stderr == (
        "postgres-init: set VINOPS_ETL_PASSWORD or VINOPS_ETL_PASSWORD_FILE, not both\n"
    )


def test_images_are_pinned_to_exact_releases(services: dict[str, Any]) -> None:
    # A release number with its minor (PostgreSQL's 17.6) or patch level, never a bare major
    # or `latest`.
    exact = re.compile(r"^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.-]+)?$")
    for name, service in services.items():
        if "build" in service:
            continue
        assert exact.match(service["image"]), (name, service["image"])
    (base,) = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert exact.match(base), base


def test_postgres_preloads_pg_stat_statements_as_the_devstack_does(
    services: dict[str, Any],
) -> None:
    command = services["postgres"]["command"]
    settings = {command[i + 1] for i, part in enumerate(command) if part == "-c"}
    devstack = (ROOT / "devstack" / "pg.sh").read_text()
    assert "shared_preload_libraries = 'pg_stat_statements'" in devstack
    assert "shared_preload_libraries=pg_stat_statements" in settings
    assert "pg_stat_statements.track=top" in settings
    assert "pg_stat_statements.track = top" in devstack


def test_env_file_is_ignored_by_git_and_docker() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".git" in ignored


def test_dockerfile_runs_the_consumer_unprivileged_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim", text, re.MULTILINE)
    users = re.findall(r"^USER +(\S+)", text, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n?.*/readyz", text, re.MULTILINE)
    assert 'CMD ["consumer", "run"]' in text
    assert "VINOPS_MIGRATIONS_DIR=/app/migrations" in text


def test_dockerfile_installs_dependencies_in_a_layer_before_the_code(tmp_path: Path) -> None:
    text = (ROOT / "Dockerfile").read_text()
    steps = re.findall(r"^(COPY|RUN) (.+?)(?<!\\)$", text, re.MULTILINE | re.DOTALL)
    copies = [i for i, (verb, arg) in enumerate(steps) if verb == "COPY"]
    assert steps[copies[0]] == ("COPY", "pyproject.toml ./")
    deps = copies[0] + 1
    assert steps[deps][0] == "RUN"
    assert "pip install -r" in steps[deps][1]
    code = [i for i, (verb, arg) in enumerate(steps) if verb == "COPY" and "consumer/" in arg]
    assert deps < code[0]
    assert re.search(r"^RUN pip install --no-deps \.", text, re.MULTILINE)
    # The layer's command, run as the image's shell runs it, lists exactly the dependencies.
    (tmp_path / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    command = steps[deps][1].split(" > ", 1)[0]
    listed = subprocess.run(
        ["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed == load_pyproject_dependencies()


def load_pyproject_dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        deps: list[str] = tomllib.load(f)["project"]["dependencies"]
    return deps


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
