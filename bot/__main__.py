"""`python -m bot` is the same as the `meetbot` command."""

from bot.cli import main

raise SystemExit(main())
