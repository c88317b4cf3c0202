"""A key's partition is Kafka's default one: murmur2 exactly as the Java client computes it."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference
from hypothesis import given
from hypothesis import strategies as st

from producer.partitioner import partition_index

# org.apache.kafka.common.utils.Utils.murmur2 of these keys (signed int32, as Java prints it).
JAVA_MURMUR2 = {
    b"1": -1993445489,
    b"12": 126087238,
    b"123": -267702483,
    b"1234": -1614185708,
    b"12345": -1188365604,
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def test_murmur2_equals_the_java_client_on_its_own_values() -> None:
    for key, java in JAVA_MURMUR2.items():
        assert reference(key) == java & 0xFFFFFFFF, key


@given(st.binary(max_size=64), st.integers(min_value=1, max_value=64))
def test_partition_index_equals_the_default_partitioner_on_any_key(key: bytes, n: int) -> None:
    partitions = list(range(n))
    assert partition_index(key, n) == DefaultPartitioner()(key, partitions, partitions)


def test_lot_numbers_land_where_the_default_partitioner_puts_them() -> None:
    for lot in (b"26519090", b"71234567", b"1", b"", b"malformed:abcdef0123456789:7"):
        assert partition_index(lot, 6) == (reference(lot) & 0x7FFFFFFF) % 6
