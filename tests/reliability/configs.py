"""Config files for `meetbot` processes that tests run against the simulators."""

from __future__ import annotations

from bot.simulated import (
    DEMO_BBB_SECRET,
    DEMO_LM_ACCOUNT_SID,
    DEMO_LM_AUTH_TOKEN,
    DEMO_VCONNCT_LICENSE,
    SimulatedProviders,
)


def providers_yaml(sims: SimulatedProviders) -> str:
    """A `providers` section naming all three simulators, with their demo credentials."""
    config = sims.providers_config()
    assert config.bigbluebutton is not None
    assert config.vconnct is not None
    assert config.liveminutes is not None
    return (
        "providers:\n"
        f"  bigbluebutton: {{url: '{config.bigbluebutton.url}', secret: '{DEMO_BBB_SECRET}'}}\n"
        f"  vconnct: {{url: '{config.vconnct.url}', license: '{DEMO_VCONNCT_LICENSE}'}}\n"
        f"  liveminutes: {{url: '{config.liveminutes.url}', account_sid: "
        f"'{DEMO_LM_ACCOUNT_SID}', auth_token: '{DEMO_LM_AUTH_TOKEN}'}}\n"
    )
