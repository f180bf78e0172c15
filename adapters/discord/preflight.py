"""Discord's word on our token, asked before anything starts: `meetbot run` stops on a refusal
with one line, and `meetbot check` logs in the same way (REST only, no gateway) and also asks
whether `discord.application_id` is the token's own application.
"""

from __future__ import annotations

import aiohttp
import discord


class DiscordSetupError(ValueError):
    """Discord refused the configuration (the token): said in one line at start."""


async def log_in(client: discord.Client, token: str) -> None:
    """`client.login(token)`, each way it can fail said in one line without the token."""
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise DiscordSetupError("Discord refused the bot token; check discord.token") from None
    except discord.HTTPException as error:
        raise DiscordSetupError(
            f"Discord did not let the bot log in (HTTP {error.status}); check discord.token "
            "and discord.api_url"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise DiscordSetupError(
            f"cannot reach the Discord API ({type(error).__name__}); check discord.api_url "
            "and the network"
        ) from None


async def check_login(token: str, application_id: int) -> str:
    """Log in on a client of its own and compare the application; returns who the bot is.
    The REST base is discord.py's (`use_api_base` points it elsewhere); the caller bounds the
    time (`asyncio.timeout`), and the client is closed however this ends."""
    client = discord.Client(intents=discord.Intents.default())
    try:
        await log_in(client, token)
        try:
            application = await client.application_info()
        except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
            raise DiscordSetupError(
                f"Discord did not tell the bot's application ({type(error).__name__})"
            ) from None
    finally:
        await client.close()
    if application.id != application_id:
        raise DiscordSetupError(
            f"discord.application_id is {application_id}, but the token is the bot of "
            f"application {application.id}"
        )
    return f"bot {client.user} of application {application.id}"
