"""SQL fragments of the lot history and the change outbox (pure text; rendered into the
statements by ``consumer.store.statements``).

One list of fields (``HISTORY_FIELDS``) says what a version holds and what a change event
compares: the lot's columns as the lots upsert writes them, without the source time, which is
the version's ``valid_from`` (a version differing only in it changes no field). A version's
values are a text[] in this order (``public.lot_history_fields()`` names them in SQL): built
from plain column references it costs ~2 us a row, where a jsonb object cost ~40 us and a
field read out of a composite row value costs more with every field. Each value is rendered
by one rule whatever the session's DateStyle and TimeZone, so one version has one ``data``.
Fields are only ever appended to the list (a shorter array of an older version reads NULL for
the new ones): the list in the lot history migration (0026) and this one are kept equal by a test.
"""

from __future__ import annotations

from collections.abc import Callable

from consumer.prepare.mapped import LOT_DATA_COLUMNS, LOT_TYPES, VEHICLE_TYPES

LOT_DESCRIPTION = ("year", "make", "model_group", "model_detail")
HISTORY_FIELDS: tuple[str, ...] = (
    "vin",
    "vin_raw",
    *(c for c in LOT_DATA_COLUMNS if c != "source_updated_at"),
    *LOT_DESCRIPTION,
)
TYPES = {**LOT_TYPES, **VEHICLE_TYPES}
# Fields whose text is a JSON number or boolean in an event (the rest are strings).
NUMBERS = tuple(
    f for f in HISTORY_FIELDS if TYPES.get(f, "").startswith(("integer", "smallint", "numeric"))
)
BOOLEANS = tuple(f for f in HISTORY_FIELDS if TYPES.get(f) == "boolean")
# The event contract's version (schemas/lot-change.schema.json); readers check it.
EVENT_SCHEMA = "vinops.lot-change/1"
# json_build_object takes at most 100 arguments: larger objects are built in parts.
_PAIRS = 50


def utc(expr: str) -> str:
    """A timestamptz as an ISO 8601 UTC string, independent of the session's TimeZone."""
    return f"""to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def as_text(name: str, expr: str) -> str:
    """A field's value as the text a version stores (DateStyle and TimeZone do not matter)."""
    kind = TYPES.get(name, "text")
    if kind == "timestamptz":
        return utc(expr)
    if kind == "timestamp":
        return f"""to_char({expr}, 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
    if kind == "date":
        return f"to_char({expr}, 'YYYY-MM-DD')"
    return expr if kind == "text" else f"({expr})::text"


def values_array(column: Callable[[str], str]) -> str:
    """A version's values as text[] in HISTORY_FIELDS order; ``column(name)`` is each one's
    expression (a plain column reference: cheap)."""
    return "ARRAY[" + ", ".join(as_text(f, column(f)) for f in HISTORY_FIELDS) + "]::text[]"


NAMES = "ARRAY[" + ", ".join(f"'{f}'" for f in HISTORY_FIELDS) + "]::text[]"


def changed_fields(old: str, new: str) -> str:
    """The names of the fields whose values differ between two versions' arrays (text[])."""
    return (
        f"ARRAY(SELECT u.f FROM unnest({NAMES}, {old}, {new}) AS u(f, o, n) "
        "WHERE u.o IS DISTINCT FROM u.n)"
    )


def thinned(old: str, new: str) -> str:
    """An older version's data as stored once ``new`` follows it: its values where they
    differ from ``new`` (the fields ``new`` changed), NULL elsewhere (0027)."""
    return (
        f"ARRAY(SELECT CASE WHEN u.o IS DISTINCT FROM u.n THEN u.o END "
        f"FROM unnest({old}, {new}) WITH ORDINALITY AS u(o, n, i) ORDER BY u.i)"
    )


def whole(v: str) -> str:
    """Stored version ``v``'s values in full: its own data when no version follows it (one
    index probe), else public.lot_version_values()."""
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM public.lot_versions x "
        f"WHERE x.lot_external_id = {v}.lot_external_id "
        f"AND (x.valid_from, x.version) > ({v}.valid_from, {v}.version)) "
        f"THEN public.lot_version_values({v}.lot_external_id, {v}.valid_from, {v}.version) "
        f"ELSE {v}.data END"
    )


def _typed(field: str, value: str) -> str:
    """A field's stored text as its JSON value: a number, a boolean or a string."""
    numbers = "ARRAY[" + ", ".join(f"'{f}'" for f in NUMBERS) + "]"
    booleans = "ARRAY[" + ", ".join(f"'{f}'" for f in BOOLEANS) + "]"
    return (
        f"CASE WHEN {field} = ANY({numbers}) THEN to_json(({value})::numeric) "
        f"WHEN {field} = ANY({booleans}) THEN to_json(({value})::boolean) "
        f"ELSE to_json({value}) END"
    )


def changes(old: str, new: str) -> str:
    """Each differing field's old and new value: {"field": {"old": .., "new": ..}} (json;
    only the changed fields are converted)."""
    return (
        f"COALESCE((SELECT json_object_agg(u.f, json_build_object('old', {_typed('u.f', 'u.o')},"
        f" 'new', {_typed('u.f', 'u.n')})) FROM unnest({NAMES}, {old}, {new}) AS u(f, o, n) "
        "WHERE u.o IS DISTINCT FROM u.n), '{}'::json)"
    )


def fields_json(column: Callable[[str], str]) -> str:
    """The lot's values as a typed JSON object, NULLs left out (a created event's fields)."""
    pairs = [f"'{f}', {utc(column(f)) if TYPES.get(f) == 'timestamptz' else column(f)}"
             for f in HISTORY_FIELDS]  # fmt: skip
    parts = [f"json_build_object({', '.join(pairs[i : i + _PAIRS])})"
             for i in range(0, len(pairs), _PAIRS)]  # fmt: skip
    if len(parts) == 1:
        return f"json_strip_nulls({parts[0]})"
    # Objects joined as text: '{a}' and '{b}' make '{a, b}'.
    inner = " || ', ' || ".join(f"substr(({p})::text, 2, length(({p})::text) - 2)" for p in parts)
    return f"json_strip_nulls(('{{' || {inner} || '}}')::json)"


def event_id(*parts: str) -> str:
    """A stable event id (uuid) from what identifies the change: the same change recorded
    again (a restored database consuming again) has the same id, two changes never do."""
    text = " || '|' || ".join(f"COALESCE(({p})::text, '')" for p in parts)
    return f"encode(substring(sha256(convert_to({text}, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid"


def hex_of(expr: str) -> str:
    return f"encode({expr}, 'hex')"


DATA_OF_BATCH = values_array(lambda c: "b.vin_normalized" if c == "vin" else f"b.{c}")
