"""The URLs a provider calls back, with the per-meeting token that proves an end callback."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote

TOKEN_KEY = "callback_token"  # noqa: S105 - the name of the key in Room.extra, not a secret


@dataclass(frozen=True)
class CallbackUrls:
    """Where providers reach us: `public_url` is the inbound server as the provider sees it."""

    public_url: str

    def new_token(self) -> str:
        return secrets.token_urlsafe(24)

    def ended(self, provider: str, meeting_id: str, token: str) -> str:
        return f"{self._base(provider, meeting_id)}/ended?token={quote(token)}"

    def recording(self, provider: str, meeting_id: str) -> str:
        return f"{self._base(provider, meeting_id)}/recording"

    def _base(self, provider: str, meeting_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/callbacks/{quote(provider)}/{quote(meeting_id)}"
