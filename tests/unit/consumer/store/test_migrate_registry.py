"""The migration registry, checked without a database."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumer.store.migrate import (
    Applied,
    IntegrityError,
    RegistryError,
    State,
    default_migrations_dir,
    load_registry,
    pending,
    status_lines,
)

DIR = default_migrations_dir()
REGISTRY = load_registry(DIR)


def applied(*ids: str, sha: str | None = None) -> dict[str, Applied]:
    by_id = {m.id: m for m in REGISTRY}
    when = datetime(2025, 1, 1, tzinfo=UTC)
    return {
        i: Applied(i, by_id[i].file if i in by_id else f"{i}_x.sql", sha or by_id[i].sha256,
                   when, "vinops_admin")
        for i in ids
    }  # fmt: skip


def test_ids_are_sequential_and_files_exist() -> None:
    assert [int(m.id) for m in REGISTRY] == [n + 6 * (n > 23) for n in range(1, len(REGISTRY) + 1)]
    assert len(REGISTRY) >= 13
    for m in REGISTRY:
        assert m.path.is_file()
        assert m.file.startswith(f"{m.id}_")
        assert m.purpose
        assert m.rollback


def test_every_sql_file_is_registered() -> None:
    assert sorted(p.name for p in DIR.glob("*.sql")) == [m.file for m in REGISTRY]


def test_only_0005_is_superseded() -> None:
    assert [m.file for m in REGISTRY if m.superseded] == ["0005_vin_normalized_fix.sql"]


def test_checksums_are_the_sha256_of_the_bytes() -> None:
    for m in REGISTRY:
        assert m.sha256 == hashlib.sha256(m.path.read_bytes()).hexdigest()


def test_every_file_starts_with_a_header_naming_purpose_and_rollback() -> None:
    for m in REGISTRY:
        text = m.sql()
        assert text.startswith(f"-- {m.path.stem}"), m.file
        assert "Rollback:" in text, m.file


def test_pending_skips_superseded_and_applied() -> None:
    todo = pending(REGISTRY, applied("0001", "0002"))
    assert [m.id for m in todo] == [m.id for m in REGISTRY[2:] if not m.superseded]
    assert "0005" not in [m.id for m in pending(REGISTRY, {})]


def test_a_changed_file_is_refused_by_name() -> None:
    with pytest.raises(IntegrityError, match=r"0002_constraints\.sql") as caught:
        pending(REGISTRY, {**applied("0001"), **applied("0002", sha="0" * 64)})
    assert caught.value.exit_code == 3
    lines = status_lines(REGISTRY, {**applied("0001"), **applied("0002", sha="0" * 64)})
    assert [line.state for line in lines[:5]] == [
        State.APPLIED, State.CHANGED, State.PENDING, State.PENDING, State.SUPERSEDED,
    ]  # fmt: skip


def test_an_unknown_applied_migration_is_refused() -> None:
    with pytest.raises(IntegrityError, match="9999"):
        pending(REGISTRY, applied("9999", sha="0" * 64))


def copy_with(tmp_path: Path, edit: object) -> Path:
    target = tmp_path / "m"
    shutil.copytree(DIR, target)
    entries = json.loads((target / "_registry.json").read_text())
    (target / "_registry.json").write_text(json.dumps(edit(entries)))  # type: ignore[operator]
    return target


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda e: e[:1] + e[2:], "id 0002"),
        (lambda e: [*e[:-1], {**e[-1], "file": f"{e[-1]['id']}_missing.sql"}], "not found"),
        (lambda e: [*e[:-1], {k: v for k, v in e[-1].items() if k != "rollback"}], "rollback"),
        (lambda e: [*e[:-1], {**e[-1], "superseded": "no"}], "true or false"),
        (lambda e: {}, "non-empty JSON list"),
    ],
)
def test_broken_registries_are_refused(tmp_path: Path, edit: object, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        load_registry(copy_with(tmp_path, edit))


def test_missing_registry_names_the_override(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="--migrations-dir"):
        load_registry(tmp_path)
