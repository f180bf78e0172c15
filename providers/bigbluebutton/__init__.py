"""BigBlueButton: signed API calls (`api`), request signing (`checksum`), XML answers
(`responses`), and the neutral provider on top (`client`)."""

from providers.bigbluebutton.client import BigBlueButtonClient

__all__ = ["BigBlueButtonClient"]
