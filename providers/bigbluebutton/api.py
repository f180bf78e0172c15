"""The BigBlueButton API calls, one typed method per endpoint.

All calls are signed GETs whose complete URL is built here (and sent as it is), so the
hashed query is the sent query. A meeting's passwords are derived from the secret, which makes
`create` idempotent on every server version; `create` is therefore safe to retry, like every
other call here. Join links are signed URLs built without any HTTP call.
"""

from __future__ import annotations

import asyncio
import hmac
import unicodedata
from collections.abc import Mapping, Sequence
from xml.etree.ElementTree import Element

from providers._client import ProviderClient
from providers._http import ProviderResponse, RetryPolicy, Sleep, Transport
from providers.base import MeetingSettings, Role
from providers.bigbluebutton import responses
from providers.bigbluebutton.checksum import ALGORITHMS, signed_query
from providers.errors import ProviderInputError, ProviderProtocolError
from providers.metering import NO_METER, CallMeter

NAME = "bigbluebutton"
NAME_LIMITS = (2, 256)  # meeting name and meetingID length, as the server counts (see java_length)

# Our setting name -> BBB create parameter (reference: providers.md, section 1.7).
CREATE_PARAMS = {
    "record": "record",
    "auto_start_recording": "autoStartRecording",
    "allow_start_stop_recording": "allowStartStopRecording",
    "webcam_only_for_moderators": "webcamsOnlyForModerator",
    "lock_settings_disable_cam": "lockSettingsDisableCam",
    "lock_settings_disable_mic": "lockSettingsDisableMic",
    "lock_settings_disable_private_chat": "lockSettingsDisablePrivateChat",
    "lock_settings_disable_public_chat": "lockSettingsDisablePublicChat",
    # The plural is the current name; the singular is only a deprecated fallback.
    "lock_settings_disable_note": "lockSettingsDisableNotes",
    "lock_settings_locked_layout": "lockSettingsLockedLayout",
}


def bool_param(value: bool) -> str:
    # BBB reads only lowercase true/false; str(True) would be "True".
    return "true" if value else "false"


def clean_text(value: str) -> str:
    """The text as the server keeps it: it strips control characters from every string."""
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cc")


def java_length(value: str) -> int:
    """Length as the server (Java) counts it: UTF-16 code units, so an emoji counts twice."""
    return len(value.encode("utf-16-le")) // 2


def derive_password(secret: str, meeting_id: str, role: str) -> str:
    """A meeting's fixed password for a role, derived from the secret.

    Repeating `create` with the same passwords is answered duplicateWarning; with other ones,
    idNotUnique. Deriving them makes every create of a meeting send the same pair, without
    storing anything, and nobody without the secret can compute them.
    """
    message = f"meetbot:{role}:{meeting_id}".encode()
    # The one-shot hmac.digest: a few times cheaper than hmac.new(...).hexdigest().
    return hmac.digest(secret.encode(), message, "sha256").hex()[:20]


def _metadata_params(metadata: Mapping[str, str] | None) -> list[tuple[str, str]]:
    # Sorted, so the same metadata always makes the same query (and the same checksum).
    return [(f"meta_{key}", value) for key, value in sorted((metadata or {}).items())]


class BigBlueButtonApi(ProviderClient):
    """Async BigBlueButton API calls on one pooled HTTP client."""

    name = NAME

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        checksum: str = "sha1",
        join_with_password: bool = False,
        transport: Transport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        meter: CallMeter = NO_METER,
    ) -> None:
        if checksum not in ALGORITHMS:
            raise ValueError(f"checksum must be one of {', '.join(ALGORITHMS)}")
        super().__init__(
            transport=transport,
            timeout=timeout,
            retry=retry,
            secrets=[secret],
            sleep=sleep,
            meter=meter,
        )
        self._api = url.rstrip("/")
        self._secret = secret
        self._algorithm = checksum
        self._join_with_password = join_with_password

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._api!r}, checksum={self._algorithm!r})"

    # -- signing and sending ------------------------------------------------------------------

    def url(self, call: str, params: Sequence[tuple[str, str]] = ()) -> str:
        """The complete signed URL of an API call."""
        return f"{self._api}/{call}?{signed_query(call, params, self._secret, self._algorithm)}"

    async def _get(self, call: str, params: Sequence[tuple[str, str]] = ()) -> Element:
        # Every call is a GET that changes nothing twice (create included, see `create`), so
        # every call may be retried.
        with self._http.measured(call):
            response = await self._http.send(
                "GET", self.url(call, params), operation=call, idempotent=True
            )
            self._check_status(response, call)
            return responses.parse(response.content, call, self._http.redact)

    @staticmethod
    def _check_status(response: ProviderResponse, call: str) -> None:
        # BBB answers every API outcome, failures included, with 200 + XML; the outcome is in
        # <returncode>. Any other status came from something in front of it (nginx, a proxy, a
        # wrong URL); 5xx was already turned into ProviderUnavailable. A 404 or 403 will not go
        # away on retry, so it is a protocol error telling the operator what to check.
        if response.status_code != 200:
            raise ProviderProtocolError(
                NAME,
                call,
                f"answered HTTP {response.status_code}, which BigBlueButton itself never does; "
                "is the url the API base ending in /bigbluebutton/api?",
            )

    # -- the API calls ------------------------------------------------------------------------

    async def api_version(self) -> responses.ApiVersion:
        """The version document at the bare API base (no checksum): a health check."""
        with self._http.measured("version"):
            response = await self._http.send("GET", self._api, operation="version", idempotent=True)
            self._check_status(response, "version")
            return responses.api_version(responses.parse(response.content, "version"))

    def passwords(self, meeting_id: str) -> tuple[str, str]:
        """(attendee, moderator) passwords of a meeting, the same on every create."""
        return (
            derive_password(self._secret, meeting_id, "attendee"),
            derive_password(self._secret, meeting_id, "moderator"),
        )

    async def create(
        self,
        meeting_id: str,
        name: str,
        *,
        settings: MeetingSettings | None = None,
        welcome: str | None = None,
        logout_url: str | None = None,
        duration_minutes: int | None = None,
        metadata: Mapping[str, str] | None = None,
        attendee_pw: str | None = None,
        moderator_pw: str | None = None,
    ) -> responses.CreateResult:
        """Create a meeting, or get the existing one back (`duplicate`) while it has not ended.

        `settings=None` sends none of the ten settings (the server's defaults apply).
        `metadata` names go without the `meta_` prefix. Passwords default to the derived pair;
        passing others is for callers that manage passwords themselves, and makes a repeated
        create answer idNotUnique.
        """
        check_meeting_id(meeting_id, "create")
        check_name(name, "create")
        derived_attendee, derived_moderator = self.passwords(meeting_id)
        params = [
            ("name", name),
            ("meetingID", meeting_id),
            ("attendeePW", attendee_pw or derived_attendee),
            ("moderatorPW", moderator_pw or derived_moderator),
        ]
        if welcome:
            params.append(("welcome", welcome))
        if logout_url:
            params.append(("logoutURL", logout_url))
        if duration_minutes:
            params.append(("duration", str(duration_minutes)))
        if settings is not None:
            params += [(CREATE_PARAMS[key], bool_param(value)) for key, value in settings.items()]
        params += _metadata_params(metadata)
        return responses.create_result(await self._get("create", params), "create")

    def join_url(
        self,
        meeting_id: str,
        full_name: str,
        role: Role,
        *,
        user_id: str | None = None,
        create_time: str | None = None,
    ) -> str:
        """A signed, personal join URL; no HTTP call."""
        if not clean_text(full_name).strip():
            raise ProviderInputError(NAME, "join", "a participant needs a name to join")
        params = [("fullName", full_name), ("meetingID", meeting_id)]
        if self._join_with_password:
            # Servers before 2.4 know no `role`: the password decides it.
            attendee_pw, moderator_pw = self.passwords(meeting_id)
            params.append(("password", moderator_pw if role is Role.MODERATOR else attendee_pw))
        else:
            params.append(("role", "MODERATOR" if role is Role.MODERATOR else "VIEWER"))
        if user_id:
            params.append(("userID", user_id))
        if create_time:
            # Binds the link to this session: a link from an earlier session is refused.
            params.append(("createTime", create_time))
        return self.url("join", params)

    async def is_meeting_running(self, meeting_id: str) -> bool:
        """True while at least one person is in the meeting (an unknown meeting is not)."""
        root = await self._get("isMeetingRunning", [("meetingID", meeting_id)])
        return responses.flag(root, "running")

    async def end_meeting(self, meeting_id: str) -> None:
        """Ask the server to end a meeting; it ends a few moments later."""
        # The moderator password is deprecated for end but still checked when sent, and
        # required by servers before 2.4: sending the right one is harmless everywhere.
        moderator_pw = derive_password(self._secret, meeting_id, "moderator")
        await self._get("end", [("meetingID", meeting_id), ("password", moderator_pw)])

    async def get_meeting_info(self, meeting_id: str) -> responses.MeetingInfo:
        root = await self._get("getMeetingInfo", [("meetingID", meeting_id)])
        return responses.meeting_info(root, "getMeetingInfo")

    async def get_meetings(self) -> list[responses.MeetingInfo]:
        """Every meeting on the server; none is an empty list (messageKey noMeetings)."""
        root = await self._get("getMeetings")
        return [responses.meeting_info(m, "getMeetings") for m in root.findall("meetings/meeting")]

    async def get_recordings(
        self,
        *,
        meeting_ids: Sequence[str] = (),
        record_ids: Sequence[str] = (),
        state: str | None = None,
    ) -> list[responses.RecordingInfo]:
        """Recordings by meeting and/or record id (record ids win); `state` as BBB takes it
        (`published,unpublished` by default, or `any`). None is an empty list."""
        params = []
        if meeting_ids:
            params.append(("meetingID", ",".join(meeting_ids)))
        if record_ids:
            params.append(("recordID", ",".join(record_ids)))
        if state:
            params.append(("state", state))
        return responses.recordings(await self._get("getRecordings", params), "getRecordings")

    async def publish_recordings(self, record_ids: Sequence[str], publish: bool) -> bool:
        root = await self._get(
            "publishRecordings",
            [
                ("recordID", _record_ids(record_ids, "publishRecordings")),
                ("publish", bool_param(publish)),
            ],
        )
        return responses.flag(root, "published")

    async def delete_recordings(self, record_ids: Sequence[str]) -> bool:
        root = await self._get(
            "deleteRecordings", [("recordID", _record_ids(record_ids, "deleteRecordings"))]
        )
        return responses.flag(root, "deleted")

    async def update_recordings(
        self, record_ids: Sequence[str], metadata: Mapping[str, str]
    ) -> bool:
        """Set recording metadata (names without `meta_`); an empty value removes a name."""
        params = [("recordID", _record_ids(record_ids, "updateRecordings"))]
        params += _metadata_params(metadata)
        return responses.flag(await self._get("updateRecordings", params), "updated")


def check_meeting_id(meeting_id: str, call: str) -> None:
    low, high = NAME_LIMITS
    if not low <= java_length(meeting_id) <= high or "," in meeting_id:
        raise ProviderInputError(NAME, call, f"a meetingID has {low} to {high} characters, no ','")


def check_name(name: str, call: str) -> None:
    low, high = NAME_LIMITS
    if not low <= java_length(clean_text(name)) <= high:
        raise ProviderInputError(NAME, call, f"a meeting name has {low} to {high} characters")


def _record_ids(record_ids: Sequence[str], call: str) -> str:
    # An empty list would be sent as recordID= and refused; say so without a round trip.
    if not record_ids or not all(record_ids):
        raise ProviderInputError(NAME, call, "name at least one recording")
    return ",".join(record_ids)
