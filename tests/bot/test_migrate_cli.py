"""`meetbot migrate`: what an operator runs before (or instead of) the replicas' own start-up
migration, and what it prints; on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import cli
from bot.config import ConfigError, parse_config
from commands.store.migrate import head
from tests.commands.test_store import TO_LAYOUT_2, run_sql

PROVIDERS = (
    "providers:\n"
    "  bigbluebutton: {url: 'http://127.0.0.1:9/bigbluebutton/api', secret: s3cret-s3cret}\n"
)


def config_for(folder: Path, url: str) -> str:
    config = folder / "c.yaml"
    config.write_text(PROVIDERS + f"storage: {{url: '{url}'}}\n")
    return str(config)


def test_migrate_says_what_it_did_then_that_there_is_nothing_to_do(tmp_path, capsys, store_url):
    config = config_for(tmp_path, store_url)
    assert cli.main(["migrate", "--config", config]) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(f"found empty; created the tables; now at revision {head()}")
    )
    assert cli.main(["migrate", "--config", config]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_migrate_upgrades_a_numbered_layout(tmp_path, capsys, store_url):
    config = config_for(tmp_path, store_url)
    assert cli.main(["migrate", "--config", config]) == 0
    asyncio.run(
        run_sql(
            store_url,
            *TO_LAYOUT_2,
            "UPDATE kv SET value = '2' WHERE key = 'meetbot.schema_version'",
        )
    )
    capsys.readouterr()
    assert cli.main(["migrate", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "found layout 2; upgraded layout 2 to 3; adopted it as revision 0001" in out
    assert out.strip().endswith(f"now at revision {head()}")


def test_an_unreachable_store_is_one_line_with_no_password(tmp_path, capsys, postgres):
    url = f"postgresql+asyncpg://store:pa55word@127.0.0.1:{postgres.port}/absent"
    config = config_for(tmp_path, url)
    assert cli.main(["migrate", "--config", config]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "meetbot migrate: cannot migrate the store at postgresql+asyncpg://store:***@"
    )
    assert "pa55word" not in err
    assert "Traceback" not in err
    # And the log's redactor knows it, should a driver's message ever carry it.
    assert "pa55word" in parse_config(PROVIDERS + f"storage: {{url: '{url}'}}\n", env={}).secrets()


@pytest.mark.parametrize("seconds", [0, 7200])
def test_the_lease_is_a_checked_config_key(seconds):
    text = PROVIDERS + f"scheduler: {{lease_seconds: {seconds}}}\n"
    with pytest.raises(ConfigError, match=r"scheduler.lease_seconds"):
        parse_config(text, env={})
    assert parse_config(PROVIDERS, env={}).scheduler.lease_seconds == 120
