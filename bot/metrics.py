"""The process's Prometheus metrics: one `Metrics` owns a registry of its own (not the
library's global one, so each test, and each bot in one process, counts apart) and every
metric family in it, and is what the lower layers report to: it implements the command
layer's `Telemetry` and the providers' `CallMeter`, which is how they count without
importing this. The inbound server serves `exposition()` at `/metrics`.

    meetbot_commands_total{subcommand,outcome}          outcome: ok | refused | error
    meetbot_ack_seconds{platform}                       request received -> acknowledged
    meetbot_provider_call_seconds{provider,call}        each API call, retries included
    meetbot_provider_errors_total{provider,call,error}  error: unavailable, auth, rejected, ...
    meetbot_dm_fallbacks_total{platform}                a DM failed; said privately instead
    meetbot_jobs_due_total{kind}                        jobs taken up when due
    meetbot_jobs_late_total{kind}                       ... more than a minute after their time
    meetbot_jobs_failed_total{kind,final}               final="true": given up
    meetbot_reminders_sent_total{platform}              reminders posted in a channel
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from commands.model import Platform
from commands.telemetry import CommandOutcome

# Slack allows 3 s for an ack, Discord 3 s for a defer: the buckets resolve that range.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# A provider call: from a loopback answer to the 10 s default timeout times its attempts.
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.commands = Counter(
            "meetbot_commands",
            "/meet subcommands run, typed or by a button, by outcome",
            ["subcommand", "outcome"],
            registry=r,
        )
        self.ack_seconds = Histogram(
            "meetbot_ack_seconds",
            "Time from receiving a chat request to acknowledging it",
            ["platform"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.provider_call_seconds = Histogram(
            "meetbot_provider_call_seconds",
            "Time of each provider API call, retries included",
            ["provider", "call"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.provider_errors = Counter(
            "meetbot_provider_errors",
            "Provider API calls that failed, by the kind of failure",
            ["provider", "call", "error"],
            registry=r,
        )
        self.dm_fallbacks = Counter(
            "meetbot_dm_fallbacks",
            "Direct messages that could not be sent (said to the invoker privately instead)",
            ["platform"],
            registry=r,
        )
        self.jobs_due = Counter(
            "meetbot_jobs_due", "Scheduled jobs taken up when due", ["kind"], registry=r
        )
        self.jobs_late = Counter(
            "meetbot_jobs_late",
            "Scheduled jobs taken up more than a minute after they were due",
            ["kind"],
            registry=r,
        )
        self.jobs_failed = Counter(
            "meetbot_jobs_failed",
            "Scheduled jobs that failed (final: given up, else retried later)",
            ["kind", "final"],
            registry=r,
        )
        self.reminders_sent = Counter(
            "meetbot_reminders_sent", "Reminders posted in a channel", ["platform"], registry=r
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (serve with `CONTENT_TYPE`)."""
        return generate_latest(self.registry)

    # -- commands.telemetry.Telemetry ---------------------------------------------------------

    def command(self, subcommand: str, outcome: CommandOutcome) -> None:
        self.commands.labels(subcommand, outcome).inc()

    def acked(self, platform: Platform, seconds: float) -> None:
        self.ack_seconds.labels(platform.value).observe(seconds)

    def dm_fallback(self, platform: Platform) -> None:
        self.dm_fallbacks.labels(platform.value).inc()

    def job_due(self, kind: str, *, late: bool) -> None:
        self.jobs_due.labels(kind).inc()
        if late:
            self.jobs_late.labels(kind).inc()

    def job_failed(self, kind: str, *, final: bool) -> None:
        self.jobs_failed.labels(kind, "true" if final else "false").inc()

    def reminder_sent(self, platform: Platform) -> None:
        self.reminders_sent.labels(platform.value).inc()

    # -- providers.metering.CallMeter ---------------------------------------------------------

    def provider_call(self, provider: str, call: str, seconds: float, error: str | None) -> None:
        self.provider_call_seconds.labels(provider, call).observe(seconds)
        if error is not None:
            self.provider_errors.labels(provider, call, error).inc()


__all__ = ["CONTENT_TYPE", "Metrics"]
