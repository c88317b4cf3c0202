"""The local services a benchmark runs against: env, fresh databases, fresh topics.

Services come from ``devstack/stack.sh up`` (its ``.devstack/env``), or from VINOPS_*
variables already set. Every scenario gets its own database (created from template1 by the
owner login, then ``consumer migrate``) and its own topics, and removes both afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumer.config.settings import mask_dsn
from devstack import databases
from devstack.dsn import dsn_for
from devstack.envfile import read_env_file, state_dir

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"


@dataclass(frozen=True, slots=True)
class Stack:
    bootstrap: str
    pg_dsn: str  # the consumer login (etl_rw)
    admin_dsn: str  # owner login: creates databases, runs migrations
    superuser_dsn: str | None

    def __repr__(self) -> str:
        return f"Stack(bootstrap={self.bootstrap!r}, pg={mask_dsn(self.pg_dsn)!r})"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a child process (the CLIs read VINOPS_* variables)."""
        env = dict(os.environ)
        env.update(VINOPS_KAFKA_BOOTSTRAP=self.bootstrap, VINOPS_PG_DSN=self.pg_dsn)
        env.update(extra)
        return env


def load_stack() -> Stack:
    """Use VINOPS_* from the environment, else start (or reuse) the devstack."""
    values = {k: v for k, v in os.environ.items() if k.startswith("VINOPS_")}
    if not {"VINOPS_KAFKA_BOOTSTRAP", "VINOPS_PG_DSN", "VINOPS_PG_ADMIN_DSN"} <= values.keys():
        # `up` is idempotent: it reuses running services and (re)writes .devstack/env.
        subprocess.run(["bash", str(ROOT / "devstack" / "stack.sh"), "up"], check=True,
                       cwd=ROOT, stdout=sys.stderr)  # fmt: skip
        values = {**read_env_file(state_dir() / "env"), **values}
    superuser = values.get("VINOPS_PG_SUPERUSER_DSN")
    return Stack(
        bootstrap=values["VINOPS_KAFKA_BOOTSTRAP"],
        pg_dsn=plain_text(values["VINOPS_PG_DSN"]),
        admin_dsn=plain_text(values["VINOPS_PG_ADMIN_DSN"]),
        superuser_dsn=plain_text(superuser) if superuser else None,
    )


def plain_text(dsn: str) -> str:
    """``dsn`` without TLS unless it asks for a mode itself. The devstack serves TLS and both
    clients would otherwise take it (libpq's and pgjdbc's default is 'prefer'): the bench
    measures ingest, on the footing of its earlier runs, for vinops and its peer alike."""
    parts = urlsplit(dsn)
    if "sslmode=" in parts.query:
        return dsn
    query = f"{parts.query}&sslmode=disable" if parts.query else "sslmode=disable"
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True, slots=True)
class Database:
    name: str
    admin_dsn: str
    etl_dsn: str

    def __repr__(self) -> str:
        return f"Database(name={self.name!r})"


async def create_database(stack: Stack, label: str) -> Database:
    """A new, migrated database; `consumer migrate` applies the migrations as in production."""
    name = f"vinops_bench_{label}_{secrets.token_hex(3)}"
    await databases.create_database(stack.admin_dsn, name)
    db = Database(name, dsn_for(stack.admin_dsn, name), dsn_for(stack.pg_dsn, name))
    proc = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "consumer"), "migrate", "--dsn", db.admin_dsn, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"consumer migrate failed ({proc.returncode}): {err[-500:].decode()}")
    return db


async def drop_database(stack: Stack, db: Database) -> None:
    await databases.drop_database(stack.superuser_dsn or stack.admin_dsn, db.name)


@dataclass(frozen=True, slots=True)
class Topics:
    rows: str
    files: str
    dlq: str

    @property
    def all(self) -> list[str]:
        return [self.rows, self.files, self.dlq]


async def create_topics(stack: Stack, label: str, partitions: int = 6) -> Topics:
    """Fresh topics, created as the producer creates them (rows: N partitions; files:
    compacted, one partition), so that no consumer can auto-create them with one partition."""
    tag = f"{label}.{secrets.token_hex(3)}"
    topics = Topics(f"bench.{tag}.lots", f"bench.{tag}.files", f"bench.{tag}.dlq")
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(topics.rows, partitions, 1),
                NewTopic(topics.files, 1, 1, topic_configs={"cleanup.policy": "compact"}),
                NewTopic(topics.dlq, 1, 1),
            ]
        )
    finally:
        await admin.close()
    return topics


async def delete_topics(stack: Stack, topics: Topics) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics.all)
    finally:
        await admin.close()
