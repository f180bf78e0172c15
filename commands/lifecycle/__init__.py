"""A meeting's life as its provider tells it: its end, and its recordings when ready."""
