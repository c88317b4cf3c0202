"""Scenario: the steady state of a feed downloaded again and again, archived and pruned.

48 snapshots (quick: 6) of 20,000 rows (the bench file when it is that small, otherwise a
20,000-row file of the same generator: the issue's size whatever the run's), each the
previous one with 5% of the lots changed (``bench.snapshots``), published and drained one
after the other into one database. Before each download, `consumer archive --keep-last 11
(quick: 2) --to <dir> --prune` and a plain VACUUM (what autovacuum does on its own time:
freed space becomes reusable), so that after each snapshot PostgreSQL holds the references
of the last 12 (quick: 3). The database's bytes after each snapshot (after a CHECKPOINT).
Target: once the window is full (snapshot 13 on), a snapshot adds no more than 1.5x the CSV
bytes of the rows it changed: history is kept (new versions, new contents), unchanged rows
cost nothing that stays.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.expect import expected
from bench.generate import Spec, generate
from bench.procs import spawn, tail
from bench.scenarios.common import (
    Ctx,
    Result,
    consumer_cmd,
    database_bytes,
    db_counts,
    fresh,
    growth_by_table,
    publish_cmd,
    table_bytes,
)
from bench.snapshots import records, snapshot
from bench.stack import VENV_BIN, Database, Topics

SNAPSHOTS, KEEP = 48, 12
QUICK_SNAPSHOTS, QUICK_KEEP = 6, 3
ROWS = 20_000  # a snapshot's rows at any run size (the ratio does not depend on it)
TARGET = 1.5  # bytes a snapshot adds / CSV bytes of its changed rows, once the window is full


def changed_csv_bytes(prev: Path, cur: Path) -> int:
    """Bytes of the records of ``cur`` that differ from ``prev`` (the snapshots keep record
    order: a changed record is rewritten in place)."""
    with prev.open("rb") as a, cur.open("rb") as b:
        return sum(len(y) for x, y in zip(records(a), records(b), strict=True) if x != y)


async def _vacuum(ctx: Ctx, db: Database) -> None:
    conn = await asyncpg.connect(db.admin_dsn)
    try:
        await conn.execute("VACUUM")
    finally:
        await conn.close()


async def _step(
    ctx: Ctx, db: Database, topics: Topics, path: Path, *, k: int, keep: int, archive: Path
) -> Result:
    label = f"steady{k}"
    # Archive and prune first: the new snapshot makes the window `keep` files again. The
    # archiving login: the owner (a member of raw_archiver through admin).
    argv = [str(VENV_BIN / "consumer"), "archive", "--keep-last", str(keep - 1), "--to",
            str(archive), "--prune"]  # fmt: skip
    arch = await spawn(f"{label}-archive", argv, ctx.stack.env(VINOPS_PG_DSN=db.admin_dsn))
    if await arch.wait(1800) != 0:
        ctx.fail(f"steady state {k}: archive exit {arch.returncode}: {tail(arch.stderr)}")
    await _vacuum(ctx, db)
    pub = await spawn(f"{label}-producer", publish_cmd(topics, path), ctx.stack.env())
    if await pub.wait(1800) != 0:
        ctx.fail(f"steady state {k}: producer exit {pub.returncode}: {tail(pub.stderr)}")
        return {"error": "publish failed"}
    env = ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn)
    proc = await spawn(f"{label}-consumer", consumer_cmd(topics, "bench-steady"), env)
    if await proc.wait(1800) != 0:
        ctx.fail(f"steady state {k}: consumer exit {proc.returncode}: {tail(proc.stderr)}")
    return {"archive": arch.stdout.strip().splitlines()[-1] if arch.stdout.strip() else None}


def base_file(ctx: Ctx) -> Path:
    """The first snapshot: the bench file if it has at most ROWS rows, else a ROWS-row one."""
    if ctx.expected.rows <= ROWS:
        return ctx.file
    path = Spec(rows=ROWS, seed=7).default_path()
    if not path.exists():
        generate(Spec(rows=ROWS, seed=7), path)
    return path


async def run(ctx: Ctx) -> Result:
    snapshots, keep = (QUICK_SNAPSHOTS, QUICK_KEEP) if ctx.quick else (SNAPSHOTS, KEEP)
    base = base_file(ctx)
    rows = ctx.expected.rows if base == ctx.file else expected([base]).rows
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vinops-steady-") as archive_dir:
        async with fresh(ctx, "steady") as (db, topics):
            prev_bytes = await database_bytes(ctx.stack, db)
            tables = await table_bytes(ctx.stack, db)
            prev_path: Path | None = None
            for k in range(1, snapshots + 1):
                snap = snapshot(base, k)
                changed = changed_csv_bytes(prev_path, snap.path) if prev_path else None
                done = await _step(ctx, db, topics, snap.path, k=k, keep=keep,
                                  archive=Path(archive_dir))  # fmt: skip
                after = await database_bytes(ctx.stack, db)
                tables_after = await table_bytes(ctx.stack, db)
                added = after - prev_bytes
                step = {
                    "snapshot": k, "db_bytes": after, "added_bytes": added,
                    "changed_rows": snap.changed_rows, "changed_csv_bytes": changed,
                    "added_over_changed_csv": round(added / changed, 3) if changed else None,
                    "growth_by_table": growth_by_table(tables, tables_after, top=5),
                    **done,
                }  # fmt: skip
                steps.append(step)
                print(f"    snapshot {k}: db {after / 2**20:,.1f} MB, +{added / 2**10:,.0f} KB"
                      + (f" ({added / changed:.2f}x its changed CSV bytes)" if changed else ""),
                      flush=True)  # fmt: skip
                prev_bytes, tables, prev_path = after, tables_after, snap.path
            counts = await db_counts(db)
    window = [s["added_over_changed_csv"] for s in steps[keep:] if s["added_over_changed_csv"]]
    out: Result = {
        "snapshots": snapshots,
        "keep_last": keep,
        "rows_per_snapshot": rows,
        "steps": steps,
        "raw_rows_at_end": counts.get("raw_rows"),
        "lots_at_end": counts.get("lots"),
        "max_added_over_changed_csv": max(window) if window else None,
        "mean_added_over_changed_csv": round(sum(window) / len(window), 3) if window else None,
        "target": TARGET,
    }
    expected_raw = keep * rows
    if counts.get("raw_rows") != expected_raw:
        ctx.fail(f"steady state: raw rows {counts.get('raw_rows')} != {keep} kept snapshots "
                 f"({expected_raw})")  # fmt: skip
    chart(out, ctx)
    return out


def chart(out: Result, ctx: Ctx) -> None:
    """bench/out/steady-state.png: database size after each snapshot, and what each added
    against 1.5x its changed rows' CSV bytes."""
    import matplotlib as mpl  # noqa: PLC0415 - optional dependency (the `bench` extra)

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from bench.report import DOC_STEADY_CHART, OUT, STEADY_RESULTS  # noqa: PLC0415

    steps = out["steps"]
    ks = [s["snapshot"] for s in steps]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax.plot(ks, [s["db_bytes"] / 2**20 for s in steps], marker="o", markersize=3)
    ax.axvline(out["keep_last"] + 0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("snapshot")
    ax.set_ylabel("database MB")
    ax.set_title(f"database size, {out['rows_per_snapshot']:,} rows a snapshot, "
                 f"last {out['keep_last']} kept")  # fmt: skip
    later = [s for s in steps if s["changed_csv_bytes"]]
    ax2.bar([s["snapshot"] for s in later], [s["added_bytes"] / 2**10 for s in later],
            color="#3b76af", label="added")  # fmt: skip
    ax2.plot([s["snapshot"] for s in later],
             [TARGET * s["changed_csv_bytes"] / 2**10 for s in later],
             color="#d9822b", label="1.5x changed rows' CSV")  # fmt: skip
    ax2.axvline(out["keep_last"] + 0.5, color="grey", linestyle="--", linewidth=1)
    ax2.set_xlabel("snapshot")
    ax2.set_ylabel("KB")
    ax2.set_title("bytes each snapshot adds")
    ax2.legend()
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "steady-state.png", dpi=110)
    if not ctx.quick and out["snapshots"] == SNAPSHOTS:  # the figures committed
        DOC_STEADY_CHART.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(DOC_STEADY_CHART, dpi=110)
        STEADY_RESULTS.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
    plt.close(fig)
