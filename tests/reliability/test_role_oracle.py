"""The role policy against an independent oracle, over thousands of random configurations.

The oracle is written from the README and the documented config, not from `commands.policy`:

    Roles: the creator moderates; then the ordered rules under `roles` in the config (platform
    admins, Discord roles or permissions, Slack user groups, listed users) or
    `everyone_moderator`; everyone else attends. The reason is shown with every link.

and from config.example.yaml: platform admins are Slack workspace admins and owners and the
Discord server owner and administrators; Discord role names are case-insensitive; Slack user
group handles are written with or without the @; users are listed by key; the first rule that
matches wins; `tenants.<key>.roles` replaces `roles` for that Slack workspace or Discord server.

Facts are generated as the platforms give them: on Discord the Administrator permission
implies every other permission (Discord computes it so); Slack handles are lowercase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.model import ChatUser, Meeting, Platform, PlatformFacts, Tenant
from commands.policy import DISCORD_PERMISSIONS, RolePolicy, RolePolicyConfig, TenantOverride
from providers.base import Role, Room

TENANTS = (
    Tenant(Platform.SLACK, "T1"),
    Tenant(Platform.SLACK, "T2"),
    Tenant(Platform.DISCORD, "111"),
    Tenant(Platform.DISCORD, "222"),
    Tenant(Platform.CONSOLE, "local"),
)
USER_IDS = ("U1", "U2", "11", "12", "ann")
KEYS = tuple(f"{t.key}:{u}" for t in TENANTS for u in USER_IDS)
ROLE_NAMES = ("Teachers", "teachers", "TEACHERS", "Staff", "straße", "STRASSE", "Ärzte", "ärzte")
HANDLES = ("teachers", "staff", "ops")


# -- the oracle ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    role: Role
    rule: str  # which documented rule decided: creator, everyone, a rule kind, or default
    names: frozenset[str] = frozenset()  # for roles/permissions/groups: what may be named


def oracle(config: dict[str, Any], user: ChatUser, creator_key: str | None) -> list[Verdict]:
    """The README's rules, applied to a config as written in YAML: the verdicts it allows (the
    README does not order `everyone_moderator` against a matching rule: either reason fits)."""
    if creator_key == user.key:
        return [Verdict(Role.MODERATOR, "creator")]
    overrides = config.get("tenants", {}).get(user.tenant.key, {})
    roles = overrides["roles"] if overrides.get("roles") is not None else config["roles"]
    first = next((v for rule in roles["rules"] if (v := _rule(rule, user)) is not None), None)
    if roles.get("everyone_moderator"):
        return [Verdict(Role.MODERATOR, "everyone"), *([first] if first else [])]
    return [first or Verdict(Role.ATTENDEE, "default")]


def _rule(rule: dict[str, Any], user: ChatUser) -> Verdict | None:
    ((kind, wanted),) = rule.items()
    facts, platform = user.facts, user.platform
    if kind == "platform_admins":
        admin = facts.is_admin or facts.is_owner
        if platform is Platform.DISCORD:
            admin = admin or "administrator" in facts.permissions
        return Verdict(Role.MODERATOR, kind) if wanted and admin else None
    if kind == "discord_roles" and platform is Platform.DISCORD:
        # Case-insensitive: Unicode caseless matching.
        named = {r for r in facts.roles if r.casefold() in {w.casefold() for w in wanted}}
        return Verdict(Role.MODERATOR, kind, frozenset(named)) if named else None
    if kind == "discord_permissions" and platform is Platform.DISCORD:
        named = {p.lower() for p in wanted} & {p.lower() for p in facts.permissions}
        return Verdict(Role.MODERATOR, kind, frozenset(named)) if named else None
    if kind == "slack_groups" and platform is Platform.SLACK:
        have = {g.casefold() for g in facts.groups}
        named = {w.removeprefix("@") for w in wanted if w.removeprefix("@").casefold() in have}
        return Verdict(Role.MODERATOR, kind, frozenset(named)) if named else None
    if kind == "users" and user.key in wanted:
        return Verdict(Role.MODERATOR, kind)
    return None


NAMED_REASONS = {
    "discord_roles": "Discord role {}",
    "discord_permissions": "Discord permission {}",
    "slack_groups": "Slack user group @{}",
}
WORD_IN_REASON = {"creator": "creator", "everyone": "everyone", "users": "listed"}


def reason_fits(verdict: Verdict, reason: str, user: ChatUser) -> bool:
    """Does the reason the user sees name the rule the oracle found (and something true)?"""
    if verdict.rule == "platform_admins":
        return admin_reason_fits(reason, user)
    if verdict.rule in NAMED_REASONS:
        template = NAMED_REASONS[verdict.rule]
        return any(reason == template.format(name) for name in verdict.names)
    if verdict.rule == "default":
        return reason == "default"
    return WORD_IN_REASON[verdict.rule] in reason


def admin_reason_fits(reason: str, user: ChatUser) -> bool:
    """Names the platform, and a true fact: owner, or admin(istrator)."""
    facts = user.facts
    platform_word = {Platform.SLACK: "Slack", Platform.DISCORD: "Discord"}.get(user.platform)
    if platform_word is not None and platform_word not in reason:
        return False
    if "owner" in reason:
        return facts.is_owner
    admin = facts.is_admin or facts.is_owner or "administrator" in facts.permissions
    return "admin" in reason and admin


# -- random configurations and people ------------------------------------------------------------

# Spellings a config may use: permissions in any case, handles with or without the @.
PERMISSION_SPELLINGS = tuple(v for p in DISCORD_PERMISSIONS for v in (p, p.upper(), p.title()))
HANDLE_SPELLINGS = tuple(v for h in HANDLES for v in (h, "@" + h, h.upper()))


def some(pool: tuple[str, ...], mask: int, most: int) -> list[str]:
    """At most `most` items of `pool`, those whose bits are set in `mask`."""
    return [item for bit, item in enumerate(pool) if mask >> bit & 1][:most]


def rule(bits: int) -> dict[str, Any]:
    """A rule decoded from one drawn integer: its kind, then the bits of its values."""
    kind, mask = bits % 5, bits // 5
    if kind == 0:
        return {"platform_admins": bool(mask & 1)}
    if kind == 1:
        return {"discord_roles": some(ROLE_NAMES, mask, 3)}
    if kind == 2:
        return {"discord_permissions": some(PERMISSION_SPELLINGS, mask, 3)}
    if kind == 3:
        return {"slack_groups": some(HANDLE_SPELLINGS, mask, 3)}
    return {"users": some(KEYS, mask, 4)}


_POOL_BITS = max(len(ROLE_NAMES), len(PERMISSION_SPELLINGS), len(HANDLE_SPELLINGS), len(KEYS))
RULES = st.integers(0, 5 * (1 << _POOL_BITS) - 1).map(rule)
ROLES_SECTION = st.fixed_dictionaries(
    {"rules": st.lists(RULES, max_size=6)},
    optional={"everyone_moderator": st.sampled_from((False, False, False, True))},
)
CONFIG = st.fixed_dictionaries(
    {
        "roles": ROLES_SECTION,
        "tenants": st.dictionaries(
            st.sampled_from([t.key for t in TENANTS]),
            st.fixed_dictionaries(
                {}, optional={"roles": ROLES_SECTION, "timezone": st.just("Europe/Berlin")}
            ),
            max_size=3,
        ),
    }
)
NON_ADMIN_PERMISSIONS = tuple(p for p in DISCORD_PERMISSIONS if p != "administrator")


def person(bits: int) -> ChatUser:
    """A person decoded from one drawn integer (one draw is much cheaper than seven; 0 is the
    plainest person, so failures shrink toward few facts)."""

    def take(width: int) -> int:
        nonlocal bits
        value, bits = bits & ((1 << width) - 1), bits >> width
        return value

    is_admin, is_owner = bool(take(1)), bool(take(1))
    permissions = frozenset(p for p in NON_ADMIN_PERMISSIONS if take(1))
    roles = frozenset(r for r in ROLE_NAMES if take(1))
    groups = frozenset(h for h in HANDLES if take(1))
    tenant, user_id = TENANTS[take(3) % len(TENANTS)], USER_IDS[take(3) % len(USER_IDS)]
    if tenant.platform is Platform.DISCORD and is_admin:
        # Discord's computed permissions of an administrator hold every permission.
        permissions = frozenset(DISCORD_PERMISSIONS)
    # Facts of the other platform are kept: a rule must match only on its own platform.
    facts = PlatformFacts(
        is_admin=is_admin, is_owner=is_owner, roles=roles, permissions=permissions, groups=groups
    )
    return ChatUser(tenant, user_id, user_id, facts=facts)


PERSON_BITS = 2 + len(NON_ADMIN_PERMISSIONS) + len(ROLE_NAMES) + len(HANDLES) + 6
PEOPLE = st.lists(st.integers(0, (1 << PERSON_BITS) - 1).map(person), min_size=1, max_size=6)


def policy_from(config: dict[str, Any]) -> RolePolicy:
    """The policy as `bot.config` builds it from the same YAML sections."""
    tenants = {key: TenantOverride.model_validate(v) for key, v in config["tenants"].items()}
    return RolePolicy(RolePolicyConfig.model_validate(config["roles"]), tenants)


def meeting_by(creator_key: str) -> Meeting:
    platform, tenant_id, user_id = creator_key.split(":")
    tenant = Tenant(Platform(platform), tenant_id)
    room = Room("bigbluebutton", "m1", "T")
    return Meeting(
        "m1", tenant, "C1", "T", "bigbluebutton", room, creator_key, user_id, datetime.now(UTC)
    )


@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(
    config=CONFIG,
    users=PEOPLE,
    creator=st.none() | st.sampled_from(KEYS),
)
def test_role_policy_agrees_with_the_readme_oracle(
    config: dict[str, Any], users: list[ChatUser], creator: str | None
) -> None:
    policy = policy_from(config)
    meeting = meeting_by(creator) if creator is not None else None
    for user in users:
        allowed = oracle(config, user, creator)
        decision = policy.decide(user, meeting)
        assert decision.role is allowed[0].role, (allowed, decision, user, config)
        fits = any(reason_fits(verdict, decision.reason, user) for verdict in allowed)
        assert fits, (allowed, decision, user, config)
