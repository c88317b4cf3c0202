"""Benchmark results: headline ratios and targets, a printed table, JSON, and a PNG chart."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

from bench.stack import ROOT

OUT = ROOT / "bench" / "out"
DOC_CHART = ROOT / "docs" / "bench-chart.png"
DOC_STEADY_CHART = ROOT / "docs" / "steady-state-chart.png"  # bench.scenarios.steady_state
STEADY_RESULTS = ROOT / "bench" / "results" / "steady-state.json"
COMMITTED = ROOT / "bench" / "results" / "latest.json"


def _get(results: dict[str, Any], *path: str) -> float | None:
    node: Any = results.get("scenarios", {})
    for key in path:
        if not isinstance(node, dict) or node.get(key) is None:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(results: dict[str, Any]) -> dict[str, float | None]:
    """The headline ratios, by the names a program reads from latest.json."""
    e2e = _get(results, "e2e", "rows_per_s")
    s1, s2 = (
        _get(results, "snapshot", "s1", "rows_per_s"),
        _get(results, "snapshot", "s2", "rows_per_s"),
    )
    peer = _get(results, "peer", "vinops_over_peer")
    if peer is None:  # the peer ran without its own vinops figure: use this run's e2e
        peer = ratio(e2e, _get(results, "peer", "rows_per_s"))
    return {
        "e2e_over_floor": ratio(e2e, _get(results, "floor", "rows_per_s")),
        "e2e_over_peer": peer,
        "snapshot2_over_snapshot1": ratio(s2, s1),
        "snapshot2_growth_over_snapshot1": ratio(
            _get(results, "snapshot", "s2", "growth_bytes"),
            _get(results, "snapshot", "s1", "growth_bytes"),
        ),
        "snapshot2_over_peer": ratio(s2, _get(results, "peer", "snapshot2", "rows_per_s")),
        # The feed's real shape: lots sold and listed, the row counter renumbered (member) or
        # _lastSeenAt advanced (camelCase) on every row (bench.scenarios.snapshot_real).
        "real_snapshot2_over_snapshot1": _get(results, "snapshot_real", "member", "s2_over_s1"),
        "real_snapshot2_growth_over_snapshot1": _get(
            results, "snapshot_real", "member", "growth_s2_over_s1"
        ),
        "camel_snapshot2_over_snapshot1": _get(results, "snapshot_real", "camel", "s2_over_s1"),
        "rebuild_rows_per_s": _get(results, "snapshot_real", "member", "rebuild", "rows_per_s"),
        # The realistic snapshot 2 against a plain read (with a digest of each value) of the
        # same records in the same run (bench.scenarios.bare_read).
        "snapshot2_over_bare_read": ratio(
            _get(results, "snapshot_real", "member", "s2", "rows_per_s"),
            _get(results, "snapshot_real", "member", "bare_read", "rows_per_s"),
        ),
        "camel_snapshot2_growth_over_snapshot1": _get(
            results, "snapshot_real", "camel", "growth_s2_over_s1"
        ),
        # Like for like with the peer's timing (a backlog ready in Kafka, no producer):
        "snapshot1_over_peer": ratio(s1, _get(results, "peer", "rows_per_s")),
        "producer_over_consumer": ratio(_get(results, "producer", "rows_per_s"), e2e),
        "producer_over_kcat": _get(results, "producer", "ratio_producer_to_kcat"),
        "e2e_over_naive": ratio(e2e, _get(results, "naive", "rows_per_s")),
        # Snapshot-2 drain with history, outbox and relay over the drain without, minus 1
        # (bench.scenarios.history).
        "history_cost": _get(results, "history", "history_cost"),
        # Archived and pruned to the last 12: the most a snapshot added once the window was
        # full, over its changed rows' CSV bytes (bench.scenarios.steady_state).
        "steady_state_added_over_changed_csv": _get(
            results, "steady_state", "max_added_over_changed_csv"
        ),
    }


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """``ratios``, ``latency`` and ``rss_mb``: the keys latest.json promises (numbers)."""
    return {
        "ratios": ratios(results),
        "latency": {
            "p50_s": _get(results, "latency", "p50_s"),
            "p99_s": _get(results, "latency", "p99_s"),
            "rate": _get(results, "latency", "rate_target"),
            "replay_p99_s": _get(results, "latency", "replay", "p99_s"),
            "replay_rate": _get(results, "latency", "replay", "rate_target"),
            # `consumer history` of one VIN among 10 million versions (median, ms).
            "history_query_ms": _get(results, "history", "query", "median_ms"),
        },
        "rss_mb": {
            "producer_1m": _get(results, "memory", "peak_rss_mb"),
            "consumer": _get(results, "e2e", "consumer_peak_rss_mb"),
            "peer": _get(results, "peer", "jvm_peak_rss_mb"),
        },
    }


# (name, where in headline(), operator, target); timing never fails a run.
TARGETS: tuple[tuple[str, tuple[str, str], str, float], ...] = (
    ("real snapshot 2 / 1 (rows/s)", ("ratios", "real_snapshot2_over_snapshot1"), ">=", 5.0),
    (
        "real snapshot 2 / 1 db growth",
        ("ratios", "real_snapshot2_growth_over_snapshot1"),
        "<=",
        0.15,
    ),
    ("camel snapshot 2 / 1 (rows/s)", ("ratios", "camel_snapshot2_over_snapshot1"), ">=", 5.0),
    (
        "camel snapshot 2 / 1 db growth",
        ("ratios", "camel_snapshot2_growth_over_snapshot1"),
        "<=",
        0.15,
    ),
    ("snapshot 2 / snapshot 1 (bytes kept)", ("ratios", "snapshot2_over_snapshot1"), ">=", 5.0),
    (
        "snapshot 2 / 1 growth (bytes kept)",
        ("ratios", "snapshot2_growth_over_snapshot1"),
        "<=",
        0.15,
    ),
    ("snapshot 2 / peer on snapshot 2", ("ratios", "snapshot2_over_peer"), ">=", 5.0),
    (
        "steady state: added / changed CSV",
        ("ratios", "steady_state_added_over_changed_csv"),
        "<=",
        1.5,
    ),
    ("first ingest, vinops / peer", ("ratios", "e2e_over_peer"), ">=", 1.0),
    ("end-to-end / SQL floor", ("ratios", "e2e_over_floor"), ">=", 0.8),
    ("p99 publish-to-commit, 50% of e2e (s)", ("latency", "p99_s"), "<", 0.5),
    ("p99 publish-to-commit, snapshot replay (s)", ("latency", "replay_p99_s"), "<", 0.5),
    ("real snapshot 2 / bare read (rows/s)", ("ratios", "snapshot2_over_bare_read"), ">=", 0.5),
    ("producer peak RSS, 1M rows (MB)", ("rss_mb", "producer_1m"), "<", 150.0),
    ("consumer peak RSS (MB)", ("rss_mb", "consumer"), "<", 300.0),
    ("producer / consumer (rows/s)", ("ratios", "producer_over_consumer"), ">=", 10.0),
    ("history + outbox + relay cost (s2)", ("ratios", "history_cost"), "<=", 0.10),
    ("history of one VIN (ms)", ("latency", "history_query_ms"), "<", 50.0),
)
_MET = {">=": float.__ge__, "<=": float.__le__, "<": float.__lt__}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each headline figure with its target; PASS/MISS is information, never a failure."""
    head = headline(results)
    out = []
    for name, (group, key), op, target in TARGETS:
        value = head[group][key]
        met = None if value is None else _MET[op](float(value), target)
        verdict = "n/a" if met is None else ("PASS" if met else "MISS")
        out.append({"name": name, "value": value, "target": f"{op} {target:g}", "verdict": verdict})
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _mb(value: Any) -> str:
    return f"{value / 2**20:,.1f}" if isinstance(value, int | float) else "-"


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
    add("3 naive consumer (per-row INSERT)", naive, "information; extrapolated from a slice")
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
    replay = lat.get("replay") or {}
    note = (
        f"p50 {_fmt(replay.get('p50_s'))} s, p99 {_fmt(replay.get('p99_s'))} s "
        f"(bucket <= {_fmt(replay.get('p99_bucket_le'))}), 95% known rows"
    )
    add("5 latency (snapshot replay)", replay or None, note)
    mem = s.get("memory") or {}
    add("6 producer on a large file", mem or None, f"peak RSS {_fmt(mem.get('peak_rss_mb'))} MB")
    scale = s.get("scale") or {}
    for key in ("one", "two"):
        r = scale.get(key)
        if r:
            name = f"7 scale: {r['consumers']} consumer(s), 6 partitions"
            add(name, {**r, "rows": scale["rows"]}, f"per consumer {r['per_consumer_messages']}")
    snap = s.get("snapshot") or {}
    for k in (1, 2, 3):
        r = snap.get(f"s{k}")
        if r:
            note = (f"db +{_mb(r.get('growth_bytes'))} MB, raw {_fmt(r.get('raw_bytes_per_row'))} "
                    f"B/row, {_fmt(r.get('changed_lots'))} lots changed")  # fmt: skip
            add(f"8 snapshot {k} (assignment to commit)", r, note)
    real = s.get("snapshot_real") or {}
    for dialect in ("member", "camel"):
        for k in (1, 2):
            r = (real.get(dialect) or {}).get(f"s{k}")
            if r:
                note = f"db +{_mb(r.get('growth_bytes'))} MB"
                if k == 2:
                    note += (f", updated {_fmt(r.get('updated'))} of {_fmt(r.get('changed_lots'))}"
                             f" changed, +{_fmt(r.get('inserted'))} listed, "
                             f"{_fmt(r.get('unchanged_content'))} rows unchanged")  # fmt: skip
                add(f"8r {dialect} real snapshot {k}", r, note)
        rebuilt = (real.get(dialect) or {}).get("rebuild")
        if rebuilt:
            add(f"8r {dialect} rebuild --all", rebuilt, "re-derive both downloads: no change")
        bare = (real.get(dialect) or {}).get("bare_read")
        if bare:
            p = bare.get("known_row_profile") or {}
            plain = (bare.get("plain") or {}).get("rows_per_s")
            note = (f"plain {_fmt(plain)} rows/s; known row: read "
                    f"{_fmt(p.get('read_and_digest_us'))} us, decode {_fmt(p.get('decode_us'))} "
                    f"us, prepare {_fmt(p.get('prepare_known_us'))} us, write and rest "
                    f"{_fmt(p.get('write_commit_and_rest_us'))} us")  # fmt: skip
            add(f"8r {dialect} bare read + digest", bare.get("digest"), note)
    hist = s.get("history") or {}
    for arm in ("on", "off"):
        runs = (hist.get("s2_runs") or {}).get(arm) or []
        seconds = hist.get(f"s2_seconds_{arm}")
        if runs and seconds:
            r = {"rows": hist.get("s2_rows"), "seconds": seconds,
                 "rows_per_s": hist.get(f"s2_rows_per_s_{arm}")}  # fmt: skip
            each = ", ".join(_fmt(x.get("seconds")) for x in runs)
            note = (f"median of {each} s; events {hist.get('s2_events')}, cost "
                    f"{_fmt(hist.get('history_cost'))}" if arm == "on"
                    else f"median of {each} s; VINOPS_HISTORY=off")  # fmt: skip
            add(f"8h snapshot 2, history {arm}", r, note)
    query = hist.get("query") or {}
    if query:
        lines.append(f"{'8h history of one VIN':<34} {_fmt(query.get('versions')):>10} "
                     f"versions: median {_fmt(query.get('median_ms'))} ms, "
                     f"p95 {_fmt(query.get('p95_ms'))} ms")  # fmt: skip
    peer = s.get("peer") or {}
    if peer.get("skipped"):
        lines.append(f"{'9 peer: Connect + Debezium JDBC':<34} skipped: {peer['skipped']}")
    elif peer:
        note = (f"JVM RSS {_fmt(peer.get('jvm_peak_rss_mb'))} MB; vinops e2e "
                f"{_fmt(peer.get('vinops_e2e_rows_per_s'))} rows/s")  # fmt: skip
        add("9 peer: Connect + Debezium JDBC", peer, note)
        two = peer.get("snapshot2") or {}
        add("9 peer on snapshot 2", two or None, f"db +{_mb(two.get('growth_bytes'))} MB")
    lines.append("")
    lines.extend(f"{t['verdict']:<5} {t['name']:<33} {_fmt(t['value']):>8}  target {t['target']}"
                 for t in results.get("targets", []))  # fmt: skip
    info = results.get("ratios") or {}
    lines.append(f"info  snapshot 1 (drain) / peer {_fmt(info.get('snapshot1_over_peer'))}; "
                 f"retired: producer / kcat {_fmt(info.get('producer_over_kcat'))}, "
                 f"end-to-end / naive {_fmt(info.get('e2e_over_naive'))}")  # fmt: skip
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
        ("snapshot 1", _get(results, "snapshot", "s1", "rows_per_s")),
        ("snapshot 2", _get(results, "snapshot", "s2", "rows_per_s")),
        ("snapshot 3", _get(results, "snapshot", "s3", "rows_per_s")),
        ("real snapshot 1", _get(results, "snapshot_real", "member", "s1", "rows_per_s")),
        ("real snapshot 2", _get(results, "snapshot_real", "member", "s2", "rows_per_s")),
        ("peer", _get(results, "peer", "rows_per_s")),
        ("peer, snapshot 2", _get(results, "peer", "snapshot2", "rows_per_s")),
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
    replay = lat.get("replay") or {}
    ax2.bar(
        ["p50", "p99", "replay p50", "replay p99"],
        [lat.get("p50_s") or 0, lat.get("p99_s") or 0, replay.get("p50_s") or 0,
         replay.get("p99_s") or 0],
        color="#d9822b",
    )  # fmt: skip
    ax2.axhline(0.5, color="grey", linestyle="--", linewidth=1)  # the p99 target
    rates = f"{lat.get('rate_target', '?')} / {replay.get('rate_target', '?')}"
    ax2.set_title(f"publish-to-commit at {rates} rows/s")
    ax2.set_ylabel("seconds")
    fig.suptitle(f"vinops-ingest benchmarks ({results.get('mode')}, {results.get('timestamp')})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any]) -> Path:
    """JSON (timestamped + latest.json) and the chart (bench/out); a complete full run also
    bench/results/latest.json and docs/bench-chart.png, which are committed."""
    OUT.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps(results, option=orjson.OPT_INDENT_2)
    path = OUT / f"results-{results['timestamp'].replace(':', '')}.json"
    path.write_bytes(data)
    (OUT / "latest.json").write_bytes(data)
    chart(results, OUT / "chart.png")
    if results.get("mode") == "full" and not results.get("partial"):
        COMMITTED.parent.mkdir(parents=True, exist_ok=True)
        COMMITTED.write_bytes(data + b"\n")
        DOC_CHART.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(OUT / "chart.png", DOC_CHART)
    return path
