"""Which rows need no work: their content is already applied, in an earlier batch or earlier
in this one. Such a row becomes a bare ``Reference`` (raw.file_rows) and is counted unchanged
with the stored content's field counts; it is never decoded or mapped. The digest it is
judged by is the one intake computed from the value itself: a digest header is never trusted.
"""

from __future__ import annotations

from consumer.prepare.prepared import Known


class KnownContents:
    def __init__(self, known: Known) -> None:
        self._known = known
        self.unchanged = 0
        self.fields_total = 0
        self.fields_unknown = 0
        # Contents first seen in this batch and mapped, with their field counts: a repeat is
        # referenced, not processed, and counts its fields as the first did.
        self._mapped: dict[bytes, tuple[int, int]] = {}

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

    def applied(self, digest: bytes, observed: tuple[str, ...] | None) -> bool:
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
