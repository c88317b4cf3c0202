"""Kafka Connect and the Debezium JDBC sink, fetched from Maven Central once and cached.

Like devstack/kafka.sh does for the broker: ``mvn`` resolves ``bench/peer/pom.xml`` into
``~/.cache/vinops/connect-<kafka>-debezium-<version>/`` (``libs/`` the worker's classpath,
``plugins/`` the sink's plugin archive unpacked for ``plugin.path``), re-resolved only when
the pom changes. Nothing fetched is ever committed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POM = Path(__file__).resolve().with_name("pom.xml")
CACHE = Path.home() / ".cache" / "vinops"


class PeerUnavailableError(RuntimeError):
    """The peer's jars cannot be had here; the message is one line saying why."""


@dataclass(frozen=True, slots=True)
class PeerJars:
    libs: Path  # the Connect worker's classpath (every jar in it)
    plugins: Path  # plugin.path: one directory per plugin
    kafka_version: str
    debezium_version: str


def _property(pom: str, name: str) -> str:
    m = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom)
    if m is None:
        raise PeerUnavailableError(f"{POM} has no <{name}>")
    return m.group(1).strip()


def peer_versions() -> tuple[str, str]:
    """(Kafka Connect, Debezium JDBC sink) versions the pom pins."""
    pom = POM.read_text()
    return _property(pom, "kafka.version"), _property(pom, "debezium.version")


def peer_jars(cache: Path = CACHE) -> PeerJars:
    """The cached jars, fetched with mvn on first use; ``PeerUnavailableError`` otherwise."""
    pom = POM.read_text()
    kafka, debezium = peer_versions()
    home = cache / f"connect-{kafka}-debezium-{debezium}"
    jars = PeerJars(home / "libs", home / "plugins", kafka, debezium)
    want = hashlib.sha256(pom.encode()).hexdigest()
    stamp = home / ".pom.sha256"
    if stamp.is_file() and stamp.read_text().strip() == want:
        return jars
    home.mkdir(parents=True, exist_ok=True)
    # Two benches (or a test and a bench) starting at once fetch once.
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text().strip() == want:
            return jars
        _fetch(jars, home / "mvn.log")
        stamp.write_text(want + "\n")
    return jars


def _fetch(jars: PeerJars, log: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PeerUnavailableError(
            "mvn not found: install Maven (apt-get install -y maven) to fetch Kafka Connect"
        )
    for d in (jars.libs, jars.plugins):
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(d)
    steps = (
        ["dependency:copy-dependencies", "-DincludeScope=runtime",
         f"-DoutputDirectory={jars.libs}"],
        ["dependency:unpack@debezium-plugin", f"-Dplugins.dir={jars.plugins}"],
    )  # fmt: skip
    with log.open("w") as out:
        for step in steps:
            done = subprocess.run([mvn, "-q", "-B", "-f", str(POM), *step], stdout=out,
                                  stderr=subprocess.STDOUT, check=False)  # fmt: skip
            if done.returncode != 0:
                raise PeerUnavailableError(
                    f"mvn could not fetch Kafka Connect {jars.kafka_version} / Debezium JDBC "
                    f"sink {jars.debezium_version} (see {log})"
                )
