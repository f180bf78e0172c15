"""Provider failures in words a chat user can act on, and how loudly each is logged.

`problem_words` is the short reason ("VConnct is not answering right now (no answer within
10s)"), for a reply that goes on to say what did happen; `provider_message` is the whole reply
when a command failed because of the provider, with what the user should do next.
"""

from __future__ import annotations

import logging

from commands.limits import cannot, provider_label
from providers.base import (
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

log = logging.getLogger("meetbot.commands")

# (kind, log level or 0, short reason, what follows in a whole reply); first match wins, so
# subclasses come before their bases.
_WORDS: tuple[tuple[type[ProviderError], int, str, str], ...] = (
    (
        ProviderOutcomeUnknown,
        logging.WARNING,
        "{name} is not answering right now ({detail})",
        ". Nothing was recorded here; please try again in a minute.",
    ),
    (
        ProviderUnavailable,
        logging.WARNING,
        "{name} is not answering right now ({detail})",
        ". Nothing was changed; please try again in a minute.",
    ),
    (
        ProviderAuthError,
        logging.ERROR,
        "{name} refused this bot's credentials",
        ". An admin needs to check the configuration (meetbot check). Reference {ref}.",
    ),
    (ProviderNotFound, 0, "{name} no longer knows this meeting ({detail})", "."),
    (ProviderRejected, 0, "{name} refused: {detail}", ""),
    (
        ProviderProtocolError,
        logging.ERROR,
        "{name} answered something I cannot read",
        ". An admin should check its URL in the configuration. Reference {ref}.",
    ),
    (ProviderInputError, 0, "{name}: {detail}", ""),
)


def problem_words(error: ProviderError) -> str:
    """The short reason, without advice: e.g. to say what failed after a meeting was made."""
    if isinstance(error, ProviderUnsupported):
        return cannot(error.provider, error.capability).removesuffix(".")
    for kind, _level, reason, _advice in _WORDS:
        if isinstance(error, kind):
            return reason.format(name=provider_label(error.provider), detail=_detail(error))
    return f"{provider_label(error.provider)} failed"


def provider_message(error: ProviderError, request_id: str) -> str:
    """The whole reply for a command the provider failed, logged at its level with `request_id`
    (the operator's side of the same story)."""
    if isinstance(error, ProviderUnsupported):
        return cannot(error.provider, error.capability)
    name = provider_label(error.provider)
    for kind, level, reason, advice in _WORDS:
        if isinstance(error, kind):
            if level:
                log.log(level, "request %s: %s", request_id, error)
            detail = _detail(error)
            return reason.format(name=name, detail=detail) + advice.format(ref=request_id)
    log.error("request %s: %s", request_id, error)
    return f"{name} failed (reference {request_id})."


def _detail(error: ProviderError) -> str:
    return error.provider_message if isinstance(error, ProviderRejected) else error.message
