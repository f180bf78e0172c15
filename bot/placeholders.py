"""`${NAME}` and `${NAME:-default}` in the strings of a parsed YAML tree, from the environment.

A reference with no value and no default becomes an `Unset` in the tree rather than an error
at once: a layer above (the MEETBOT_* environment) may still give that key, and the ones left
are all reported together, a line each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Unset:
    """A `${NAME}` with no value and no default, left in the tree so that every one is told."""

    names: tuple[str, ...]
    path: str

    def problem(self) -> str:
        where = self.path or "<root>"
        if len(self.names) == 1:
            return f"{where}: environment variable {self.names[0]} is not set"
        return f"{where}: environment variables {', '.join(self.names)} are not set"


def expand(value: Any, env: Mapping[str, str], path: str) -> Any:
    if isinstance(value, dict):
        return {key: expand(item, env, _join(path, str(key))) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item, env, f"{path}[{index}]") for index, item in enumerate(value)]
    if not isinstance(value, str):
        return value
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    replaced = _ENV_REFERENCE.sub(substitute, value)
    return Unset(tuple(missing), path) if missing else replaced


def unset_in(tree: Any) -> list[Unset]:
    if isinstance(tree, Unset):
        return [tree]
    if isinstance(tree, dict):
        return [found for item in tree.values() for found in unset_in(item)]
    if isinstance(tree, list):
        return [found for item in tree for found in unset_in(item)]
    return []


def blank_unset(tree: Any) -> Any:
    # An unset value is reported on its own; validation sees an empty string in its place
    # and whatever it says about that path is dropped.
    if isinstance(tree, Unset):
        return ""
    if isinstance(tree, dict):
        return {key: blank_unset(item) for key, item in tree.items()}
    if isinstance(tree, list):
        return [blank_unset(item) for item in tree]
    return tree


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
