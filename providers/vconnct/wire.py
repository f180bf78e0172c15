"""VConnct's wire format: the envelope, the answer models, and turning JSON into them.

Validated with pydantic at the edge; anything that does not fit is a `ProviderProtocolError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from providers.base import MeetingSettings
from providers.errors import ProviderProtocolError

NAME = "vconnct"
_M = TypeVar("_M", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Model):
    status: bool
    status_code: int | None = None
    message: str | None = None
    data: Any = None
    error_messages: list[str] | None = None


class MeetingInfo(_Model):
    meeting_id: str
    title: str | None = None
    moderator_password: str | None = None
    welcome_text: str | None = None
    is_running: bool | None = None


class SessionInfo(_Model):
    session_id: str
    title: str | None = None
    session_start_time: datetime | None = None
    session_end_time: datetime | None = None
    attendee_password: str | None = None
    status: bool | None = None


class AttendanceEntry(_Model):
    full_name: str
    joined_date: datetime | None = None


class UrlData(_Model):
    url: str
    title: str | None = None


def read_envelope(content: bytes) -> Envelope:
    """The envelope an answer's body holds; raises `ValueError` (`ValidationError`,
    `JSONDecodeError`, `UnicodeDecodeError`) if it holds none."""
    try:
        # pydantic's own JSON reader: a third of json.loads followed by model_validate.
        return Envelope.model_validate_json(content)
    except ValidationError:
        # It reads UTF-8 only; json.loads also takes a BOM and UTF-16/32, as before. Only a
        # body that is no envelope at all is read twice, and it is an error either way.
        return Envelope.model_validate(json.loads(content))


@dataclass(frozen=True)
class CreatedMeeting:
    meeting_id: str
    title: str | None
    moderator_password: str | None
    welcome_text: str | None
    settings: MeetingSettings


def compact(**fields: str | None) -> dict[str, str]:
    return {key: value for key, value in fields.items() if value is not None}


def meeting_body(
    settings: MeetingSettings,
    title: str | None,
    moderator_password: str | None,
    welcome_text: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = compact(
        title=title, moderator_password=moderator_password, welcome_text=welcome_text
    )
    # The document requires all ten settings on every create and update.
    body["meeting_setting"] = [{"setting": n, "value": v} for n, v in settings.items()]
    return body


def read_settings(data: Any, operation: str) -> MeetingSettings:
    # list_setting answers a list of {setting, value}. The document's example for
    # list_general_meeting_setting is not valid JSON ("data": ["name": false, ...]); its evident
    # intent is an object of name -> value, which is what we accept besides the list form.
    try:
        if isinstance(data, dict):
            return MeetingSettings.from_pairs(data.items())
        if isinstance(data, list):
            return MeetingSettings.from_pairs((item["setting"], item["value"]) for item in data)
    except (ValueError, KeyError, TypeError) as error:
        raise ProviderProtocolError(
            NAME, operation, f"settings are not readable: {error}"
        ) from None
    raise ProviderProtocolError(NAME, operation, "answered without settings")


def read_created(data: Any, operation: str) -> CreatedMeeting:
    info = parse(MeetingInfo, data, operation)
    settings = read_settings(data.get("meeting_setting"), operation)
    return CreatedMeeting(
        info.meeting_id, info.title, info.moderator_password, info.welcome_text, settings
    )


def parse(model: type[_M], data: Any, operation: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise ProviderProtocolError(
            NAME, operation, f"answered data that is not a {model.__name__}"
        ) from None


def parse_list(model: type[_M], data: Any, operation: str) -> list[_M]:
    if not isinstance(data, list):
        raise ProviderProtocolError(NAME, operation, "answered data that is not a list")
    return [parse(model, item, operation) for item in data]
