"""Slack: /meet as a Bolt app (Socket Mode or HTTP), meeting cards, private links."""

from adapters.slack.app import SlackAdapter

__all__ = ["SlackAdapter"]
