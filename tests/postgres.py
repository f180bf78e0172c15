"""A real PostgreSQL server for the tests, started in a temporary folder on a loopback port.

`initdb` and `pg_ctl` come from the Debian package `postgresql` (`make test` installs it when
they are missing); they are looked for on PATH, then under /usr/lib/postgresql/<version>/bin.
PostgreSQL refuses to run as root: as root, the server runs as `nobody`, in a folder made
theirs. It takes connections on 127.0.0.1 only (and a socket in that folder), trusts them
(nothing else can reach it), and skips fsync: a test's data need not survive a power cut.
Each test gets a store of its own (`database()`).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

#: set to 1 to run without PostgreSQL (its tests are then skipped); `make test` never does
SKIP_VARIABLE = "MEETBOT_SKIP_POSTGRES"


class NoPostgres(Exception):
    """initdb/pg_ctl are not installed."""


def binaries() -> Path:
    """The folder of initdb and pg_ctl."""
    found = shutil.which("pg_ctl")
    if found is not None and shutil.which("initdb") is not None:
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    raise NoPostgres(
        "PostgreSQL's initdb/pg_ctl are not installed: `make test` installs them (Debian "
        f"package postgresql); or set {SKIP_VARIABLE}=1 to skip the PostgreSQL tests"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    folder: Path
    port: int = 0
    _bin: Path = field(default_factory=binaries)
    _databases: int = 0

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        """Run a PostgreSQL program, as a user it accepts (not root); its exit status."""
        prefix = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(  # noqa: S603 - our own arguments, to PostgreSQL's own programs
            [*prefix, str(self._bin / program), *args], check=check, capture_output=True
        )
        return done.returncode

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "nobody")
        data = self.folder / "data"
        self._run(
            *("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
            *("--no-sync", "--no-instructions"),
        )
        options = (
            f"-h 127.0.0.1 -k {self.folder} -F -c max_connections=300 "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        for _attempt in range(5):  # the port was free a moment ago; someone may take it
            self.port = free_port()
            log = str(self.folder / "log")
            started = self._run(
                *("pg_ctl", "-D", str(data), "-w", "-t", "30", "-l", log),
                *("-o", f"{options} -p {self.port}", "start"),
                check=False,
            )
            if started == 0:
                return
        log = (self.folder / "log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"PostgreSQL did not start:\n{log}")

    def stop(self) -> None:
        data = str(self.folder / "data")
        self._run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def database(self) -> str:
        """A new, empty store's URL. A role of its own, with a schema of its own by its
        name, which PostgreSQL's default search_path ("$user", public) puts first: as good
        as a database of its own, in a few milliseconds instead of a second."""
        self._databases += 1
        name = f"store{self._databases}"
        engine = create_async_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(f"CREATE ROLE {name} LOGIN"))
                await connection.execute(text(f"CREATE SCHEMA {name} AUTHORIZATION {name}"))
        finally:
            await engine.dispose()
        return f"postgresql+asyncpg://{name}@127.0.0.1:{self.port}/postgres"


def start_server() -> PostgresServer:
    # Not under pytest's tmp folders: those are closed to other users, and to `nobody`.
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="meetbot-pg-")))
    try:
        server.start()
    except BaseException:
        shutil.rmtree(server.folder, ignore_errors=True)
        raise
    return server
