"""A throwaway PostgreSQL cluster for the checkpointer tests.

The fixture runs Debian's (or any) ``initdb``/``pg_ctl`` in a temporary folder, listening only
on a unix socket there, and removes it afterwards. PostgreSQL refuses to run as root, so as
root the cluster belongs to the ``postgres`` user (``nobody`` without one). Without the server
binaries the tests are skipped, with the reason; under CI (``CI`` set) that is a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.guards import missing


def _pg_bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A ``postgresql://`` URL of a fresh cluster (user ``devteam``, trust auth, unix socket)."""
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        missing("no PostgreSQL server binaries (apt-get install postgresql)")
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="devteam-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            user, pw = "nobody", pwd.getpwnam("nobody")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    data, log = base / "data", base / "server.log"

    def run(*cmd: str) -> None:
        proc = subprocess.run(
            [*prefix, *cmd], cwd=base, capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}{server_log}"
            )

    started = False
    try:
        run(
            str(bin_dir / "initdb"), "-D", str(data), "-U", "devteam", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = ''\nunix_socket_directories = '{base}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start")
        started = True
        yield f"postgresql://devteam@/postgres?host={quote(str(base), safe='')}"
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
