"""LiveMinutes: the client of its eight API methods (`LiveMinutesClient`) and its wire format."""

from providers.liveminutes.client import LiveMinutesClient
from providers.liveminutes.wire import CreatedMeeting, MeetingStatus, ParticipantStatus

__all__ = ["CreatedMeeting", "LiveMinutesClient", "MeetingStatus", "ParticipantStatus"]
