"""BigBlueButton: signed API calls, XML answers, and the neutral provider."""

from providers.bigbluebutton.client import BigBlueButtonClient

__all__ = ["BigBlueButtonClient"]
