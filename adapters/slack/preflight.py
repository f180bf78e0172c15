"""Slack's word on our tokens, asked before anything starts: `meetbot run` stops on a refusal
with one line, and `meetbot check` asks the same without starting the app.

The bot token is checked with `auth.test`; Socket Mode's app token with
`apps.connections.open`, which only hands out a socket URL (left unused here). Neither token
is ever part of a message.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.people import slack_error

DEFAULT_API_URL = "https://slack.com/api/"
CALL_SECONDS = 10


class SlackSetupError(ValueError):
    """Slack refused the configuration (a token, the API URL): said in one line at start."""


def _unreachable(error: Exception) -> SlackSetupError:
    return SlackSetupError(
        f"cannot reach the Slack API ({type(error).__name__}); check slack.api_url and the network"
    )


async def verify_bot_token(client: AsyncWebClient) -> str:
    """auth.test: who the bot is (`@meetbot in team T1`), or a `SlackSetupError`."""
    try:
        answer = await client.auth_test()
    except SlackApiError as error:
        raise SlackSetupError(
            f"Slack refused the bot token ({slack_error(error)}); check slack.bot_token"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise _unreachable(error) from None
    return f"bot @{answer.get('user', '?')} in team {answer.get('team_id', '?')}"


async def verify_app_token(client: AsyncWebClient, app_token: str) -> None:
    """apps.connections.open with the app token (Socket Mode), or a `SlackSetupError`."""
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        raise SlackSetupError(
            f"Slack refused the app token ({slack_error(error)}); check slack.app_token "
            "(an xapp-... token with connections:write)"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise _unreachable(error) from None


async def check_tokens(bot_token: str, app_token: str | None, api_url: str | None) -> str:
    """Both tokens, on a session of their own; returns who the bot is. The caller bounds the
    whole (`asyncio.timeout`); each call has slack_sdk's own limit too."""
    base = api_url or DEFAULT_API_URL
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token=bot_token,
            base_url=base if base.endswith("/") else base + "/",
            timeout=CALL_SECONDS,
            session=session,
        )
        identity = await verify_bot_token(client)
        if app_token is not None:
            await verify_app_token(client, app_token)
    return identity
