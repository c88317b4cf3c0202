"""docker-compose.yml checked the way `docker compose config` checks it, without the CLI:
variables interpolated from .env.example, then the result validated against the compose
specification's JSON Schema (deploy/schema/compose-spec.json, vendored from
github.com/compose-spec/compose-spec, schema/compose-spec.json)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


class InterpolationError(ValueError):
    pass


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


def interpolate(text: str, env: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        present = env.get(name)
        unset = present is None or (op is not None and op.startswith(":") and present == "")
        if op and op.endswith("?") and unset:
            raise InterpolationError(f"{name}: {arg or 'required'}")
        if op and op.endswith("-") and unset:
            return arg
        return present or ""

    return _VARIABLE.sub(value, text)


def problems(compose_file: Path, env_file: Path, schema_file: Path) -> list[str]:
    """Every schema violation of the interpolated compose file, as `path: message`."""
    loaded: Any = yaml.safe_load(
        interpolate(compose_file.read_text(encoding="utf-8"), read_env_file(env_file))
    )
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(loaded)
    )
