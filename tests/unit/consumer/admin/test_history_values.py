"""A version's values in full from the history as stored (0027): the newest holds every value,
an older one only its values of the fields its successor changed. The integration tests check
the same rule against public.lot_version_values() on generated histories."""

from __future__ import annotations

from consumer.admin.history import whole_values
from consumer.store.history_sql import HISTORY_FIELDS


def _array(**values: str | None) -> list[str | None]:
    return [values.get(f) for f in HISTORY_FIELDS]


def test_older_versions_read_back_through_what_their_successors_changed() -> None:
    first = _array(make="FORD", high_bid="0", status="Pure Sale")
    second = _array(make="FORD", high_bid="275", status="Pure Sale")
    newest = _array(make="FORD", high_bid="300", status=None)
    stored: list[tuple[list[str | None], list[str] | None]] = [
        (_array(high_bid="0"), None),  # thin: the second changed only the bid
        (_array(high_bid="275", status="Pure Sale"), ["high_bid"]),  # thin: bid and status
        (newest, ["high_bid", "status"]),
    ]
    assert whole_values(stored) == [first, second, newest]


def test_a_field_that_became_empty_reads_back_its_older_value() -> None:
    newest = _array(make="KIA", status=None)
    older = _array(status="On Approval")  # the newest emptied the status: the older keeps it
    assert whole_values([(older, None), (newest, ["status"])]) == [
        _array(make="KIA", status="On Approval"),
        newest,
    ]


def test_an_older_shorter_newest_array_reads_null_for_later_fields() -> None:
    short = ["4JGBF7BE5AA585531"]
    padded = ["4JGBF7BE5AA585531", *([None] * (len(HISTORY_FIELDS) - 1))]
    assert whole_values([(short, None)]) == [padded]


def test_no_versions_no_values() -> None:
    assert whole_values([]) == []
