"""Settings from the environment: one typed loader for the producer and the consumer.

A settings class is a frozen dataclass whose fields name their environment variable in
their metadata (``field(default=..., metadata=env("VINOPS_TOPIC", int))``). ``load`` reads
them from a mapping (the CLIs pass ``os.environ``, tests a dict), converts each with its
parser, and lets non-None overrides (command-line flags) win. A field without a variable is
not a setting (it is fixed, or a flag only).

Secrets (``secret(...)``) also accept ``<NAME>_FILE``: the value is read from that file,
trailing newline stripped, as container images do, so no secret has to sit in the
environment; setting both is an error. ``describe`` and ``masked_repr`` show a secret only
through its mask, so settings can be logged whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_SPEC = "vinops_env"
_NESTED = "vinops_nested"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it (never its secret value)."""


def mask_all(_: str) -> str:
    return "***"


@dataclass(frozen=True, slots=True)
class EnvVar:
    """Where a field comes from: its variable, how to parse it, and its mask if secret."""

    name: str
    parse: Callable[[str], Any] = str
    mask: Callable[[str], str] | None = None

    @property
    def secret(self) -> bool:
        return self.mask is not None


def boolean(text: str) -> bool:
    """A yes/no setting: 1/0, true/false, yes/no, on/off (any case)."""
    word = text.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{text!r} is not a yes/no value (1/0, true/false, yes/no, on/off)")


def env(name: str, parse: Callable[[str], Any] = str) -> dict[str, Any]:
    """Field metadata: this field is set by the environment variable ``name``."""
    return {_SPEC: EnvVar(name, parse)}


def secret(name: str, mask: Callable[[str], str] = mask_all) -> dict[str, Any]:
    """Field metadata for a secret: also read from ``<name>_FILE``, shown only masked."""
    return {_SPEC: EnvVar(name, str, mask)}


def nested(kind: type[Any]) -> dict[str, Any]:
    """Field metadata: this field is a settings class of its own, loaded from the same env."""
    return {_NESTED: kind}


def read_var(environ: Mapping[str, str], name: str, *, from_file: bool = False) -> str | None:
    """The variable's value (an empty one counts as unset); with ``from_file`` the value of
    ``<name>_FILE``'s file instead, when that is set."""
    value = environ.get(name) or None
    if not from_file:
        return value
    path = environ.get(f"{name}_FILE") or None
    if path is None:
        return value
    if value is not None:
        raise SettingsError(f"set {name} or {name}_FILE, not both")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(f"{name}_FILE: cannot read {path}: {reason}") from None
    value = text.rstrip("\r\n")
    if not value:
        raise SettingsError(f"{name}_FILE: {path} is empty")
    return value


def _parse(spec: EnvVar, raw: str) -> Any:
    try:
        return spec.parse(raw)
    except ValueError:
        if spec.secret:
            raise SettingsError(f"{spec.name} is malformed") from None
        kind = "a number" if spec.parse in (int, float) else "valid"
        raise SettingsError(f"{spec.name} must be {kind}, got {raw!r}") from None


def load(
    kind: type[T], environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> T:
    """An instance of the settings class ``kind`` from ``environ``; non-None overrides win."""
    values: dict[str, Any] = {}
    for f in fields(kind):  # type: ignore[arg-type]
        if _NESTED in f.metadata:
            values[f.name] = load(f.metadata[_NESTED], environ)
            continue
        spec: EnvVar | None = f.metadata.get(_SPEC)
        if spec is None:
            continue
        raw = read_var(environ, spec.name, from_file=spec.secret)
        if raw is not None:
            values[f.name] = _parse(spec, raw)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return kind(**values)


def variables(kind: type[Any]) -> Iterator[EnvVar]:
    """Every variable the settings class ``kind`` reads, nested classes included."""
    for f in fields(kind):
        if _NESTED in f.metadata:
            yield from variables(f.metadata[_NESTED])
        elif _SPEC in f.metadata:
            yield f.metadata[_SPEC]


def describe(obj: Any) -> dict[str, Any]:
    """Every field of a settings instance, secrets masked (nested ones as dicts): safe to log."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        spec: EnvVar | None = f.metadata.get(_SPEC)
        if is_dataclass(value) and not isinstance(value, type):
            out[f.name] = describe(value)
        elif spec is not None and spec.mask is not None and isinstance(value, str) and value:
            out[f.name] = spec.mask(value)
        else:
            out[f.name] = value
    return out


def masked_repr(obj: Any) -> str:
    body = ", ".join(f"{k}={v!r}" for k, v in describe(obj).items())
    return f"{type(obj).__name__}({body})"
