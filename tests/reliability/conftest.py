"""The reliability suite uses the command layer's bench (simulators, SQLite file, clock)."""

from tests.commands.conftest import bench

__all__ = ["bench"]
