"""Placeholder until the liveminutes client lands."""
