"""Configuration: the YAML file, `${ENV}` expansion, and the typed model it must fit.

`load_config(path)` reads YAML, replaces `${NAME}` (or `${NAME:-default}`) in string values
from the environment (`bot.placeholders`), and validates the result. Every problem is told at
once, in one `ConfigError`, a line each naming the YAML path (`providers.bigbluebutton.secret:
...`) and never a secret's value. Secrets are `SecretStr`, so a config printed or logged shows
`**********`. The MEETBOT_* environment on top of the file is `bot.environment`'s.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bot.placeholders import blank_unset, expand, unset_in
from commands.policy import RolePolicyConfig, TenantOverride

ProviderName = Literal["bigbluebutton", "vconnct", "liveminutes"]
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")


class ConfigError(Exception):
    """The configuration cannot be used; raised at start-up only, with the YAML path."""


class _Section(BaseModel):
    # A typo in a key must fail loudly at start, not be ignored until the feature is needed.
    model_config = ConfigDict(extra="forbid")


def _http_url(url: str) -> str:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    # A typo such as a port of 99999 or an unclosed [ would otherwise only show up at the
    # first meeting, as an unreachable server.
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - reading it is the check
    except ValueError as error:
        raise ValueError(f"has an invalid port ({error})") from None
    if not parts.hostname:
        raise ValueError("has no host name")
    return url


PositiveSeconds = Annotated[float, Field(gt=0, le=120)]


class BigBlueButtonConfig(_Section):
    url: str
    secret: SecretStr
    checksum: Literal["sha1", "sha256", "sha384", "sha512"] = "sha1"
    # Servers older than 2.4 know no `role` on join; they need the password form.
    join_with_password: bool = False
    timeout: PositiveSeconds = 10.0

    @field_validator("url")
    @classmethod
    def _api_base(cls, url: str) -> str:
        url = _http_url(url)
        if not url.endswith("/bigbluebutton/api"):
            raise ValueError(
                "must be the API base ending in /bigbluebutton/api "
                "(as `bbb-conf --secret` prints it)"
            )
        return url


class VConnctConfig(_Section):
    url: str
    license: SecretStr
    language: str | None = None
    # The document gives join at POST /api/v1/start_meeting/ (likely a typo): configurable.
    join_path: str = "/api/v1/start_meeting/"
    timeout: PositiveSeconds = 10.0

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        return _http_url(url)


class LiveMinutesConfig(_Section):
    url: str = "http://api.liveminutes.com"
    account_sid: str
    auth_token: SecretStr
    timeout: PositiveSeconds = 10.0

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        return _http_url(url)


class ProvidersConfig(_Section):
    default: ProviderName | None = None
    bigbluebutton: BigBlueButtonConfig | None = None
    vconnct: VConnctConfig | None = None
    liveminutes: LiveMinutesConfig | None = None

    def configured(self) -> list[ProviderName]:
        """Names of the providers that have a section, in a fixed order."""
        names: list[ProviderName] = ["bigbluebutton", "vconnct", "liveminutes"]
        return [name for name in names if getattr(self, name) is not None]

    def default_name(self) -> ProviderName:
        """The default provider: as configured, else the first configured one."""
        configured = self.configured()
        if self.default is not None:
            return self.default
        return configured[0]


class SlackConfig(_Section):
    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretStr
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    port: int = Field(default=3000, ge=0, le=65535)
    path: str = "/slack/events"
    api_url: str | None = None
    command: str = "/meet"

    def model_post_init(self, _context: Any) -> None:
        if self.mode == "socket" and self.app_token is None:
            raise ValueError("Socket Mode needs app_token (xapp-…, with connections:write)")
        if self.mode == "http" and self.signing_secret is None:
            raise ValueError("HTTP mode needs signing_secret, to verify that requests are Slack's")
        if not self.path.startswith("/"):
            raise ValueError("path must start with /")


class DiscordConfig(_Section):
    token: SecretStr
    application_id: int
    # Servers to sync /meet to instantly; none: globally (Discord may take up to an hour).
    guilds: list[int] = Field(default_factory=list)
    api_url: str | None = None
    # For bots in 1000+ servers: run every shard in this process (AutoShardedClient).
    sharded: bool = False
    # Shards split across processes: this one runs `shard_ids` of `shard_count` in all (each
    # process the same count, the ids between them covering 0 .. shard_count-1 once).
    # shard_count alone: all of that many shards here. Either one implies `sharded`.
    shard_ids: list[int] | None = None
    shard_count: int | None = Field(default=None, ge=1)
    # Mirror scheduled meetings as Discord scheduled events in every server, unless a server's
    # `tenants."discord:ID".discord_events` says otherwise.
    events: bool = False

    def model_post_init(self, _context: Any) -> None:
        split = self.shard_ids is not None or self.shard_count is not None
        if split and "sharded" in self.model_fields_set and not self.sharded:
            raise ValueError("sharded is false but shard_ids/shard_count are set; remove sharded")
        if self.shard_ids is None:
            return
        if self.shard_count is None:
            raise ValueError("shard_ids needs shard_count: the number of shards in all processes")
        if not self.shard_ids:
            raise ValueError("shard_ids is empty: list the shards this process runs, e.g. [0, 1]")
        outside = [shard for shard in self.shard_ids if not 0 <= shard < self.shard_count]
        if outside:
            raise ValueError(
                f"shard_ids {outside} are outside 0..{self.shard_count - 1} (shard_count is "
                f"{self.shard_count})"
            )
        if len(set(self.shard_ids)) != len(self.shard_ids):
            raise ValueError("shard_ids names a shard twice")

    @property
    def shards(self) -> bool:
        """Whether the sharded client runs (all shards here, or this process's share)."""
        return self.sharded or self.shard_count is not None


class ServerConfig(_Section):
    """The inbound HTTP server: provider callbacks and /healthz."""

    # The port to listen on; none: no server (providers are then polled).
    port: int | None = Field(default=None, ge=0, le=65535)
    # Where providers reach that port from outside (behind the operator's proxy), e.g.
    # https://bot.example.org; without it no callback URL is handed to a provider.
    public_url: str | None = None
    host: str = "0.0.0.0"  # noqa: S104 - behind the operator's proxy

    @field_validator("public_url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        return _http_url(url) if url is not None else None

    def model_post_init(self, _context: Any) -> None:
        if self.public_url is not None and self.port is None:
            raise ValueError("public_url needs port: the server it points at")


class StorageConfig(_Section):
    url: str = "sqlite:///meetbot.db"


class SchedulerConfig(_Section):
    # How long a replica holds the jobs it claimed (reminders, openings, ends, polls): one that
    # dies holding some leaves them to the others this long after. Longer than a job takes
    # (a post, a provider call), or a slow one may be done twice.
    lease_seconds: float = Field(default=120, ge=1, le=3600)


class RemindersConfig(_Section):
    # Minutes before a scheduled meeting's start to post its reminder when /meet create has no
    # --remind; 0 posts none unless asked.
    default_minutes: int = Field(default=10, ge=0, le=10080)
    # How often the bot looks for due reminders.
    check_seconds: float = Field(default=30, ge=1, le=3600)
    # How long before a scheduled start attendees may already join (moderators always may).
    early_join_minutes: int = Field(default=15, ge=0, le=1440)
    # A reminder that came due while the bot was down is still posted (with a note) if it is
    # at most this late; a later one is skipped and logged.
    grace_minutes: int = Field(default=10, ge=0, le=1440)


class RecordingsConfig(_Section):
    # Off: no recording feature at all: the setting flags that ask for a recording are
    # refused, nothing is polled or posted (per tenant: tenants.<key>.recordings.enabled).
    enabled: bool = True
    # How long after a session ends its recordings are looked for (BigBlueButton may take
    # hours to process one).
    poll_hours: float = Field(default=24, gt=0, le=24 * 14)


class AttendanceConfig(_Section):
    # While a meeting runs, who is in it is asked this often (one provider call per running
    # meeting each time) and kept, so attendance outlives the provider's memory.
    sample_seconds: float = Field(default=30, ge=5, le=3600)


_TENANT_KEY = re.compile(r"^(slack|discord):[^:\s]+$")


class Config(_Section):
    providers: ProvidersConfig
    storage: StorageConfig = Field(default_factory=StorageConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    recordings: RecordingsConfig = Field(default_factory=RecordingsConfig)
    attendance: AttendanceConfig = Field(default_factory=AttendanceConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    slack: SlackConfig | None = None
    discord: DiscordConfig | None = None
    roles: RolePolicyConfig = Field(default_factory=RolePolicyConfig)
    tenants: dict[str, TenantOverride] = Field(default_factory=dict)

    @field_validator(
        "storage",
        "server",
        "reminders",
        "recordings",
        "attendance",
        "scheduler",
        "roles",
        "tenants",
        mode="before",
    )
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        # A section left with its keys commented out reads as null: it means the defaults.
        return {} if value is None else value

    @field_validator("tenants")
    @classmethod
    def _tenant_keys(cls, tenants: dict[str, TenantOverride]) -> dict[str, TenantOverride]:
        for key, override in tenants.items():
            if not _TENANT_KEY.match(key):
                raise ValueError(f"tenant keys look like slack:T0123 or discord:81234, not {key!r}")
            if override.discord_events is not None and not key.startswith("discord:"):
                raise ValueError(f"{key}: discord_events is for Discord servers (discord:ID) only")
        return tenants

    def discord_events(self, tenant_key: str) -> bool:
        """Whether scheduled meetings of this Discord server are mirrored as its events."""
        if self.discord is None:
            return False
        override = self.tenants.get(tenant_key)
        if override is not None and override.discord_events is not None:
            return override.discord_events
        return self.discord.events

    def discord_events_anywhere(self) -> bool:
        """Whether any server mirrors events (the invite then asks for the permission)."""
        if self.discord is None:
            return False
        return self.discord.events or any(o.discord_events for o in self.tenants.values())

    def secrets(self) -> list[str]:
        """The value of every secret in the configuration, for the log's redactor (and the
        password in storage.url, if it has one)."""
        found = [value.get_secret_value() for value in _secret_values(self)]
        password = _url_password(self.storage.url)
        return [*found, password] if password else found

    def model_post_init(self, _context: Any) -> None:
        configured = self.providers.configured()
        if not configured:
            raise ValueError("configure at least one provider under `providers`")
        default = self.providers.default
        if default is not None and default not in configured:
            raise ValueError(f"providers.default is {default!r}, which has no section")
        slack, port = self.slack, self.server.port
        shared = slack is not None and slack.mode == "http" and port is not None
        if shared and slack is not None and "port" in slack.model_fields_set and slack.port != port:
            raise ValueError(
                f"slack.port is {slack.port} and server.port {port}: with the server on, "
                "Slack's endpoint is served on server.port; remove slack.port"
            )


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _secret_values(model: BaseModel) -> list[SecretStr]:
    found: list[SecretStr] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value.values() if isinstance(value, dict) else [value]
        for item in items:
            if isinstance(item, SecretStr):
                found.append(item)
            elif isinstance(item, BaseModel):
                found += _secret_values(item)
    return found


def expand_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace `${NAME}` / `${NAME:-default}` in every string of a parsed YAML tree; a
    `ConfigError` names every variable that is not set, not only the first."""
    expanded = expand(value, env, path)
    unset = unset_in(expanded)
    if unset:
        raise ConfigError("\n".join(item.problem() for item in unset))
    return expanded


def read_yaml(text: str, env: Mapping[str, str] | None = None, source: str = "config") -> Any:
    """Parse YAML text and expand `${…}`; an unset variable stays as an `Unset` in the tree
    (a layer above may still give that key), `validate` reports the ones left."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML ({error})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level")
    return expand(raw, os.environ if env is None else env, "")


def validate(
    tree: dict[str, Any],
    source: str = "config",
    origin: Callable[[tuple[str, ...]], str | None] | None = None,
) -> Config:
    """The `Config` of a YAML-shaped tree, or one `ConfigError` with every problem in it: each
    unset variable and each invalid value, a line each. `origin` names the environment
    variable a path came from, when the tree holds the environment's layer."""
    unset = unset_in(tree)
    problems = [item.problem() for item in unset]
    try:
        config = Config.model_validate(blank_unset(tree))
    except ValidationError as error:
        # pydantic writes a list index as `.0` where the YAML path says `[0]`.
        skip = {item.path.replace("[", ".").replace("]", "") for item in unset}
        problems += _describe(error, skip, origin)
    if problems:
        raise ConfigError(f"{source}: invalid configuration\n  " + "\n  ".join(problems))
    return config


def parse_config(text: str, env: Mapping[str, str] | None = None, source: str = "config") -> Config:
    """Validate YAML text; `env` defaults to the process environment."""
    return validate(read_yaml(text, env, source), source)


def read_config_file(path: str | Path) -> str:
    """The text of a config file, or a `ConfigError` saying why it cannot be read."""
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config file {file}: {error.strerror}") from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file."""
    return parse_config(read_config_file(path), env, source=str(path))


def _describe(
    error: ValidationError,
    skip: set[str],
    origin: Callable[[tuple[str, ...]], str | None] | None,
) -> list[str]:
    # pydantic's own text can echo the offending input, which may be a secret: rebuild it
    # from the location and message only.
    lines = []
    for issue in error.errors(include_input=False, include_url=False):
        parts = tuple(str(part) for part in issue["loc"])
        location = ".".join(parts) or "<root>"
        if location in skip:
            continue
        message = issue["msg"].removeprefix("Value error, ")
        if issue["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against config.example.yaml)"
        given = origin(parts) if origin is not None and parts else None
        if given is not None:
            message += f" (from {given})"
        elif origin is not None and issue["type"] == "missing":
            message += f" (in the config file, or the environment as {_variable(parts)})"
        lines.append(f"{location}: {message}")
    return lines


def _variable(path: tuple[str, ...]) -> str:
    # The environment layer's naming (bot.environment), spelled here to keep the import one-way.
    return "MEETBOT_" + "__".join(part.upper() for part in path)
