"""The pure parts of the benchmark harness: histogram quantiles, log times, targets."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench import report
from bench.expect import expected
from bench.generate import Spec, generate
from bench.report import headline, table, targets
from bench.scenarios.common import last_commit_time
from bench.scenarios.latency import buckets, quantile

METRICS = """# TYPE vinops_publish_to_commit_seconds histogram
vinops_publish_to_commit_seconds_bucket{le="0.1"} 0.0
vinops_publish_to_commit_seconds_bucket{le="0.25"} 50.0
vinops_publish_to_commit_seconds_bucket{le="0.5"} 99.0
vinops_publish_to_commit_seconds_bucket{le="1.0"} 100.0
vinops_publish_to_commit_seconds_bucket{le="+Inf"} 100.0
vinops_publish_to_commit_seconds_count 100.0
"""


def test_quantiles_interpolate_inside_buckets() -> None:
    hist = buckets(METRICS)
    assert hist[-1] == (float("inf"), 100.0)
    assert quantile(hist, 0.5) == (0.25, 0.25)
    p99, le = quantile(hist, 0.99)
    assert le == 0.5
    assert p99 is not None
    assert abs(p99 - 0.5) < 1e-9
    assert quantile([], 0.5) == (None, None)


def test_last_commit_time_reads_the_last_batch_committed_line() -> None:
    log = (
        '{"ts":"2026-01-01T00:00:01.000Z","msg":"batch committed","messages":5}\n'
        "not json\n"
        '{"ts":"2026-01-01T00:00:03.500Z","msg":"batch committed","messages":5}\n'
        '{"ts":"2026-01-01T00:00:09.000Z","msg":"consumer stopped"}\n'
    )
    assert last_commit_time(log) == 1767225603.5
    assert last_commit_time("") is None


def test_targets_give_pass_miss_and_na() -> None:
    results = {
        "scenarios": {
            "e2e": {"rows": 10, "seconds": 1.0, "rows_per_s": 700.0, "consumer_peak_rss_mb": 90},
            "floor": {"rows": 10, "seconds": 1.0, "rows_per_s": 1000.0},
            "naive": {"rows": 10, "seconds": 1.0, "rows_per_s": 100.0},
        }
    }
    verdicts = {t["name"]: t["verdict"] for t in targets(results)}
    assert verdicts["end-to-end / SQL floor"] == "MISS"  # 0.7 < 0.8
    assert verdicts["first ingest, vinops / peer"] == "n/a"
    assert verdicts["consumer peak RSS (MB)"] == "PASS"
    # Retired targets are information only.
    assert not {"end-to-end / naive", "producer / kcat"} & verdicts.keys()
    assert "1 end to end" in table({**results, "targets": targets(results)})


FULL = {
    "e2e": {"rows_per_s": 4000.0, "consumer_peak_rss_mb": 180.0},
    "floor": {"rows_per_s": 5000.0},
    "producer": {"rows_per_s": 48000.0, "ratio_producer_to_kcat": 0.13},
    "latency": {
        "p50_s": 0.2, "p99_s": 0.45, "rate_target": 1500,
        "replay": {"p50_s": 0.1, "p99_s": 0.3, "rate_target": 2000},
    },
    "memory": {"peak_rss_mb": 107.0},
    "snapshot": {
        "s1": {"rows_per_s": 4000.0, "growth_bytes": 1000},
        "s2": {"rows_per_s": 24000.0, "growth_bytes": 100},
    },
    "peer": {"rows_per_s": 2000.0, "vinops_over_peer": 2.0, "jvm_peak_rss_mb": 900.0,
             "snapshot2": {"rows_per_s": 3000.0}},
    "snapshot_real": {
        "member": {
            "s2_over_s1": 5.5, "growth_s2_over_s1": 0.12, "s2": {"rows_per_s": 60000.0},
            "bare_read": {"rows_per_s": 100000.0},
        },
        "camel": {"s2_over_s1": 5.2, "growth_s2_over_s1": 0.14},
    },
    "history": {"history_cost": 0.06, "query": {"median_ms": 3.5}},
    "steady_state": {"max_added_over_changed_csv": 1.2},
}  # fmt: skip


def test_headline_has_the_promised_keys_as_numbers() -> None:
    head = headline({"scenarios": FULL})
    promised = {
        ("ratios", "e2e_over_floor"): 0.8,
        ("ratios", "e2e_over_peer"): 2.0,
        ("ratios", "snapshot2_over_snapshot1"): 6.0,
        ("ratios", "snapshot2_growth_over_snapshot1"): 0.1,
        ("ratios", "snapshot2_over_peer"): 8.0,
        ("ratios", "real_snapshot2_over_snapshot1"): 5.5,
        ("ratios", "real_snapshot2_growth_over_snapshot1"): 0.12,
        ("ratios", "camel_snapshot2_over_snapshot1"): 5.2,
        ("ratios", "camel_snapshot2_growth_over_snapshot1"): 0.14,
        ("ratios", "steady_state_added_over_changed_csv"): 1.2,
        ("latency", "p99_s"): 0.45,
        ("ratios", "history_cost"): 0.06,
        ("latency", "history_query_ms"): 3.5,
        ("latency", "replay_p99_s"): 0.3,
        ("ratios", "snapshot2_over_bare_read"): 0.6,
        ("rss_mb", "producer_1m"): 107.0,
        ("rss_mb", "consumer"): 180.0,
        ("rss_mb", "peer"): 900.0,
    }
    for (group, key), value in promised.items():
        assert isinstance(head[group][key], float), (group, key)
        assert head[group][key] == value, (group, key)
    assert all(t["verdict"] == "PASS" for t in targets({"scenarios": FULL}))


def test_vinops_over_peer_falls_back_to_this_runs_e2e() -> None:
    scenarios = {**FULL, "peer": {"rows_per_s": 1000.0}}
    assert headline({"scenarios": scenarios})["ratios"]["e2e_over_peer"] == 4.0
    skipped = {**FULL, "peer": {"skipped": "mvn not found"}}
    assert headline({"scenarios": skipped})["ratios"]["e2e_over_peer"] is None


def test_expected_counts_come_from_the_file(tmp_path: Path) -> None:
    result = generate(Spec(rows=200, seed=1, malformed=2, duplicates=3), tmp_path / "f.csv")
    exp = expected([result.path])
    assert exp.rows == 200
    assert exp.good == 198
    assert len(exp.lots) == 195


def test_only_a_complete_full_run_replaces_the_committed_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "OUT", tmp_path / "out")
    monkeypatch.setattr(report, "COMMITTED", tmp_path / "results" / "latest.json")
    monkeypatch.setattr(report, "DOC_CHART", tmp_path / "docs" / "chart.png")
    results = {"timestamp": "2026-12-03T10:00:00Z", "sizes": {"rows": 10}, "scenarios": FULL}
    for mode, partial in (("quick", False), ("full", True)):
        report.write({**results, "mode": mode, "partial": partial})
        assert not report.COMMITTED.exists()
    report.write({**results, "mode": "full", "partial": False, **headline(results)})
    written = orjson.loads(report.COMMITTED.read_bytes())
    assert written["ratios"]["snapshot2_over_peer"] == 8.0
    assert report.DOC_CHART.exists()
