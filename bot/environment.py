"""The environment layer of the configuration: `MEETBOT_*` variables and a secrets directory.

Twelve-factor deployments say everything in the environment: `MEETBOT_SLACK__BOT_TOKEN` is
`slack.bot_token` (the prefix, then the YAML path with `__` between keys, in any case), and a
whole section or list can be given as JSON (`MEETBOT_DISCORD__GUILDS='[81234, 81235]'`,
`MEETBOT_TENANTS='{"discord:81234": {"timezone": "Europe/Berlin"}}'`). A secrets directory
(Docker and Kubernetes mount one at `/run/secrets`) holds files named like those variables,
each holding one value. The layers, strongest first: the environment, the secrets directory,
the YAML file. pydantic-settings reads the variables against the `Config` model, so it knows
which keys are sections (split at `__`) and which values are JSON; it is imported only when
there is such a variable (or secret file) to read.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config, ConfigError, read_config_file, read_yaml, validate

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

PREFIX = "MEETBOT_"
DELIMITER = "__"
DEFAULT_SECRETS_DIR = Path("/run/secrets")
# Variables of ours that are not config keys: they are read elsewhere, never reported unused.
NOT_CONFIG_KEYS = frozenset(
    {"MEETBOT_CONFIG", "MEETBOT_SECRETS_DIR", "MEETBOT_LOG_LEVEL", "MEETBOT_LOG_FORMAT"}
)
_SECRET_FILE_LIMIT = 64 * 1024  # a token is tens of bytes; a big file here is a mistake


@functools.cache
def _shape() -> type[BaseSettings]:
    """`Config` as pydantic-settings sees it: only its fields' types are read, never built.
    Made at the first use (building it is building the whole `Config` model again)."""
    from pydantic_settings import BaseSettings, SettingsConfigDict  # noqa: PLC0415 - see doc

    class _Shape(Config, BaseSettings):
        model_config = SettingsConfigDict(extra="forbid")

    return _Shape


@dataclass
class Layer:
    """What the environment says: a tree shaped like the YAML, and where each value came from."""

    values: dict[str, Any] = field(default_factory=dict)
    # YAML path -> the variable (or secret file) that gave it, for error messages.
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)

    def origin(self, path: tuple[str, ...]) -> str | None:
        """The variable that gave `path`, or a section holding it (a JSON value)."""
        for length in range(len(path), 0, -1):
            found = self.origins.get(path[:length])
            if found is not None:
                return found
        return None


def variable_for(path: tuple[str, ...] | list[str]) -> str:
    """The variable that sets a YAML path: ("slack", "bot_token") -> MEETBOT_SLACK__BOT_TOKEN."""
    return PREFIX + DELIMITER.join(part.upper() for part in path)


def secrets_dir(given: str | None, env: Mapping[str, str]) -> Path | None:
    """`--secrets-dir`, else `MEETBOT_SECRETS_DIR`, else /run/secrets when it exists."""
    chosen = given or env.get("MEETBOT_SECRETS_DIR")
    if chosen:
        folder = Path(chosen)
        if not folder.is_dir():
            raise ConfigError(f"the secrets directory {folder} does not exist")
        return folder
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


def read_secrets(folder: Path | None) -> dict[str, str]:
    """The files of `folder` named MEETBOT_… (any case), as variables: file name -> content."""
    found: dict[str, str] = {}
    if folder is None:
        return found
    for file in sorted(folder.iterdir()):
        if not file.name.upper().startswith(PREFIX) or not file.is_file():
            continue
        try:
            with file.open("rb") as handle:
                data = handle.read(_SECRET_FILE_LIMIT + 1)
        except OSError as error:
            raise ConfigError(f"cannot read the secret file {file}: {error.strerror}") from None
        if len(data) > _SECRET_FILE_LIMIT:
            raise ConfigError(f"the secret file {file} is larger than 64 KiB")
        # `echo token > file` leaves a newline that is no part of the token.
        found[file.name] = data.decode("utf-8", errors="replace").rstrip("\r\n")
    return found


def environment_layer(env: Mapping[str, str], secrets: Mapping[str, str] | None = None) -> Layer:
    """The MEETBOT_* variables of `env` over those of the secret files, as a YAML-shaped tree."""
    origins = {name.upper(): f"the secret file {name}" for name in secrets or {}}
    variables = {name.upper(): value for name, value in (secrets or {}).items()}
    for name, value in env.items():
        if name.upper().startswith(PREFIX):
            variables[name.upper()] = value
            origins[name.upper()] = name
    if all(name in NOT_CONFIG_KEYS for name in variables):
        return Layer()  # nothing for pydantic-settings to read (and none unused)
    from pydantic_settings import EnvSettingsSource, SettingsError  # noqa: PLC0415 - see doc

    source = EnvSettingsSource(
        _shape(), case_sensitive=False, env_prefix=PREFIX, env_nested_delimiter=DELIMITER
    )
    # The source reads os.environ when built; the variables given here replace what it read.
    source.env_vars = {name.lower(): value for name, value in variables.items()}
    try:
        values = source()
    except SettingsError as error:
        # Its text names the section, not the variable's value (which may be a secret).
        section = str(error).split('"')[1] if '"' in str(error) else "?"
        raise ConfigError(
            f"environment: {variable_for([section])}…: a value there is not valid JSON "
            "(lists and sections given whole are JSON, e.g. '[81234, 81235]')"
        ) from None
    layer = Layer(values=values)
    used: set[str] = set()
    for path in _paths(values):
        for length in range(len(path), 0, -1):
            name = variable_for(path[:length])
            if name in variables:
                layer.origins[path[:length]] = origins[name]
                used.add(name)
                break
    layer.unused = sorted(
        origins[name] for name in variables if name not in used and name not in NOT_CONFIG_KEYS
    )
    return layer


@dataclass
class Loaded:
    config: Config
    # MEETBOT_* variables (or secret files) that name no config key: most likely a typo.
    unused: list[str]


def load(
    path: str | Path | None,
    env: Mapping[str, str],
    secrets_folder: Path | None = None,
) -> Loaded:
    """The config file (if any) with the environment's layer on top, validated as one."""
    tree: dict[str, Any] = {}
    if path is not None:
        tree = read_yaml(read_config_file(path), env, str(path))
    layer = environment_layer(env, read_secrets(secrets_folder))
    if path is None and not layer.values:
        raise ConfigError(
            "no configuration: give --config FILE, or say everything in MEETBOT_* variables "
            "(e.g. MEETBOT_PROVIDERS__BIGBLUEBUTTON__URL and "
            "MEETBOT_PROVIDERS__BIGBLUEBUTTON__SECRET)"
        )
    if path is None:
        source = "environment"
    else:
        source = f"{path} and the environment" if layer.values else str(path)
    config = validate(overlay(tree, layer.values), source, layer.origin)
    return Loaded(config, layer.unused)


def overlay(base: Any, top: Any) -> Any:
    """`top` over `base`: sections merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(top, dict):
        merged = dict(base)
        for key, value in top.items():
            merged[key] = overlay(base[key], value) if key in base else value
        return merged
    return top


def _paths(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, value in tree.items():
        path = (*prefix, str(key))
        found.append(path)
        if isinstance(value, Mapping):
            found += _paths(value, path)
    return found
