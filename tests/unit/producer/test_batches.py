"""Batches we compress: valid Kafka v2 batches, every record intact, producer state kept."""

from __future__ import annotations

import importlib.metadata
import os
import tomllib
from pathlib import Path

import pytest
from aiokafka.record.default_records import DefaultRecordBatch

from producer.batches import CODECS, CompressedBatch


def fill(batch: CompressedBatch, values: list[bytes]) -> None:
    for n, value in enumerate(values):
        headers = [("vinops-row-no", b"%d" % (n + 1))]
        assert batch.append(timestamp=None, key=b"%d" % n, value=value, headers=headers)


@pytest.mark.parametrize("codec", ["lz4", "zstd", None])
def test_batch_round_trips_with_its_codec_crc_and_producer_state(codec: str | None) -> None:
    values = [b'{"Lot number":"%d","Make":"TOYOTA"}' % n for n in range(500)]
    batch = CompressedBatch(512 * 1024, codec)
    fill(batch, values)
    batch._set_producer_state(42, 3, 1000)  # what aiokafka does before building
    built = bytes(batch._build())
    assert batch.size() == len(built)

    decoded = DefaultRecordBatch(built)
    assert decoded.validate_crc()
    assert decoded.compression_type == (CODECS[codec] if codec else 0)
    assert (decoded.producer_id, decoded.producer_epoch, decoded.base_sequence) == (42, 3, 1000)
    records = list(decoded)
    assert [r.value for r in records] == values
    assert [r.key for r in records] == [b"%d" % n for n in range(500)]
    assert records[499].headers == [("vinops-row-no", b"500")]
    assert [r.offset for r in records] == list(range(500))
    if codec:
        assert len(built) < sum(map(len, values))


def test_incompressible_records_are_sent_uncompressed() -> None:
    batch = CompressedBatch(512 * 1024, "lz4")
    fill(batch, [os.urandom(2000)])
    decoded = DefaultRecordBatch(bytes(batch._build()))
    assert decoded.validate_crc()
    assert decoded.compression_type == 0


def test_installed_aiokafka_is_the_exact_version_pyproject_pins() -> None:
    # CompressedBatch subclasses aiokafka's BatchBuilder and overrides private methods: it is
    # correct for the version the tests above ran on, which must be the one users install.
    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("aiokafka")]
    assert pins == [f"aiokafka=={importlib.metadata.version('aiokafka')}"]
