"""The operator's word on recordings: on or off (for everyone, or per tenant), and how long
after a session ends its recordings are looked for.

Off means off: the setting flags that ask for a recording are refused, `/meet recordings`
says so, nothing is polled and nothing is posted (a callback is answered and ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from commands.errors import CommandError
from commands.model import Meeting, Tenant
from providers.base import Capability, MeetingProvider

# The settings that make or control a recording, by their flag (commands.spec).
RECORDING_FLAGS = {
    "record": "record",
    "auto-start-recording": "auto_start_recording",
    "allow-start-stop-recording": "allow_start_stop_recording",
}

OFF = "Recordings are turned off here"


@dataclass(frozen=True)
class RecordingRules:
    enabled: bool = True
    poll_for: timedelta = timedelta(hours=24)  # after a session's end
    tenants: Mapping[str, bool] = field(default_factory=dict)  # tenant key -> enabled

    def enabled_for(self, tenant: Tenant) -> bool:
        return self.tenants.get(tenant.key, self.enabled)

    def refuse_flags(self, tenant: Tenant, settings: Mapping[str, bool]) -> None:
        """Refuse a setting flag that asks for recording where recordings are off (turning
        one off is fine: it asks for nothing)."""
        if self.enabled_for(tenant):
            return
        asked = [f"--{flag}" for flag, name in RECORDING_FLAGS.items() if settings.get(name)]
        if asked:
            raise CommandError(
                f"{OFF}, so {', '.join(asked)} cannot be used; nothing was changed. "
                "Whoever runs this bot can turn them on (recordings.enabled)."
            )

    def require(self, tenant: Tenant) -> None:
        if not self.enabled_for(tenant):
            raise CommandError(f"{OFF}: there is nothing to list, publish or delete.")

    def polled(self, meeting: Meeting, provider: MeetingProvider) -> bool:
        """Whether a session of `meeting` that ends is followed by a poll for its recordings:
        recordings are on, the provider has them, and the meeting may record."""
        return (
            self.enabled_for(meeting.tenant)
            and Capability.RECORDINGS in provider.capabilities
            and meeting.room.settings.record
        )
