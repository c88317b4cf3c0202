"""Kafka's default partitioner for keyed records: murmur2 of the key picks the partition.

The hash is aiokafka's public ``aiokafka.partitioner.murmur2``, the same function as the Java
client's ``Utils.murmur2`` (a test holds it to the Java client's own values), so a lot gets
the partition any other Kafka client would give it. A hand-written version reading 32-bit
words was ~25% cheaper per key, ~0.2 s of CPU per 200,000 rows (~2% of the producer's): not
worth a second copy of the function (bench/producer-notes.md).
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_index(key: bytes, n_partitions: int) -> int:
    """Index into the sorted partition list, as Kafka's default partitioner picks it."""
    h: int = murmur2(key)
    return (h & 0x7FFFFFFF) % n_partitions
