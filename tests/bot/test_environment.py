"""The MEETBOT_* environment and a secrets directory on top of the YAML file, or instead of it."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from bot.environment import environment_layer, load, read_secrets, secrets_dir, variable_for

FILE = """
providers:
  bigbluebutton:
    url: https://bbb.example.org/bigbluebutton/api
    secret: ${BBB_SECRET}
    timeout: 5
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  app_token: xapp-from-file
"""


def test_the_environment_wins_over_the_file_key_by_key(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text(FILE)
    env = {
        # The file's ${…} for these keys need not be set: the environment gives the keys.
        "MEETBOT_PROVIDERS__BIGBLUEBUTTON__SECRET": "secret-from-env",
        "meetbot_slack__bot_token": "xoxb-from-env",  # any case
        "MEETBOT_SERVER__PORT": "8080",
        "MEETBOT_DISCORD__TOKEN": "discord-from-env",
        "MEETBOT_DISCORD__APPLICATION_ID": "81",
        "MEETBOT_DISCORD__GUILDS": "[1, 2]",
        "MEETBOT_DISCORD__SHARD_IDS": "[0]",
        "MEETBOT_DISCORD__SHARD_COUNT": "2",
        "MEETBOT_TENANTS": '{"discord:1": {"timezone": "Europe/Berlin"}}',
    }
    loaded = load(config_file, env)
    config = loaded.config
    assert config.providers.bigbluebutton is not None
    assert config.providers.bigbluebutton.secret.get_secret_value() == "secret-from-env"
    assert config.providers.bigbluebutton.timeout == 5  # the file's, kept
    assert config.slack is not None
    assert config.slack.bot_token.get_secret_value() == "xoxb-from-env"
    assert config.slack.app_token is not None
    assert config.slack.app_token.get_secret_value() == "xapp-from-file"
    assert config.server.port == 8080
    assert config.discord is not None
    assert (config.discord.guilds, config.discord.shard_ids, config.discord.shard_count) == (
        [1, 2],
        [0],
        2,
    )
    assert config.tenants["discord:1"].timezone == "Europe/Berlin"
    assert loaded.unused == []


def test_the_environment_alone_is_a_whole_config():
    env = {
        "MEETBOT_PROVIDERS__VCONNCT__URL": "https://v.example.org",
        "MEETBOT_PROVIDERS__VCONNCT__LICENSE": "license",
        "MEETBOT_STORAGE__URL": "sqlite:////data/meetbot.db",
        "MEETBOT_LOG_LEVEL": "DEBUG",  # ours, but no config key: not reported
        "MEETBOT_SLAK__BOT_TOKEN": "x",  # a typo: reported, never silently used
        "PATH": "/usr/bin",
    }
    loaded = load(None, env)
    assert loaded.config.providers.configured() == ["vconnct"]
    assert loaded.config.storage.url == "sqlite:////data/meetbot.db"
    assert loaded.unused == ["MEETBOT_SLAK__BOT_TOKEN"]


def test_the_secrets_directory_gives_values_under_the_environment(tmp_path):
    (tmp_path / "meetbot_providers__vconnct__license").write_text("license-from-file\n")
    (tmp_path / "MEETBOT_PROVIDERS__VCONNCT__URL").write_text("https://file.example.org")
    (tmp_path / "unrelated").write_text("not ours")
    env = {"MEETBOT_PROVIDERS__VCONNCT__URL": "https://env.example.org"}
    vconnct = load(None, env, tmp_path).config.providers.vconnct
    assert vconnct is not None
    assert vconnct.license.get_secret_value() == "license-from-file"  # the newline is not in it
    assert vconnct.url == "https://env.example.org"  # the environment is above the files


def test_an_error_names_the_variable_a_value_came_from_and_hides_it(tmp_path):
    (tmp_path / "MEETBOT_SLACK__PORT").write_text("not-a-port-s3cret")
    env = {
        "MEETBOT_PROVIDERS__VCONNCT__URL": "ftp://v.example.org",
        "MEETBOT_PROVIDERS__VCONNCT__LICENSE": "l",
        "MEETBOT_SLACK__BOT_TOKEN": "xoxb-s3cret",
        "MEETBOT_SLACK__APP_TOKEN": "xapp-1",
        "MEETBOT_SLACK__BOT_TOKN": "typo",
    }
    with pytest.raises(ConfigError) as caught:
        load(None, env, tmp_path)
    text = str(caught.value)
    assert text.startswith("environment: invalid configuration\n")
    assert (
        "providers.vconnct.url: must be an http(s) URL (from MEETBOT_PROVIDERS__VCONNCT__URL)"
        in text
    )
    assert "slack.port: Input should be a valid integer" in text
    assert "(from the secret file MEETBOT_SLACK__PORT)" in text
    assert "slack.bot_tokn: unknown key" in text
    assert "s3cret" not in text


def test_a_missing_key_says_which_variable_gives_it():
    env = {"MEETBOT_PROVIDERS__BIGBLUEBUTTON__URL": "https://b.example.org/bigbluebutton/api"}
    with pytest.raises(ConfigError) as caught:
        load(None, env)
    assert (
        "providers.bigbluebutton.secret: Field required (in the config file, or the "
        "environment as MEETBOT_PROVIDERS__BIGBLUEBUTTON__SECRET)"
    ) in str(caught.value)


def test_unset_file_variables_are_told_with_the_environments_problems(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text(FILE)
    with pytest.raises(ConfigError) as caught:
        load(config_file, {"MEETBOT_SERVER__PORT": "eighty"})
    text = str(caught.value)
    assert text.startswith(f"{config_file} and the environment: invalid configuration\n")
    assert "providers.bigbluebutton.secret: environment variable BBB_SECRET is not set" in text
    assert "slack.bot_token: environment variable SLACK_BOT_TOKEN is not set" in text
    assert "server.port: Input should be a valid integer" in text


def test_a_section_that_is_not_json_is_one_clear_error():
    with pytest.raises(ConfigError, match=r"MEETBOT_DISCORD…: a value there is not valid JSON"):
        environment_layer({"MEETBOT_DISCORD__GUILDS": "1,2"})


def test_the_secrets_directory_comes_from_the_flag_the_variable_or_run_secrets(tmp_path):
    assert secrets_dir(str(tmp_path), {}) == tmp_path
    assert secrets_dir(None, {"MEETBOT_SECRETS_DIR": str(tmp_path)}) == tmp_path
    with pytest.raises(ConfigError, match="does not exist"):
        secrets_dir(str(tmp_path / "absent"), {})
    assert read_secrets(None) == {}


def test_a_huge_secret_file_is_refused(tmp_path):
    (tmp_path / "MEETBOT_SLACK__BOT_TOKEN").write_bytes(b"x" * 70_000)
    with pytest.raises(ConfigError, match="larger than 64 KiB"):
        read_secrets(tmp_path)


def test_variable_names_follow_the_yaml_path():
    assert variable_for(("slack", "bot_token")) == "MEETBOT_SLACK__BOT_TOKEN"
    assert variable_for(["discord", "shard_ids"]) == "MEETBOT_DISCORD__SHARD_IDS"
