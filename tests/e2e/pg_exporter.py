"""The real PostgreSQL exporter (Debian's prometheus-postgres-exporter, the release compose
pins) with the repository's queries, on a test's database: what the dashboard's PostgreSQL
row and its alerts read."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.harness import ROOT, free_port

QUERIES = ROOT / "prometheus" / "postgres-exporter" / "queries.yml"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - local http only
            return b"pg_up 1" in resp.read()
    except OSError:
        return False


@contextmanager
def running_exporter(superuser_dsn: str, database: str, workdir: Path) -> Iterator[str]:
    """Its metrics URL, once it reaches PostgreSQL; stopped on exit."""
    binary = shutil.which("prometheus-postgres-exporter")
    assert binary, "apt-get install prometheus-postgres-exporter (.ci/run installs it)"
    dsn = urlsplit(superuser_dsn)
    password = workdir / "pg-exporter.pass"
    password.write_text(dsn.password or "", encoding="utf-8")
    password.chmod(0o600)
    port = free_port()
    env = {
        "DATA_SOURCE_URI": f"{dsn.hostname}:{dsn.port or 5432}/{database}?sslmode=disable",
        "DATA_SOURCE_USER": dsn.username or "postgres",
        "DATA_SOURCE_PASS_FILE": str(password),
        "PATH": "/usr/bin:/bin",
    }
    log = (workdir / "pg-exporter.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", f"--extend.query-path={QUERIES}",
         "--no-collector.bgwriter"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 30
        while not _answers(url):
            assert proc.poll() is None, (workdir / "pg-exporter.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the postgres exporter never reached PostgreSQL"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
