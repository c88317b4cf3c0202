"""Prometheus rules and configs: promtool accepts them, the promtool unit tests pass, and
every alert is tested both ways and carries what an on-call person needs."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.unit.observability.metric_contract import (
    CONSUMER_METRICS,
    DOC,
    METRIC_NAME,
    PG_METRIC_NAME,
    PROMTOOL_TESTS_DIR,
    RECORDED_NAME,
    ROOT,
    RULES_DIR,
    doc_anchors,
    exporter_metrics,
    load_yaml,
    rules,
)

RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
PROMTOOL_TESTS = sorted(PROMTOOL_TESTS_DIR.glob("*.yml"))


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *map(str, args)], capture_output=True, text=True, check=False, cwd=ROOT
    )


def test_rule_files_pass_promtool_check() -> None:
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(RULE_FILES) >= 2


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.compose.yml"])
def test_prometheus_configs_pass_promtool_check(config: str) -> None:
    result = promtool("check", "config", ROOT / "prometheus" / config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_config_loads_every_rule_file_and_scrapes_the_consumer_port() -> None:
    result = promtool("check", "config", ROOT / "prometheus" / "prometheus.yml")
    assert f"{len(RULE_FILES)} rule files found" in result.stdout
    config = load_yaml(ROOT / "prometheus" / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "vinops-consumer"]
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9108"]}]


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", *PROMTOOL_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(PROMTOOL_TESTS)


def alert_cases() -> Counter[tuple[str, bool]]:
    """(alert name, fires?) -> number of alert_rule_test cases in the promtool tests."""
    cases: Counter[tuple[str, bool]] = Counter()
    for path in PROMTOOL_TESTS:
        for test in load_yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                cases[case["alertname"], bool(case.get("exp_alerts"))] += 1
    return cases


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    cases = alert_cases()
    names = [rule["alert"] for rule in rules("alert")]
    untested = {n: (cases[n, True], cases[n, False]) for n in names}
    assert {n: c for n, c in untested.items() if 0 in c} == {}
    assert {name for name, _ in cases} <= set(names)  # no test for a removed alert


def test_every_recording_rule_is_tested_or_used_by_an_alert() -> None:
    tested = " ".join(
        case["expr"]
        for path in PROMTOOL_TESTS
        for test in load_yaml(path)["tests"]
        for case in test.get("promql_expr_test", [])
    )
    used = " ".join(rule["expr"] for rule in rules("alert")) + tested
    assert [r["record"] for r in rules("record") if r["record"] not in used] == []


def test_alert_names_and_metadata() -> None:
    anchors = doc_anchors()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    problems = []
    for rule in rules("alert"):
        name, notes = rule["alert"], rule.get("annotations", {})
        if not name.startswith("Vinops"):
            problems.append(f"{name}: not prefixed Vinops")
        if rule.get("labels", {}).get("severity") not in {"critical", "warning", "info"}:
            problems.append(f"{name}: severity")
        problems += [f"{name}: no {k}" for k in ("summary", "description") if not notes.get(k)]
        if notes.get("runbook_url") != f"docs/observability.md#{name.lower()}":
            problems.append(f"{name}: runbook_url {notes.get('runbook_url')}")
        if name.lower() not in anchors:
            problems.append(f"{name}: no heading for it in {DOC.name}")
        if notes.get("runbook_line") != f"README.md#runbook-{name.lower()}":
            problems.append(f"{name}: runbook_line {notes.get('runbook_line')}")
        if f'<a id="runbook-{name.lower()}"></a>**{name}**: ' not in readme:
            problems.append(f"{name}: no runbook line in the README")
    assert problems == []


def test_rules_use_only_consumer_metrics_and_defined_recordings() -> None:
    recorded = {r["record"] for r in rules("record")}
    exprs = [r["expr"] for r in rules("record") + rules("alert")]
    metrics = {m for e in exprs for m in METRIC_NAME.findall(e)}
    assert metrics - CONSUMER_METRICS == set()
    assert {m for e in exprs for m in RECORDED_NAME.findall(e)} - recorded == set()
    assert all('job="vinops-consumer"' in e for e in exprs if METRIC_NAME.search(e))
    assert {m for e in exprs for m in PG_METRIC_NAME.findall(e)} - exporter_metrics() == set()
    assert all('job="vinops-postgres"' in e for e in exprs if PG_METRIC_NAME.search(e))


def test_compose_config_mounts_the_same_rules() -> None:
    config = load_yaml(ROOT / "prometheus" / "prometheus.compose.yml")
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "vinops-consumer"]
    # DNS service discovery: one target per consumer replica.
    assert job["dns_sd_configs"] == [
        {"names": ["consumer"], "type": "A", "port": 9108, "refresh_interval": "15s"}
    ]


def test_unknown_rate_threshold_is_15_percent_for_10_minutes() -> None:
    (rule,) = [r for r in rules("alert") if r["alert"] == "VinopsUnknownRateHigh"]
    assert rule["expr"].strip() == "vinops:unknown_field_ratio:rate5m > 0.15"
    assert rule["for"] == "10m"


def test_rule_file_paths_in_promtool_tests_exist() -> None:
    for path in PROMTOOL_TESTS:
        for rule_file in load_yaml(path)["rule_files"]:
            assert (path.parent / rule_file).resolve() in {p.resolve() for p in RULE_FILES}
