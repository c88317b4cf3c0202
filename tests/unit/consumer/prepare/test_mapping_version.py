"""The mapping has a version: what a row maps to cannot change without a bump of
``consumer.prepare.mapping.MAPPING_VERSION`` (contents applied under the old version are then
applied again instead of skipped).

The fingerprint is a digest of everything the sample files' rows map to. When it changes, a
change of the mapping changed what stored rows would become: bump MAPPING_VERSION and record
the new fingerprint below under the new version (keep the old ones: they are the history).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from consumer.prepare.mapping import MAPPING_VERSION, RowProblemError, map_row
from tests.rawfiles import published

SAMPLES = Path(__file__).resolve().parents[4] / "samples"

FINGERPRINTS = {
    1: "c93ad559bd1e62dfcba818f6b9b3e282cdca2960840cb4bc8231fa07694fdfb2",
}


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("copart-sample.csv", "copart-sample-camel.csv"):
        _, dialect, messages = published((SAMPLES / name).read_bytes())
        for record, message in messages:
            if message.malformed:
                continue
            try:
                mapped = map_row(dialect, orjson.loads(message.value))
            except RowProblemError as exc:
                outcome = orjson.dumps([record.row_no, exc.reason])
            else:
                outcome = orjson.dumps(
                    [record.row_no, mapped.lot, mapped.vehicle, mapped.vin,
                     mapped.source_updated_at, mapped.images, mapped.fields_total,
                     mapped.fields_unknown],
                    default=str,
                )  # fmt: skip
            digest.update(outcome)
    return digest.hexdigest()


def test_what_rows_map_to_changes_only_with_a_new_mapping_version() -> None:
    assert FINGERPRINTS.get(MAPPING_VERSION) == fingerprint(), (
        "what a row maps to changed: bump consumer.prepare.mapping.MAPPING_VERSION and record "
        "the new fingerprint in FINGERPRINTS under it"
    )
