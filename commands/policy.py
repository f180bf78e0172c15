"""The role policy: who moderates a meeting and why, from config and platform facts.

Order of decision: the meeting's creator; then the tenant's policy (its override, else the
global one): `everyone_moderator`, then the ordered rules, the first match wins; else attendee.
Every decision carries a reason the user is shown ("Discord role Teachers", "default").
Platform rules match only on their own platform. Pure and synchronous: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from commands.model import ChatUser, Meeting, Platform, RoleDecision, Tenant, ZoneSource
from providers.base import Role

DISCORD_PERMISSIONS = (
    "administrator",
    "manage_guild",
    "manage_events",
    "manage_channels",
    "manage_roles",
    "moderate_members",
    "kick_members",
    "ban_members",
    "manage_messages",
    "mute_members",
    "move_members",
)
_USER_KEY = re.compile(r"^(slack|discord|console):[^:\s]+:[^:\s]+$")

CREATOR = RoleDecision(Role.MODERATOR, "creator of the meeting")
EVERYONE = RoleDecision(Role.MODERATOR, "everyone is a moderator in this workspace")
DEFAULT = RoleDecision(Role.ATTENDEE, "default")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleRule(_Frozen):
    """One rule; exactly one criterion. A match makes the user a moderator."""

    platform_admins: bool | None = None
    discord_roles: tuple[str, ...] | None = None
    discord_permissions: tuple[str, ...] | None = None
    slack_groups: tuple[str, ...] | None = None
    users: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RoleRule:
        given = [name for name, value in self if value is not None]
        if len(given) != 1:
            names = ", ".join(type(self).model_fields)
            raise ValueError(f"a role rule has exactly one of {names}; got {len(given)}")
        return self

    @field_validator("discord_permissions")
    @classmethod
    def _known_permissions(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = sorted({p for p in value or () if p.lower() not in DISCORD_PERMISSIONS})
        if unknown:
            raise ValueError(
                f"unknown Discord permission(s) {', '.join(unknown)}; "
                f"known: {', '.join(DISCORD_PERMISSIONS)}"
            )
        return tuple(p.lower() for p in value) if value is not None else None

    @field_validator("users")
    @classmethod
    def _user_keys(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        bad = [key for key in value or () if not _USER_KEY.match(key)]
        if bad:
            raise ValueError(
                f"user keys look like slack:TEAM:USER or discord:GUILD:USER, not {bad[0]!r}"
            )
        return value

    def match(self, user: ChatUser) -> str | None:
        """The reason this rule makes `user` a moderator, or None."""
        facts, platform = user.facts, user.platform
        if self.platform_admins:
            return _admin_reason(user)
        if self.discord_roles is not None and platform is Platform.DISCORD:
            have = {r.casefold(): r for r in facts.roles}
            for wanted in self.discord_roles:
                if wanted.casefold() in have:
                    return f"Discord role {have[wanted.casefold()]}"
        if self.discord_permissions is not None and platform is Platform.DISCORD:
            have_permissions = {p.lower() for p in facts.permissions}
            for permission in self.discord_permissions:
                if permission in have_permissions:
                    return f"Discord permission {permission}"
        if self.slack_groups is not None and platform is Platform.SLACK:
            have_groups = {g.lstrip("@").casefold() for g in facts.groups}
            for group in self.slack_groups:
                if group.lstrip("@").casefold() in have_groups:
                    return f"Slack user group @{group.lstrip('@')}"
        if self.users is not None and user.key in self.users:
            return "listed as a moderator"
        return None


def _admin_reason(user: ChatUser) -> str | None:
    facts = user.facts
    if user.platform is Platform.SLACK:
        if facts.is_owner:
            return "Slack workspace owner"
        if facts.is_admin:
            return "Slack workspace admin"
    elif user.platform is Platform.DISCORD:
        if facts.is_owner:
            return "Discord server owner"
        if facts.is_admin or "administrator" in {p.lower() for p in facts.permissions}:
            return "Discord administrator"
    elif facts.is_admin or facts.is_owner:
        return "admin"
    return None


class RolePolicyConfig(_Frozen):
    """The `roles` section (and `tenants.<key>.roles`)."""

    everyone_moderator: bool = False
    rules: tuple[RoleRule, ...] = Field(default=(RoleRule(platform_admins=True),))


class TenantRecordings(_Frozen):
    """`tenants.<tenant key>.recordings`: this tenant's own word on recordings."""

    enabled: bool | None = None  # None: the `recordings.enabled` default


class TenantOverride(_Frozen):
    """`tenants.<tenant key>`: per Slack team / Discord guild settings."""

    default_provider: Literal["bigbluebutton", "vconnct", "liveminutes"] | None = None
    roles: RolePolicyConfig | None = None
    # For people whose platform tells us no time zone (Discord never does): the zone their
    # dates are read and shown in. IANA name, e.g. Europe/Berlin.
    timezone: str | None = None
    # Discord servers only: mirror scheduled meetings as Discord scheduled events (None: the
    # `discord.events` default).
    discord_events: bool | None = None
    recordings: TenantRecordings | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{name!r} is not a known time zone (e.g. Europe/Berlin)"
                ) from None
        return name


class RolePolicy:
    """Decides roles; constructed once from config."""

    def __init__(
        self, config: RolePolicyConfig, tenants: Mapping[str, TenantOverride] | None = None
    ) -> None:
        self.config = config
        self.tenants = dict(tenants or {})

    def policy_for(self, tenant: Tenant) -> RolePolicyConfig:
        override = self.tenants.get(tenant.key)
        if override is not None and override.roles is not None:
            return override.roles
        return self.config

    def decide(self, user: ChatUser, meeting: Meeting | None) -> RoleDecision:
        if meeting is not None and meeting.creator_key == user.key:
            return CREATOR
        policy = self.policy_for(user.tenant)
        if policy.everyone_moderator:
            return EVERYONE
        for rule in policy.rules:
            reason = rule.match(user)
            if reason is not None:
                return RoleDecision(Role.MODERATOR, reason)
        return DEFAULT

    def timezone(self, tenant: Tenant) -> str | None:
        """The tenant's configured time zone, if any."""
        override = self.tenants.get(tenant.key)
        return override.timezone if override is not None else None

    def zone_choice(self, user: ChatUser, own: str | None = None) -> tuple[str | None, ZoneSource]:
        """The zone `user`'s dates are read in, and where it came from: the platform's, else
        the one they set themselves (`own`), else their tenant's, else none (UTC)."""
        if user.facts.timezone:
            return user.facts.timezone, user.facts.timezone_from
        if own:
            return own, ZoneSource.USER
        zone = self.timezone(user.tenant)
        if zone is not None:
            return zone, ZoneSource.TENANT
        return None, ZoneSource.NONE

    def local(self, user: ChatUser, own: str | None = None) -> ChatUser:
        """`user` with the zone `zone_choice` picks filled in, when the platform told us none."""
        zone, source = self.zone_choice(user, own)
        if zone == user.facts.timezone and source is user.facts.timezone_from:
            return user
        return replace(user, facts=replace(user.facts, timezone=zone, timezone_from=source))

    def default_provider(self, tenant: Tenant, fallback: str) -> str:
        override = self.tenants.get(tenant.key)
        if override is not None and override.default_provider is not None:
            return override.default_provider
        return fallback
