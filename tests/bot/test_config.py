"""Config loading: the example file is valid, errors name the YAML path, secrets stay hidden."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import timing_of
from bot.config import ConfigError, expand_env, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
EXAMPLE_ENV = {
    "BBB_SECRET": "bbb-secret-value-123",
    "VCONNCT_LICENSE": "license-value-456",
    "LIVEMINUTES_ACCOUNT_SID": "AC123",
    "LIVEMINUTES_AUTH_TOKEN": "token-value-789",
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_APP_TOKEN": "xapp-1",
    "DISCORD_TOKEN": "discord-token-1",
}

MINIMAL = """
providers:
  bigbluebutton:
    url: https://bbb.example.org/bigbluebutton/api/
    secret: s3cret-s3cret
"""


def test_example_config_is_valid_and_uses_every_provider():
    config = load_config(EXAMPLE, env=EXAMPLE_ENV)
    assert config.providers.configured() == ["bigbluebutton", "vconnct", "liveminutes"]
    assert config.providers.default_name() == "bigbluebutton"
    assert config.providers.bigbluebutton is not None
    assert config.providers.bigbluebutton.secret.get_secret_value() == "bbb-secret-value-123"
    assert config.providers.vconnct is not None
    assert config.providers.vconnct.join_path == "/api/v1/start_meeting/"
    assert config.storage.url == "sqlite:///meetbot.db"
    assert config.reminders.default_minutes == 10


def test_reminders_have_defaults_and_refuse_nonsense():
    reminders = parse_config(MINIMAL, env={}).reminders
    assert (reminders.default_minutes, reminders.check_seconds) == (10, 30)
    assert reminders.early_join_minutes == 15
    with pytest.raises(ConfigError, match=r"reminders\.check_seconds"):
        parse_config(MINIMAL + "reminders:\n  check_seconds: 0\n", env={})
    with pytest.raises(ConfigError, match=r"reminders\.default_minuts: unknown key"):
        parse_config(MINIMAL + "reminders:\n  default_minuts: 5\n", env={})


def test_attendance_sampling_has_a_default_a_floor_and_reaches_the_timing():
    assert parse_config(MINIMAL, env={}).attendance.sample_seconds == 30
    assert load_config(EXAMPLE, env=EXAMPLE_ENV).attendance.sample_seconds == 30
    for bad in ("0", "-5", "4", "2"):
        with pytest.raises(ConfigError, match=r"attendance\.sample_seconds"):
            parse_config(MINIMAL + f"attendance:\n  sample_seconds: {bad}\n", env={})
    config = parse_config(MINIMAL + "attendance:\n  sample_seconds: 45\n", env={})
    timing = timing_of(config.reminders, config.attendance)
    assert timing.sample_every == timedelta(seconds=45)
    assert parse_config(MINIMAL + "attendance:\n", env={}).attendance.sample_seconds == 30


def test_secrets_are_hidden_when_printed():
    config = load_config(EXAMPLE, env=EXAMPLE_ENV)
    shown = repr(config) + str(config) + config.model_dump_json()
    for secret in ("bbb-secret-value-123", "license-value-456", "token-value-789"):
        assert secret not in shown


def test_minimal_config_gets_defaults_and_a_normalised_url():
    config = parse_config(MINIMAL, env={})
    bbb = config.providers.bigbluebutton
    assert bbb is not None
    assert bbb.url == "https://bbb.example.org/bigbluebutton/api"
    assert bbb.checksum == "sha1"
    assert config.providers.default_name() == "bigbluebutton"


def test_missing_environment_variable_names_the_yaml_path():
    with pytest.raises(ConfigError, match=r"providers\.bigbluebutton\.secret: .*BBB_SECRET"):
        load_config(EXAMPLE, env={})


def test_env_default_is_used_when_variable_is_unset():
    assert expand_env({"a": "${NOPE:-fallback}"}, {}) == {"a": "fallback"}
    assert expand_env(["x${A}y", 3], {"A": "-"}) == ["x-y", 3]


def test_unknown_key_is_refused_with_its_path():
    text = MINIMAL + "    secrett: typo\n"
    with pytest.raises(ConfigError, match=r"providers\.bigbluebutton\.secrett: unknown key"):
        parse_config(text, env={})


def test_bbb_url_must_be_the_api_base():
    text = MINIMAL.replace("/bigbluebutton/api/", "/")
    with pytest.raises(ConfigError, match=r"providers\.bigbluebutton\.url: .*/bigbluebutton/api"):
        parse_config(text, env={})


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://bbb.example.org/bigbluebutton/api", "http"),
        ("https://bbb.example.org:99999/bigbluebutton/api", "invalid port"),
        ("https://[::1/bigbluebutton/api", "bigbluebutton.url"),
        ("https:///bigbluebutton/api", "no host"),
    ],
)
def test_malformed_provider_url_is_refused_at_load(url, why):
    text = MINIMAL.replace("https://bbb.example.org/bigbluebutton/api/", url)
    with pytest.raises(ConfigError, match=why):
        parse_config(text, env={})


def test_bad_checksum_algorithm_is_refused_without_echoing_secrets():
    text = MINIMAL + "    checksum: md5\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    assert "providers.bigbluebutton.checksum" in str(caught.value)
    assert "s3cret-s3cret" not in str(caught.value)


def test_no_provider_at_all_is_refused():
    with pytest.raises(ConfigError, match="at least one provider"):
        parse_config("providers: {}\n", env={})


def test_default_must_have_a_section():
    with pytest.raises(ConfigError, match=r"providers\.default is 'vconnct'"):
        parse_config(MINIMAL.replace("providers:\n", "providers:\n  default: vconnct\n"), env={})


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "providers: [\n"])
def test_not_a_mapping_or_not_yaml_is_a_config_error(text):
    with pytest.raises(ConfigError):
        parse_config(text, env={})


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.yaml")


def test_example_roles_and_tenants_are_read():
    config = load_config(EXAMPLE, env=EXAMPLE_ENV)
    assert config.roles.rules[0].platform_admins
    assert [r.discord_roles for r in config.roles.rules if r.discord_roles] == [("Teachers",)]
    override = config.tenants["discord:812345678901234567"]
    assert override.default_provider == "vconnct"
    assert override.roles is not None
    assert override.roles.everyone_moderator


def test_bad_tenant_key_and_bad_rule_are_refused():
    with pytest.raises(ConfigError, match="tenant keys look like"):
        parse_config(MINIMAL + "tenants:\n  T0123: {default_provider: vconnct}\n", env={})
    with pytest.raises(ConfigError, match=r"roles\.rules\.0: .*exactly one of"):
        parse_config(MINIMAL + "roles:\n  rules:\n    - {}\n", env={})


def test_example_slack_section_and_its_rules():
    config = load_config(EXAMPLE, env=EXAMPLE_ENV)
    assert config.slack is not None
    assert config.slack.mode == "socket"
    assert config.slack.bot_token.get_secret_value() == "xoxb-1"
    with pytest.raises(ConfigError, match="Socket Mode needs app_token"):
        parse_config(MINIMAL + "slack: {bot_token: x}\n", env={})
    with pytest.raises(ConfigError, match="HTTP mode needs signing_secret"):
        parse_config(MINIMAL + "slack: {mode: http, bot_token: x}\n", env={})


def test_example_discord_section():
    config = load_config(EXAMPLE, env=EXAMPLE_ENV)
    assert config.discord is not None
    assert config.discord.guilds == [812345678901234567]
    assert "discord-token-1" not in repr(config)


DISCORD = MINIMAL + "discord: {token: t, application_id: 1, events: %s}\n"


def test_discord_events_have_a_default_and_a_per_server_switch():
    config = parse_config(
        DISCORD % "false"
        + "tenants:\n"
        + '  "discord:11": {discord_events: true}\n'
        + '  "discord:22": {timezone: Europe/Berlin}\n',
        env={},
    )
    assert config.discord_events("discord:11")
    assert not config.discord_events("discord:22"), "the default: off"
    assert not config.discord_events("discord:33")
    assert config.discord_events_anywhere()

    everywhere = parse_config(
        DISCORD % "true" + 'tenants:\n  "discord:22": {discord_events: false}\n', env={}
    )
    assert everywhere.discord_events("discord:33")
    assert not everywhere.discord_events("discord:22")
    assert everywhere.discord_events_anywhere()

    assert not parse_config(DISCORD % "false", env={}).discord_events_anywhere()
    assert not parse_config(MINIMAL, env={}).discord_events_anywhere(), "no discord section"


def test_discord_events_on_a_slack_workspace_are_refused():
    with pytest.raises(ConfigError, match=r"slack:T1: discord_events is for Discord servers"):
        parse_config(MINIMAL + 'tenants:\n  "slack:T1": {discord_events: true}\n', env={})


def test_recordings_are_on_by_default_polled_a_day_and_switchable_per_tenant():
    from bot.app import recording_rules
    from commands.model import Platform, Tenant

    config = parse_config(MINIMAL, env={})
    assert (config.recordings.enabled, config.recordings.poll_hours) == (True, 24)
    rules = recording_rules(config.recordings, config.tenants)
    assert rules.enabled_for(Tenant(Platform.SLACK, "T1"))
    assert rules.poll_for.total_seconds() == 24 * 3600

    text = (
        MINIMAL
        + "recordings:\n  poll_hours: 3\n"
        + 'tenants:\n  "slack:T1": {recordings: {enabled: false}}\n'
    )
    config = parse_config(text, env={})
    rules = recording_rules(config.recordings, config.tenants)
    assert not rules.enabled_for(Tenant(Platform.SLACK, "T1"))
    assert rules.enabled_for(Tenant(Platform.SLACK, "T2"))
    assert rules.poll_for.total_seconds() == 3 * 3600
    off = parse_config(MINIMAL + "recordings:\n  enabled: false\n", env={})
    assert not recording_rules(off.recordings, off.tenants).enabled_for(
        Tenant(Platform.SLACK, "T1")
    )
    with pytest.raises(ConfigError, match=r"recordings\.poll_hours"):
        parse_config(MINIMAL + "recordings:\n  poll_hours: 0\n", env={})


def test_example_config_turns_recordings_off_for_one_server():
    config = load_config(EXAMPLE, env=EXAMPLE_ENV)
    assert config.recordings.enabled
    override = config.tenants["discord:812345678901234567"].recordings
    assert override is not None
    assert override.enabled is False


SHARDS = MINIMAL + "discord:\n  token: t\n  application_id: 1\n"


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ("  shard_ids: [0]\n", "shard_ids needs shard_count"),
        ("  shard_ids: []\n  shard_count: 2\n", "shard_ids is empty"),
        ("  shard_ids: [0, 2]\n  shard_count: 2\n", r"shard_ids \[2\] are outside 0\.\.1"),
        ("  shard_ids: [1, 1]\n  shard_count: 2\n", "names a shard twice"),
        ("  shard_count: 0\n", "discord.shard_count: Input should be greater than or equal to 1"),
        ("  sharded: false\n  shard_count: 2\n", "sharded is false but"),
    ],
)
def test_shards_across_processes_are_checked(lines, said):
    with pytest.raises(ConfigError, match=said):
        parse_config(SHARDS + lines, env={})


def test_shard_ids_or_count_imply_the_sharded_client():
    assert not parse_config(SHARDS, env={}).discord.shards  # type: ignore[union-attr]
    split = parse_config(SHARDS + "  shard_ids: [2, 0]\n  shard_count: 4\n", env={})
    assert split.discord is not None
    assert split.discord.shards
    assert (split.discord.shard_ids, split.discord.shard_count) == ([2, 0], 4)


def test_every_unset_variable_is_told_with_every_other_problem():
    text = (
        "providers:\n"
        "  bigbluebutton: {url: 'ftp://x', secret: '${BBB_SECRET}'}\n"
        "  vconnct: {url: 'https://v.example.org', license: '${A}-${B}'}\n"
        "discord: {token: '${DISCORD_TOKEN}', application_id: 1, guilds: ['${GUILD}']}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    lines = str(caught.value).splitlines()
    assert lines[0] == "config: invalid configuration"
    assert sorted(line.strip() for line in lines[1:]) == [
        "discord.guilds[0]: environment variable GUILD is not set",
        "discord.token: environment variable DISCORD_TOKEN is not set",
        "providers.bigbluebutton.secret: environment variable BBB_SECRET is not set",
        "providers.bigbluebutton.url: must be an http(s) URL",
        "providers.vconnct.license: environment variables A, B are not set",
    ]
