"""What the command layer and the adapters report for the operator's metrics, without knowing
how they are kept: the `Telemetry` protocol. `bot.metrics` implements it with Prometheus
counters and histograms; `NO_TELEMETRY` (the default everywhere) reports nothing.

Labels are drawn from small fixed sets (subcommand names, platforms, job kinds), never from
user text, so a metric's series stay few.
"""

from __future__ import annotations

from typing import Literal, Protocol

from commands.model import Platform

#: ok: the handler answered; refused: a usage, permission or not-found answer (the user's
#: side); error: a provider failure or a bug of ours
CommandOutcome = Literal["ok", "refused", "error"]


class Telemetry(Protocol):
    def command(self, subcommand: str, outcome: CommandOutcome) -> None:
        """A /meet subcommand (typed, or by a button) was run to this outcome."""

    def acked(self, platform: Platform, seconds: float) -> None:
        """A request was acknowledged (Slack's ack, Discord's defer) `seconds` after it came."""

    def dm_fallback(self, platform: Platform) -> None:
        """A DM could not be sent; its content went to the invoker privately, or a note did."""

    def job_due(self, kind: str, *, late: bool) -> None:
        """A job came due and was taken up; `late`: well after its time (the bot was down)."""

    def job_failed(self, kind: str, *, final: bool) -> None:
        """A job failed; it is retried later unless `final` (given up)."""

    def reminder_sent(self, platform: Platform) -> None:
        """A reminder was posted in a channel."""


class NoTelemetry:
    """Reports nothing: for tests and callers that keep no metrics."""

    def command(self, subcommand: str, outcome: CommandOutcome) -> None:
        return None

    def acked(self, platform: Platform, seconds: float) -> None:
        return None

    def dm_fallback(self, platform: Platform) -> None:
        return None

    def job_due(self, kind: str, *, late: bool) -> None:
        return None

    def job_failed(self, kind: str, *, final: bool) -> None:
        return None

    def reminder_sent(self, platform: Platform) -> None:
        return None


NO_TELEMETRY: Telemetry = NoTelemetry()

__all__ = ["NO_TELEMETRY", "CommandOutcome", "NoTelemetry", "Telemetry"]
