"""SQL fragments of the lot history and the change outbox (pure text; rendered into the
statements by ``consumer.store.statements``).

One list of fields (``HISTORY_FIELDS``) says what a version holds and what a change event
compares: the lot's columns as the lots upsert writes them, without the source time, which is
the version's ``valid_from`` (a version differing only in it changes no field). Values are
built as jsonb in SQL from the same columns the upsert reads, so a version and an event cost
no Python round trip; time zones are rendered in UTC whatever the session's TimeZone, so one
version always has one ``data``.
"""

from __future__ import annotations

from collections.abc import Callable

from consumer.prepare.mapped import LOT_DATA_COLUMNS, LOT_TYPES

LOT_DESCRIPTION = ("year", "make", "model_group", "model_detail")
HISTORY_FIELDS: tuple[str, ...] = (
    "vin",
    "vin_raw",
    *(c for c in LOT_DATA_COLUMNS if c != "source_updated_at"),
    *LOT_DESCRIPTION,
)
# The event contract's version (schemas/lot-change.schema.json); readers check it.
EVENT_SCHEMA = "vinops.lot-change/1"
# jsonb_build_object takes at most 100 arguments: the fields are built in chunks and joined.
_CHUNK = 40


def utc(expr: str) -> str:
    """A timestamptz as an ISO 8601 UTC string, independent of the session's TimeZone."""
    return f"""to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def fields_jsonb(column: Callable[[str], str]) -> str:
    """The version's values as jsonb (NULLs left out), ``column(name)`` giving each one's
    expression."""
    pairs = []
    for name in HISTORY_FIELDS:
        expr = column(name)
        if LOT_TYPES.get(name) == "timestamptz":
            expr = utc(expr)
        pairs.append(f"'{name}', {expr}")
    chunks = [pairs[i : i + _CHUNK] for i in range(0, len(pairs), _CHUNK)]
    return (
        "jsonb_strip_nulls("
        + " || ".join(f"jsonb_build_object({', '.join(chunk)})" for chunk in chunks)
        + ")"
    )


def changed_fields(old: str, new: str) -> str:
    """The names of the fields whose values differ between two versions' jsonb (text[])."""
    return (
        f"ARRAY(SELECT k FROM (SELECT jsonb_object_keys({old}) UNION "
        f"SELECT jsonb_object_keys({new})) AS keys(k) "
        f"WHERE ({old}) -> k IS DISTINCT FROM ({new}) -> k ORDER BY k)"
    )


def changes(old: str, new: str) -> str:
    """Each differing field's old and new value: {"field": {"old": .., "new": ..}} (jsonb)."""
    return (
        f"COALESCE((SELECT jsonb_object_agg(k, jsonb_build_object('old', ({old}) -> k, "
        f"'new', ({new}) -> k)) FROM (SELECT jsonb_object_keys({old}) UNION "
        f"SELECT jsonb_object_keys({new})) AS keys(k) "
        f"WHERE ({old}) -> k IS DISTINCT FROM ({new}) -> k), '{{}}'::jsonb)"
    )


def event_id(*parts: str) -> str:
    """A stable event id (uuid) from what identifies the change: the same change recorded
    again (a restored database consuming again) has the same id, two changes never do."""
    text = " || '|' || ".join(f"COALESCE(({p})::text, '')" for p in parts)
    return f"encode(substring(sha256(convert_to({text}, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid"


def hex_of(expr: str) -> str:
    return f"encode({expr}, 'hex')"


DATA_OF_BATCH = fields_jsonb(lambda c: "b.vin_normalized" if c == "vin" else f"b.{c}")
