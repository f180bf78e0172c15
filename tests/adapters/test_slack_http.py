"""The real Bolt AsyncApp in HTTP mode on loopback, driven by real signed Slack requests.

Assertions are on what a loopback fake Slack Web API received: the channel card, each personal
link in the right user's DM with the right role, ephemeral answers on the response_url, the
fallbacks, the 429 retry, and 401 with no Web API call for bad signatures.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

from tests.adapters.fake_slack import blocks_text
from tests.adapters.slack_rig import (
    SECRET,
    SlackRig,
    link_in,
    open_rig,
    response_texts,
    signed_headers,
)


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[SlackRig]:
    async with open_rig(tmp_path) as running:
        yield running


async def test_create_posts_a_card_and_dms_the_creator_a_moderator_link(rig: SlackRig):
    answer = await rig.command('create "Algebra 101" --record')
    assert answer.status_code == 200
    assert answer.text == ""  # acked at once, empty: the work goes on after the ack
    fake = rig.fake
    await fake.wait_until(
        lambda: len(fake.of("chat.postMessage")) >= 2 and len(fake.of("response_url")) >= 1
    )
    card = [c for c in fake.of("chat.postMessage") if c.params["channel"] == "C1"]
    assert len(card) == 1
    shown = blocks_text(card[0].params)
    assert "Algebra 101" in shown
    assert '"action_id": "meet_join"' in shown
    assert '"action_id": "meet_end"' in shown
    assert "http" not in shown, "no link in a channel card"
    # The DM goes to the user id: no conversations.open round trip, no DM id stored.
    assert fake.of("conversations.open") == []
    assert [c.params["channel"] for c in fake.of("chat.postMessage")] == ["C1", "UALICE"]
    dm = rig.dm_to("UALICE")
    assert len(dm) == 1
    assert parse_qs(urlsplit(link_in(dm[0])).query)["role"] == ["MODERATOR"]
    assert "creator of the meeting" in dm[0]
    assert "sent you a direct message" in response_texts(fake)[0]
    assert all(
        c.authorization == "Bearer xoxb-test" for c in fake.calls if c.method != "response_url"
    )


async def test_a_scheduled_cards_start_shows_in_each_readers_own_zone(rig: SlackRig):
    # Alice is in Europe/Berlin: her date is read there; the card carries a Slack date token.
    await rig.command('create Review --start "2026-12-01 14:30"')
    fake = rig.fake
    await fake.wait_until(
        lambda: any(c.params["channel"] == "C1" for c in fake.of("chat.postMessage"))
    )
    card = next(c for c in fake.of("chat.postMessage") if c.params["channel"] == "C1")
    epoch = int(datetime(2026, 12, 1, 13, 30, tzinfo=UTC).timestamp())
    shown = blocks_text(card.params)
    assert (
        f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|Tue 01 Dec 2026 14:30 (Europe/Berlin)>"
        in shown
    )


async def test_join_button_mints_each_clickers_own_link_and_end_checks_roles(rig: SlackRig):
    fake = rig.fake
    await rig.command("create Standup")
    await fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
    meeting_id = re.search(
        r'"value": "(\w+)"',
        blocks_text(
            next(c for c in fake.of("chat.postMessage") if c.params["channel"] == "C1").params
        ),
    ).group(1)  # type: ignore[union-attr]
    card_ts = next(c for c in fake.of("chat.postMessage") if c.params["channel"] == "C1")

    assert (await rig.click("meet_join", meeting_id, "UBOB")).status_code == 200
    await fake.wait_until(lambda: len(rig.dm_to("UBOB")) == 1)
    # The notes that the links went by DM (Alice's and Bob's) follow the DMs: wait for
    # them, so that the End below is answered after them.
    await fake.wait_until(
        lambda: sum("I sent you a direct message" in t for t in response_texts(fake)) == 2
    )
    bob_link = link_in(rig.dm_to("UBOB")[0])
    assert parse_qs(urlsplit(bob_link).query)["role"] == ["VIEWER"]
    assert "attendee" in rig.dm_to("UBOB")[0]

    await rig.click("meet_end", meeting_id, "UBOB")
    # The join's own "sent you a DM" may still be on its way: wait for the refusal itself.
    await fake.wait_until(
        lambda: any("Only moderators can end Standup" in t for t in response_texts(fake))
    )
    assert fake.of("chat.update") == []

    await rig.command("end Standup")
    await fake.wait_until(lambda: len(fake.of("chat.update")) == 1)
    update = fake.of("chat.update")[0].params
    assert update["channel"] == "C1"
    assert update["ts"] is not None
    assert "ended" in blocks_text(update)
    assert card_ts is not None


async def test_answers_on_the_response_url_share_the_web_api_connections(rig: SlackRig):
    # Bolt's own respond() opens a session, and a TCP connection, per answer.
    def answered(count: int) -> Callable[[], bool]:
        return lambda: len(rig.fake.of("response_url")) >= count

    for number in range(3):
        await rig.command(f"status nothing-{number}")
        await rig.fake.wait_until(answered(number + 1))
    await rig.command("create Shared")
    await rig.fake.wait_until(lambda: len(rig.fake.of("response_url")) > 3)
    answers = {c.peer for c in rig.fake.of("response_url")}
    assert len(answers) == 1, "one kept-alive connection for one answer after another"


async def test_closed_dm_falls_back_to_an_ephemeral_link(rig: SlackRig):
    rig.fake.channel_errors["UALICE"] = "messages_tab_disabled"
    await rig.command("create Private --provider vconnct")
    await rig.fake.wait_until(
        lambda: any("could not send you a direct message" in t for t in response_texts(rig.fake))
    )
    fallback = next(
        c.params
        for c in rig.fake.of("response_url")
        if "could not send you" in str(c.params.get("text"))
    )
    assert fallback["response_type"] == "ephemeral"
    assert "api/join" in blocks_text(fallback)
    refused = [c for c in rig.fake.of("chat.postMessage") if c.params["channel"] != "C1"]
    assert [c.params["channel"] for c in refused] == ["UALICE"], "tried once, refused"
    assert rig.fake.of("conversations.open") == [], "a refused DM is not opened another way"


async def test_a_dm_slack_takes_no_user_id_for_is_opened_and_posted_there(rig: SlackRig):
    rig.fake.channel_errors["UALICE"] = "channel_not_found"
    await rig.command("create Opened --provider vconnct")
    await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 2)
    assert [c.params["users"] for c in rig.fake.of("conversations.open")] == ["UALICE"]
    posted = [c.params["channel"] for c in rig.fake.of("chat.postMessage")]
    assert posted[-2:] == ["UALICE", "DUALICE"]
    assert "api/join" in rig.dm_to("UALICE")[-1]
    assert not any("could not send you" in t for t in response_texts(rig.fake))


async def test_a_dm_that_can_be_opened_in_no_way_falls_back_to_an_ephemeral_link(rig: SlackRig):
    rig.fake.channel_errors["UALICE"] = "channel_not_found"
    rig.fake.errors["conversations.open"] = "cannot_dm_bot"
    await rig.command("create Closed --provider vconnct")
    await rig.fake.wait_until(
        lambda: any("could not send you a direct message" in t for t in response_texts(rig.fake))
    )
    assert not any(c.params["channel"] == "DUALICE" for c in rig.fake.of("chat.postMessage"))


async def test_rate_limited_post_is_retried(rig: SlackRig):
    rig.fake.rate_limit["chat.postMessage"] = 1
    await rig.command("create Retry")
    await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
    posts = rig.fake.of("chat.postMessage")
    assert posts[0].params["channel"] == posts[1].params["channel"] == "C1"


async def test_bot_not_in_channel_posts_through_the_response_url(rig: SlackRig):
    rig.fake.errors["chat.postMessage"] = "not_in_channel"
    await rig.command("create Outside", channel="CPRIVATE")
    await rig.fake.wait_until(
        lambda: any(
            c.params.get("response_type") == "in_channel" for c in rig.fake.of("response_url")
        )
    )
    in_channel = next(
        c.params
        for c in rig.fake.of("response_url")
        if c.params.get("response_type") == "in_channel"
    )
    assert "Outside" in blocks_text(in_channel)
    assert "http" not in blocks_text(in_channel)


@pytest.mark.parametrize(("secret", "age"), [("wrong-secret", 0), (SECRET, 301)])
async def test_bad_or_stale_signature_is_401_and_calls_nothing(rig: SlackRig, secret, age):
    answer = await rig.post(
        urlencode(
            {
                "command": "/meet",
                "text": "create X",
                "team_id": "T1",
                "user_id": "U1",
                "channel_id": "C1",
                "response_url": f"{rig.fake.url}/respond/x",
            }
        ),
        timestamp=int(time.time()) - age,
        secret=secret,
    )
    assert answer.status_code == 401
    await asyncio.sleep(0)
    assert rig.fake.calls == []
    assert await rig.bench.store.find_meetings(rig.bench.channel.tenant) == []


async def test_hostile_title_pings_nobody(rig: SlackRig):
    await rig.command('create "<!channel> @here <@UBOB> hi"')
    await rig.fake.wait_until(
        lambda: any(c.params["channel"] == "C1" for c in rig.fake.of("chat.postMessage"))
    )
    post = next(c for c in rig.fake.of("chat.postMessage") if c.params["channel"] == "C1")
    shown = blocks_text(post.params)
    assert "<!channel>" not in shown
    assert "<@UBOB>" not in shown
    assert "&lt;!channel&gt;" in shown
    assert not re.search(r"@here\b", shown)


async def test_workspace_admin_moderates_with_the_reason_shown(rig: SlackRig):
    await rig.command("create Board")
    await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
    await rig.command("join Board", user="UADMIN")
    await rig.fake.wait_until(lambda: len(rig.dm_to("UADMIN")) == 1)
    assert "Slack workspace admin" in rig.dm_to("UADMIN")[0]
    assert parse_qs(urlsplit(link_in(rig.dm_to("UADMIN")[0])).query)["role"] == ["MODERATOR"]


async def test_a_burst_of_200_joins_is_acked_within_three_seconds_each(rig: SlackRig):
    # A class clicking Join together: each request is acked in time while the links are minted
    # and delivered behind the acks. (aiohttp sends the burst: httpx's pool spends more time
    # on 200 open connections than the app under test does.)
    await rig.command("create Lecture")
    await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
    students = [f"US{i:03d}" for i in range(200)]

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def timed(user: str) -> float:
            body = rig.command_body("join Lecture", user=user)
            started = time.perf_counter()
            async with session.post(rig.url, data=body, headers=signed_headers(body)) as answer:
                assert answer.status == 200
            return time.perf_counter() - started

        durations = await asyncio.gather(*(timed(user) for user in students))
    assert max(durations) < 3.0, f"slowest ack {max(durations):.2f}s"
    await rig.fake.wait_until(lambda: all(rig.dm_to(user) for user in students), seconds=30)
    links = {link_in(rig.dm_to(user)[0]) for user in students}
    assert len(links) == 200, "every student has a link of their own"
    assert {parse_qs(urlsplit(link).query)["role"][0] for link in links} == {"VIEWER"}


async def test_provider_down_answers_privately_and_records_nothing(rig: SlackRig):
    rig.bench.sims.bigbluebutton.faults.fail_next = 10
    await rig.command("create Doomed")
    await rig.fake.wait_until(lambda: bool(rig.fake.of("response_url")))
    answer = rig.fake.of("response_url")[0].params
    assert answer["response_type"] == "ephemeral"
    assert "BigBlueButton is not answering right now" in str(answer["text"])
    assert not rig.fake.of("chat.postMessage")
    assert await rig.bench.store.find_meetings(rig.bench.channel.tenant) == []


@pytest.mark.parametrize("mention", ["@everyone", "@bob", "<@everyone>", "<@u1abc|bob>"])
async def test_an_invite_of_no_slack_user_is_a_clear_reply_not_a_dm(rig: SlackRig, mention):
    # Slack turns a picked person into <@U…|name>; typed text like @everyone stays text.
    await rig.command(f"create X --invite {mention}")
    await rig.fake.wait_until(lambda: bool(rig.fake.of("response_url")))
    await rig.adapter.close()
    answer = rig.fake.of("response_url")[0].params
    assert answer["response_type"] == "ephemeral"
    text = str(answer["text"])
    # @everyone is no mention at all (a usage error); the others name no Slack user.
    assert "is not a Slack user" in text or "takes one or more @mentions" in text, text
    assert rig.fake.of("conversations.open") == []
    assert rig.fake.of("users.info") == [] or all(
        c.params.get("user") == "UALICE" for c in rig.fake.of("users.info")
    )
    assert await rig.bench.store.find_meetings(rig.bench.channel.tenant) == []


async def test_a_command_that_says_payload_is_still_a_command(rig: SlackRig):
    # Bolt alone reads any form containing the text "payload" as an empty interaction.
    answer = await rig.command('create "payload review"', user="UALICE")
    assert answer.status_code == 200
    await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
    [meeting] = await rig.bench.store.find_meetings(rig.bench.channel.tenant)
    assert meeting.title == "payload review"


async def test_a_button_that_is_not_ours_is_acked_and_does_nothing(rig: SlackRig):
    # An older card's button, say: Slack shows the user an error unless it is acked.
    answer = await rig.click("meet_retired", "m1", "UBOB")
    await rig.adapter.drained()
    assert answer.status_code == 200
    assert [c.method for c in rig.fake.calls if c.method != "auth.test"] == []  # Bolt's own


async def test_a_recording_is_posted_in_the_cards_thread_with_buttons_for_moderators(
    rig: SlackRig,
):
    from bot.scheduler import JobLoop
    from commands.model import Platform
    from commands.schedule.jobs import JobHandlers

    fake = rig.fake
    await rig.command("create Lecture --record")
    await fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
    card = next(c for c in fake.of("chat.postMessage") if c.params["channel"] == "C1")
    meeting_id = re.search(r'"value": "(\w+)"', blocks_text(card.params)).group(1)  # type: ignore[union-attr]
    await rig.click("meet_join", meeting_id, "UBOB")
    await fake.wait_until(lambda: len(rig.dm_to("UBOB")) == 1)
    opened = await rig.http.get(link_in(rig.dm_to("UBOB")[0]), follow_redirects=True)
    assert opened.status_code == 200  # Bob is in: BigBlueButton records
    await rig.command("end Lecture")
    await fake.wait_until(lambda: len(fake.of("chat.update")) == 1)

    loop = JobLoop(JobHandlers(rig.bench.service), {Platform.SLACK: rig.adapter}, rig.bench.clock)
    await loop.tick()
    [posted] = [c for c in fake.of("chat.postMessage") if "recording of Lecture" in str(c.params)]
    assert posted.params["channel"] == "C1"
    [ref] = await rig.bench.service.card_refs(rig.bench.channel.tenant, meeting_id)
    assert posted.params["thread_ts"] == ref.partition("/")[2]  # under the meeting's card
    shown = blocks_text(posted.params)
    value = re.search(r'"value": "(\w+:\d+)"', shown).group(1)  # type: ignore[union-attr]
    assert '"action_id": "meet_recording_delete"' in shown

    before = len(fake.of("response_url"))
    await rig.click("meet_recording_unpublish", value, "UBOB")
    await fake.wait_until(lambda: len(fake.of("response_url")) > before)
    assert "Only moderators can unpublish recordings of Lecture" in response_texts(fake)[-1]
    [recording] = rig.bench.sims.bigbluebutton.recordings.values()
    assert recording.state == "published"
    await rig.click("meet_recording_unpublish", value, "UALICE")
    await fake.wait_until(lambda: len(fake.of("response_url")) > before + 1)
    assert "unpublished" in response_texts(fake)[-1]
    assert recording.state == "unpublished"


async def test_a_command_over_http_is_acked_by_the_endpoint_and_a_click_by_bolt(rig: SlackRig):
    # A /meet command is acked past Bolt's dispatch (a third of an ack's CPU); the rest is
    # Bolt's. Seen from a middleware of Bolt's own: it runs for the click, not the command.
    dispatched: list[str] = []

    async def seen(body: dict[str, object], next: Callable[[], Awaitable[None]]) -> None:
        dispatched.append(str(body.get("command") or body.get("type")))
        await next()

    rig.adapter.app.use(seen)
    answer = await rig.command("help", user="UALICE")
    assert answer.status_code == 200
    await rig.fake.wait_until(lambda: len(rig.fake.of("response_url")) == 1)
    assert dispatched == []
    click = await rig.click("meet_retired", "m1", "UBOB")
    await rig.adapter.drained()
    assert click.status_code == 200
    assert dispatched == ["block_actions"]
