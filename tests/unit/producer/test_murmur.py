"""Our murmur2 is Kafka's: equal to aiokafka's reference on any key."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as reference
from hypothesis import given
from hypothesis import strategies as st

from producer.murmur import murmur2, partition_index


@given(st.binary(max_size=64))
def test_murmur2_equals_the_reference_on_any_bytes(key: bytes) -> None:
    assert murmur2(key) == reference(key) & 0xFFFFFFFF


def test_lot_numbers_land_where_the_default_partitioner_puts_them() -> None:
    for lot in (b"26519090", b"71234567", b"1", b"", b"malformed:abcdef0123456789:7"):
        assert partition_index(lot, 6) == (reference(lot) & 0x7FFFFFFF) % 6
