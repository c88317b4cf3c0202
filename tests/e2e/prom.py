"""Prometheus-side helpers for live dashboard and alert checks.

Start a throwaway Prometheus that scrapes one consumer with the project's real rule files,
query it, and list every expression the Grafana dashboards and the alert rules use, with
Grafana's template variables replaced by values Prometheus understands.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
RULES_DIR = ROOT / "prometheus" / "rules"
JOB = "vinops-consumer"
PG_JOB = "vinops-postgres"

# What Grafana would put in: $__rate_interval is 4 scrape intervals or more, and "All"
# for the instance picker is its allValue.
GRAFANA_DEFAULTS: Mapping[str, str] = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "instance": ".*",
}

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")

Json = dict[str, Any]


class PrometheusError(RuntimeError):
    """Prometheus did not start, or answered a query with an error."""


@dataclass(frozen=True)
class ObservedConsumer:
    """A running consumer and a way to make it ingest the observability fixture.

    metrics_url: http://127.0.0.1:<port>/metrics of a consumer that is running, ready
        (partitions assigned, PostgreSQL and Kafka reachable) and serving its metrics.
    ingest: publishes a fixture file and returns once the consumer has committed every row
        of it. The file must make the unknown-field rate exceed 15% (a camelCase re-export
        with [PREMIUM] placeholders does: ~30% of cells) so VinopsUnknownRateHigh's
        expression returns data; including a malformed row and a VIN conflict makes the
        error panels non-trivial.
    """

    metrics_url: str
    ingest: Callable[[], None]


@dataclass(frozen=True)
class PanelTarget:
    dashboard: str
    panel_id: int
    panel_title: str
    ref_id: str
    expr: str


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str


def substitute(expr: str, variables: Mapping[str, str] = GRAFANA_DEFAULTS) -> str:
    """Replace $var, ${var}, ${var:format} and [[var]]; an unknown variable is an error."""

    def value(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g is not None)
        if name not in variables:
            raise KeyError(f"unknown template variable ${name} in {expr!r}")
        return variables[name]

    return _VARIABLE.sub(value, expr)


def iter_panels(panels: Sequence[Json]) -> Iterator[Json]:
    """Every panel, including those nested in collapsed rows; rows themselves excluded."""
    for panel in panels:
        if panel.get("type") == "row":
            yield from iter_panels(panel.get("panels", []))
        else:
            yield panel


def panel_targets(dashboard: Json) -> list[PanelTarget]:
    return [
        PanelTarget(
            dashboard=dashboard["uid"],
            panel_id=panel["id"],
            panel_title=panel["title"],
            ref_id=target["refId"],
            expr=target["expr"],
        )
        for panel in iter_panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]


def load_dashboards(directory: Path = DASHBOARD_DIR) -> list[Json]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]


def rule_files(directory: Path = RULES_DIR) -> list[Path]:
    return sorted(directory.glob("*.yml"))


def alert_rules(paths: Sequence[Path]) -> list[AlertRule]:
    return [
        AlertRule(rule["alert"], rule["expr"])
        for path in paths
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _split(metrics_url: str) -> urllib.parse.SplitResult:
    url = urllib.parse.urlsplit(metrics_url)
    if url.scheme != "http" or not url.netloc:
        raise ValueError(f"metrics URL must be http://host:port/path, got {metrics_url!r}")
    return url


def scrape_config(metrics_url: str, rules: Sequence[Path], exporter_url: str | None = None) -> str:
    """A Prometheus config scraping `metrics_url` every second as job vinops-consumer, and
    `exporter_url` (PostgreSQL's exporter) as job vinops-postgres when given."""
    url = _split(metrics_url)
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p.resolve()) for p in rules],
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": url.path or "/metrics",
                "static_configs": [{"targets": [url.netloc]}],
            }
        ],
    }
    if exporter_url is not None:
        exporter = _split(exporter_url)
        config["scrape_configs"].append(
            {
                "job_name": PG_JOB,
                "metrics_path": exporter.path or "/metrics",
                "static_configs": [{"targets": [exporter.netloc]}],
            }
        )
    return yaml.safe_dump(config, sort_keys=False)


def _get_json(url: str, timeout: float = 5.0) -> Json:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing to fetch {url!r}: only the local test Prometheus")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - checked above
        body: Json = json.load(response)
        return body


@dataclass
class PrometheusServer:
    """A Prometheus process in `workdir`; use as a context manager to stop it."""

    workdir: Path
    metrics_url: str
    rules: Sequence[Path] = field(default_factory=rule_files)
    binary: str = field(default_factory=lambda: shutil.which("prometheus") or "/usr/bin/prometheus")
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    exporter_url: str | None = None  # PostgreSQL's exporter, scraped as job vinops-postgres

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "prometheus.log"

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        config = self.workdir / "prometheus.yml"
        config.write_text(
            scrape_config(self.metrics_url, self.rules, self.exporter_url), encoding="utf-8"
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not wait_until(self._ready, timeout):
            self.stop()
            raise PrometheusError(f"prometheus not ready in {timeout}s:\n{self.log_tail()}")
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise PrometheusError(f"prometheus exited:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:  # noqa: S310 - local
                return bool(response.status == 200)
        except OSError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def query(self, expr: str) -> list[Json]:
        """Instant query; the result vector (possibly empty). Errors raise PrometheusError."""
        body = _get_json(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        if body.get("status") != "success":
            raise PrometheusError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
        result: list[Json] = body["data"]["result"]
        return result

    def rule_health(self) -> dict[str, str]:
        """Rule name -> health ("ok", "err: <message>" or "unknown" before first evaluation)."""
        body = _get_json(f"{self.url}/api/v1/rules")
        health = {}
        for group in body["data"]["groups"]:
            for rule in group["rules"]:
                state = rule["health"]
                health[rule["name"]] = f"err: {rule['lastError']}" if state == "err" else state
        return health


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll `predicate` until true or `timeout` seconds pass (readiness, not an assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass(frozen=True)
class LiveReport:
    empty_targets: list[PanelTarget]  # dashboard queries that returned no series
    rule_problems: dict[str, str]  # rule name -> health other than ok
    firing_exprs: dict[str, int]  # alert name -> series its expr returns now


def live_check(
    prom: PrometheusServer,
    ingest: Callable[[], None],
    dashboards: Sequence[Json],
    alerts: Sequence[AlertRule],
    *,
    must_fire: Sequence[str] = (),
    timeout: float = 60.0,
    without_jobs: Sequence[str] = (),
) -> LiveReport:
    """Scrape before and after `ingest()`, then query every dashboard and alert expression.

    Rates need two samples of a counter that moved, so Prometheus scrapes the consumer
    twice first, then `ingest()` makes the counters move. Polls (up to `timeout`) until
    every expression has data and every alert in `must_fire` returns series. Panels reading
    a job in `without_jobs` (not scraped in this check) are left out.
    """
    up = f'count_over_time(up{{job="{JOB}"}}[1m]) >= 2 and up{{job="{JOB}"}} == 1'
    if not wait_until(lambda: bool(prom.query(up)), timeout):
        raise PrometheusError(f"{prom.metrics_url} never scraped twice:\n{prom.log_tail()}")
    ingest()
    targets = [
        t
        for d in dashboards
        for t in panel_targets(d)
        if not any(f'job="{job}"' in t.expr for job in without_jobs)
    ]
    by_name = {a.name: a for a in alerts}

    def report() -> LiveReport:
        return LiveReport(
            empty_targets=[t for t in targets if not prom.query(substitute(t.expr))],
            rule_problems={n: h for n, h in prom.rule_health().items() if h != "ok"},
            firing_exprs={a.name: len(prom.query(a.expr)) for a in alerts},
        )

    def complete() -> bool:
        now = report()
        fired = all(now.firing_exprs.get(name) for name in must_fire)
        return fired and not now.empty_targets and not now.rule_problems

    unknown = [name for name in must_fire if name not in by_name]
    if unknown:
        raise KeyError(f"no alert rule named {unknown}")
    wait_until(complete, timeout, interval=0.5)
    return report()
