"""Errors the command layer raises, and how each reaches the user.

```
CommandError              user-facing: str(error) is safe to show, as an ephemeral reply
├── UsageError            malformed command: the reply adds the subcommand's usage
├── PermissionDenied      e.g. an attendee tries /meet end
├── MeetingNotFound       no such meeting in the invoking tenant
├── AmbiguousMeeting      several meetings match a title: the reply lists them to pick from
└── NotSupported          the meeting's provider lacks the capability ("LiveMinutes has no ...")
DeliveryError             an adapter could not deliver a reply (DM closed): it falls back
```

Provider errors (`providers.base.ProviderError`) are turned into replies by the router, and
anything unexpected is logged with a request id while the user sees only that id.
"""

from __future__ import annotations


class CommandError(Exception):
    """A problem the user can fix or must know about; the message is shown as is."""


class UsageError(CommandError):
    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class PermissionDenied(CommandError):
    pass


class MeetingNotFound(CommandError):
    pass


class AmbiguousMeeting(CommandError):
    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class NotSupported(CommandError):
    pass


class DeliveryError(Exception):
    """A reply could not be delivered, e.g. the user's DMs are closed to the bot."""
