"""Grafana dashboards and provisioning: generated JSON in sync, Grafana conventions, every
query valid PromQL over known metrics, and alerts linked to existing panels."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from grafana import build_dashboards
from tests.e2e import prom
from tests.unit.observability.metric_contract import (
    CONSUMER_METRICS,
    DASHBOARD_UID,
    METRIC_NAME,
    PG_METRIC_NAME,
    RECORDED_NAME,
    ROOT,
    exporter_metrics,
    load_yaml,
    rules,
)

DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
UNITS = {"ops", "s", "bytes", "Bps", "percentunit", "short"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DASHBOARD_DIR / f"{DASHBOARD_UID}.json").read_text())
    return loaded


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(prom.iter_panels(dashboard["panels"]))


def test_committed_json_is_what_the_generator_builds() -> None:
    built = build_dashboards.build()
    assert sorted(p.name for p in DASHBOARD_DIR.glob("*.json")) == sorted(built)
    for name, model in built.items():
        assert (DASHBOARD_DIR / name).read_text(encoding="utf-8") == build_dashboards.render(model)
    assert build_dashboards.main(["--check"]) == 0


def test_identity_and_schema(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == DASHBOARD_UID
    assert dashboard["title"] == "vinops ingest"
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert "id" not in dashboard  # provisioning assigns it


def test_datasource_is_a_template_variable(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    templated = {"type": "prometheus", "uid": "${datasource}"}
    for panel in panels(dashboard):
        assert panel["datasource"] == templated, panel["title"]
        assert all(t["datasource"] == templated for t in panel["targets"]), panel["title"]
    assert variables["instance"]["datasource"] == templated


def test_every_panel_has_targets_unit_and_description(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        targets = panel["targets"]
        assert targets, panel["title"]
        assert all(t["expr"].strip() for t in targets), panel["title"]
        assert len({t["refId"] for t in targets}) == len(targets), panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"] in UNITS, panel["title"]
        assert panel["description"], panel["title"]


def test_panel_ids_unique_and_layout_fits_without_overlap(dashboard: dict[str, Any]) -> None:
    everything = dashboard["panels"]
    assert len({p["id"] for p in everything}) == len(everything)
    boxes = [p["gridPos"] for p in everything]
    assert all(b["x"] >= 0 for b in boxes)
    assert all(b["x"] + b["w"] <= 24 for b in boxes)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart_x = a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
            apart_y = a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"]
            assert apart_x or apart_y, (a, b)


def test_units_match_what_panels_show(dashboard: dict[str, Any]) -> None:
    units = {p["title"]: p["fieldConfig"]["defaults"]["unit"] for p in panels(dashboard)}
    assert units["Rows ingested / s by outcome"] == "ops"
    assert units["Unknown-field rate (alert at 15%)"] == "percentunit"
    assert units["Batch duration p50 / p99"] == "s"
    assert units["Time since last commit"] == "s"
    assert units["Process memory (RSS)"] == "bytes"
    assert units["Process CPU"] == "percentunit"
    assert units["Publish to commit p50 / p99"] == "s"
    assert units["Offset gaps / s"] == "ops"


def test_the_latency_and_gap_metrics_have_panels(dashboard: dict[str, Any]) -> None:
    exprs = " ".join(t.expr for t in prom.panel_targets(dashboard))
    assert "vinops_publish_to_commit_seconds_bucket" in exprs
    assert "vinops_offset_gaps_total" in exprs


def test_the_postgres_row_shows_what_the_issue_asked(dashboard: dict[str, Any]) -> None:
    exprs = " ".join(t.expr for t in prom.panel_targets(dashboard))
    for series in (
        "pg_statements_total_seconds", "pg_statements_mean_seconds", "pg_statements_calls",
        "pg_stat_activity_count", "pg_locks_waiting_count", "pg_wal_position_bytes",
        "pg_checkpoint_last_time_seconds", "pg_table_heap_bytes", "pg_table_index_bytes",
        "pg_xact_oldest_seconds", "pg_table_dead_tuples",
    ):  # fmt: skip
        assert series in exprs, series


def test_unknown_rate_panel_draws_the_alert_threshold(dashboard: dict[str, Any]) -> None:
    (panel,) = [p for p in panels(dashboard) if p["id"] == 4]
    defaults = panel["fieldConfig"]["defaults"]
    assert {"color": "red", "value": 0.15} in defaults["thresholds"]["steps"]
    assert defaults["custom"]["thresholdsStyle"]["mode"] == "line"
    (alert,) = [r for r in rules("alert") if r["alert"] == "VinopsUnknownRateHigh"]
    assert panel["targets"][0]["expr"] in alert["expr"]


def test_queries_use_known_metrics_and_variables(dashboard: dict[str, Any]) -> None:
    recorded = {r["record"] for r in rules("record")}
    exprs = [t.expr for t in prom.panel_targets(dashboard)]
    assert {m for e in exprs for m in METRIC_NAME.findall(e)} - CONSUMER_METRICS == set()
    assert {m for e in exprs for m in RECORDED_NAME.findall(e)} - recorded == set()
    assert {m for e in exprs for m in PG_METRIC_NAME.findall(e)} - exporter_metrics() == set()
    for expr in exprs:
        if PG_METRIC_NAME.search(expr):
            assert 'job="vinops-postgres"' in expr, expr
        prom.substitute(expr)  # raises on a variable the dashboard does not define
        if METRIC_NAME.search(expr) or "up{" in expr:
            assert 'instance=~"$instance"' in expr, expr


def test_every_query_is_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    # promtool has no offline expression check, but it parses recording rules.
    records = [
        {"record": f"dashboard:panel{t.panel_id}:{t.ref_id}", "expr": prom.substitute(t.expr)}
        for t in prom.panel_targets(dashboard)
    ]
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_links_to_an_existing_panel(dashboard: dict[str, Any]) -> None:
    ids = {p["id"] for p in panels(dashboard)}
    for rule in rules("alert"):
        link = urlsplit(rule["annotations"]["dashboard"])
        assert link.path == f"/d/{DASHBOARD_UID}/vinops-ingest", rule["alert"]
        (panel_id,) = parse_qs(link.query)["viewPanel"]
        assert int(panel_id) in ids, rule["alert"]


def test_firing_alerts_are_annotated(dashboard: dict[str, Any]) -> None:
    exprs = [a.get("expr", "") for a in dashboard["annotations"]["list"]]
    assert any(re.search(r'ALERTS\{alertname=~"Vinops', e) for e in exprs)


def test_provisioning_points_at_the_datasource_and_dashboards() -> None:
    provisioning = ROOT / "grafana" / "provisioning"
    (source,) = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert (source["uid"], source["type"], source["url"]) == (
        "prometheus",
        "prometheus",
        "http://prometheus:9090",
    )
    (provider,) = load_yaml(provisioning / "dashboards" / "vinops.yml")["providers"]
    assert provider["type"] == "file"
    compose = load_yaml(ROOT / "docker-compose.yml")
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts
