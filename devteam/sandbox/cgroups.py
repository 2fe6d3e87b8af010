"""Limits hit: the kernel counts OOM kills and refused forks in the container's cgroups.

The host reads the counters straight from the cgroup files when it can see them (cgroup v1
and v2, cgroupfs and systemd drivers); otherwise one exec reads them from inside.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

#: Where the host sees the container's cgroup counters (cgroup v1 and v2, cgroupfs and systemd).
_CGROUP_DIRS = (
    ("/sys/fs/cgroup/memory/docker/{id}", "/sys/fs/cgroup/pids/docker/{id}"),
    (
        "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope",
        "/sys/fs/cgroup/pids/system.slice/docker-{id}.scope",
    ),
    ("/sys/fs/cgroup/system.slice/docker-{id}.scope",) * 2,
    ("/sys/fs/cgroup/docker/{id}",) * 2,
)
#: The same counters read from inside the container (one exec) when the host cannot see them.
COUNTERS_INSIDE = (
    "cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/pids/pids.events 2>/dev/null"
    " || cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/pids.events 2>/dev/null; exit 0"
)


class Counters:
    """Kernel counters of the container's cgroups: OOM kills and forks refused at the pids cap."""

    __slots__ = ("oom_kill", "pids_max")

    def __init__(self, oom_kill: int = 0, pids_max: int = 0) -> None:
        self.oom_kill = oom_kill
        self.pids_max = pids_max

    @classmethod
    def parse(cls, text: str) -> Counters:
        c = cls()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                continue
            if parts[0] == "oom_kill":
                c.oom_kill = int(parts[1])
            elif parts[0] == "max":  # pids.events
                c.pids_max = int(parts[1])
        return c


def host_cgroup_files(container_id: str) -> tuple[str, str] | None:
    """(memory events file, pids events file) as the host sees them, or None."""
    for mem_dir, pids_dir in _CGROUP_DIRS:
        mem = mem_dir.format(id=container_id)
        pids = pids_dir.format(id=container_id)
        for mem_file in (f"{mem}/memory.oom_control", f"{mem}/memory.events"):
            if os.access(mem_file, os.R_OK) and os.access(f"{pids}/pids.events", os.R_OK):
                return mem_file, f"{pids}/pids.events"
    return None


class LimitCounters:
    """How often the container hit its memory and pids caps since the last look."""

    def __init__(self, container_id: str, read_inside: Callable[[], str | None]) -> None:
        #: The host's view of the counters; None reads them from inside (one exec).
        self.host_files = host_cgroup_files(container_id)
        self._read_inside = read_inside
        self._last = self.read() or Counters()

    def read(self) -> Counters | None:
        if self.host_files is not None:
            try:
                return Counters.parse("".join(Path(f).read_text() for f in self.host_files))
            except OSError:
                return None
        text = self._read_inside()
        return None if text is None else Counters.parse(text)

    def deltas(self, exit_code: int) -> tuple[int, int]:
        """(OOM kills, refused forks) since the last look."""
        # Without host access to the cgroup, look (one exec) only when the command failed.
        if self.host_files is None and exit_code == 0:
            return 0, 0
        now = self.read()
        if now is None:
            return 0, 0
        before, self._last = self._last, now
        return max(now.oom_kill - before.oom_kill, 0), max(now.pids_max - before.pids_max, 0)
