"""The feed generator: deterministic, 59/61 columns, and every documented quirk present."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from bench.generate import SAMPLE_CAMEL, SAMPLE_MEMBER, Spec, generate
from bench.layouts import CAMEL_HEADERS, MEMBER_HEADERS
from bench.lots import us_dst
from feed.dialects import Dialect, detect
from feed.vin import check_digit, read_vin

ROOT = Path(__file__).resolve().parents[3]
DST_ZONES = {"EDT", "CDT", "MDT", "PDT", "AKDT"}


def _rows(data: bytes) -> list[list[str]]:
    text = "".join(
        line.decode("utf-8") if _utf8(line) else line.decode("cp1252")
        for line in io.BytesIO(data.removeprefix(b"\xef\xbb\xbf"))
    )
    return list(csv.reader(io.StringIO(text, newline="")))


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("gen") / "sample.csv"
    generate(SAMPLE_MEMBER, path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def good(sample: bytes) -> list[dict[str, str]]:
    rows = _rows(sample)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if len(r) == len(rows[0])]


def test_same_spec_gives_same_bytes(tmp_path: Path) -> None:
    spec = Spec(rows=120, seed=3, crlf=True)
    first = generate(spec, tmp_path / "a.csv").path.read_bytes()
    second = generate(spec, tmp_path / "b.csv").path.read_bytes()
    other = generate(Spec(rows=120, seed=4, crlf=True), tmp_path / "c.csv").path.read_bytes()
    assert first == second
    assert first != other


def test_member_header_has_59_columns_in_feed_order(sample: bytes) -> None:
    header = _rows(sample)[0]
    assert len(header) == 59
    assert tuple(header) == MEMBER_HEADERS
    assert header[34] == "High Bid =non-vix,Sealed=Vix"
    layout = detect(header)
    assert layout.dialect is Dialect.MEMBER
    assert [h for h, f in zip(layout.headers, layout.fields, strict=True) if f is None] == ["Id"]


def test_sample_counts_malformed_and_duplicates(sample: bytes, good: list[dict[str, str]]) -> None:
    rows = _rows(sample)[1:]
    assert len(rows) == 300
    assert sorted(len(r) for r in rows if len(r) != 59) == [54, 60]
    lots = Counter(r["Lot number"] for r in good)
    assert [n for n in lots.values() if n > 1] == [2]
    twice = next(lot for lot, n in lots.items() if n == 2)
    times = {r["Last Updated Time"] for r in good if r["Lot number"] == twice}
    assert len(times) == 2


def test_file_level_quirks(sample: bytes) -> None:
    assert sample.startswith(b"\xef\xbb\xbf")
    assert sample.count(b"\r\n") >= 300
    assert any(not _utf8(line) for line in sample.splitlines())  # a cp1252 row
    assert b'"MULTI-LINE NOTE\nSECOND LINE"' in sample
    assert re.search(rb',"\d+\.0","', sample)  # quoted High Bid
    assert re.search(rb',"[2468]","', sample)  # quoted Cylinders
    assert re.search(rb',\d+\.0,"[ANEX]",', sample)  # bare Odometer


def test_vin_variants(good: list[dict[str, str]]) -> None:
    vins = [r["VIN"] for r in good]
    assert "" in vins
    assert "[PREMIUM]" in vins
    assert "123456789" in vins
    assert any(re.fullmatch(r"[A-Z0-9]{11}\*{6}", v) for v in vins)
    readings = [read_vin(v) for v in vins if v]
    assert any(r is not None and r.transliterated for r in readings)
    assert any(r is not None and r.check_digit_ok is False for r in readings)
    valid = [v for v in vins if len(v) == 17 and re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", v)]
    assert len(valid) > 250
    assert sum(check_digit(v) == v[8] for v in valid) >= 0.97 * len(valid)


def test_value_quirks(good: list[dict[str, str]]) -> None:
    def values(col: str) -> set[str]:
        return {r[col] for r in good}

    unscheduled = sum(r["Sale Date M/D/CY"] == "0" for r in good)
    assert 0.35 < unscheduled / len(good) < 0.65
    assert any(r["Sale Date M/D/CY"] == "0" and r["Sale time (HHMM)"] != "0" for r in good)
    assert {"HST", "EDT"} <= values("Time Zone")
    assert values("Time Zone") & {"AKST", "AKDT"}
    assert values("Has Keys-Yes or No") == {"YES", "NO", "EXM"}
    assert values("Odometer Brand") == {"A", "N", "E", "X"}
    assert values("Vehicle Type") <= set("VKCRLUAMEJ")
    assert {"AUTOMATIC", "Automatic"} <= values("Transmission")
    assert {"GAS", "Gas"} <= values("Fuel Type")
    assert any("  " in e for e in values("Engine"))
    assert "2.0L 4" in values("Engine")
    assert {len(n) for n in values("Special Note")} == {28}
    assert all(len(m) <= 10 for m in values("Model Group") | values("Model Detail"))
    assert all(len(b) <= 8 for b in values("Body Style"))
    assert "94590 7203" in values("Location ZIP")
    canadian = [r for r in good if r["Location country"] == "CAN"]
    assert canadian
    assert {r["Currency Code"] for r in canadian} == {"CAD"}
    assert "E1E 4R8" in values("Location ZIP")
    assert all(t.startswith("cs.copart.com/") for t in values("Image Thumbnail"))
    assert all(r["Lot number"] in r["Image URL"] for r in good)


def test_times_and_zones_are_consistent(good: list[dict[str, str]]) -> None:
    earlier = 0
    for r in good:
        created = datetime.strptime(r["Create Date/Time"], "%Y-%m-%d-%H.%M.%S.%f")
        updated = datetime.strptime(r["Last Updated Time"], "%Y-%m-%dT%H:%M:%SZ")
        earlier += updated < created
        d = r["Sale Date M/D/CY"]
        if d != "0" and r["Time Zone"] not in {"HST", "MST"}:
            day = date(int(d[:4]), int(d[4:6]), int(d[6:]))
            assert (r["Time Zone"] in DST_ZONES) == us_dst(day), (d, r["Time Zone"])
    assert earlier >= 1  # real files: Last Updated Time can precede Create Date/Time


def test_next_file_relists_lots_with_newer_update_times(tmp_path: Path) -> None:
    def lots(index: int) -> dict[str, str]:
        path = generate(Spec(rows=200, seed=5, file_index=index), tmp_path / f"{index}.csv").path
        rows = _rows(path.read_bytes())
        return {r[8]: r[48] for r in rows[1:] if len(r) == 59}

    day0, day1 = lots(0), lots(1)
    shared = day0.keys() & day1.keys()
    assert 20 <= len(shared) <= 70
    assert all(day1[lot] > day0[lot] for lot in shared)


def test_camel_dialect(tmp_path: Path) -> None:
    path = generate(SAMPLE_CAMEL, tmp_path / "camel.csv").path
    rows = _rows(path.read_bytes())
    assert tuple(rows[0]) == CAMEL_HEADERS
    assert len(rows[0]) == 61
    assert detect(rows[0]).dialect is Dialect.CAMEL
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert len(body) == 50
    cells = [v for r in body for v in r.values()]
    unknown = sum(v in {"", "[PREMIUM]"} for v in cells) / len(cells)
    assert 0.25 < unknown < 0.35
    assert {r["hasKeys"] for r in body} >= {"true", "false"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d|", r["saleDate"]) for r in body)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", r["updatedAt"]) for r in body)


@pytest.mark.parametrize(
    ("name", "spec"),
    [("copart-sample.csv", SAMPLE_MEMBER), ("copart-sample-camel.csv", SAMPLE_CAMEL)],
)
def test_bundled_samples_match_the_generator(tmp_path: Path, name: str, spec: Spec) -> None:
    expected = generate(spec, tmp_path / name).path.read_bytes()
    assert (ROOT / "samples" / name).read_bytes() == expected
