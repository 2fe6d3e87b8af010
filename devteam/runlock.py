"""One run, one runner: a lock on a run's folder that its holder's death releases.

The lock is ``fcntl.flock`` on ``<run dir>/lock``: the kernel drops it when the holding
process exits, however it exits (a crash, SIGKILL), so a dead runner never keeps a run.
It guards the runs of one machine's state folder; runs shared through a PostgreSQL
checkpointer across machines are not locked against each other.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devteam.errors import CheckpointError


class RunBusyError(CheckpointError):
    """Another live process is running this run."""


@contextmanager
def run_lock(run_dir: Path, run_id: str) -> Iterator[None]:
    """Hold ``run_id``'s lock for the block; RunBusyError if another process holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise RunBusyError(
                f"Run {run_id} is being run by another devteam process (pid {holder}); wait "
                f"for it to finish, or stop it (kill {holder}) and then resume."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
