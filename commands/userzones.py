"""Each person's own time zone: looked up before a command runs, set with `/meet timezone`.

The zone a person's dates are read and shown in is the platform's (Slack tells us), else the one
they set themselves (kept in the store), else their tenant's configured default, else UTC.
`with_own_zone` applies that order to a `ChatUser`; `choose_zone` and `forget_zone` change the
person's own choice and are what any front end (the `/meet timezone` handler, a console
command) calls; `timezone_text` answers `/meet timezone [ZONE]`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Protocol

from commands import cards
from commands.model import ChatUser, Platform, ZoneSource
from commands.policy import RolePolicy
from commands.schedule.recurrence import zone_named
from commands.zonenames import resolve_zone

FORGET_WORDS = {"reset", "clear", "default"}
_PLATFORM_NAMES = {
    Platform.SLACK: "Slack",
    Platform.DISCORD: "Discord",
    Platform.CONSOLE: "the console",
}


class ZoneBook(Protocol):
    """Where the zones people chose are kept (`MeetingStore` is one)."""

    async def user_zone(self, user_key: str) -> str | None: ...

    async def set_user_zone(self, user_key: str, zone: str, at: datetime) -> None: ...

    async def clear_user_zone(self, user_key: str) -> bool: ...


async def with_own_zone(book: ZoneBook, policy: RolePolicy, user: ChatUser) -> ChatUser:
    """`user` with the zone their dates are read in. Asks the store (one primary-key read)
    only when the platform told us none."""
    own = None if user.facts.timezone else await book.user_zone(user.key)
    return policy.local(user, own)


async def choose_zone(book: ZoneBook, user_key: str, text: str, at: datetime) -> str:
    """Keep the zone `text` names (an IANA name, any case, or a city) as `user_key`'s own;
    returns its IANA name. ValueError, with a suggestion, when it names no one zone."""
    name = resolve_zone(text)
    await book.set_user_zone(user_key, name, at)
    return name


async def forget_zone(book: ZoneBook, user_key: str) -> bool:
    """Forget `user_key`'s own zone; True when there was one."""
    return await book.clear_user_zone(user_key)


async def timezone_text(
    book: ZoneBook, policy: RolePolicy, user: ChatUser, text: str | None, now: datetime
) -> str:
    """The answer to `/meet timezone [ZONE]` for `user` (as `with_own_zone` made them)."""
    if text is None:
        return _in_use(user, now)
    if text.strip().lower() in FORGET_WORDS:
        had = await forget_zone(book, user.key)
        after = await with_own_zone(book, policy, _unset(user))
        first = "I forgot the time zone you set." if had else "You had not set a time zone."
        return f"{first} {_in_use(after, now)}"
    name = await choose_zone(book, user.key, text, now)
    if user.facts.timezone_from is ZoneSource.PLATFORM and user.facts.timezone:
        platform = _PLATFORM_NAMES[user.platform]
        return (
            f"Saved {name}, but {platform} tells me your zone is {user.facts.timezone}, and "
            f"that wins: the zone you set is used only when {platform} tells me none."
        )
    return (
        f"Your time zone is now {name}: the dates you type are read in it, and shown in it. "
        f"It is {cards.when(now, zone_named(name))} there now."
    )


def _in_use(user: ChatUser, now: datetime) -> str:
    zone, source = user.facts.timezone, user.facts.timezone_from
    if not zone or source is ZoneSource.NONE:
        return (
            "Your dates are read and shown in UTC (nobody set one). "
            "Set yours with /meet timezone ZONE, e.g. /meet timezone Europe/Berlin."
        )
    where = {
        ZoneSource.PLATFORM: (
            "your Slack profile"
            if user.platform is Platform.SLACK
            else f"what {_PLATFORM_NAMES[user.platform]} tells me"
        ),
        ZoneSource.USER: "set with /meet timezone",
        ZoneSource.TENANT: (
            "this server's default"
            if user.platform is Platform.DISCORD
            else "this workspace's default"
        ),
    }[source]
    hint = " Set your own with /meet timezone ZONE." if source is ZoneSource.TENANT else ""
    return (
        f"Your dates are read and shown in {zone} ({where}). "
        f"It is {cards.when(now, zone_named(zone))} there now.{hint}"
    )


def _unset(user: ChatUser) -> ChatUser:
    """`user` as the platform sent them, before a zone of ours was filled in."""
    if user.facts.timezone_from is ZoneSource.PLATFORM:
        return user
    return replace(
        user, facts=replace(user.facts, timezone=None, timezone_from=ZoneSource.PLATFORM)
    )
