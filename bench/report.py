"""Benchmark results: headline ratios and targets, a printed table, JSON, and a PNG chart."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

from bench.stack import ROOT

OUT = ROOT / "bench" / "out"
DOC_CHART = ROOT / "docs" / "bench-chart.png"


def _get(results: dict[str, Any], *path: str) -> float | None:
    node: Any = results.get("scenarios", {})
    for key in path:
        if not isinstance(node, dict) or node.get(key) is None:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each headline figure with its target; PASS/MISS is information, never a failure."""
    e2e = _get(results, "e2e", "rows_per_s")
    rows = [
        ("end-to-end / SQL floor", ratio(e2e, _get(results, "floor", "rows_per_s")), ">=", 0.67),
        ("end-to-end / naive", ratio(e2e, _get(results, "naive", "rows_per_s")), ">=", 10.0),
        ("producer / kcat", _get(results, "producer", "ratio_producer_to_kcat"), ">=", 0.5),
        ("p99 publish-to-commit (s)", _get(results, "latency", "p99_s"), "<", 1.0),
        ("producer peak RSS (MB)", _get(results, "memory", "peak_rss_mb"), "<", 150.0),
        ("consumer peak RSS (MB)", _get(results, "e2e", "consumer_peak_rss_mb"), "<", 300.0),
    ]
    out = []
    for name, value, op, target in rows:
        met = None if value is None else (value >= target if op == ">=" else value < target)
        verdict = "n/a" if met is None else ("PASS" if met else "MISS")
        out.append({"name": name, "value": value, "target": f"{op} {target:g}", "verdict": verdict})
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(results: dict[str, Any]) -> str:
    s = results.get("scenarios", {})
    lines = [f"{'scenario':<34} {'rows':>10} {'seconds':>9} {'rows/s':>10}  notes"]

    def add(name: str, r: dict[str, Any] | None, note: str = "") -> None:
        if r:
            lines.append(f"{name:<34} {_fmt(r.get('rows')):>10} {_fmt(r.get('seconds')):>9} "
                         f"{_fmt(r.get('rows_per_s')):>10}  {note}")  # fmt: skip

    e2e, floor, naive = s.get("e2e"), s.get("floor"), s.get("naive")
    add("1 end to end (publish+consume)", e2e,
        f"consumer RSS {_fmt((e2e or {}).get('consumer_peak_rss_mb'))} MB")  # fmt: skip
    add("2 SQL floor (Sink.write only)", floor,
        f"with prepare {_fmt((floor or {}).get('with_prepare_rows_per_s'))} rows/s")  # fmt: skip
    add("3 naive consumer (per-row INSERT)", naive, "extrapolated from a timed slice")
    prod = s.get("producer") or {}
    add("4 producer publish", prod or None, f"RSS {_fmt(prod.get('peak_rss_mb'))} MB")
    if prod.get("kcat_rows_per_s"):
        kcat = {
            "rows": prod.get("kcat_lines"),
            "seconds": prod.get("kcat_seconds"),
            "rows_per_s": prod.get("kcat_rows_per_s"),
        }
        add("4 kcat -P (same lines, lz4)", kcat)
    if prod.get("kcat_contract_rows_per_s"):
        ceiling = {
            "rows": prod.get("kcat_contract_messages"),
            "seconds": prod.get("kcat_contract_seconds"),
            "rows_per_s": prod.get("kcat_contract_rows_per_s"),
        }
        note = f"ceiling: {_fmt(prod.get('ratio_contract_ceiling_to_kcat'))} x kcat"
        add("4 kcat -P (producer's messages)", ceiling, note)
    lat = s.get("latency") or {}
    note = (
        f"p50 {_fmt(lat.get('p50_s'))} s, p99 {_fmt(lat.get('p99_s'))} s "
        f"(bucket <= {_fmt(lat.get('p99_bucket_le'))}), max <= {_fmt(lat.get('max_bucket_le'))} s"
    )
    add("5 latency (paced publish)", lat or None, note)
    mem = s.get("memory") or {}
    add("6 producer on a large file", mem or None, f"peak RSS {_fmt(mem.get('peak_rss_mb'))} MB")
    scale = s.get("scale") or {}
    for key in ("one", "two"):
        r = scale.get(key)
        if r:
            name = f"7 scale: {r['consumers']} consumer(s), 6 partitions"
            add(name, {**r, "rows": scale["rows"]}, f"per consumer {r['per_consumer_messages']}")
    lines.append("")
    lines.extend(f"{t['verdict']:<5} {t['name']:<28} {_fmt(t['value']):>8}  target {t['target']}"
                 for t in results.get("targets", []))  # fmt: skip
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib as mpl  # noqa: PLC0415 - optional dependency (the `bench` extra)

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    s = results.get("scenarios", {})
    bars = [
        ("end to end", _get(results, "e2e", "rows_per_s")),
        ("SQL floor", _get(results, "floor", "rows_per_s")),
        ("floor+prepare", _get(results, "floor", "with_prepare_rows_per_s")),
        ("naive", _get(results, "naive", "rows_per_s")),
        ("producer", _get(results, "producer", "rows_per_s")),
        ("kcat", _get(results, "producer", "kcat_rows_per_s")),
        ("kcat, contract", _get(results, "producer", "kcat_contract_rows_per_s")),
        ("1 consumer", _get(results, "scale", "one", "rows_per_s")),
        ("2 consumers", _get(results, "scale", "two", "rows_per_s")),
    ]
    bars = [(n, v) for n, v in bars if v is not None]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    ax.bar([n for n, _ in bars], [v for _, v in bars], color="#3b76af")
    for i, (_, v) in enumerate(bars):
        ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")  # kcat and the naive consumer are orders of magnitude apart
    ax.set_ylabel("rows / s (log scale)")
    ax.set_title(f"throughput, {results.get('sizes', {}).get('rows', '?'):,} feed rows")
    ax.tick_params(axis="x", labelrotation=30)
    lat = s.get("latency") or {}
    ax2.bar(["p50", "p99"], [lat.get("p50_s") or 0, lat.get("p99_s") or 0], color="#d9822b")
    ax2.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax2.set_title(f"publish-to-commit at {lat.get('rate_target', '?')} rows/s")
    ax2.set_ylabel("seconds")
    fig.suptitle(f"vinops-ingest benchmarks ({results.get('mode')}, {results.get('timestamp')})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any]) -> Path:
    """JSON (timestamped + latest.json) and the chart (bench/out and docs/)."""
    OUT.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps(results, option=orjson.OPT_INDENT_2)
    path = OUT / f"results-{results['timestamp'].replace(':', '')}.json"
    path.write_bytes(data)
    (OUT / "latest.json").write_bytes(data)
    chart(results, OUT / "chart.png")
    if results.get("mode") == "full":
        DOC_CHART.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(OUT / "chart.png", DOC_CHART)
    return path
