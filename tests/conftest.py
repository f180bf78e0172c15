"""Fixtures for every test folder: the store's two databases; hypothesis's settings.

`store_url` is a URL of an empty store, once for each database the store runs on: a SQLite
file, and a database of its own on a real PostgreSQL server (`tests/postgres.py`) that the
test session starts once and stops at its end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.postgres import SKIP_VARIABLE, NoPostgres, PostgresServer, start_server

# Property tests say what holds, never how fast: a slow or loaded machine (CI's) must not fail
# one on hypothesis's default 200 ms deadline for an example. The tests that set their own
# settings already say the same.
settings.register_profile("meetbot", deadline=None)
settings.load_profile("meetbot")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: no PostgreSQL")
    try:
        server = start_server()
    except NoPostgres as missing:
        pytest.fail(str(missing))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return await server.database()
