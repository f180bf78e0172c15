"""Who a Slack user is, for the role policy: admin/owner, user groups, time zone, name.

`users.info` (Tier 4) and `usergroups.list` (Tier 2) are cached per user and per team for a
TTL, so a class of 300 pressing Join costs one lookup each, not one per click. When a lookup
fails (missing scope, rate limit) the user gets plain facts: the policy then falls back to its
other rules, and the failure is logged once per TTL, not per click. users.info goes through
the lean `SlackWebApi` when one is given (the adapter gives its own), which costs a cold join
less than half the CPU slack_sdk's client does; lookups of one person made at once share one
call.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.webapi import SlackWebApi
from commands.errors import CommandError
from commands.model import ChatUser, Platform, PlatformFacts, Tenant
from commands.parsing import Mention

log = logging.getLogger("meetbot.slack")

DEFAULT_TTL_SECONDS = 600.0
# A Slack user id: U… (or W… in Enterprise Grid), upper-case letters and digits.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


@dataclass(frozen=True)
class _Profile:
    name: str | None
    is_admin: bool
    is_owner: bool
    timezone: str | None


class SlackPeople:
    """Cached user facts for every workspace this bot serves."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        web: SlackWebApi | None = None,
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.web = web
        self._asking: dict[tuple[str, str], asyncio.Future[_Profile | None]] = {}
        self._profiles: dict[tuple[str, str], tuple[float, _Profile | None]] = {}
        self._groups: dict[str, tuple[float, dict[str, frozenset[str]]]] = {}

    async def user(
        self, client: AsyncWebClient, team_id: str, user_id: str, fallback_name: str | None = None
    ) -> ChatUser:
        profile = await self._profile(client, team_id, user_id)
        groups = await self._team_groups(client, team_id)
        facts = PlatformFacts(
            is_admin=bool(profile and profile.is_admin),
            is_owner=bool(profile and profile.is_owner),
            groups=frozenset(handle for handle, members in groups.items() if user_id in members),
            timezone=profile.timezone if profile else None,
        )
        name = (profile.name if profile else None) or fallback_name or user_id
        return ChatUser(Tenant(Platform.SLACK, team_id), user_id, name, facts=facts)

    def known(self, team_id: str, user_id: str, fallback_name: str | None = None) -> ChatUser:
        """`user_id` as far as it is known without asking Slack: its cached name, else
        `fallback_name` (a mention's label), else the id; no platform facts."""
        cached = self._profiles.get((team_id, user_id))
        profile = cached[1] if cached is not None else None
        name = (profile.name if profile else None) or fallback_name or user_id
        return ChatUser(Tenant(Platform.SLACK, team_id), user_id, name)

    def directory(self, client: AsyncWebClient) -> SlackDirectory:
        return SlackDirectory(self, client)

    async def _profile(self, client: AsyncWebClient, team_id: str, user_id: str) -> _Profile | None:
        key = (team_id, user_id)
        cached = self._profiles.get(key)
        if cached is not None and self.clock() - cached[0] < self.ttl:
            return cached[1]
        asking = self._asking.get(key)
        if asking is not None:  # the same person twice at once (a double click): one call
            return await asyncio.shield(asking)
        future: asyncio.Future[_Profile | None] = asyncio.get_running_loop().create_future()
        self._asking[key] = future
        profile: _Profile | None = None
        try:
            answer = await (
                self.web.users_info(user=user_id)
                if self.web is not None
                else client.users_info(user=user_id)
            )
            profile = _read_profile(answer.get("user") or {})
        except SlackApiError as error:
            log.warning("users.info for %s failed: %s", user_id, slack_error(error))
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when none waits
            raise
        finally:
            del self._asking[key]
        self._profiles[key] = (self.clock(), profile)
        future.set_result(profile)
        return profile

    async def _team_groups(self, client: AsyncWebClient, team_id: str) -> dict[str, frozenset[str]]:
        cached = self._groups.get(team_id)
        if cached is not None and self.clock() - cached[0] < self.ttl:
            return cached[1]
        groups: dict[str, frozenset[str]] = {}
        try:
            answer = await client.usergroups_list(include_users=True)
            for group in answer.get("usergroups") or []:
                handle = str(group.get("handle") or "")
                if handle:
                    groups[handle] = frozenset(group.get("users") or [])
        except SlackApiError as error:
            log.warning("usergroups.list in %s failed: %s", team_id, slack_error(error))
        self._groups[team_id] = (self.clock(), groups)
        return groups


class SlackDirectory:
    """Mentions in /meet text (`<@U123|name>`) as ChatUsers of the invoking workspace.

    Slack turns a person picked from its @ menu into `<@U123|name>`; anything else that looks
    like a mention (`@everyone`, `@bob` typed out, `<@bob>`) names no Slack user, and is said
    so rather than looked up, invited or sent a DM.

    A mentioned person is not looked up (users.info): an invitation needs only their id, and
    their role is decided when they press Join, from their own profile. 1,000 invitees would
    otherwise be 1,000 users.info calls, ten minutes at its published rate (Tier 4, 100+ a
    minute), before the first invitation went out. A profile already cached gives the name.
    """

    def __init__(self, people: SlackPeople, client: AsyncWebClient) -> None:
        self.people = people
        self.client = client

    async def lookup(self, tenant: Tenant, mention: Mention) -> ChatUser:
        if not _USER_ID.fullmatch(mention.user_id):
            shown = mention.label or mention.user_id
            raise CommandError(
                f"@{shown[:64]} is not a Slack user I can invite. Mention people by picking "
                "them from Slack's @ menu, so that Slack links them."
            )
        return self.people.known(tenant.id, mention.user_id, mention.label)


def is_user_id(text: str) -> bool:
    """Whether `text` has the shape of a Slack user id (U… or W…)."""
    return _USER_ID.fullmatch(text) is not None


def slack_error(error: SlackApiError) -> str:
    """Slack's error code (`not_in_channel`), or the HTTP status when the body was not JSON."""
    data = error.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {error.response.status_code}"


def _read_profile(user: dict[str, Any]) -> _Profile:
    profile = user.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
    return _Profile(
        name=str(name) if name else None,
        is_admin=bool(user.get("is_admin")),
        is_owner=bool(user.get("is_owner") or user.get("is_primary_owner")),
        timezone=user.get("tz"),
    )
