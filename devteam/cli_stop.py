"""Stopping a run from the terminal: the first Ctrl-C (or SIGTERM) unwinds the run, which
stops its sandbox and model server and keeps the last checkpoint; a second one quits at once,
after killing what this process started (its child processes and its sandbox containers)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devteam.exit_codes import ExitCode


def own_children(pid: int | None = None) -> list[int]:
    """The live child processes of ``pid`` (this process by default)."""
    parent = os.getpid() if pid is None else pid
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def kill_children() -> None:
    """SIGKILL every child of this process, with the process group it leads (the model
    server runs in its own group)."""
    for child in own_children():
        try:
            if os.getpgid(child) == child:
                os.killpg(child, signal.SIGKILL)
            else:
                os.kill(child, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def remove_own_containers() -> None:
    """Force-remove the sandbox containers this process created (by their owner label)."""
    try:
        from devteam.sandbox import engine

        client = engine.connect(timeout_s=5)
    except Exception:  # no engine, no containers of ours
        return
    try:
        for container in engine.list_sandbox_containers(client):
            if (container.labels or {}).get(engine.LABEL_OWNER_PID) == str(os.getpid()):
                try:
                    container.remove(force=True, v=True)
                except Exception:
                    continue
    except Exception:
        pass
    finally:
        client.close()


class Stopper:
    """The SIGINT/SIGTERM handler of a run: the first signal raises KeyboardInterrupt, the
    second cleans up hard and exits 130 at once."""

    def __init__(self, say: Callable[[str], None], farewell: Callable[[], str]) -> None:
        self.say = say
        self.farewell = farewell  # the last words: the resume hint
        self.signals = 0

    def __call__(self, signum: int, frame: Any) -> None:
        self.signals += 1
        if self.signals == 1:
            self.say(
                "Stopping: the sandbox and the model server are being stopped and the last "
                "checkpoint kept (press Ctrl-C again to quit at once)."
            )
            raise KeyboardInterrupt(f"signal {signum}")
        self.hard_stop()

    def hard_stop(self) -> None:
        kill_children()
        remove_own_containers()
        try:
            self.say(self.farewell())
        finally:
            sys.stdout.flush()
            sys.stderr.write("\x1b[?25h" if sys.stderr.isatty() else "")  # the cursor back
            sys.stderr.flush()
            os._exit(int(ExitCode.INTERRUPTED))


@contextmanager
def stopping(stopper: Stopper) -> Iterator[Stopper]:
    """Route SIGINT and SIGTERM to ``stopper`` for the block (the old handlers after it)."""
    old = {sig: signal.signal(sig, stopper) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopper
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
