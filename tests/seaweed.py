"""A real S3-compatible server for the archive tests: SeaweedFS (`weed mini`: master, volume,
filer and S3 gateway in one process) on free local ports, with one bucket and one key pair,
in a temporary directory; stopped at the end of the session.

The binary: VINOPS_WEED_BIN, else what devstack/weed.sh builds (it prints its path; CI builds
it in .ci/run, in the background while the rest is set up). Never skipped: without it the
tests fail and say how to get it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "vinops-archive"
ACCESS_KEY = "vinops-test"
SECRET_KEY = "s3cret-for-tests-only"
_PORTS = tuple(
    f"{part}.port{grpc}"
    for part in ("master", "volume", "filer", "s3", "admin")
    for grpc in ("", ".grpc")
)


@dataclass(frozen=True, slots=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        return {
            "VINOPS_ARCHIVE_S3_ENDPOINT": self.endpoint,
            "VINOPS_ARCHIVE_S3_REGION": "us-east-1",
            "VINOPS_ARCHIVE_S3_ACCESS_KEY_ID": self.access_key,
            "VINOPS_ARCHIVE_S3_SECRET_ACCESS_KEY": self.secret_key,
            "VINOPS_ARCHIVE_S3_ALLOW_HTTP": "1",
        }


def weed_binary() -> str | None:
    given = os.environ.get("VINOPS_WEED_BIN")
    if given:
        return given
    script = ROOT / "devstack" / "weed.sh"
    default = Path.home() / ".cache" / "vinops" / "go" / "bin"
    built = sorted(default.glob("weed-*")) if default.is_dir() else []
    if built:
        return str(built[-1])
    if found := shutil.which("weed"):
        return found
    # Built once (slow, ~10 min cold) and cached: `make test` works from a fresh clone.
    done = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return done.stdout.strip().splitlines()[-1]
    return None


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _up(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint, timeout=1)  # noqa: S310 - our own local server
    except urllib.error.HTTPError:
        return True  # it answers (403 without a signature): S3 is up
    except OSError:
        return False
    return True


@contextlib.contextmanager
def running(binary: str, directory: Path, log: Path) -> Iterator[S3Server]:
    ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
    identities = {"identities": [{
        "name": "vinops", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}  # fmt: skip
    config = directory / "s3.json"
    config.write_text(json.dumps(identities), encoding="utf-8")
    argv = [binary, "mini", f"-dir={directory / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in ports.items()),
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.port.legacy=0", "-webdav=false",
            "-admin.ui=false", f"-s3.config={config}", f"-bucket={BUCKET}"]  # fmt: skip
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not _up(endpoint):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"weed mini did not start (see {log})")
                time.sleep(0.25)
            yield S3Server(endpoint, BUCKET, ACCESS_KEY, SECRET_KEY)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
