"""Meeting-provider clients (BigBlueButton, VConnct, LiveMinutes) and their local simulators.

Nothing here imports bot, adapters or commands; provider HTTP (`providers._http`) is used only
inside this package.
"""
