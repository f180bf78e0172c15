"""What a provider client reports of each API call for the operator's metrics: the
`CallMeter` protocol, told once per call (retries included) how long it took and, if it failed,
the kind of failure. `bot.metrics` implements it; `NO_METER` (the default) reports nothing.
"""

from __future__ import annotations

from typing import Protocol

from providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderInputError,
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)


class CallMeter(Protocol):
    def provider_call(self, provider: str, call: str, seconds: float, error: str | None) -> None:
        """One call of `provider`'s API `call` took `seconds`; `error` is the failure's kind
        (see `error_kind`), or None when it answered as asked."""


class NoMeter:
    def provider_call(self, provider: str, call: str, seconds: float, error: str | None) -> None:
        return None


NO_METER: CallMeter = NoMeter()

# Most specific first: a ProviderNotFound is a ProviderRejected too.
_KINDS: tuple[tuple[type[ProviderError], str], ...] = (
    (ProviderOutcomeUnknown, "outcome_unknown"),
    (ProviderUnavailable, "unavailable"),
    (ProviderAuthError, "auth"),
    (ProviderNotFound, "not_found"),
    (ProviderRejected, "rejected"),
    (ProviderProtocolError, "protocol"),
    (ProviderInputError, "input"),
    (ProviderUnsupported, "unsupported"),
)


def error_kind(error: ProviderError) -> str:
    """A short, fixed label for the error's class (a metric label: never its message)."""
    for kind, label in _KINDS:
        if isinstance(error, kind):
            return label
    return "other"


__all__ = ["NO_METER", "CallMeter", "NoMeter", "error_kind"]
