"""One Kafka Connect standalone worker running the Debezium JDBC sink into PostgreSQL.

Configured as Debezium's documentation recommends for upserts: ``insert.mode=upsert``,
``primary.key.mode=record_key`` (the message key is the lot number), schema'd JSON on both
sides (JsonConverter, ``schemas.enable=true``), ``schema.evolution=basic`` (the sink
creates its table), ``batch.size`` 5000 with ``consumer.max.poll.records`` raised to match
(the docs: a lower poll size caps the batch), one task.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bench.peer.jars import PeerJars
from bench.procs import Proc, spawn

CONNECTOR = "vinops-peer"
PORT_RANGE = range(39100, 39200)
PORT_ENV = "VINOPS_BENCH_CONNECT_PORT"
BATCH_SIZE = 5000
_TASK_STARTED = "Sink task finished initialization and start"
_MILLIS = re.compile(r"^(\d{13}) ")


def rest_port() -> int:
    """``VINOPS_BENCH_CONNECT_PORT``, else the first free port of 39100-39199."""
    if os.environ.get(PORT_ENV):
        return int(os.environ[PORT_ENV])
    for port in PORT_RANGE:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}: set {PORT_ENV}")


def jdbc_url(dsn: str) -> tuple[str, str, str]:
    """(jdbc url, user, password) of a libpq URL."""
    u = urlsplit(dsn)
    # Only the TLS mode carries over: pgjdbc names the other libpq parameters differently.
    mode = next((p for p in u.query.split("&") if p.startswith("sslmode=")), None)
    url = f"jdbc:postgresql://{u.hostname}:{u.port or 5432}{u.path}" + (f"?{mode}" if mode else "")
    return url, unquote(u.username or ""), unquote(u.password or "")


def worker_properties(bootstrap: str, jars: PeerJars, state: Path, port: int) -> str:
    return "\n".join([
        f"bootstrap.servers={bootstrap}",
        "key.converter=org.apache.kafka.connect.json.JsonConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable=true",
        "value.converter.schemas.enable=true",
        f"offset.storage.file.filename={state / 'offsets'}",
        "offset.flush.interval.ms=10000",
        f"plugin.path={jars.plugins}",
        f"listeners=http://127.0.0.1:{port}",
        f"consumer.max.poll.records={BATCH_SIZE}",
        "",
    ])  # fmt: skip


def connector_properties(topic: str, dsn: str, table: str) -> str:
    url, user, password = jdbc_url(dsn)
    return "\n".join([
        f"name={CONNECTOR}",
        "connector.class=io.debezium.connector.jdbc.JdbcSinkConnector",
        "tasks.max=1",
        f"topics={topic}",
        f"connection.url={url}",
        f"connection.username={user}",
        f"connection.password={password}",
        "insert.mode=upsert",
        "delete.enabled=false",
        "primary.key.mode=record_key",
        "primary.key.fields=lot_external_id",
        "schema.evolution=basic",
        f"collection.name.format={table}",
        "use.time.zone=UTC",
        f"batch.size={BATCH_SIZE}",
        "",
    ])  # fmt: skip


_LOG4J = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d{UNIX_MILLIS} %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
"""


@dataclass(frozen=True, slots=True)
class Peer:
    """What one worker needs; ``state`` keeps its files (and the sink's offsets) between runs."""

    jars: PeerJars
    bootstrap: str
    dsn: str  # libpq URL of the target database (a login that may create the table)
    topic: str
    table: str
    state: Path


async def start(peer: Peer, name: str, port: int | None = None) -> Proc:
    """The worker JVM, its heap as Kafka's connect-standalone.sh sets it."""
    peer.state.mkdir(parents=True, exist_ok=True)
    worker, sink, log4j = (peer.state / n for n in ("worker.properties", "sink.properties",
                                                     "log4j2.properties"))  # fmt: skip
    worker.write_text(worker_properties(peer.bootstrap, peer.jars, peer.state, port or rest_port()))
    sink.write_text(connector_properties(peer.topic, peer.dsn, peer.table))
    sink.chmod(0o600)
    log4j.write_text(_LOG4J)
    cmd = ["java", "-Xms256m", "-Xmx2g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{peer.jars.libs}/*",
           "org.apache.kafka.connect.cli.ConnectStandalone", str(worker), str(sink)]  # fmt: skip
    return await spawn(name, cmd, dict(os.environ))


def task_started_at(log_text: str) -> float | None:
    """Unix time the sink task finished starting (its log line), or None yet."""
    for line in log_text.splitlines():
        if _TASK_STARTED in line and (m := _MILLIS.match(line)):
            return int(m.group(1)) / 1000
    return None


async def wait_task_started(proc: Proc, limit_s: float = 120) -> float:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while loop.time() < deadline:
        if (t := task_started_at(proc.stdout)) is not None:
            return t
        if proc.process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    tail = "\n".join(proc.stdout.strip().splitlines()[-5:])
    raise RuntimeError(f"Kafka Connect: the sink task did not start: {tail}")
