"""The `meetbot` command line: one subcommand per operator task.

Subcommands: `run` (the configured chat adapters), `demo` (the terminal chat against in-process
simulators, no config needed), `console` (the terminal chat against configured providers),
`simulate` (the three provider simulators on loopback), `check` (load a config and prove each
configured provider answers with working credentials), `migrate` (bring the store's layout up
to date), `slack-manifest` and `discord-invite`. `--log-level` and `--log-format` may stand
before or after the subcommand; without them, `MEETBOT_LOG_LEVEL` and `MEETBOT_LOG_FORMAT` give
the defaults (WARNING, text).
Exit codes: 0 fine, 1 a check failed, 2 unusable config or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import yaml

from bot.app import build_providers
from bot.config import Config, ConfigError, load_config
from bot.logs import LOG_FORMATS, LOG_LEVELS, LogFormat, configure_logging, redact_secrets
from commands.store import StoreError
from commands.store import migrate as store_migrations
from providers.base import ProviderError

# The simulators' default ports (bigbluebutton, vconnct, liveminutes).
DEFAULT_BBB_PORT, DEFAULT_VCONNCT_PORT, DEFAULT_LIVEMINUTES_PORT = 8090, 8091, 8092
LEVEL_VARIABLE, FORMAT_VARIABLE = "MEETBOT_LOG_LEVEL", "MEETBOT_LOG_FORMAT"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meetbot",
        description="Run BigBlueButton, VConnct and LiveMinutes meetings from Slack and Discord.",
    )
    add_logging_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    simulate = commands.add_parser(
        "simulate", help="start the three provider simulators on loopback until Ctrl-C"
    )
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on")
    simulate.add_argument("--bbb-port", type=int, default=DEFAULT_BBB_PORT)
    simulate.add_argument("--vconnct-port", type=int, default=DEFAULT_VCONNCT_PORT)
    simulate.add_argument("--liveminutes-port", type=int, default=DEFAULT_LIVEMINUTES_PORT)

    demo_parser = commands.add_parser(
        "demo", help="the terminal chat against simulated providers; no config needed"
    )
    console_parser = commands.add_parser(
        "console", help="the terminal chat against the configured providers"
    )
    console_parser.add_argument("--config", required=True, metavar="FILE", help="YAML config file")
    for terminal_parser in (demo_parser, console_parser):
        terminal_parser.add_argument(
            "--now",
            type=moment,
            metavar="ISO",
            help="start a simulated clock at this moment (e.g. 2027-03-08T08:00, UTC unless "
            "it names an offset such as Z or +01:00); /wait moves it on",
        )

    run_parser = commands.add_parser("run", help="run the configured chat adapters until Ctrl-C")
    run_parser.add_argument("--config", required=True, metavar="FILE", help="YAML config file")

    manifest = commands.add_parser(
        "slack-manifest", help="print the Slack app manifest to paste at api.slack.com/apps"
    )
    manifest.add_argument("--config", metavar="FILE", help="take the mode from this config")
    manifest.add_argument(
        "--url", metavar="URL", help="HTTP mode: the public base URL, e.g. https://bot.example.org"
    )

    invite = commands.add_parser(
        "discord-invite", help="print the URL that adds the bot to a Discord server"
    )
    invite.add_argument("--config", metavar="FILE", help="take discord.application_id from here")
    invite.add_argument("--application-id", type=int, metavar="ID", help="the application id")

    check = commands.add_parser(
        "check", help="validate a config file and ask every configured provider if it answers"
    )
    check.add_argument("--config", required=True, metavar="FILE", help="YAML config file")

    migrate_parser = commands.add_parser(
        "migrate", help="bring the store (storage.url) to this meetbot's layout, and say how"
    )
    migrate_parser.add_argument("--config", required=True, metavar="FILE", help="YAML config file")

    for subcommand in commands.choices.values():
        add_logging_options(subcommand)
    return parser


def add_logging_options(parser: argparse.ArgumentParser) -> None:
    """--log-level and --log-format, on the main parser and on each subcommand's. No default
    here (SUPPRESS): a subcommand's would overwrite what was given before it; `log_options`
    fills in the defaults."""
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        help=f"log verbosity (default: ${LEVEL_VARIABLE}, else WARNING)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=argparse.SUPPRESS,
        help=f"text, or json: one object per line (default: ${FORMAT_VARIABLE}, else text)",
    )


def log_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[str, LogFormat]:
    """The log level and format: as given, else from the environment, else the defaults; a
    wrong value in the environment is refused as a wrong option would be (exit 2)."""
    level = getattr(args, "log_level", None) or os.environ.get(LEVEL_VARIABLE, "").upper()
    if level and level not in LOG_LEVELS:
        parser.error(f"{LEVEL_VARIABLE}={level!r} is not one of {', '.join(LOG_LEVELS)}")
    form = getattr(args, "log_format", None) or os.environ.get(FORMAT_VARIABLE, "").lower()
    if form and form not in LOG_FORMATS:
        parser.error(f"{FORMAT_VARIABLE}={form!r} is not one of {', '.join(LOG_FORMATS)}")
    return level or "WARNING", "json" if form == "json" else "text"


async def simulate(args: argparse.Namespace) -> int:
    from bot.simulated import Ports, SimulatedProviders  # noqa: PLC0415 - see run()

    ports = Ports(
        bigbluebutton=args.bbb_port, vconnct=args.vconnct_port, liveminutes=args.liveminutes_port
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with SimulatedProviders(ports, host=args.host) as sims:
            print(sims.describe(), flush=True)
            print("\nRunning; Ctrl-C stops.", flush=True)
            await stop.wait()
    except OSError as error:
        print(f"meetbot simulate: cannot listen: {error.strerror} ({error})", file=sys.stderr)
        return 2
    print("Stopped.", flush=True)
    return 0


async def check(args: argparse.Namespace) -> int:
    config = _config(args.config, "check")
    if config is None:
        return 2
    providers = build_providers(config.providers)
    failures = 0
    try:
        for name, provider in providers.items():
            try:
                health = await provider.health()
            except ProviderError as error:
                failures += 1
                print(f"{name:<14} FAILED  {type(error).__name__}: {error.message}")
                continue
            version = f"version {health.version}" if health.version else ""
            detail = "; ".join(part for part in (version, health.detail or "") if part)
            print(f"{name:<14} {'ok' if health.ok else 'FAILED':<7} {detail}".rstrip())
            failures += 0 if health.ok else 1
    finally:
        for provider in providers.values():
            await provider.aclose()
    default = config.providers.default_name()
    print(f"default provider: {default}")
    return 1 if failures else 0


async def run(args: argparse.Namespace) -> int:
    config = _config(args.config, "run")
    if config is None:
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Imported here: each chat platform's library is loaded only by the command that
        # needs it (a Slack-only `run` never loads discord.py, and `check` neither).
        from bot import run as running  # noqa: PLC0415

        return await running.run(config, stop)
    except (ValueError, StoreError) as error:
        print(f"meetbot run: {error}", file=sys.stderr)
        return 2


async def migrate(args: argparse.Namespace) -> int:
    """What `meetbot run` does at its start, alone: for a deploy step before the replicas."""
    config = _config(args.config, "migrate")
    if config is None:
        return 2
    url = config.storage.url
    try:
        migration = await store_migrations.migrate(url)
    except StoreError as error:
        print(f"meetbot migrate: {error}", file=sys.stderr)
        return 2
    print(f"{store_migrations.shown(url)}: {migration.describe()}")
    return 0


async def slack_manifest(args: argparse.Namespace) -> int:
    socket_mode, path, command = True, "/slack/events", "/meet"
    if args.config:
        config = _config(args.config, "slack-manifest")
        if config is None:
            return 2
        if config.slack is not None:
            socket_mode = config.slack.mode == "socket"
            path, command = config.slack.path, config.slack.command
    url = args.url.rstrip("/") + path if args.url else None
    from adapters.slack.manifest import manifest  # noqa: PLC0415 - see run()

    try:
        document = manifest(socket_mode=socket_mode, request_url=url, command=command)
    except ValueError as error:
        print(f"meetbot slack-manifest: {error} (pass --url)", file=sys.stderr)
        return 2
    print(yaml.safe_dump(document, sort_keys=False), end="")
    return 0


async def discord_invite(args: argparse.Namespace) -> int:
    application_id = args.application_id
    events = False
    if args.config:
        config = _config(args.config, "discord-invite")
        if config is None:
            return 2
        if application_id is None and config.discord is not None:
            application_id = config.discord.application_id
        events = config.discord_events_anywhere()
    if application_id is None:
        print(
            "meetbot discord-invite: give --application-id or a config with a discord section",
            file=sys.stderr,
        )
        return 2
    from adapters.discord import invite_url  # noqa: PLC0415 - see run()

    print(invite_url(application_id, events=events))
    return 0


async def console(args: argparse.Namespace) -> int:
    config = _config(args.config, "console")
    if config is None:
        return 2
    from bot import console as terminal  # noqa: PLC0415 - see run()

    try:
        return await terminal.console(config, now=args.now)
    except StoreError as error:
        print(f"meetbot console: {error}", file=sys.stderr)
        return 2


async def demo(args: argparse.Namespace) -> int:
    from bot import console as terminal  # noqa: PLC0415 - see run()

    return await terminal.demo(now=args.now)


def moment(text: str) -> datetime:
    """An ISO date and time for --now; without an offset it is UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date and time, e.g. 2027-03-08T08:00 or 2027-03-08T08:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _config(path: str, command: str) -> Config | None:
    """The config at `path`, or None after saying on stderr what is wrong with it."""
    try:
        config = load_config(path)
    except ConfigError as error:
        print(f"meetbot {command}: {error}", file=sys.stderr)
        return None
    redact_secrets(config.secrets())
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(*log_options(args, parser))
    runners = {
        "simulate": simulate,
        "check": check,
        "console": console,
        "demo": demo,
        "run": run,
        "migrate": migrate,
        "slack-manifest": slack_manifest,
        "discord-invite": discord_invite,
    }
    runner = runners[args.command]
    try:
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(runner(args))
        return 130
    except BrokenPipeError:
        # The reader went away (`meetbot demo | head -3`): stop quietly, as `yes | head` does.
        # Later writes (the interpreter's own flush at exit) go nowhere instead of failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a writer whose pipe closed
