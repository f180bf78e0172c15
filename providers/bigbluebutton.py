"""Placeholder until the bigbluebutton client lands."""
