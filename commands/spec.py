"""The one declarative spec of `/meet`: subcommands, their options, help, and who may run them.

Help text, the Slack/console text parser and the Discord command group are all derived from
`MEET` below, so the three can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from providers.base import SETTING_NAMES

PROVIDERS = ("bigbluebutton", "vconnct", "liveminutes")


class Kind(StrEnum):
    """How an option's value is written and read."""

    TEXT = "text"
    MEETING = "meeting"  # a meeting title or id, in this workspace
    USERS = "users"  # one or more @mentions
    WHEN = "when"  # a date/time: "2026-12-01 09:00", "tomorrow 9am", "in 2h"
    DURATION = "duration"  # "45m", "1h30m", "90"
    MINUTES = "minutes"  # a whole number of minutes
    CHOICE = "choice"
    FLAG = "flag"  # on/off: --record / --no-record


class Access(StrEnum):
    """Who may run a subcommand (shown in help; enforced by the service)."""

    ANYONE = "anyone in the channel"
    MODERATOR = "moderators of the meeting"
    LOOK_ANYONE = "anyone may look; only moderators of the meeting may change"


@dataclass(frozen=True)
class Option:
    name: str  # written --name; positional options have no dashes
    kind: Kind
    help: str
    positional: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    def usage(self) -> str:
        if self.positional:
            word = self.metavar or self.name.upper()
            return word if self.required else f"[{word}]"
        if self.kind is Kind.FLAG:
            return f"[--{self.name}]"
        value = "|".join(self.choices) if self.choices else self.metavar or self.kind.value.upper()
        return f"[--{self.name} {value}]"


@dataclass(frozen=True)
class Subcommand:
    name: str
    summary: str
    access: Access
    options: tuple[Option, ...] = ()
    examples: tuple[str, ...] = ()
    details: str = ""

    def option(self, name: str) -> Option | None:
        return next((option for option in self.options if option.name == name), None)

    @property
    def positional(self) -> Option | None:
        return next((option for option in self.options if option.positional), None)

    def usage(self, command: str = "/meet") -> str:
        words = [f"{command} {self.name}", *(option.usage() for option in self.options)]
        return " ".join(words)


# The ten provider settings as flags. Names read as what they do; each has a --no- form.
SETTING_FLAGS: dict[str, str] = {
    "record": "record",
    "auto-start-recording": "auto_start_recording",
    "allow-start-stop-recording": "allow_start_stop_recording",
    "webcams-only-for-moderators": "webcam_only_for_moderators",
    "lock-cam": "lock_settings_disable_cam",
    "lock-mic": "lock_settings_disable_mic",
    "lock-private-chat": "lock_settings_disable_private_chat",
    "lock-public-chat": "lock_settings_disable_public_chat",
    "lock-notes": "lock_settings_disable_note",
    "lock-layout": "lock_settings_locked_layout",
}
assert sorted(SETTING_FLAGS.values()) == sorted(SETTING_NAMES), "every setting has one flag"

_SETTING_HELP: dict[str, str] = {
    "record": "allow recording this meeting",
    "auto-start-recording": "start recording as soon as the meeting starts",
    "allow-start-stop-recording": "let moderators start and stop the recording",
    "webcams-only-for-moderators": "attendees see only the moderators' webcams",
    "lock-cam": "attendees cannot share their webcam",
    "lock-mic": "attendees cannot use their microphone (listen only)",
    "lock-private-chat": "attendees cannot chat privately",
    "lock-public-chat": "attendees cannot use the public chat",
    "lock-notes": "attendees cannot edit the shared notes",
    "lock-layout": "attendees cannot change the layout",
}

SETTING_OPTIONS: tuple[Option, ...] = tuple(
    Option(flag, Kind.FLAG, _SETTING_HELP[flag]) for flag in SETTING_FLAGS
)

_MEETING = Option(
    "meeting",
    Kind.MEETING,
    "the meeting's title or id (optional when the channel has just one)",
    positional=True,
    metavar="MEETING",
)

MEET: tuple[Subcommand, ...] = (
    Subcommand(
        "create",
        "create a meeting now or for later; you become its moderator",
        Access.ANYONE,
        (
            Option(
                "title",
                Kind.TEXT,
                "the meeting's title",
                positional=True,
                required=True,
                metavar='"TITLE"',
            ),
            Option(
                "provider",
                Kind.CHOICE,
                "where to hold it (default: the workspace's)",
                choices=PROVIDERS,
            ),
            Option("start", Kind.WHEN, "schedule it: 2026-12-01 09:00, tomorrow 9am, in 2h"),
            Option("duration", Kind.DURATION, "how long: 45m, 1h30m (ends it automatically)"),
            Option(
                "repeat",
                Kind.CHOICE,
                "repeat a scheduled meeting",
                choices=("daily", "weekdays", "weekly", "monthly"),
            ),
            Option(
                "remind",
                Kind.MINUTES,
                "post a reminder this many minutes before the start (0: none)",
            ),
            Option("invite", Kind.USERS, "people to send their personal link to"),
            Option("welcome", Kind.TEXT, "welcome message shown in the meeting"),
            *SETTING_OPTIONS,
        ),
        examples=(
            '/meet create "Algebra 101" --record --lock-public-chat',
            '/meet create Standup --start "tomorrow 9:00" --duration 15m --repeat weekdays',
            "/meet create Sync --provider vconnct --invite @ana @ben",
        ),
    ),
    Subcommand(
        "join",
        "get your personal join link, privately, with your role and why",
        Access.ANYONE,
        (_MEETING,),
        examples=('/meet join "Algebra 101"',),
    ),
    Subcommand(
        "end",
        "end a running meeting for everyone",
        Access.MODERATOR,
        (_MEETING,),
        examples=("/meet end Standup",),
    ),
    Subcommand(
        "list",
        "list the meetings of this channel",
        Access.ANYONE,
        (
            Option("all", Kind.FLAG, "every channel of this workspace"),
            Option("ended", Kind.FLAG, "include ended meetings"),
            Option(
                "server",
                Kind.CHOICE,
                "what the provider's server itself has running (moderators only)",
                choices=PROVIDERS,
            ),
        ),
    ),
    Subcommand(
        "status",
        "is it running, since when, how many are in it",
        Access.ANYONE,
        (_MEETING,),
    ),
    Subcommand(
        "attendance",
        "who came and who took a link to a session (or all of it as a CSV file)",
        Access.MODERATOR,
        (
            _MEETING,
            Option("session", Kind.TEXT, "a session id from /meet history"),
            Option("csv", Kind.FLAG, "everyone as a CSV file: link given, joined, left"),
        ),
    ),
    Subcommand(
        "recordings",
        "list recordings; moderators can publish, unpublish or delete one",
        Access.LOOK_ANYONE,
        (
            _MEETING,
            Option("publish", Kind.TEXT, "publish this recording id", metavar="ID"),
            Option("unpublish", Kind.TEXT, "unpublish this recording id", metavar="ID"),
            Option("delete", Kind.TEXT, "delete this recording id", metavar="ID"),
        ),
    ),
    Subcommand(
        "settings",
        "show a meeting's settings, or change them with flags",
        Access.LOOK_ANYONE,
        (
            _MEETING,
            Option("defaults", Kind.FLAG, "show the provider's default settings instead"),
            Option("title", Kind.TEXT, "rename the meeting"),
            Option("welcome", Kind.TEXT, "change the welcome message"),
            *SETTING_OPTIONS,
        ),
        examples=('/meet settings "Algebra 101" --lock-mic --no-record',),
    ),
    Subcommand(
        "history",
        "past sessions of a meeting",
        Access.ANYONE,
        (_MEETING,),
    ),
    Subcommand(
        "remove",
        "take back a person's invitation or access",
        Access.MODERATOR,
        (_MEETING, Option("user", Kind.USERS, "who to remove", required=True)),
        examples=('/meet remove "Algebra 101" --user @ben',),
    ),
    Subcommand(
        "edit",
        "change a scheduled meeting's time, repeat, reminder or duration",
        Access.MODERATOR,
        (
            _MEETING,
            Option("start", Kind.WHEN, "the new start: monday 09:00, 2026-12-01 14:30"),
            Option(
                "repeat",
                Kind.CHOICE,
                "repeat it, or stop repeating after the next one (none)",
                choices=("daily", "weekdays", "weekly", "monthly", "none"),
            ),
            Option("remind", Kind.MINUTES, "minutes before each start to remind (0: none)"),
            Option("duration", Kind.DURATION, "how long each lasts: 45m, 1h30m"),
        ),
        examples=(
            '/meet edit Standup --start "monday 9:30"',
            "/meet edit Standup --repeat none",
        ),
        details="A series changes from its next occurrence on; one running now is not moved.",
    ),
    Subcommand(
        "cancel",
        "cancel the next occurrence of a scheduled meeting, or with --series all of them",
        Access.MODERATOR,
        (_MEETING, Option("series", Kind.FLAG, "cancel every occurrence still to come")),
        examples=("/meet cancel Standup", "/meet cancel Standup --series"),
    ),
    Subcommand(
        "delete",
        "delete a meeting that is not running",
        Access.MODERATOR,
        (_MEETING,),
    ),
    Subcommand(
        "timezone",
        "show the time zone your dates are read in, or set your own",
        Access.ANYONE,
        (
            Option(
                "zone",
                Kind.TEXT,
                "your zone: Europe/Berlin, a city such as Berlin, or reset",
                positional=True,
                metavar="ZONE",
            ),
        ),
        examples=("/meet timezone", "/meet timezone Europe/Berlin", "/meet timezone reset"),
        details=(
            "Slack tells me each person's zone, and that one is used; Discord does not, so "
            "there the zone you set is used, else the server's default, else UTC. "
            "reset forgets yours."
        ),
    ),
    Subcommand(
        "help",
        "this help, or the help of one subcommand",
        Access.ANYONE,
        (Option("topic", Kind.TEXT, "a subcommand", positional=True, metavar="SUBCOMMAND"),),
    ),
)

SUBCOMMANDS: dict[str, Subcommand] = {sub.name: sub for sub in MEET}


def overview(command: str = "/meet") -> str:
    """The short help: one line per subcommand."""
    width = max(len(sub.name) for sub in MEET)
    lines = [f"{command} runs video meetings from chat. Subcommands:"]
    lines += [f"  {sub.name:<{width}}  {sub.summary}" for sub in MEET]
    lines.append(f"More: {command} help SUBCOMMAND")
    return "\n".join(lines)


def describe(sub: Subcommand, command: str = "/meet") -> str:
    """The long help of one subcommand."""
    lines = [f"{sub.usage(command)}", "", f"{sub.summary} (who: {sub.access.value})."]
    if sub.options:
        lines.append("")
        for option in sub.options:
            label = option.metavar or option.name.upper() if option.positional else option.flag
            negation = f" (or --no-{option.name})" if option.kind is Kind.FLAG else ""
            lines.append(f"  {label}{negation}: {option.help}")
    if sub.examples:
        lines += ["", "Examples:", *(f"  {example}" for example in sub.examples)]
    if sub.details:
        lines += ["", sub.details]
    return "\n".join(lines)
