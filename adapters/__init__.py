"""Chat platforms <-> neutral /meet commands (Slack, Discord, the terminal console)."""
