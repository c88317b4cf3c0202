"""The local service stack: real Kafka and PostgreSQL answer as the rest of the project expects."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from tests.conftest import ROOT, Services, read_env_file

pytestmark = pytest.mark.integration

STACK = ROOT / "devstack" / "stack.sh"


async def test_kafka_round_trip_keeps_keys_values_and_headers(
    kafka_bootstrap: str, unique_name: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(unique_name, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()

    sent = {
        f"VIN{i:014d}".encode(): (
            f'{{"lot": {i}}}'.encode(),
            [("source", b"copart"), ("n", b"%d" % i)],
        )
        for i in range(12)
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, (value, headers) in sent.items():
            await producer.send_and_wait(unique_name, value=value, key=key, headers=headers)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    received: dict[bytes, tuple[bytes, list[tuple[str, bytes]]]] = {}
    partitions: set[int] = set()
    try:
        consumer.assign([TopicPartition(unique_name, p) for p in range(3)])
        while len(received) < len(sent):
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for rec in records:
                    assert rec.key is not None
                    assert rec.value is not None
                    received[rec.key] = (rec.value, list(rec.headers))
                    partitions.add(tp.partition)
    finally:
        await consumer.stop()

    assert received == {k: (v, list(h)) for k, (v, h) in sent.items()}
    assert len(partitions) > 1  # keys spread over the topic's partitions


async def test_postgres_consumer_login_and_extensions(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == "vinops_etl"
        assert await conn.fetchval("SELECT current_database()") == "vinops"
        installed = {r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")}
        assert {"pg_stat_statements", "pgcrypto", "pg_trgm", "citext"} <= installed
        assert await conn.fetchval("SELECT 'Ab'::public.citext = 'aB'::public.citext") is True
        vins = ("1HGCM82633A004352", "1HGCM82633A004353")
        assert await conn.fetchval("SELECT public.similarity($1, $2)", *vins) > 0.5
        assert len(await conn.fetchval("SELECT public.digest('x', 'sha256')")) == 32
        # The view errors out unless the library really is preloaded, and it records what
        # the login runs: a statement on a table of its own has a query id no other has.
        probe = f"probe_{uuid.uuid4().hex}"
        await conn.execute(f"CREATE TEMP TABLE {probe} (n int)")
        assert await conn.fetchval(f"SELECT count(*) FROM {probe}") == 0
        calls = await conn.fetchval(
            "SELECT sum(calls) FROM public.pg_stat_statements"
            " WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            " AND query = $1",
            f"SELECT count(*) FROM {probe}",
        )
        assert calls == 1
    finally:
        await conn.close()


async def test_pg_stat_statements_is_preloaded(pg_superuser_dsn: str) -> None:
    # Reading this setting needs pg_read_all_settings, which the logins rightly lack.
    conn = await asyncpg.connect(pg_superuser_dsn)
    try:
        preload = await conn.fetchval("SHOW shared_preload_libraries")
        assert "pg_stat_statements" in preload.split(",")
    finally:
        await conn.close()


async def test_logins_have_least_privilege(pg_admin_dsn: str) -> None:
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles"
            " WHERE rolname IN ('vinops_admin', 'vinops_etl') ORDER BY rolname"
        )
        assert [tuple(r) for r in rows] == [
            ("vinops_admin", False, True, True),
            ("vinops_etl", False, False, False),
        ]
        owner = await conn.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'vinops'"
        )
        assert owner == "vinops_admin"
        assert await conn.fetchval("SELECT pg_has_role('vinops_etl', 'etl_rw', 'MEMBER')")
        assert await conn.fetchval("SELECT pg_has_role('vinops_admin', 'admin', 'MEMBER')")
        assert not await conn.fetchval("SELECT pg_has_role('vinops_etl', 'admin', 'MEMBER')")
    finally:
        await conn.close()


def _stack(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(STACK), *args], env=env, capture_output=True, text=True, check=False
    )


def test_second_up_is_a_no_op_with_the_same_env(services: Services) -> None:
    if services.devstack_dir is None:
        pytest.fail(
            "services are not the local devstack: run `make up` for this test", pytrace=False
        )
    env = {**os.environ, "VINOPS_DEVSTACK_DIR": str(services.devstack_dir)}
    env_file = services.devstack_dir / "env"
    before = env_file.read_text()

    result = _stack("up", env=env)

    assert result.returncode == 0, result.stderr
    assert "kafka: already running" in result.stdout
    assert "postgres: already running" in result.stdout
    assert env_file.read_text() == before
    assert "***" in result.stdout  # passwords are masked in what `up` prints
    for secret_dsn in (services.pg_dsn, services.pg_admin_dsn):
        assert secret_dsn not in result.stdout + result.stderr


def test_up_passes_external_services_through(tmp_path: Path) -> None:
    external = {
        "VINOPS_KAFKA_BOOTSTRAP": "kafka.example:9092",
        "VINOPS_PG_DSN": "postgresql://etl:pw@db.example:5432/vinops",
        "VINOPS_PG_ADMIN_DSN": "postgresql://admin:pw@db.example:5432/vinops",
    }
    env = {**os.environ, **external, "VINOPS_DEVSTACK_DIR": str(tmp_path)}
    env.pop("VINOPS_PG_SUPERUSER_DSN", None)

    first = _stack("up", env=env)
    written = (tmp_path / "env").read_text()
    second = _stack("up", env=env)

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert (tmp_path / "env").read_text() == written
    assert read_env_file(tmp_path / "env") == {**external, "VINOPS_DEVSTACK_DIR": str(tmp_path)}
    assert not (tmp_path / "kafka.pid").exists()
    assert not (tmp_path / "pg").exists()
