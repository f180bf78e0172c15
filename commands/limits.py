"""How a provider's limits are said to users: one plain sentence per missing capability.

"LiveMinutes cannot change a meeting once it is created." reads as English; the capability's own
name ("changing a meeting") does not fit into "has no ...", so each has its sentence here.
"""

from __future__ import annotations

from providers.base import Capability

PROVIDER_NAMES = {
    "bigbluebutton": "BigBlueButton",
    "vconnct": "VConnct",
    "liveminutes": "LiveMinutes",
}

_CANNOT = {
    Capability.START_SESSION: "{p} has no sessions to start; a meeting is open once it exists.",
    Capability.STATUS: "{p} does not tell a meeting's status.",
    Capability.ATTENDANCE: "{p} does not tell who attended.",
    Capability.ATTENDANCE_AFTER_END: "{p} forgets who attended once a meeting ends.",
    Capability.PRESENCE: "{p} tells who joined, not who is in a meeting now or when they left.",
    Capability.SESSIONS: "{p} keeps no history of sessions.",
    Capability.RECORDINGS: "{p} has no recordings.",
    Capability.MANAGE_RECORDINGS: "{p} cannot publish, unpublish or delete recordings.",
    Capability.SETTINGS: "{p} has no meeting settings.",
    Capability.DEFAULT_SETTINGS: "{p} has no default meeting settings.",
    Capability.UPDATE: "{p} cannot change a meeting once it is created.",
    Capability.LIVE_UPDATE: "{p} cannot change a running meeting's settings.",
    Capability.REMOVE_PARTICIPANT: "{p} cannot take a participant out of a meeting.",
    Capability.DELETE: "{p} cannot delete a meeting.",
    Capability.LIST_ROOMS: "{p} cannot list the meetings on its server.",
    Capability.ROLES: "{p} gives a moderator link to the host only.",
    Capability.CALLBACKS: "{p} does not call back when a meeting ends; it is asked instead.",
}


def provider_label(name: str) -> str:
    """The provider's name as people write it: vconnct -> VConnct."""
    return PROVIDER_NAMES.get(name, name)


def cannot(provider: str, capability: Capability | str) -> str:
    """The sentence saying `provider` lacks `capability` (a Capability or its value)."""
    label = provider_label(provider)
    try:
        known = Capability(capability)
    except ValueError:
        return f"{label} does not support {capability}."
    return _CANNOT[known].format(p=label)


def plural(count: int, one: str, many: str | None = None) -> str:
    """`1 link`, `2 links`: the count with the right form of the noun."""
    return f"{count} {one if count == 1 else (many or one + 's')}"
