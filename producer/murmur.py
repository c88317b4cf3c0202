"""Kafka's default partitioner (murmur2 of the key), without aiokafka's byte-by-byte loop.

Same function as ``org.apache.kafka.common.utils.Utils.murmur2`` and
``aiokafka.partitioner.murmur2`` (a test holds them equal), so a lot keeps the partition
any other Kafka client would give it. Reading the key as 32-bit words with one
``struct.unpack_from`` call makes it ~3x cheaper than aiokafka's per-byte version.
"""

from __future__ import annotations

import struct
from functools import cache

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@cache
def _words(n: int) -> struct.Struct:
    return struct.Struct(f"<{n}I")


def murmur2(data: bytes) -> int:
    """Unsigned 32-bit murmur2 of ``data`` (Kafka's seed)."""
    length = len(data)
    h = _SEED ^ length
    n = length >> 2
    for word in _words(n).unpack_from(data):
        k = (word * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = length & 3
    if tail:
        at = n << 2
        if tail == 3:
            h ^= data[at + 2] << 16
        if tail >= 2:
            h ^= data[at + 1] << 8
        h = ((h ^ data[at]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_index(key: bytes, n_partitions: int) -> int:
    """Index into the sorted partition list, as Kafka's default partitioner picks it."""
    return (murmur2(key) & 0x7FFFFFFF) % n_partitions
