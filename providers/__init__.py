"""Meeting-provider clients (BigBlueButton, VConnct, LiveMinutes) and their local simulators.

Nothing here imports bot, adapters or commands; httpx is used only inside this package.
"""
