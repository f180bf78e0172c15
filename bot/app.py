"""Wiring: the one place that knows the concrete provider classes and builds them, and the
meeting service, from config. A provider's client (and what only it needs) is imported when
that provider is configured."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.config import (
    AttendanceConfig,
    ProviderName,
    ProvidersConfig,
    RecordingsConfig,
    RemindersConfig,
)
from commands.lifecycle.urls import CallbackUrls
from commands.policy import RolePolicy, TenantOverride
from commands.recordings.rules import RecordingRules
from commands.schedule.planner import Timing
from commands.service import MeetingService
from commands.store import MeetingStore
from providers.base import MeetingProvider
from providers.metering import NO_METER, CallMeter


def build_provider(
    config: ProvidersConfig, name: ProviderName, meter: CallMeter = NO_METER
) -> MeetingProvider:
    """One client with its own pooled HTTP client, for a configured provider; each of its
    calls is told to `meter`."""
    if name == "bigbluebutton" and config.bigbluebutton is not None:
        from providers.bigbluebutton import BigBlueButtonClient  # noqa: PLC0415 - see the doc

        bbb = config.bigbluebutton
        return BigBlueButtonClient(
            url=bbb.url,
            secret=bbb.secret.get_secret_value(),
            checksum=bbb.checksum,
            join_with_password=bbb.join_with_password,
            timeout=bbb.timeout,
            meter=meter,
        )
    if name == "vconnct" and config.vconnct is not None:
        from providers.vconnct import VConnctClient  # noqa: PLC0415 - see the doc

        vc = config.vconnct
        return VConnctClient(
            url=vc.url,
            license=vc.license.get_secret_value(),
            language=vc.language,
            join_path=vc.join_path,
            timeout=vc.timeout,
            meter=meter,
        )
    if name == "liveminutes" and config.liveminutes is not None:
        from providers.liveminutes import LiveMinutesClient  # noqa: PLC0415 - see the doc

        lm = config.liveminutes
        return LiveMinutesClient(
            url=lm.url,
            account_sid=lm.account_sid,
            auth_token=lm.auth_token.get_secret_value(),
            timeout=lm.timeout,
            meter=meter,
        )
    raise ValueError(f"provider {name!r} is not configured")


def build_providers(
    config: ProvidersConfig, meter: CallMeter = NO_METER
) -> dict[str, MeetingProvider]:
    """A client for every configured provider, keyed by name."""
    return {name: build_provider(config, name, meter) for name in config.configured()}


def build_service(
    providers: Mapping[str, MeetingProvider],
    store: MeetingStore,
    policy: RolePolicy,
    *,
    default_provider: str,
    reminders: RemindersConfig,
    clock: Callable[[], datetime],
    nudge: Callable[[], None] = lambda: None,
    callbacks: CallbackUrls | None = None,
    recordings: RecordingRules | None = None,
    attendance: AttendanceConfig | None = None,
) -> MeetingService:
    return MeetingService(
        providers=providers,
        store=store,
        policy=policy,
        default_provider=default_provider,
        clock=clock,
        timing=timing_of(reminders, attendance or AttendanceConfig()),
        nudge=nudge,
        callbacks=callbacks,
        recordings=recordings,
    )


def timing_of(reminders: RemindersConfig, attendance: AttendanceConfig) -> Timing:
    return Timing(
        default_remind_minutes=reminders.default_minutes,
        early_join=timedelta(minutes=reminders.early_join_minutes),
        grace=timedelta(minutes=reminders.grace_minutes),
        sample_every=timedelta(seconds=attendance.sample_seconds),
    )


def recording_rules(
    recordings: RecordingsConfig, tenants: Mapping[str, TenantOverride]
) -> RecordingRules:
    """The `recordings` section, with each tenant's own `recordings.enabled` where it has one."""
    return RecordingRules(
        enabled=recordings.enabled,
        poll_for=timedelta(hours=recordings.poll_hours),
        tenants={
            key: override.recordings.enabled
            for key, override in tenants.items()
            if override.recordings is not None and override.recordings.enabled is not None
        },
    )
