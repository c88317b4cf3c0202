"""``consumer history LOT|VIN [--json]``: what happened to a lot, or to every lot of a VIN.

A rich table per lot (each version's validity, VIN and the fields it changed, old value struck
and new one highlighted), or ``--json`` for programs. Reads public.lot_versions through
VINOPS_PG_DSN. Exit codes: 0, 1 no such lot or VIN in the history, 2 configuration,
5 cannot connect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from consumer.admin.history import LotHistory, Version, as_json, history_of
from consumer.config import pg_connect
from consumer.config.settings import read_dsn

# A first version lists this many of its fields; the rest are counted (--json has them all).
_FIRST_FIELDS = 6


def add_history_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history",
        help="every version of a lot, or of the lots of a VIN, and what changed",
        description="The lot history (public.lot_versions): each version's validity in source "
        "time, its VIN and the fields that changed, for a lot number or a VIN.",
    )
    parser.add_argument("lot_or_vin", metavar="LOT|VIN", help="a lot number or a VIN")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _when(value: dt.datetime | None) -> str:
    return "now" if value is None else f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}Z"


def _value(value: object) -> str:
    return "-" if value is None else str(value)


def changes_text(version: Version) -> Text:
    text = Text()
    if version.changed is None:
        shown = list(version.data.items())[:_FIRST_FIELDS]
        text.append("created", style="bold green")
        for name, value in shown:
            text.append(f"\n{name}: {_value(value)}")
        if len(version.data) > len(shown):
            text.append(f"\n(+{len(version.data) - len(shown)} fields)", style="dim")
        return text
    if not version.changed:
        return Text("source time only", style="dim")
    for n, (name, change) in enumerate(version.changes().items()):
        if n:
            text.append("\n")
        text.append(f"{name}: ", style="bold")
        text.append(_value(change["old"]), style="red strike")
        text.append(" → ")
        text.append(_value(change["new"]), style="bold yellow")
    return text


def lot_table(lot: LotHistory) -> Table:
    removed = f", removed as of {_when(lot.removed_as_of)}" if lot.removed_as_of else ""
    table = Table(
        title=f"Lot {lot.lot}: {len(lot.versions)} version(s){removed}", title_justify="left"
    )
    for name in ("#", "valid from", "valid to", "VIN", "changes"):
        table.add_column(name, justify="right" if name == "#" else "left")
    for n, version in enumerate(lot.versions, 1):
        table.add_row(
            str(n), _when(version.valid_from), _when(version.valid_to), _value(version.vin),
            changes_text(version),
        )  # fmt: skip
    return table


def render(lots: list[LotHistory]) -> RenderableType:
    return Group(*(lot_table(lot) for lot in lots))


async def run_history(
    args: argparse.Namespace, env: Mapping[str, str], out: TextIO | None = None
) -> int:
    dsn = read_dsn("history", env)
    if dsn is None:
        return 2
    out = out or sys.stdout
    conn = await pg_connect.connect(dsn)
    try:
        lots = await history_of(conn, args.lot_or_vin)
    finally:
        await conn.close()
    if not lots:
        print(
            f"consumer history: no lot or VIN {args.lot_or_vin!r} in the history", file=sys.stderr
        )
        return 1
    if args.json:
        print(as_json(args.lot_or_vin, lots), file=out)
    else:
        Console(file=out, width=max(120, Console(file=out).width)).print(render(lots))
    return 0
