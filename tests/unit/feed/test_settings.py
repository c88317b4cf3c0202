"""The shared settings loader: env mapping in, typed frozen values out, secrets kept masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from feed.settings import SettingsError, describe, env, load, masked_repr, nested, secret, variables


@dataclass(frozen=True, slots=True)
class Inner:
    token: str | None = field(default=None, metadata=secret("T_TOKEN"))


@dataclass(frozen=True, slots=True)
class Outer:
    name: str = field(default="n", metadata=env("T_NAME"))
    size: int = field(default=1, metadata=env("T_SIZE", int))
    ratio: float = field(default=0.5, metadata=env("T_RATIO", float))
    flag_only: bool = False  # no variable: a flag or a constant, not a setting
    inner: Inner = field(default_factory=Inner, metadata=nested(Inner))


def test_values_are_parsed_and_overrides_win() -> None:
    got = load(
        Outer, {"T_NAME": "x", "T_SIZE": "7", "T_RATIO": "1.5", "T_TOKEN": "tk"}, {"size": 9}
    )
    assert (got.name, got.size, got.ratio, got.inner.token) == ("x", 9, 1.5, "tk")


def test_empty_and_none_mean_unset() -> None:
    got = load(Outer, {"T_NAME": "", "T_SIZE": ""}, {"name": None})
    assert (got.name, got.size) == ("n", 1)


def test_a_bad_number_names_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"^T_SIZE must be a number, got 'many'$"):
        load(Outer, {"T_SIZE": "many"})


def test_a_secret_is_read_from_its_file_without_the_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cr3t\n")
    assert load(Outer, {"T_TOKEN_FILE": str(path)}).inner.token == "s3cr3t"


def test_both_a_secret_and_its_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("from-file")
    with pytest.raises(SettingsError) as info:
        load(Outer, {"T_TOKEN": "inline", "T_TOKEN_FILE": str(path)})
    assert str(info.value) == "set T_TOKEN or T_TOKEN_FILE, not both"


@pytest.mark.parametrize(("content", "needle"), [(None, "cannot read"), ("\n", "is empty")])
def test_an_unusable_secret_file_is_named(tmp_path: Path, content: str | None, needle: str) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SettingsError, match=f"^T_TOKEN_FILE: .*{needle}") as info:
        load(Outer, {"T_TOKEN_FILE": str(path)})
    assert "\n" not in str(info.value)


def test_only_secrets_accept_a_file(tmp_path: Path) -> None:
    path = tmp_path / "name"
    path.write_text("from-file")
    assert load(Outer, {"T_NAME_FILE": str(path)}).name == "n"


def test_secrets_are_masked_in_describe_and_repr() -> None:
    got = load(Outer, {"T_TOKEN": "s3cr3t"})
    assert describe(got)["inner"] == {"token": "***"}
    assert "s3cr3t" not in masked_repr(got)
    assert got.inner.token == "s3cr3t"  # still there to connect with


def test_variables_walks_nested_settings() -> None:
    assert [(v.name, v.secret) for v in variables(Outer)] == [
        ("T_NAME", False), ("T_SIZE", False), ("T_RATIO", False), ("T_TOKEN", True),
    ]  # fmt: skip
