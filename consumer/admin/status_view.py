"""`consumer status` drawn for people: rich tables, printed once or redrawn in place
(``--watch``). ``--json`` does not come here (status_cli.py prints the same facts as JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from consumer.admin.status_report import Report
from consumer.observe.status import FileStatus


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def since(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = max(0, int((now - when).total_seconds()))
    ago = (
        f"{seconds}s"
        if seconds < 120
        else f"{seconds // 60}m"
        if seconds < 7200
        else (f"{seconds // 3600}h")
    )
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z ({ago} ago)"


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


def partitions_table(report: Report, now: datetime) -> Table:
    table = Table(title=f"Partitions (group {report.group_id})", title_justify="left")
    for name in ("topic", "partition", "committed", "end", "lag", "lag (s)", "last commit"):
        table.add_column(name, justify="left" if name in ("topic", "last commit") else "right")
    for p in report.partitions:
        age = "-" if p.lag_seconds is None else f"{p.lag_seconds:.0f}"
        table.add_row(
            p.topic, str(p.partition), _dash(p.committed), _dash(p.end), _dash(p.lag_messages),
            age, since(p.last_commit, now),
        )  # fmt: skip
    if not report.partitions:
        table.add_row("(nothing committed yet)", "", "", "", "", "", "")
    return table


def last_hour_table(report: Report) -> Table:
    table = Table(title="Last hour", title_justify="left")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for name, n in report.last_hour.items():
        table.add_row(name.replace("_", " "), str(n))
    return table


def dead_letters_table(report: Report) -> Table:
    in_topic = _dash(report.dead_letters_in_topic)
    replays = ", ".join(f"{n} {state}" for state, n in sorted(report.replays.items())) or "none"
    table = Table(
        title=f"Dead letters: {in_topic} in the topic",
        title_justify="left",
        caption=f"replayed: {replays}",
        caption_justify="left",
    )
    table.add_column("reason")
    table.add_column("total", justify="right")
    table.add_column("last hour", justify="right")
    for reason, counts in report.parse_errors.items():
        table.add_row(reason, str(counts["total"]), str(counts["last_hour"]))
    if not report.parse_errors:
        table.add_row("(none)", "0", "0")
    return table


def storage_table(report: Report) -> Table:
    table = Table(title="Storage", title_justify="left")
    table.add_column("schema")
    table.add_column("size", justify="right")
    for schema, n in report.storage.items():
        table.add_row(schema, size(n))
    return table


def files_table(files: Sequence[FileStatus]) -> Table:
    table = Table(title="Files", title_justify="left")
    for name in ("file", "path", "published", "committed", "parse errors", "run"):
        table.add_column(name)
    for f in files:
        published = "-" if f.rows_published is None else str(f.rows_published)
        table.add_row(
            f.file_id[:8], f.path, published, str(f.rows_committed), str(f.parse_errors),
            f.run_status,
        )  # fmt: skip
    if not files:
        table.add_row("(no files yet)", "", "", "", "", "")
    return table


def render(report: Report, files: Sequence[FileStatus], now: datetime) -> RenderableType:
    return Group(
        Text(f"vinops ingest status at {now.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"),
        partitions_table(report, now),
        last_hour_table(report),
        dead_letters_table(report),
        storage_table(report),
        files_table(files),
    )
