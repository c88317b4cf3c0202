"""`consumer status --storage` drawn for people (``--json`` prints StorageReport.as_json)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from consumer.admin.status_view import size
from consumer.store.storage_report import StorageReport


def _signed(n: int | None) -> str:
    if n is None:
        return "-"
    return ("+" if n >= 0 else "-") + size(abs(n))


def schemas_table(report: StorageReport) -> Table:
    table = Table(title="Size per schema", title_justify="left")
    for name, justify in (("schema", "left"), ("size", "right"), ("rows", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for schema, n in report.schemas.items():
        table.add_row(schema, size(n), f"{report.schema_rows.get(schema, 0):,}")
    table.add_row("database", size(report.database_bytes), "")
    return table


def tables_table(report: StorageReport) -> Table:
    table = Table(title="Size per table (~: rows estimated)", title_justify="left")
    for name, justify in (("table", "left"), ("size", "right"), ("rows", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in report.tables:
        table.add_row(t.table, size(t.bytes), ("" if t.rows_exact else "~") + f"{t.rows:,}")
    return table


def growth_table(report: StorageReport) -> Table:
    table = Table(title="Growth per day (UTC)", title_justify="left")
    for name in ("day", "database", "growth", "files", "CSV bytes", "rows published"):
        table.add_column(name, justify="left" if name == "day" else "right")
    for d in report.growth:
        table.add_row(
            d.day.isoformat(), "-" if d.bytes is None else size(d.bytes), _signed(d.growth_bytes),
            str(d.files), size(d.csv_bytes), f"{d.rows_published:,}",
        )  # fmt: skip
    if not report.growth:
        table.caption = "no reading yet: a running consumer keeps one per day"
    return table


def staging_table(report: StorageReport) -> Table:
    table = Table(
        title=f"Staging partitions (kept by {report.staging_managed_by})", title_justify="left"
    )
    for name in ("partition", "from", "to", "size", "rows"):
        table.add_column(name, justify="right" if name in ("size", "rows") else "left")
    for p in report.staging_partitions:
        table.add_row(
            p.name,
            "default" if p.lower is None else f"{p.lower.astimezone(UTC):%Y-%m-%d}",
            "" if p.upper is None else f"{p.upper.astimezone(UTC):%Y-%m-%d}",
            size(p.bytes), f"{p.rows:,}",
        )  # fmt: skip
    return table


def files_table(report: StorageReport) -> Table:
    note = "" if report.archive_tracked else " (no archive yet: raw.csv_files.archived_at absent)"
    table = Table(title=f"Raw files{note}", title_justify="left")
    for name in ("", "files", "CSV bytes", "rows"):
        table.add_column(name, justify="left" if not name else "right")
    kinds = (
        ("archived", "archived"),
        ("pruned", "  of which pruned"),
        ("not_archived", "not archived"),
    )
    for kind, label in kinds:
        c = report.files.get(kind, {})
        table.add_row(label, str(c.get("files", 0)), size(c.get("bytes", 0)),
                      f"{c.get('rows', 0):,}")  # fmt: skip
    return table


def render(report: StorageReport, now: datetime) -> RenderableType:
    return Group(
        Text(f"vinops storage at {now.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"),
        schemas_table(report),
        tables_table(report),
        growth_table(report),
        staging_table(report),
        files_table(report),
    )
