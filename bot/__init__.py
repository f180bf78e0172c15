"""The running bot: CLI, config loading, wiring of adapters, commands and providers."""
