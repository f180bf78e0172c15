"""The `meetbot` command line: one subcommand per operator task.

Subcommands: `run` (the configured chat adapters), `demo` (the terminal chat against in-process
simulators, no config needed), `console` (the terminal chat against configured providers),
`simulate` (the three provider simulators on loopback), `check` (load a config and prove the
store, each provider, Slack and Discord accept it: what `run` would refuse), `healthcheck` (the
container's probe), `migrate` (bring the store's layout up to date), `slack-manifest` and
`discord-invite`. The config is the file given with `--config` (or `$MEETBOT_CONFIG`) with the
MEETBOT_* environment on top; either may say it all. `--log-level` and `--log-format` may
stand before or after the subcommand; without them, `MEETBOT_LOG_LEVEL` and
`MEETBOT_LOG_FORMAT` give the defaults (WARNING, text).
Exit codes: 0 fine, 1 a check failed, 2 unusable config or arguments (`healthcheck`: 1 for
anything but healthy, as container runtimes read it).
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

from bot import environment
from bot.config import Config, ConfigError
from bot.logs import LOG_FORMATS, LOG_LEVELS, LogFormat, configure_logging, redact_secrets

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
    add_config_arguments(console_parser)
    for terminal_parser in (demo_parser, console_parser):
        terminal_parser.add_argument(
            "--now",
            type=moment,
            metavar="ISO",
            help="start a simulated clock at this moment (e.g. 2027-03-08T08:00, UTC unless "
            "it names an offset such as Z or +01:00); /wait moves it on",
        )

    run_parser = commands.add_parser("run", help="run the configured chat adapters until Ctrl-C")
    add_config_arguments(run_parser)

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
        "check",
        help="validate the config and ask the store, every provider, Slack and Discord if they "
        "accept it",
    )
    add_config_arguments(check)
    healthcheck_parser = commands.add_parser(
        "healthcheck",
        help="exit 0 if the running bot's /healthz answers (without server.port: if the store "
        "opens), else 1",
    )
    add_config_arguments(healthcheck_parser)
    migrate_parser = commands.add_parser(
        "migrate", help="bring the store (storage.url) to this meetbot's layout, and say how"
    )
    add_config_arguments(migrate_parser)

    for subcommand in commands.choices.values():
        add_logging_options(subcommand)
    return parser


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML config file (default: $MEETBOT_CONFIG); MEETBOT_* variables override it, "
        "and without it they must say everything",
    )
    parser.add_argument(
        "--secrets-dir",
        metavar="DIR",
        help="files named like MEETBOT_* variables, one value each (default: "
        "$MEETBOT_SECRETS_DIR, else /run/secrets when it exists)",
    )


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
    config = _config(args.config, "check", getattr(args, "secrets_dir", None))
    if config is None:
        return 2
    from bot import preflight  # noqa: PLC0415 - see run()

    findings = await preflight.check_all(config)
    for finding in findings:
        print(finding.line())
    print(f"default provider: {config.providers.default_name()}")
    if config.slack is None and config.discord is None:
        print("chat: neither slack nor discord is configured: `meetbot run` refuses this config")
        print("      (`meetbot console` uses it)")
    return 0 if all(finding.ok for finding in findings) else 1


async def healthcheck(args: argparse.Namespace) -> int:
    config = _config(args.config, "healthcheck", getattr(args, "secrets_dir", None))
    if config is None:
        return 1  # a container runtime reads 1 as unhealthy (and reserves 2)
    from bot import preflight  # noqa: PLC0415 - see run()

    finding = await preflight.probe(config)
    print(finding.line())
    return 0 if finding.ok else 1


async def run(args: argparse.Namespace) -> int:
    config = _config(args.config, "run", getattr(args, "secrets_dir", None))
    if config is None:
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Imported here: each chat platform's library is loaded only by the command that needs
    # it (a Slack-only `run` never loads discord.py, and `check` neither), the store's
    # (SQLAlchemy) only by those that open it.
    from commands.store import StoreError  # noqa: PLC0415

    try:
        from bot import run as running  # noqa: PLC0415

        return await running.run(config, stop)
    except (ValueError, StoreError) as error:
        print(f"meetbot run: {error}", file=sys.stderr)
        return 2


async def migrate(args: argparse.Namespace) -> int:
    """What `meetbot run` does at its start, alone: for a deploy step before the replicas."""
    config = _config(args.config, "migrate", getattr(args, "secrets_dir", None))
    if config is None:
        return 2
    from commands.store import StoreError  # noqa: PLC0415 - see run()
    from commands.store import migrate as store_migrations  # noqa: PLC0415 - see run()

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
    config = _config(args.config, "console", getattr(args, "secrets_dir", None))
    if config is None:
        return 2
    from bot import console as terminal  # noqa: PLC0415 - see run()
    from commands.store import StoreError  # noqa: PLC0415 - see run()

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


def _config(path: str | None, command: str, secrets_dir: str | None = None) -> Config | None:
    """The config at `path` (else $MEETBOT_CONFIG, else none) with the environment's layer on
    top, or None after saying on stderr everything that is wrong with it."""
    env = os.environ
    try:
        folder = environment.secrets_dir(secrets_dir, env)
        loaded = environment.load(path or env.get("MEETBOT_CONFIG") or None, env, folder)
    except ConfigError as error:
        print(f"meetbot {command}: {error}", file=sys.stderr)
        return None
    for name in loaded.unused:
        print(f"meetbot {command}: {name} names no config key; ignored", file=sys.stderr)
    redact_secrets(loaded.config.secrets())
    return loaded.config


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(*log_options(args, parser))
    runners = {
        "simulate": simulate,
        "check": check,
        "healthcheck": healthcheck,
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
