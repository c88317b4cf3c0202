"""`consumer dlq replay`: selected dead letters back to the row topic, once each.

Each letter goes back with the refused message's key, headers and partition. A cut letter's
value comes from the copy the database kept (audit.parse_errors, else the raw layer) and is
sent only when its SHA-256 is the one the letter names. A letter is claimed in
ingest.dlq_replays (committed) before it is sent and marked sent after Kafka's
acknowledgement, so no run sends it twice; a crash in between leaves it in doubt, resent
only on request (the ingest is idempotent: a resend duplicates nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from consumer.admin.dlq_letters import Letter

Source = tuple[str, int, int]

_STATES_SQL = """
SELECT source_topic, source_partition, source_offset, state FROM ingest.dlq_replays
WHERE (source_topic, source_partition, source_offset) IN (
    SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]))
"""
_FROM_PARSE_ERROR_SQL = "SELECT raw FROM audit.parse_errors WHERE dedup_key = $1"
_FROM_RAW_LAYER_SQL = """
SELECT c.body::text FROM raw.file_rows r JOIN raw.v_contents c ON c.digest = r.digest
WHERE r.file_id = $1::uuid AND r.row_no = $2
  AND r.block_first_row_no <= $2 AND r.block_last_row_no >= $2
"""
_CLAIM_SQL = """
INSERT INTO ingest.dlq_replays (source_topic, source_partition, source_offset, dlq_topic,
    dlq_partition, dlq_offset, reason, file_id, row_no, value_from, state, replay_topic)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid, $9, $10, 'sending', $11)
ON CONFLICT (source_topic, source_partition, source_offset) DO UPDATE
    SET claimed_at = now(), dlq_partition = EXCLUDED.dlq_partition,
        dlq_offset = EXCLUDED.dlq_offset
    WHERE ingest.dlq_replays.state = 'sending' AND $12
RETURNING 1
"""
_SENT_SQL = """
UPDATE ingest.dlq_replays SET state = 'sent', sent_at = now(), replay_partition = $4,
    replay_offset = $5
WHERE (source_topic, source_partition, source_offset) = ($1, $2, $3)
"""


@dataclass(frozen=True, slots=True)
class Selection:
    reason: str | None = None
    file: str | None = None  # a file id or sha256, or a prefix of one

    def takes(self, letter: Letter) -> bool:
        if self.reason is not None and letter.reason != self.reason:
            return False
        if self.file is None:
            return True
        wanted = self.file.lower()
        return any((v or "").lower().startswith(wanted) for v in (letter.file_id, letter.sha256))


@dataclass(slots=True)
class Counts:
    selected: int = 0
    replayed: int = 0
    already_replayed: int = 0
    in_doubt: int = 0  # claimed by a run that died before the acknowledgement
    duplicates: int = 0  # a second letter of one refused message
    unrecoverable: int = 0  # cut, and the database holds no copy with the letter's SHA-256
    without_source: int = 0  # no vinops-source-* headers: nowhere to send it back to
    failed: int = 0  # Kafka did not take it (claimed: in doubt from now on)
    planned: list[tuple[Letter, str]] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        verb = "would replay" if dry_run else "replayed"
        parts = [f"{self.selected} selected", f"{self.replayed} {verb}"]
        for name in ("already_replayed", "in_doubt", "duplicates", "unrecoverable",
                     "without_source", "failed"):  # fmt: skip
            n = getattr(self, name)
            if n:
                parts.append(f"{n} {name.replace('_', ' ')}")
        return ", ".join(parts)

    @property
    def complete(self) -> bool:
        return not (self.in_doubt or self.unrecoverable or self.without_source or self.failed)


def first_per_message(letters: Iterable[Letter], counts: Counts) -> list[tuple[Letter, Source]]:
    seen: set[Source] = set()
    out: list[tuple[Letter, Source]] = []
    for letter in letters:
        source = letter.source
        if source is None:
            counts.without_source += 1
        elif source in seen:
            counts.duplicates += 1
        else:
            seen.add(source)
            out.append((letter, source))
    return out


async def replay_states(conn: asyncpg.Connection, sources: Sequence[Source]) -> dict[Source, str]:
    rows = await conn.fetch(
        _STATES_SQL, [s[0] for s in sources], [s[1] for s in sources], [s[2] for s in sources]
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


async def recover_value(conn: asyncpg.Connection, letter: Letter) -> tuple[bytes, str] | None:
    """The refused message's value and where it came from; None when a cut letter's copy in
    the database is missing or is not the message the letter names."""
    if not letter.cut:
        return letter.value, "letter"
    candidates: list[tuple[str, str | None]] = []
    if letter.stored_parse_error:
        raw = await conn.fetchval(_FROM_PARSE_ERROR_SQL, letter.stored_parse_error)
        candidates.append(("parse_error", raw))
    if letter.file_id and letter.row_no is not None:
        body = await conn.fetchval(_FROM_RAW_LAYER_SQL, letter.file_id, letter.row_no)
        candidates.append(("raw_layer", body))
    for origin, text in candidates:
        if text is None:
            continue
        value = text.encode("utf-8")
        if hashlib.sha256(value).hexdigest() == letter.value_sha256:
            return value, origin
    return None


async def plan(
    conn: asyncpg.Connection,
    letters: Sequence[Letter],
    selection: Selection,
    *,
    resend_in_doubt: bool,
) -> tuple[Counts, list[tuple[Letter, Source, bytes, str]]]:
    """What to send: (letter, source, value, value_from) per letter, and the counts so far."""
    counts = Counts()
    chosen = [x for x in letters if selection.takes(x)]
    counts.selected = len(chosen)
    firsts = first_per_message(chosen, counts)
    states = await replay_states(conn, [s for _, s in firsts])
    todo: list[tuple[Letter, Source, bytes, str]] = []
    for letter, source in firsts:
        state = states.get(source)
        if state == "sent":
            counts.already_replayed += 1
            continue
        if state == "sending" and not resend_in_doubt:
            counts.in_doubt += 1
            continue
        recovered = await recover_value(conn, letter)
        if recovered is None:
            counts.unrecoverable += 1
            continue
        todo.append((letter, source, *recovered))
        counts.planned.append((letter, recovered[1]))
    return counts, todo


async def send_back(
    conn: asyncpg.Connection,
    producer: Any,
    dlq_topic: str,
    todo: Sequence[tuple[Letter, Source, bytes, str]],
    counts: Counts,
    *,
    resend_in_doubt: bool,
) -> None:
    """Claim, send, await, mark sent. A claim another run holds is skipped (in doubt)."""
    claimed: list[tuple[Letter, Source, bytes]] = []
    for letter, source, value, origin in todo:
        won = await conn.fetchval(
            _CLAIM_SQL, *source, dlq_topic, letter.partition, letter.offset, letter.reason,
            letter.file_id, letter.row_no, origin, source[0], resend_in_doubt,
        )  # fmt: skip
        if won:
            claimed.append((letter, source, value))
        else:
            counts.in_doubt += 1
    pending = [
        (source, await producer.send(
            source[0], value=value, key=letter.key, partition=source[1],
            headers=list(letter.original_headers),
        ))
        for letter, source, value in claimed
    ]  # fmt: skip
    for source, future in pending:
        try:
            sent = await future
        except Exception:  # noqa: BLE001 - counted; the claim stays 'sending' (in doubt)
            counts.failed += 1
            continue
        await conn.execute(_SENT_SQL, *source, sent.partition, sent.offset)
        counts.replayed += 1
