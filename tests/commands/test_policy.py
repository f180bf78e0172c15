"""The role policy: every rule kind, order, creator, tenant overrides, invalid configs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from commands.model import ChatUser, Meeting, Platform, PlatformFacts, Tenant
from commands.policy import RolePolicy, RolePolicyConfig, RoleRule, TenantOverride
from providers.base import Role, Room

SLACK = Tenant(Platform.SLACK, "T1")
OTHER_SLACK = Tenant(Platform.SLACK, "T2")
DISCORD = Tenant(Platform.DISCORD, "81234")

EXAMPLE = """
roles:
  everyone_moderator: false
  rules:
    - platform_admins: true
    - discord_roles: [Teachers]
    - discord_permissions: [manage_guild, manage_events]
    - slack_groups: ["@teachers"]
    - users: ["slack:T1:U0456", "discord:81234:99"]
"""


def user(tenant: Tenant, uid: str = "U1", **facts) -> ChatUser:
    return ChatUser(tenant, uid, uid, facts=PlatformFacts(**facts))


def meeting(creator: ChatUser) -> Meeting:
    return Meeting(
        "m1",
        creator.tenant,
        "C1",
        "T",
        "bigbluebutton",
        Room("bigbluebutton", "m1", "T"),
        creator.key,
        creator.display_name,
        datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def policy() -> RolePolicy:
    return RolePolicy(RolePolicyConfig.model_validate(yaml.safe_load(EXAMPLE)["roles"]))


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        (user(SLACK, is_admin=True), "Slack workspace admin"),
        (user(SLACK, is_owner=True, is_admin=True), "Slack workspace owner"),
        (user(DISCORD, is_owner=True), "Discord server owner"),
        (user(DISCORD, permissions=frozenset({"administrator"})), "Discord administrator"),
        (user(DISCORD, roles=frozenset({"teachers"})), "Discord role teachers"),
        (
            user(DISCORD, permissions=frozenset({"manage_events"})),
            "Discord permission manage_events",
        ),
        (user(SLACK, groups=frozenset({"Teachers"})), "Slack user group @teachers"),
        (user(SLACK, "U0456"), "listed as a moderator"),
        (user(DISCORD, "99"), "listed as a moderator"),
    ],
)
def test_each_rule_kind_gives_its_reason(policy, who, reason):
    decision = policy.decide(who, None)
    assert decision.role is Role.MODERATOR
    assert decision.reason == reason


def test_first_matching_rule_wins(policy):
    both = user(DISCORD, is_owner=True, roles=frozenset({"Teachers"}))
    assert policy.decide(both, None).reason == "Discord server owner"


def test_creator_beats_everything_and_default_is_attendee(policy):
    alice = user(SLACK, "UA")
    bob = user(SLACK, "UB")
    assert policy.decide(alice, meeting(alice)).reason == "creator of the meeting"
    decision = policy.decide(bob, meeting(alice))
    assert (decision.role, decision.reason) == (Role.ATTENDEE, "default")


def test_platform_rules_never_match_another_platform(policy):
    assert policy.decide(user(SLACK, roles=frozenset({"Teachers"})), None).role is Role.ATTENDEE
    assert policy.decide(user(DISCORD, groups=frozenset({"teachers"})), None).role is Role.ATTENDEE
    # Same user id in another workspace is not the listed user.
    assert policy.decide(user(OTHER_SLACK, "U0456"), None).role is Role.ATTENDEE


def test_tenant_override_applies_to_that_tenant_only():
    policy = RolePolicy(
        RolePolicyConfig(),
        {
            "slack:T2": TenantOverride(
                default_provider="vconnct", roles=RolePolicyConfig(everyone_moderator=True)
            )
        },
    )
    assert policy.decide(user(OTHER_SLACK), None).reason == (
        "everyone is a moderator in this workspace"
    )
    assert policy.decide(user(SLACK), None).role is Role.ATTENDEE
    assert policy.default_provider(OTHER_SLACK, "bigbluebutton") == "vconnct"
    assert policy.default_provider(SLACK, "bigbluebutton") == "bigbluebutton"


def test_default_config_makes_platform_admins_moderators():
    policy = RolePolicy(RolePolicyConfig())
    assert policy.decide(user(SLACK, is_admin=True), None).role is Role.MODERATOR
    assert policy.decide(user(SLACK), None).role is Role.ATTENDEE


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({}, "exactly one of"),
        ({"platform_admins": True, "users": ["slack:T1:U1"]}, "exactly one of"),
        ({"discord_permissions": ["fly"]}, "unknown Discord permission"),
        ({"users": ["U1"]}, "user keys look like"),
        ({"discord_role": ["x"]}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_rules_are_refused_clearly(rule, message):
    with pytest.raises(ValidationError, match=message):
        RoleRule.model_validate(rule)


@given(
    platform=st.sampled_from(list(Platform)),
    is_admin=st.booleans(),
    is_owner=st.booleans(),
    roles=st.frozensets(st.text(max_size=10), max_size=3),
    permissions=st.frozensets(st.text(max_size=15), max_size=3),
    groups=st.frozensets(st.text(max_size=10), max_size=3),
)
def test_decide_always_answers_with_a_reason(
    platform, is_admin, is_owner, roles, permissions, groups
):
    policy = RolePolicy(RolePolicyConfig.model_validate(yaml.safe_load(EXAMPLE)["roles"]))
    who = user(
        Tenant(platform, "X"),
        is_admin=is_admin,
        is_owner=is_owner,
        roles=roles,
        permissions=permissions,
        groups=groups,
    )
    decision = policy.decide(who, None)
    assert decision.reason
    assert decision.role in (Role.MODERATOR, Role.ATTENDEE)


def test_unknown_tenant_time_zone_is_refused():
    with pytest.raises(ValidationError, match="not a known time zone"):
        TenantOverride(timezone="Mars/Olympus")
