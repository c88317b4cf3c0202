"""Run the benchmark scenarios against the local Kafka and PostgreSQL.

    .venv/bin/python -m bench.run [--quick] [--only e2e,floor,...] [--rows N]

Prints a table with PASS/MISS per target (information: timing never fails a run), writes
bench/out/results-<timestamp>.json, latest.json and chart.png (full runs also
docs/bench-chart.png). Exit status: 0, or 1 when a scenario crashed or a row count was
wrong (raw.file_rows != rows published, lots != distinct good lots), 2 when a tool it runs
(kcat) is not installed: one line names the package.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import report
from bench.expect import expected
from bench.generate import Spec, generate
from bench.peer.jars import peer_versions
from bench.scenarios import (
    e2e,
    floor_naive,
    history,
    latency,
    peer,
    producer_kcat,
    scale,
    snapshot,
    snapshot_real,
    steady_state,
)
from bench.scenarios.common import FULL, QUICK, Ctx, Result
from bench.snapshots import SHARE
from bench.stack import Stack, load_stack

Scenario = Callable[[Ctx], Awaitable[Result]]
SCENARIOS: dict[str, Scenario] = {
    "e2e": e2e.run,
    "floor": floor_naive.floor,
    "naive": floor_naive.naive,
    "producer": producer_kcat.producer_vs_kcat,
    "latency": latency.run,
    "memory": producer_kcat.producer_memory,
    "scale": scale.run,
    "snapshot": snapshot.run,
    "snapshot_real": snapshot_real.run,
    "history": history.run,  # lot history and change stream beside the snapshot
    "steady_state": steady_state.run,
    "peer": peer.run,  # after e2e: it compares with e2e's figure (or runs e2e itself)
}


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def _versions(stack: Stack) -> dict[str, str]:
    conn = await asyncpg.connect(stack.admin_dsn)
    try:
        pg = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    jars = sorted(Path.home().glob(".cache/vinops/kafka-*/libs/kafka_2.13-*.jar"))
    kcat = await asyncio.to_thread(
        lambda: subprocess.run(["kcat", "-V"], capture_output=True, text=True, check=False).stdout
    )
    return {
        "python": platform.python_version(),
        "postgresql": pg,
        "kafka": jars[0].stem.removeprefix("kafka_2.13-") if jars else "unknown",
        "aiokafka": version("aiokafka"),
        "asyncpg": version("asyncpg"),
        "kcat": kcat.split("\n", 1)[0].strip() or "unknown",
        "kafka_connect": peer_versions()[0],
        "debezium_jdbc": peer_versions()[1],
    }


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
    }


async def main_async(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    rows = args.rows or sizes.rows
    if args.rows:
        sizes = replace(sizes, rows=rows)
    stack = load_stack()
    spec = Spec(rows=rows, seed=7)
    path = spec.default_path()
    t0 = time.monotonic()
    if not path.exists():
        generate(spec, path)
    print(f"feed file {path} ({rows:,} rows, generated/cached in {time.monotonic() - t0:.1f}s)")
    ctx = Ctx(stack=stack, sizes=sizes, file=path, expected=expected([path]), quick=args.quick)
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    results: dict[str, Any] = {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "quick" if args.quick else "full",
        # A subset or another size must not replace the committed full-run results.
        "partial": bool(args.only or args.rows),
        "machine": _machine(),
        "versions": await _versions(stack),
        "sizes": {
            "rows": rows,
            "memory_rows": sizes.memory_rows,
            "latency_rate": sizes.latency_rate,
            "latency_seconds": sizes.latency_seconds,
            "naive_seconds": sizes.naive_seconds,
            "snapshots": snapshot.SNAPSHOTS,
            "snapshot_changed_share": SHARE,
        },
        "file": {
            "path": str(path),
            "bytes": path.stat().st_size,
            "rows": ctx.expected.rows,
            "good_rows": ctx.expected.good,
            "distinct_lots": len(ctx.expected.lots),
        },
        "scenarios": {},
    }
    for name in chosen:
        started = time.monotonic()
        print(f"--- {name} ...", flush=True)
        try:
            results["scenarios"][name] = ctx.results[name] = await SCENARIOS[name](ctx)
        except Exception as exc:  # noqa: BLE001 - a crashed scenario is reported, others run
            ctx.fail(f"{name}: crashed: {type(exc).__name__}: {exc}")
            traceback.print_exc()
        print(f"    {name} done in {time.monotonic() - started:.1f}s", flush=True)
    results.update(report.headline(results))
    results["targets"] = report.targets(results)
    results["failures"] = ctx.failures
    out = report.write(results)
    print()
    print(report.table(results))
    print(f"\nresults: {out}  chart: {report.OUT / 'chart.png'}")
    for failure in ctx.failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if ctx.failures else 0


# Tools the run calls as programs: (command, Debian package that provides it).
TOOLS = (("kcat", "kcat"),)


def missing_tools(path: str | None = None) -> str | None:
    """One line naming what to install, or None when every tool is on PATH."""
    missing = [pkg for cmd, pkg in TOOLS if shutil.which(cmd, path=path) is None]
    if not missing:
        return None
    names = ", ".join(cmd for cmd, pkg in TOOLS if pkg in missing)
    return f"bench: {names} not found: install it (apt-get install -y {' '.join(missing)})"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="CI size (~20k rows, < 3 minutes)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--rows", type=int, help="override the feed size")
    args = p.parse_args(argv)
    # Checked before any service or feed work, so a missing tool costs one line, not a
    # traceback minutes into the run.
    missing = missing_tools()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
