"""The `/meet` app command group, generated from the command spec so the two cannot drift.

Each subcommand of `commands.spec.MEET` becomes a typed Discord subcommand: text as strings,
minutes as a bounded integer, choices as Discord choices, settings as true/false options, and
meetings with autocomplete. The callback receives the values under their spec names and hands
them to `run`, which goes through the same checks as typed text.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, Optional

import discord
from discord import app_commands

from commands.render import truncate
from commands.spec import MEET, Kind, Option, Subcommand

Run = Callable[[discord.Interaction, str, dict[str, object]], Awaitable[None]]
Autocomplete = Callable[
    [discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]
]

DESCRIPTION_LIMIT = 100  # Discord's limit for command and option descriptions


def build_group(run: Run, autocomplete: Autocomplete) -> app_commands.Group:
    # Meetings belong to a server: Discord offers /meet only in servers' channels, not in DMs
    # (a DM names no server; the adapter refuses the few that still arrive).
    group = app_commands.Group(
        name="meet",
        description="Video meetings: create, join, end and the rest",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
    )
    for sub in MEET:
        group.add_command(_command(sub, run, autocomplete))
    return group


def _annotation(option: Option) -> Any:
    if option.kind is Kind.FLAG:
        return bool
    if option.kind is Kind.MINUTES:
        return app_commands.Range[int, 0, 10080]
    if option.kind is Kind.CHOICE:
        return Literal[option.choices]  # discord.py turns a Literal into choices
    return str


def _command(
    sub: Subcommand, run: Run, autocomplete: Autocomplete
) -> app_commands.Command[Any, ..., Any]:
    # Discord wants required options first.
    options = sorted(sub.options, key=lambda o: not o.required)
    spec_names = {option.name.replace("-", "_"): option.name for option in options}
    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for option in options:
        annotation = _annotation(option)
        parameters.append(
            inspect.Parameter(
                option.name.replace("-", "_"),
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation if option.required else Optional[annotation],  # noqa: UP045 - discord.py reads Optional
                default=inspect.Parameter.empty if option.required else None,
            )
        )

    async def callback(interaction: discord.Interaction, **values: object) -> None:
        await run(interaction, sub.name, {spec_names[k]: v for k, v in values.items()})

    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__name__ = sub.name
    described = app_commands.describe(
        **{name: truncate(o.help, DESCRIPTION_LIMIT) for name, o in _by_py_name(options).items()}
    )(callback)
    renames = {py: spec for py, spec in spec_names.items() if py != spec}
    if renames:
        described = app_commands.rename(**renames)(described)
    if any(option.kind is Kind.MEETING for option in options):
        described = app_commands.autocomplete(meeting=autocomplete)(described)
    return app_commands.Command(
        name=sub.name,
        description=truncate(sub.summary, DESCRIPTION_LIMIT),
        callback=described,
    )


def _by_py_name(options: list[Option]) -> dict[str, Option]:
    return {option.name.replace("-", "_"): option for option in options}
