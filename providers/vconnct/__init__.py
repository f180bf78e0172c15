"""VConnct: the client API v1 (`VConnctClient`) and its wire format."""

from providers.vconnct.client import VConnctClient

__all__ = ["VConnctClient"]
