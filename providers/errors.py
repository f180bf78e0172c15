"""The one error tree of the provider layer; no HTTP library's exceptions leave `providers/`.

```
ProviderError                  .provider, .operation; str() is safe for an operator (no secrets)
├── ProviderUnavailable        timeout, transport failure, HTTP 5xx; .retryable is True
│   └── ProviderOutcomeUnknown a change whose answer was lost, and whether it happened could
│                              not be found out (nor undone)
├── ProviderAuthError          credentials refused (checksum, license, Basic auth): operator fixes
├── ProviderRejected           the provider said no; .key and .provider_message are its own words
│   └── ProviderNotFound       the meeting, session or recording does not exist there
├── ProviderProtocolError      an answer we cannot read (not XML/JSON, fields missing)
├── ProviderInputError         our request breaks a documented limit; nothing was sent
└── ProviderUnsupported        the provider has no such capability (.capability)
```

The command layer turns these into replies; only `ProviderRejected` carries text that came from the
provider, and it is shown verbatim because that is what an operator needs to fix the problem.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every error a provider client raises."""

    retryable = False

    def __init__(self, provider: str, operation: str, message: str) -> None:
        super().__init__(f"{provider} {operation}: {message}")
        self.provider = provider
        self.operation = operation
        self.message = message


class ProviderUnavailable(ProviderError):
    """The provider did not answer in time, could not be reached, or answered HTTP 5xx."""

    retryable = True

    def __init__(
        self, provider: str, operation: str, message: str, *, status: int | None = None
    ) -> None:
        super().__init__(provider, operation, message)
        self.status = status


class ProviderOutcomeUnknown(ProviderUnavailable):
    """A change was sent, its answer was lost (timeout, 5xx, garbage, reset), and the client
    could neither find out whether the provider made it nor undo it: the message says what may
    exist there."""


class ProviderAuthError(ProviderError):
    """The provider refused our credentials; the operator must fix the configuration."""


class ProviderRejected(ProviderError):
    """The provider understood the request and refused it, in its own words."""

    def __init__(
        self,
        provider: str,
        operation: str,
        provider_message: str,
        *,
        key: str | None = None,
        status: int | None = None,
    ) -> None:
        detail = f"{provider_message} ({key})" if key else provider_message
        super().__init__(provider, operation, detail)
        self.provider_message = provider_message
        self.key = key
        self.status = status


class ProviderNotFound(ProviderRejected):
    """The thing asked about (meeting, session, recording) does not exist on the provider."""


class ProviderProtocolError(ProviderError):
    """The provider answered something we cannot read: not the documented format."""


class ProviderInputError(ProviderError):
    """Our request would break a limit the provider documents; it was not sent."""


class ProviderUnsupported(ProviderError):
    """The provider has no such capability (e.g. LiveMinutes has no recordings)."""

    def __init__(self, provider: str, operation: str, capability: str) -> None:
        super().__init__(provider, operation, f"has no {capability}")
        self.capability = capability
