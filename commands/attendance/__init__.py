"""Attendance: who came to a session, as its provider reported it while it ran (sampled by a
job and kept in the store), set beside the join log (who was given which link)."""
