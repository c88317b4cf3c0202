"""``consumer dlq list [--json]`` and ``consumer dlq replay [--reason R] [--file F]
[--dry-run] [--resend-in-doubt]``: argparse glue, settings and output only.

Exit codes: 0 done (replay: every selected letter is replayed, now or before); 1 some were
not (in doubt, unrecoverable, without a source, refused by Kafka), the counts say which;
2 configuration; 5 cannot connect to Kafka or PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError

from consumer.admin import dlq_replay
from consumer.admin.dlq_letters import Letter, read_letters
from consumer.config import pg_connect
from consumer.config.errors import CannotConnectError
from consumer.config.settings import Database
from feed.contract import DEFAULT_DLQ_TOPIC
from feed.kafka_security import KafkaSecurity, LoginRefusedError, check_login
from feed.settings import SettingsError, load

# The row topic's own limit decides; the client must not refuse first.
_MAX_REQUEST_BYTES = 64 * 1024 * 1024


def add_dlq_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``dlq list`` and ``dlq replay`` on the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dlq",
        help="list dead letters, or send them back to the row topic once fixed",
        description="Dead letters of VINOPS_DLQ_TOPIC (Kafka settings as `consumer run`).",
    )
    actions = parser.add_subparsers(dest="dlq_action", required=True)
    listing = actions.add_parser("list", help="reason, file, row, size and first bytes")
    listing.add_argument("--json", action="store_true", help="one JSON array, every field")
    replay = actions.add_parser(
        "replay", help="send selected letters back to the row topic, each once"
    )
    replay.add_argument("--reason", help="only letters with this vinops-reason")
    replay.add_argument("--file", help="only letters of this file (id or sha256, or a prefix)")
    replay.add_argument("--dry-run", action="store_true", help="say what would go; send nothing")
    replay.add_argument(
        "--resend-in-doubt",
        action="store_true",
        help="also resend letters a crashed replay claimed but may not have sent",
    )
    for p in (listing, replay):
        p.add_argument("--bootstrap-servers", help="env VINOPS_KAFKA_BOOTSTRAP")
        p.add_argument("--dlq-topic", help=f"env VINOPS_DLQ_TOPIC (default {DEFAULT_DLQ_TOPIC})")
    return parser


def _kafka(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[str, str, KafkaSecurity]:
    bootstrap = args.bootstrap_servers or env.get("VINOPS_KAFKA_BOOTSTRAP", "")
    if not bootstrap:
        raise SettingsError("VINOPS_KAFKA_BOOTSTRAP is required")
    topic = args.dlq_topic or env.get("VINOPS_DLQ_TOPIC") or DEFAULT_DLQ_TOPIC
    return bootstrap, topic, load(KafkaSecurity, env)


def _dsn(env: Mapping[str, str], required: bool) -> str | None:
    db = load(Database, env)
    if not db.dsn:
        if required:
            raise SettingsError("VINOPS_PG_DSN is required")
        return None
    return db.tls.apply(db.dsn)


async def _letters(bootstrap: str, topic: str, security: KafkaSecurity) -> list[Letter]:
    try:
        await check_login(bootstrap, security)
        return await read_letters(bootstrap, topic, security)
    except LoginRefusedError as exc:
        raise CannotConnectError(str(exc)) from exc
    except (KafkaConnectionError, OSError) as exc:
        raise CannotConnectError(f"cannot connect to Kafka at {bootstrap}: {exc}") from exc


def _as_dict(letter: Letter, state: str | None) -> dict[str, Any]:
    source = letter.source
    return {
        "partition": letter.partition,
        "offset": letter.offset,
        "reason": letter.reason,
        "error": letter.error,
        "file_id": letter.file_id,
        "row_no": letter.row_no,
        "size": letter.size,
        "cut": letter.cut,
        "first_bytes": letter.preview(),
        "key": (letter.key or b"").decode("utf-8", "backslashreplace"),
        "source": None
        if source is None
        else {"topic": source[0], "partition": source[1], "offset": source[2]},
        "replay": state,
    }


def render_table(rows: Sequence[dict[str, Any]]) -> str:
    head = ("AT", "REASON", "FILE", "ROW", "SIZE", "REPLAY", "FIRST BYTES")
    body = [
        (
            f"{r['partition']}:{r['offset']}",
            r["reason"],
            (r["file_id"] or "-")[:8],
            "-" if r["row_no"] is None else str(r["row_no"]),
            f"{r['size']}{' (cut)' if r['cut'] else ''}",
            r["replay"] or "-",
            r["first_bytes"],
        )
        for r in rows
    ]
    cells = [head, *body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in cells
    ]
    lines.append(f"{len(body)} dead letter(s)")
    return "\n".join(lines)


async def _states(dsn: str | None, letters: Sequence[Letter]) -> dict[Any, str]:
    sources = [s for s in (x.source for x in letters) if s is not None]
    if dsn is None or not sources:
        return {}
    conn = await pg_connect.connect(dsn)
    try:
        return await dlq_replay.replay_states(conn, sources)
    finally:
        await conn.close()


async def run_list(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    bootstrap, topic, security = _kafka(args, env)
    dsn = _dsn(env, required=False)  # without it the list shows no replay state
    letters = await _letters(bootstrap, topic, security)
    states = await _states(dsn, letters)
    rows = [_as_dict(x, states.get(x.source) if x.source else None) for x in letters]
    if args.json:
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode(), file=out)
    else:
        print(render_table(rows), file=out)
    return 0


async def _producer(bootstrap: str, security: KafkaSecurity) -> Any:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
        max_request_size=_MAX_REQUEST_BYTES,
        client_id="vinops-dlq-replay",
        **security.client_options(),
    )
    try:
        await producer.start()
    except KafkaError as exc:
        await producer.stop()
        raise CannotConnectError(f"cannot connect to Kafka at {bootstrap}: {exc}") from exc
    return producer


async def run_replay(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    bootstrap, topic, security = _kafka(args, env)
    dsn = _dsn(env, required=True)
    assert dsn is not None  # noqa: S101 - required above
    letters = await _letters(bootstrap, topic, security)
    selection = dlq_replay.Selection(reason=args.reason, file=args.file)
    conn = await pg_connect.connect(dsn)
    try:
        counts, todo = await dlq_replay.plan(
            conn, letters, selection, resend_in_doubt=args.resend_in_doubt
        )
        verb = "would replay" if args.dry_run else "replaying"
        for letter, origin in counts.planned:
            where = f"{letter.file_id or '-'}:{letter.row_no if letter.row_no is not None else '-'}"
            print(
                f"{verb} {letter.partition}:{letter.offset} {letter.reason} {where} "
                f"({letter.size} bytes, value from {origin})",
                file=out,
            )
        if args.dry_run:
            counts.replayed = len(todo)
        elif todo:
            producer = await _producer(bootstrap, security)
            try:
                await dlq_replay.send_back(
                    conn, producer, topic, todo, counts, resend_in_doubt=args.resend_in_doubt
                )
            finally:
                await producer.stop()
    finally:
        await conn.close()
    print(counts.line(args.dry_run), file=out)
    return 0 if counts.complete else 1


async def run_dlq(
    args: argparse.Namespace, env: Mapping[str, str], out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    if args.dlq_action == "list":
        return await run_list(args, env, out)
    return await run_replay(args, env, out)
