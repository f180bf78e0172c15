"""The attendance CSV: one row per person of a session, written with the stdlib `csv`.

Names and reasons are user text: a cell that a spreadsheet would read as a formula (starting
with = + - @, or a tab or carriage return that some strip before looking) gets a leading
apostrophe, so opening the file runs nothing. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from commands.attendance.report import SessionAttendance
from commands.replies import Attachment

COLUMNS = (
    "name",
    "chat user",
    "role",
    "why",
    "link given at",
    "attended",
    "joined at",
    "left at",
    "minutes present",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def guarded(cell: str) -> str:
    """`cell` as a spreadsheet shows it, never runs it."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def attendance_csv(found: SessionAttendance) -> Attachment:
    """The session's attendance as a CSV attachment named after the meeting and session."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for person in found.people:
        writer.writerow(
            guarded(cell)
            for cell in (
                person.name,
                person.chat_user or "",
                person.role.value if person.role is not None else "",
                person.why or "",
                _moment(person.link_given_at),
                "yes" if person.attended else "no",
                _moment(person.joined_at),
                _moment(person.left_at),
                "" if person.minutes_present is None else str(person.minutes_present),
            )
        )
    session = _UNSAFE_IN_NAME.sub("-", found.session_id or "current").strip("-") or "session"
    filename = f"attendance-{found.meeting.id}-{session[:40]}.csv"
    return Attachment(filename, out.getvalue().encode("utf-8"), "text/csv", "attendance CSV")


def _moment(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
