"""Which row messages need no work: their content is already applied, in an earlier batch or
earlier in this one. Such a row becomes a bare ``Reference`` (raw.file_rows) and is counted
unchanged with the stored content's field counts; it is never decoded or mapped.

The hot path of a repeated snapshot: a row in the producer's header order (ROW_HEADERS) is
checked against its file's template, built once per batch from the first row, so a row costs
a few tuple look-ups. Its digest is the one ``prepare.identify`` computed from the value
itself: a digest header is never trusted. Anything unusual takes the full path, which says
what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from consumer.intake.records import Inbound
from consumer.prepare.prepared import Known, Reference, per_row_cells
from consumer.prepare.rejects import lot_of_key
from feed.contract import (
    DIGEST_AT,
    H_DIGEST,
    H_ROW_NO,
    ROW_HEADERS,
    ROW_NO_AT,
    ContractError,
    RowKind,
    RowMeta,
)

Headers = tuple[tuple[str, bytes], ...]
# A NamedTuple's own constructor is a Python function; tuple.__new__ builds the same object
# in C, which counts when it runs for every unchanged row.
_new_reference = tuple.__new__


class KnownContents:
    def __init__(self, known: Known, on_new_file: Callable[[RowMeta], None]) -> None:
        self._known = known
        self._on_new_file = on_new_file
        self.unchanged = 0
        self.fields_total = 0
        self.fields_unknown = 0
        # Contents first seen in this batch and mapped, with their field counts: a repeat is
        # referenced, not processed, and counts its fields as the first did.
        self._mapped: dict[bytes, tuple[int, int]] = {}
        # A row's headers in the producer's order, row number and digest left out -> the
        # file's RowMeta once they were checked, None when they are not a valid row's.
        self._templates: dict[Headers, RowMeta | None] = {}

    @property
    def found(self) -> Known:
        """What the look-up said (a bisected half of the batch reuses it)."""
        return self._known

    def stored(self, digest: bytes) -> bool:
        """The raw layer holds this content already (applied or not): its body is not resent."""
        return digest in self._known

    def mapped(self, digest: bytes, fields_total: int, fields_unknown: int) -> None:
        """This batch maps the content: a later row with it is only referenced."""
        self._mapped[digest] = (fields_total, fields_unknown)

    def reference(self, message: Inbound) -> Reference | None:
        """The fast path: a bare reference when the row is in the producer's header order and
        its content is applied; None sends the row down the full path."""
        h = message.headers
        if len(h) != len(ROW_HEADERS):
            return None
        digest_header, row_no_header = h[DIGEST_AT], h[ROW_NO_AT]
        if digest_header[0] != H_DIGEST or row_no_header[0] != H_ROW_NO:
            return None
        template_key = (h[0], h[1], h[3], h[4], h[5], h[6])
        if template_key in self._templates:
            meta = self._templates[template_key]
        else:
            meta = self._templates[template_key] = self._template(h)
        if meta is None:
            return None
        try:
            row_no = int(row_no_header[1])
        except ValueError:
            return None
        digest = message.digest
        if digest is None or not self._applied(digest, message.observed):
            return None
        return _reference(meta, row_no, message, digest, message.observed)

    def reference_parsed(
        self, message: Inbound, meta: RowMeta, digest: bytes, observed: tuple[str, ...] | None
    ) -> Reference | None:
        """The same decision for a row whose headers and digest the full path has worked out."""
        if not self._applied(digest, observed):
            return None
        return _reference(meta, meta.row_no, message, digest, observed)

    def _template(self, headers: Headers) -> RowMeta | None:
        if tuple(name for name, _ in headers) != ROW_HEADERS:
            return None
        try:
            meta = RowMeta.from_kafka_headers(headers)
        except ContractError:
            return None
        if meta.kind is not RowKind.ROW:
            return None
        self._on_new_file(meta)
        return meta

    def _applied(self, digest: bytes, observed: tuple[str, ...] | None) -> bool:
        """True, and counted unchanged, when the content was applied before.

        Stored with cells cut or without must agree with this row: only then are the stored
        content's bytes this row's value without its observation cells.
        """
        counts = self._known.get(digest)
        if counts is None:
            repeat = self._mapped.get(digest)
            if repeat is None:
                return False  # new, or stored but never applied: processed again
            self.fields_total += repeat[0]
            self.fields_unknown += repeat[1]
        elif counts[2] is not (observed is not None):
            return False
        else:
            self.fields_total += counts[0]
            self.fields_unknown += counts[1]
        self.unchanged += 1
        return True


def _reference(
    meta: RowMeta, row_no: int, message: Inbound, digest: bytes, observed: tuple[str, ...] | None
) -> Reference:
    """The bare reference of an applied row (raw.file_rows' COPY column order)."""
    return _new_reference(
        Reference, (meta.file_id, row_no, "row", lot_of_key(message.key), digest, None,
                    message.partition, message.offset, per_row_cells(observed, row_no)),
    )  # fmt: skip
