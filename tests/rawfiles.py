"""Source files for raw-layer round trips, and the check that an export gives their cells back.

The files: the bundled samples (member 59 columns with BOM, CRLF, cp1252 rows, a multi-line
cell, short and long rows; camelCase 61), the bench generator's member and camel files at
2,000 rows (every rare quirk forced into the first rows, duplicates, malformed rows), and two
small hand-made member files (49 columns with a duplicated header name, 56 columns) holding
what the generator does not write: quotes, an empty lot number, a blank line, and a last
record without a line ending; a record with a NUL cell appended to the generated member
file (past the first MiB, the only place the producer lets one through); and the camel
sample with its last record repeated (one content referenced twice in a file, and from two
files).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

from bench.generate import Spec, generate
from feed.contract import file_id_for
from feed.dialects import detect
from feed.layouts import MEMBER_56, MEMBER_2020
from producer.messages import Message, MessageBuilder, is_blank
from producer.reader import CsvReader, Record
from producer.scan import CHUNK

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = (ROOT / "samples" / "copart-sample.csv", ROOT / "samples" / "copart-sample-camel.csv")
ROWS = 2000


def records(data: bytes) -> tuple[list[str], list[Record]]:
    """Header and records as the producer reads them (blank lines, never published, left out)."""
    reader = CsvReader(io.BytesIO(data))
    assert reader.header is not None
    return reader.header, [r for r in reader.records() if not is_blank(r)]


def _handmade(path: Path, headers: Sequence[str]) -> Path:
    """Rows of the member sample re-cut to ``headers`` (by name), plus the odd cases."""
    sample_header, sample = records(SAMPLES[0].read_bytes())
    good = [dict(zip(sample_header, r.fields, strict=True)) for r in sample[:40]
            if r.error is None and len(r.fields) == len(sample_header)]  # fmt: skip
    cut = [[row[h] for h in headers] for row in good[:5]]
    at = {h: i for i, h in reversed(list(enumerate(headers)))}  # first column of a name
    cut[1][at["Special Note"]] = 'He said "hi", then\nleft'
    cut[2][at["Lot number"]] = ""  # no lot number: malformed
    cut[3][-1] = ""  # an empty last cell
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(cut[:2])
    out.write("\n")  # a blank line: numbered, not published
    writer.writerow(cut[2][:10])  # too few fields: malformed
    writer.writerows(cut[2:4])
    writer.writerow(cut[4])
    path.write_bytes(out.getvalue().rstrip("\n").encode("utf-8"))  # no final line ending
    return path


def source_files(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    member = Spec(rows=ROWS, seed=11, crlf=True, bom=True, malformed=6, duplicates=4,
                  showcase=True, cp1252_share=0.05)  # fmt: skip
    camel = Spec(rows=ROWS, seed=11, dialect="camel", malformed=4, duplicates=3)
    return [
        *SAMPLES,
        _nul_at_end(generate(member, directory / "nasty-member.csv").path),
        generate(camel, directory / "nasty-camel.csv").path,
        _handmade(directory / "member-49-dup.csv", (*MEMBER_2020, "Special Note")),
        _handmade(directory / "member-56.csv", MEMBER_56),
        _again(directory / "camel-again.csv"),
    ]


def _nul_at_end(path: Path) -> Path:
    """One more record with a NUL in a cell. The producer refuses a file with NUL in its first
    MiB (binary data), not later: such a cell reaches the raw layer as the escape \\u0000."""
    data = path.read_bytes()
    header, recs = records(data)
    assert len(data) > CHUNK
    assert data.endswith(b"\r\n")
    cells = list(next(r for r in reversed(recs) if len(r.fields) == len(header)).fields)
    cells[header.index("Make")] = "FO\x00RD"
    cells[header.index("Lot number")] = "99999901"
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    path.write_bytes(data + out.getvalue().encode("utf-8"))
    return path


def _again(path: Path) -> Path:
    """The camel sample with its last record repeated: contents shared within and across files."""
    data = SAMPLES[1].read_bytes()
    path.write_bytes(data + data[data.rindex(b"\n", 0, len(data) - 1) + 1 :])
    return path


def assert_same_cells(source: bytes, exported: bytes, malformed: set[int]) -> None:
    """The export reads as the source: same header; per record the same cells, and for a
    malformed one (row numbers in ``malformed``) the same raw text. The source's own line
    endings are not kept, except in malformed rows' raw text."""
    exported.decode("utf-8")  # the export is UTF-8 throughout
    src_header, src = records(source)
    out_header, out = records(exported)
    assert out_header == src_header
    assert len(out) == len(src)
    for s, o in zip(src, out, strict=True):
        if s.row_no in malformed:
            ended = s.raw if s.raw.endswith(("\n", "\r")) else s.raw + "\r\n"
            assert o.raw == ended, s.row_no
        assert (o.fields, o.error) == (s.fields, s.error), s.row_no


def published(source: bytes) -> tuple[str, str, list[tuple[Record, Message]]]:
    """sha256, dialect, and every record the producer publishes with its exact message."""
    sha256 = hashlib.sha256(source).hexdigest()
    header, recs = records(source)
    layout = detect(header)
    builder = MessageBuilder(layout, file_id_for(sha256), sha256)
    return sha256, layout.dialect, [(r, builder.build(r)) for r in recs]
