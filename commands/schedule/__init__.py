"""Time: occurrences of meetings, the jobs the clock runs for them, and their handlers."""
