"""A reply's file (the attendance CSV) delivered by each adapter: Slack uploads it into the
moderator's DM with files_upload_v2 (the three calls it makes, against the fake Web API),
Discord attaches it to the private followup, the terminal writes it to its exports folder."""

from __future__ import annotations

import csv
import io
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.console import ConsoleChat, ConsoleDirectory
from bot.console import open_in_browser
from bot.simulated import SimulatedProviders
from commands.policy import RolePolicy, RolePolicyConfig
from commands.router import CommandRouter
from tests.adapters.discord_rig import BOB, EPHEMERAL, DiscordRig
from tests.adapters.discord_rig import open_rig as open_discord
from tests.adapters.slack_rig import SlackRig, link_in, response_texts
from tests.adapters.slack_rig import open_rig as open_slack
from tests.commands.conftest import make_bench


def attended(content: bytes) -> dict[str, str]:
    """name -> attended (yes/no), from the CSV's bytes."""
    rows = csv.DictReader(io.StringIO(content.decode()))
    return {row["name"]: row["attended"] for row in rows}


async def opened(url: str) -> None:
    async with httpx.AsyncClient(follow_redirects=True, timeout=5) as browser:
        assert (await browser.get(url)).status_code == 200


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackRig]:
    async with open_slack(tmp_path) as running:
        yield running


@pytest.fixture
async def discord_rig(tmp_path: Path) -> AsyncIterator[DiscordRig]:
    async with open_discord(tmp_path) as running:
        yield running


async def test_slack_uploads_the_csv_into_the_moderators_dm(slack: SlackRig):
    fake = slack.fake
    await slack.command("create Lecture")
    await fake.wait_until(lambda: bool(slack.dm_to("UALICE")))
    await opened(link_in(slack.dm_to("UALICE")[0]))
    await slack.command("join Lecture", user="UBOB")
    await fake.wait_until(lambda: bool(slack.dm_to("UBOB")))

    await slack.command("attendance Lecture --csv")
    await fake.wait_until(
        lambda: any("sent you the attendance CSV" in t for t in response_texts(fake))
    )
    [asked] = fake.of("files.getUploadURLExternal")
    filename = asked.params["filename"]
    assert filename.startswith("attendance-")
    assert filename.endswith(".csv")
    [file_id] = fake.uploads
    assert int(asked.params["length"]) == len(fake.uploads[file_id])
    assert attended(fake.uploads[file_id]) == {"Alice": "yes", "Bob": "no"}
    [shared] = fake.of("files.completeUploadExternal")
    assert shared.params["channel_id"] == "DUALICE", "into the moderator's own DM"
    assert file_id in shared.params["files"]
    assert "Attendance of Lecture" in shared.params["initial_comment"]


async def test_slack_says_so_when_the_upload_is_refused(slack: SlackRig):
    fake = slack.fake
    fake.errors["files.getUploadURLExternal"] = "missing_scope"
    await slack.command("create Lecture")
    await fake.wait_until(lambda: bool(slack.dm_to("UALICE")))
    await slack.command("attendance Lecture --csv")
    await fake.wait_until(lambda: any("could not send you" in t for t in response_texts(fake)))
    assert fake.uploads == {}
    assert fake.of("files.completeUploadExternal") == []


async def test_slack_refuses_an_attendee_and_uploads_nothing(slack: SlackRig):
    fake = slack.fake
    await slack.command("create Lecture")
    await fake.wait_until(lambda: bool(slack.dm_to("UALICE")))
    await slack.command("attendance Lecture --csv", user="UBOB")
    await fake.wait_until(lambda: any("Only moderators" in t for t in response_texts(fake)))
    assert fake.of("files.getUploadURLExternal") == []


async def test_discord_attaches_the_csv_to_the_private_followup(discord_rig: DiscordRig):
    rig, fake = discord_rig, discord_rig.fake
    created = rig.command("create", {"title": "Lecture"})
    await rig.answered(created)
    joined = rig.command("join", {"meeting": "Lecture"}, who=BOB)
    await rig.answered(joined)

    asked = rig.command("attendance", {"meeting": "Lecture", "csv": True})
    await rig.answered(asked)
    [followup] = rig.followups(asked)
    assert followup["flags"] & EPHEMERAL, "only the moderator sees it"
    [name] = followup["_files"]
    assert name.startswith("attendance-")
    [(path, filename, content)] = fake.files
    assert (path.startswith("/webhooks/"), filename) == (True, name)
    assert set(attended(content)) == {"alice", "bob"}

    refused = rig.command("attendance", {"meeting": "Lecture", "csv": True}, who=BOB)
    await rig.answered(refused)
    [answer] = rig.followups(refused)
    assert "Only moderators" in answer["content"]
    assert len(fake.files) == 1, "nothing attached for an attendee"


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item + "\n"


async def test_the_terminal_writes_the_csv_and_says_where(tmp_path: Path):
    exports = tmp_path / "exports"
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        directory = ConsoleDirectory()
        router = CommandRouter(bench.service, directory=directory)
        out = io.StringIO()
        chat = ConsoleChat(router.dispatch, router.click, out, directory=directory, exports=exports)
        chat.browser = open_in_browser
        try:
            await chat.run(
                lines(
                    "/meet create Lecture --provider vconnct",
                    "/open",
                    "/as bob",
                    "/meet join Lecture",
                    "/meet attendance Lecture --csv",  # refused: bob attends
                    "/as alice",
                    "/meet attendance Lecture --csv",
                )
            )
        finally:
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()
    text = out.getvalue()
    assert "only bob sees > Only moderators can see the attendance of Lecture" in text
    [written] = list(exports.iterdir())
    assert f"wrote attendance CSV: {written}" in text
    assert text.count("wrote attendance CSV") == 1
    assert attended(written.read_bytes()) == {"alice": "yes", "bob": "no"}
    assert stat.S_IMODE(written.stat().st_mode) == 0o600, "it names people: theirs to read"
