"""Recordings in chat: the operator's switch, the message that posts one, and the poll that
finds them when no callback comes."""
