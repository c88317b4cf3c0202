"""The pure helpers of tests/e2e/prom.py: template substitution, panel and rule extraction,
and the scrape config the live tests give Prometheus."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e import prom


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            'rate(x{instance=~"$instance"}[$__rate_interval])',
            'rate(x{instance=~".*"}[1m])',
        ),
        ("sum(rate(x[${__rate_interval}]))", "sum(rate(x[1m]))"),
        ('x{instance=~"${instance:regex}"}', 'x{instance=~".*"}'),
        ("increase(x[[[__range]]])", "increase(x[1h])"),
        ("vinops:unknown_field_ratio:rate5m > 0.15", "vinops:unknown_field_ratio:rate5m > 0.15"),
    ],
)
def test_substitute_grafana_variables(expr: str, expected: str) -> None:
    assert prom.substitute(expr) == expected


def test_substitute_prefers_the_longest_name() -> None:
    assert (
        prom.substitute("$__interval $__rate_interval", {"__interval": "a", "__rate_interval": "b"})
        == "a b"
    )


def test_substitute_refuses_unknown_variables() -> None:
    with pytest.raises(KeyError, match=r"unknown template variable \$partition"):
        prom.substitute('x{partition="$partition"}')


def test_panel_targets_include_collapsed_rows_and_skip_rows() -> None:
    dashboard = {
        "uid": "d",
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": "a",
                "targets": [{"refId": "A", "expr": "up"}],
            },
            {
                "id": 2,
                "type": "row",
                "title": "collapsed",
                "collapsed": True,
                "panels": [
                    {
                        "id": 3,
                        "type": "stat",
                        "title": "b",
                        "targets": [
                            {"refId": "A", "expr": "x"},
                            {"refId": "B", "expr": "y"},
                        ],
                    }
                ],
            },
            {"id": 4, "type": "text", "title": "notes"},
        ],
    }
    assert [(t.panel_id, t.ref_id, t.expr) for t in prom.panel_targets(dashboard)] == [
        (1, "A", "up"),
        (3, "A", "x"),
        (3, "B", "y"),
    ]


def test_committed_dashboards_and_rules_load() -> None:
    (dashboard,) = prom.load_dashboards()
    assert len(prom.panel_targets(dashboard)) >= 15
    alerts = prom.alert_rules(prom.rule_files())
    assert "VinopsUnknownRateHigh" in {a.name for a in alerts}
    assert len(alerts) == 14


def test_scrape_config_targets_the_metrics_url_with_the_real_rules(tmp_path: Path) -> None:
    rules = [tmp_path / "a.yml", tmp_path / "b.yml"]
    config = yaml.safe_load(prom.scrape_config("http://127.0.0.1:9108/metrics", rules))
    assert config["rule_files"] == [str(r) for r in rules]
    assert config["scrape_configs"] == [
        {
            "job_name": "vinops-consumer",
            "metrics_path": "/metrics",
            "static_configs": [{"targets": ["127.0.0.1:9108"]}],
        }
    ]
    assert config["global"]["scrape_interval"] == "1s"


@pytest.mark.parametrize("url", ["127.0.0.1:9108", "https://127.0.0.1/metrics", "file:///etc"])
def test_scrape_config_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="metrics URL must be"):
        prom.scrape_config(url, [])
