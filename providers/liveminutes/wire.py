"""LiveMinutes' wire format: the document's limits and status codes, the form fields we send, and
reading the JSON answers.

Every answer carries `resultcode`: 1 is success, 0 is the document's catch-all failure, which it
describes as "authentication failed (AccountSid or AuthToken wrong) or the meeting does not
exist" without a way to tell the two apart. Anything else is a `ProviderProtocolError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, TypeVar

from providers._http import ProviderResponse
from providers.errors import (
    ProviderAuthError,
    ProviderInputError,
    ProviderProtocolError,
    ProviderRejected,
)

NAME = "liveminutes"
ID_LIMIT = 50  # hostid and puid: "Length <= 50" in the document
_LIMITS = {"hostid": ID_LIMIT, "puid": ID_LIMIT}
RESULTCODE_ZERO = "resultcode 0"  # the `key` of every ProviderRejected this client raises

_S = TypeVar("_S", bound=IntEnum)
Redact = Callable[[str], str]


class MeetingStatus(IntEnum):
    """`getMeetingStatus` codes ("idlastbookingstatus of table lesson")."""

    START = 1
    IN_PROGRESS = 8
    HOST_QUIT = 11
    FINISHED = 12


class ParticipantStatus(IntEnum):
    """`getParticipantStatus` codes ("idlastparticipantstatus of table participant")."""

    ACCEPTED = 2
    REFUSED = 3
    IN_PROGRESS = 10
    QUIT = 11


@dataclass(frozen=True)
class CreatedMeeting:
    """The answer of `createMeeting`: the key, the meeting page and the host's personal URL."""

    meeting_key: str
    meeting_url: str
    host_url: str


# What else resultcode 0 can mean, besides failed authentication, per method.
_OTHER_CAUSE = {
    "createMeeting": "the meeting could not be created (for example, its meetingKey is in use)",
    "getParticipantUrl": "the meeting does not exist or has no participant with that puid",
    "cancelParticipant": "the meeting does not exist or has no participant with that puid",
    "getParticipantStatus": "the meeting does not exist or has no participant with that puid",
}


# -- what we send ----------------------------------------------------------------------------


def required(method: str, **fields: str) -> dict[str, str]:
    """The required fields of `method` as a form, refused before sending if one is empty or
    breaks a documented length limit."""
    for field, value in fields.items():
        if not value:
            raise ProviderInputError(NAME, method, f"{field} must not be empty")
        limit = _LIMITS.get(field)
        if limit is not None and len(value) > limit:
            raise ProviderInputError(
                NAME,
                method,
                f"{field} is {len(value)} characters; LiveMinutes allows at most {limit}",
            )
    return dict(fields)


def wire_time(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss`. The document names no time zone; UTC is the only reading that
    does not depend on where the server runs. A naive datetime is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def wire_float(method: str, field: str, value: float) -> str:
    """A documented `float` the way a form carries it: `45`, `90.5`, never `1e+06` or `nan`."""
    if not math.isfinite(value):
        raise ProviderInputError(NAME, method, f"{field} must be a finite number")
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


# -- what we read ----------------------------------------------------------------------------


def read_answer(response: ProviderResponse, method: str, redact: Redact) -> dict[str, Any]:
    """The JSON body of an answer whose `resultcode` is 1; every other answer raises.

    The document signals every failure inside the JSON, so the HTTP status decides nothing
    except 401/403: a proxy or a newer server refusing Basic auth outright.
    """
    if response.status_code in (401, 403):
        raise ProviderAuthError(
            NAME, method, f"HTTP {response.status_code}: the AccountSid/AuthToken were refused"
        )
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProviderProtocolError(
            NAME, method, f"answered HTTP {response.status_code} with a body that is not JSON"
        ) from None
    if not isinstance(body, dict) or "resultcode" not in body:
        raise ProviderProtocolError(NAME, method, "answered JSON without a resultcode")
    code = body["resultcode"]
    # The document shows a number; its string spelling is accepted too, as `status` is one.
    if isinstance(code, bool) or code not in (0, 1, "0", "1"):
        raise ProviderProtocolError(
            NAME, method, f"answered an unknown resultcode {_quote(code, redact)}"
        )
    if code in (0, "0"):
        raise ProviderRejected(NAME, method, refusal(method), key=RESULTCODE_ZERO)
    return body


def refusal(method: str) -> str:
    """The sentence for resultcode 0: both causes the document names, since it cannot say."""
    other = _OTHER_CAUSE.get(method, "the meeting does not exist")
    return (
        f"LiveMinutes answered {method} with resultcode 0: either authentication failed "
        f"(AccountSid or AuthToken wrong) or {other}; it does not say which"
    )


def text(body: Mapping[str, Any], key: str, method: str, *, default: str | None = None) -> str:
    """A documented string field of a successful answer."""
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise ProviderProtocolError(NAME, method, f"answered resultcode 1 without {key}")
    return value


def status(kind: type[_S], body: Mapping[str, Any], method: str, redact: Redact) -> _S:
    """The `status` code of a successful answer as `kind`; an unknown code raises, naming it."""
    if "status" not in body:
        raise ProviderProtocolError(NAME, method, "answered resultcode 1 without status")
    raw = body["status"]
    # The document sends the code as a string ("1"); a bare number is accepted as well.
    if not isinstance(raw, bool) and isinstance(raw, int | str):
        try:
            return kind(int(raw))
        except ValueError:
            pass
    raise ProviderProtocolError(
        NAME,
        method,
        f"answered an unknown status {_quote(raw, redact)} (not a {kind.__name__} code)",
    )


def _quote(value: object, redact: Redact) -> str:
    """Provider text for an error message: short, and with our secrets redacted."""
    shown = repr(value)
    return redact(shown if len(shown) <= 40 else shown[:37] + "...")
