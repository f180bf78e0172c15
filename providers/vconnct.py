"""Placeholder until the vconnct client lands."""
