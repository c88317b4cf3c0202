"""Service discovery for every test: where Kafka and PostgreSQL answer.

Order: VINOPS_* environment variables (values override .devstack/env key by key), then the
local devstack (.devstack/env, written by `make up`) if it answers, then testcontainers if a
Docker engine answers. Otherwise the tests that need a service FAIL: a missing service is an
error, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from consumer.config.settings import mask_dsn
from devstack.bootstrap import BOOTSTRAP_FILES, PASSWORD_VARIABLES
from devstack.dsn import dsn_for
from devstack.envfile import ROOT, read_env_file, state_dir
from tests.databases import (
    FreshDb,
    MigratedTemplate,
    Server,
    fresh_database,
    migrated_database,
)

__all__ = ["ROOT", "Services", "read_env_file"]  # what the devstack tests import from here
KEYS = (
    "VINOPS_KAFKA_BOOTSTRAP",
    "VINOPS_PG_DSN",
    "VINOPS_PG_ADMIN_DSN",
    "VINOPS_PG_SUPERUSER_DSN",
    "VINOPS_DEVSTACK_DIR",
)
NO_SERVICES = (
    "Kafka/PostgreSQL not reachable: run `make up` (local stack, no Docker needed), "
    "or export VINOPS_KAFKA_BOOTSTRAP, VINOPS_PG_DSN, VINOPS_PG_ADMIN_DSN, VINOPS_PG_SUPERUSER_DSN"
)


@dataclass(frozen=True, slots=True)
class Services:
    source: str  # "devstack", "env" or "containers"
    kafka_bootstrap: str
    pg_dsn: str
    pg_admin_dsn: str
    pg_superuser_dsn: str | None
    devstack_dir: Path | None

    def __repr__(self) -> str:
        su = mask_dsn(self.pg_superuser_dsn) if self.pg_superuser_dsn else None
        return (
            f"Services(source={self.source!r}, kafka_bootstrap={self.kafka_bootstrap!r}, "
            f"pg_dsn={mask_dsn(self.pg_dsn)!r}, pg_admin_dsn={mask_dsn(self.pg_admin_dsn)!r}, "
            f"pg_superuser_dsn={su!r}, devstack_dir={self.devstack_dir!r})"
        )


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _kafka_answers(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",", maxsplit=1)[0].rpartition(":")
    return _answers(host, int(port))


def _pg_answers(dsn: str) -> bool:
    parts = urlsplit(dsn)
    return parts.hostname is not None and _answers(parts.hostname, parts.port or 5432)


def _configured() -> Services | None:
    state = state_dir()
    from_file = read_env_file(state / "env")
    values = {k: os.environ.get(k) or from_file.get(k, "") for k in KEYS}
    needed = ("VINOPS_KAFKA_BOOTSTRAP", "VINOPS_PG_DSN", "VINOPS_PG_ADMIN_DSN")
    if not all(values[k] for k in needed):
        return None
    if not (_kafka_answers(values[needed[0]]) and _pg_answers(values[needed[1]])):
        return None
    own = all(values[k] == from_file.get(k) for k in needed)
    return Services(
        source="devstack" if own else "env",
        kafka_bootstrap=values["VINOPS_KAFKA_BOOTSTRAP"],
        pg_dsn=values["VINOPS_PG_DSN"],
        pg_admin_dsn=values["VINOPS_PG_ADMIN_DSN"],
        pg_superuser_dsn=values["VINOPS_PG_SUPERUSER_DSN"] or None,
        devstack_dir=state if own else None,
    )


def _docker_answers() -> bool:
    try:
        import docker  # noqa: PLC0415 - only needed when no local stack answers

        docker.from_env().ping()
    except Exception:  # noqa: BLE001 - ImportError, OSError or DockerException: "no engine"
        return False
    return True


@contextlib.contextmanager
def _containers() -> Iterator[Services]:
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415
    from testcontainers.kafka import KafkaContainer  # noqa: PLC0415

    su_pw, admin_pw, etl_pw = (secrets.token_hex(16) for _ in range(3))
    pg = PostgresContainer(
        "postgres:15", username="postgres", password=su_pw, dbname="postgres", driver=None
    ).with_command("postgres -c shared_preload_libraries=pg_stat_statements")
    # The cluster bootstrap exactly as docker-compose.yml runs it: the same init script and
    # bootstrap.sql at the same paths, run by the image's entrypoint before it accepts TCP
    # connections (which is what the container's readiness check waits for).
    for source, target, mode in BOOTSTRAP_FILES:
        pg.with_copy_into_container(ROOT / source, target, mode)
    for variable, password in zip(PASSWORD_VARIABLES, (admin_pw, etl_pw), strict=True):
        pg.with_env(variable, password)
    kafka = KafkaContainer().with_kraft()
    with pg, kafka:
        su = pg.get_connection_url()
        yield Services(
            source="containers",
            kafka_bootstrap=kafka.get_bootstrap_server(),
            pg_dsn=dsn_for(su, "vinops", user="vinops_etl", password=etl_pw),
            pg_admin_dsn=dsn_for(su, "vinops", user="vinops_admin", password=admin_pw),
            pg_superuser_dsn=su,
            devstack_dir=None,
        )


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    found = _configured()
    if found is not None:
        yield found
    elif _docker_answers():
        with _containers() as started:
            yield started
    else:
        pytest.fail(NO_SERVICES, pytrace=False)


@pytest.fixture(scope="session")
def kafka_bootstrap(services: Services) -> str:
    return services.kafka_bootstrap


@pytest.fixture(scope="session")
def pg_dsn(services: Services) -> str:
    """The consumer login (vinops_etl, member of etl_rw only) on database vinops."""
    return services.pg_dsn


@pytest.fixture(scope="session")
def pg_admin_dsn(services: Services) -> str:
    """The owner login (vinops_admin: owns vinops, CREATEDB, CREATEROLE, not superuser)."""
    return services.pg_admin_dsn


@pytest.fixture(scope="session")
def pg_superuser_dsn(services: Services) -> str:
    if services.pg_superuser_dsn is None:
        pytest.fail("no superuser DSN: set VINOPS_PG_SUPERUSER_DSN or run `make up`", pytrace=False)
    return services.pg_superuser_dsn


class UniqueName(str):
    """A fresh name per test, usable as a string; call it for more: name(), name("dlq")."""

    __slots__ = ()

    def __call__(self, suffix: str = "") -> str:
        base = self.rpartition(".")[0]
        middle = f".{suffix}" if suffix else ""
        return f"{base}{middle}.{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> UniqueName:
    """`t.<test-name-slug>.<8 hex>`: a Kafka-legal topic name no other test or run uses."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:80]
    return UniqueName(f"t.{slug}.{uuid.uuid4().hex[:8]}")


@pytest_asyncio.fixture(scope="session")
async def migrated_template(
    pg_admin_dsn: str, pg_superuser_dsn: str
) -> AsyncIterator[MigratedTemplate]:
    """A database migrated once per session; tests get copies of it (fresh_db)."""
    async with migrated_database(pg_admin_dsn, pg_superuser_dsn) as template:
        yield template


@pytest.fixture
def pg_server(
    migrated_template: MigratedTemplate, pg_admin_dsn: str, pg_dsn: str, pg_superuser_dsn: str
) -> Server:
    """For a test that needs more than one fresh database (``pg_server.fresh()``)."""
    return Server(migrated_template, pg_admin_dsn, pg_dsn, pg_superuser_dsn)


@pytest_asyncio.fixture
async def fresh_db(
    migrated_template: MigratedTemplate, pg_admin_dsn: str, pg_dsn: str, pg_superuser_dsn: str
) -> AsyncIterator[FreshDb]:
    """A fully migrated database of this test's own, dropped after it."""
    async with fresh_database(migrated_template, pg_admin_dsn, pg_dsn, pg_superuser_dsn) as db:
        yield db
