"""TLS and SASL for real: the devstack's SASL_SSL listener (SCRAM-SHA-512, the stack's own CA)
and PostgreSQL with TLS. Producer and consumer get through with verify-full and secrets read
from files; a wrong password or a wrong CA ends in one line and a non-zero exit, not a hang
(every run below is bounded by its subprocess timeout)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson
import pytest

from feed.kafka_security import KafkaSecurity, LoginRefusedError, check_login
from tests.conftest import Services, read_env_file
from tests.e2e.harness import ROOT, Harness, count

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SAMPLE = ROOT / "samples" / "copart-sample-camel.csv"
_PRODUCER = "import sys; from producer.cli import main; sys.exit(main())"
_KEYS = (
    "VINOPS_DEVSTACK_KAFKA_SASL_BOOTSTRAP",
    "VINOPS_DEVSTACK_KAFKA_SASL_USERNAME",
    "VINOPS_DEVSTACK_KAFKA_SASL_PASSWORD",
    "VINOPS_DEVSTACK_CA_FILE",
)


@dataclass(frozen=True, slots=True)
class Secure:
    bootstrap: str
    username: str
    password: str = field(repr=False)
    ca_file: str


@pytest.fixture(scope="session")
def secure(services: Services) -> Secure:
    """The devstack's SASL_SSL listener and CA (`make up` writes them into .devstack/env)."""
    from_file = read_env_file(services.devstack_dir / "env") if services.devstack_dir else {}
    values = [os.environ.get(k) or from_file.get(k, "") for k in _KEYS]
    if not all(values):
        pytest.fail(
            "TLS/SASL tests need the devstack's SASL_SSL listener and CA: run `make up`, or "
            f"export {', '.join(_KEYS)}",
            pytrace=False,
        )
    return Secure(*values)


@pytest.fixture(scope="session")
def wrong_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA that signed nothing the stack serves."""
    folder = tmp_path_factory.mktemp("wrong-ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=not the vinops devstack CA",
         "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return str(folder / "ca.pem")


def _secret_file(folder: Path, name: str, value: str) -> str:
    path = folder / name
    path.write_text(value + "\n")  # as `echo` or a mounted secret leaves it
    path.chmod(0o600)
    return str(path)


def kafka_env(secure: Secure, folder: Path, *, password: str | None = None) -> dict[str, str]:
    return {
        "VINOPS_KAFKA_BOOTSTRAP": secure.bootstrap,
        "VINOPS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "VINOPS_KAFKA_SASL_USERNAME": secure.username,
        "VINOPS_KAFKA_SASL_PASSWORD_FILE": _secret_file(
            folder, "kafka-password", password or secure.password
        ),
        "VINOPS_KAFKA_CA_FILE": secure.ca_file,
    }


def pg_env(dsn: str, folder: Path, ca_file: str) -> dict[str, str]:
    return {
        "VINOPS_PG_DSN_FILE": _secret_file(folder, "pg-dsn", dsn),
        "VINOPS_PG_SSLMODE": "verify-full",
        "VINOPS_PG_SSLROOTCERT": ca_file,
    }


async def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, *args], cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VINOPS_LOG_FORMAT": "json", **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _publish(h: Harness) -> list[str]:
    return ["-c", _PRODUCER, "publish", "--json", "--topic", h.topic, "--files-topic",
            h.files_topic, str(SAMPLE)]  # fmt: skip


def _consume(h: Harness) -> list[str]:
    return ["-m", "consumer", "run", "--topic", h.topic, "--files-topic", h.files_topic,
            "--dlq-topic", h.dlq_topic, "--group-id", h.group, "--metrics-port", "0",
            "--exit-when-idle", "1"]  # fmt: skip


def _secrets_of(h: Harness, secure: Secure) -> list[str]:
    passwords = [dsn.partition("://")[2].partition("@")[0].partition(":")[2] for dsn in
                 (h.etl_dsn, h.admin_dsn)]  # fmt: skip
    return [secure.password, *passwords]


async def test_publish_and_consume_over_sasl_ssl_with_postgres_verify_full(
    harness: Harness, secure: Secure, tmp_path: Path
) -> None:
    kafka = kafka_env(secure, tmp_path)
    published = await _run(_publish(harness), kafka)
    assert published.returncode == 0, published.stderr[-2000:]
    rows = orjson.loads(published.stdout.splitlines()[-1])["rows"]
    assert rows > 0

    pg = pg_env(harness.etl_dsn, tmp_path, secure.ca_file)
    consumed = await _run(_consume(harness), {**kafka, **pg})
    assert consumed.returncode == 0, consumed.stderr[-3000:]
    assert await count(harness.etl_dsn, "SELECT count(*) FROM raw.file_rows") == rows
    assert "verify-full" in consumed.stderr  # the settings it logged at start
    for secret in _secrets_of(harness, secure):
        assert secret not in consumed.stderr

    status = await _run(["-m", "consumer", "status", "--json"], pg)
    assert status.returncode == 0, status.stderr
    assert [f["rows_committed"] for f in orjson.loads(status.stdout)["files"]] == [rows]

    # migrate reads sslmode and the CA from the DSN itself, as libpq does.
    dsn = f"{harness.admin_dsn}?sslmode=verify-full&sslrootcert={secure.ca_file}"
    migrate = await _run(["-m", "consumer", "migrate", "status"], {"VINOPS_PG_ADMIN_DSN": dsn})
    assert migrate.returncode == 0, migrate.stderr
    assert " pending" not in migrate.stdout.splitlines()[-1]


async def test_a_wrong_kafka_password_ends_in_one_line(
    harness: Harness, secure: Secure, tmp_path: Path
) -> None:
    wrong = kafka_env(secure, tmp_path, password="not-" + secure.password)
    published = await _run(_publish(harness), wrong)
    assert published.returncode == 2, published.stderr[-2000:]
    [line] = published.stderr.strip().splitlines()
    assert line.startswith(f"producer: Kafka at {secure.bootstrap} refused the SCRAM-SHA-512")
    assert "invalid credentials" in line

    consumed = await _run(_consume(harness), {**wrong, "VINOPS_PG_DSN": harness.etl_dsn})
    assert consumed.returncode == 5, consumed.stderr[-2000:]  # 5: refused, as migrate
    assert "Traceback" not in consumed.stderr
    last = consumed.stderr.strip().splitlines()[-1]
    assert last.startswith(f"consumer run: Kafka at {secure.bootstrap} refused the SCRAM-SHA-512")
    for secret in _secrets_of(harness, secure):
        assert secret not in published.stderr + consumed.stderr


async def test_a_wrong_ca_is_refused_in_one_line(
    harness: Harness, secure: Secure, wrong_ca: str, tmp_path: Path
) -> None:
    pg = pg_env(harness.etl_dsn, tmp_path, wrong_ca)
    consumed = await _run(_consume(harness), {**kafka_env(secure, tmp_path), **pg})
    assert consumed.returncode == 5, consumed.stderr[-2000:]  # 5: refused, as migrate
    assert "Traceback" not in consumed.stderr
    last = consumed.stderr.strip().splitlines()[-1]
    assert last.startswith("consumer run: PostgreSQL: SSLCertVerificationError: ")

    dsn = f"{harness.admin_dsn}?sslmode=verify-full&sslrootcert={wrong_ca}"
    migrate = await _run(["-m", "consumer", "migrate"], {"VINOPS_PG_ADMIN_DSN": dsn})
    assert migrate.returncode == 5, migrate.stderr  # 5: cannot connect
    [line] = migrate.stderr.strip().splitlines()
    assert line.startswith("consumer migrate: cannot connect to ")
    assert "SSLCertVerificationError" in line

    published = await _run(
        _publish(harness), {**kafka_env(secure, tmp_path), "VINOPS_KAFKA_CA_FILE": wrong_ca}
    )
    assert published.returncode == 2, published.stderr[-2000:]
    [line] = published.stderr.strip().splitlines()
    assert "TLS certificate is not trusted" in line
    for secret in _secrets_of(harness, secure):
        assert secret not in consumed.stderr + migrate.stderr + published.stderr


async def test_the_login_check_tells_a_refusal_from_a_welcome(
    secure: Secure, wrong_ca: str
) -> None:
    good = KafkaSecurity(
        protocol="SASL_SSL", sasl_username=secure.username, sasl_password=secure.password,
        ca_file=secure.ca_file,
    )  # fmt: skip
    await check_login(secure.bootstrap, good)
    with pytest.raises(LoginRefusedError, match="refused the SCRAM-SHA-512 login of 'vinops'"):
        await check_login(secure.bootstrap, replace(good, sasl_password="wrong"))
    with pytest.raises(LoginRefusedError, match="TLS certificate is not trusted"):
        await check_login(secure.bootstrap, replace(good, ca_file=wrong_ca))
