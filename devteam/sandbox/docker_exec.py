"""Runtime of the docker backend: one command as an exec, its output demultiplexed as it streams.

Every command runs under a small ``sh`` supervisor (``SUPERVISOR``) as the command user:
``timeout -s KILL`` bounds the wall clock, then the supervisor sends SIGKILL to every process
of the command user (``kill -9 -1``) until none is left. The host keeps its own deadline
(the command's plus ``HOST_GRACE_S``) and watches that the supervisor is still alive.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

from devteam.errors import SandboxError
from devteam.sandbox.base import WORKDIR

#: $1 = timeout seconds, the rest = argv. Exit status = the command's (timeout: 137).
KILL_ALL = 'i=0; while kill -9 -1 2>/dev/null; do i=$((i+1)); [ "$i" -ge 100000 ] && break; done'
SUPERVISOR = f't="$1"; shift; timeout -s KILL "$t" "$@"; rc=$?; {KILL_ALL}; exit "$rc"'
REAPER = f"{KILL_ALL}; exit 0"
#: The same, after writing queued files (a tar on stdin) into the workspace.
UNTAR_FAILED = 125
UNTAR_MSG = "devteam: copying files into the sandbox failed"
UNTAR_THEN_SUPERVISE = (
    f"tar -x -m --no-same-owner -C {WORKDIR} -f - >/dev/null || "
    f'{{ echo "{UNTAR_MSG}" >&2; exit {UNTAR_FAILED}; }}; '
    f'cd -- "$1" || exit 126; shift; {SUPERVISOR}'
)

#: Seconds the host waits beyond the command's own timeout before stepping in itself.
HOST_GRACE_S = 5.0
#: How often the host checks, during a long command, that the supervisor is still alive.
_POLL_S = 0.5
#: After docker says a command ended, how long to read on for the rest of its output.
_DRAIN_S = 2.0

Feed = Callable[[bytes], None]


def discard(_chunk: bytes) -> None:
    return None


class RawExec:
    """What one low-level exec produced."""

    __slots__ = ("duration_s", "exit_code", "host_deadline_hit", "supervisor_lost")

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.host_deadline_hit = False
        self.supervisor_lost = False
        self.duration_s = 0.0


def run_exec(
    api: Any,
    container_id: str,
    cmd: list[str],
    *,
    user: str,
    env: Mapping[str, str],
    on_stdout: Feed,
    on_stderr: Feed,
    deadline_s: float,
    stdin: bytes | None = None,
    workdir: str = WORKDIR,
) -> RawExec:
    """Run ``cmd`` via the exec API, streaming output to the callbacks until it ends."""
    from docker.errors import APIError, NotFound

    result = RawExec()
    t0 = time.monotonic()
    try:
        exec_id = api.exec_create(
            container_id,
            cmd,
            stdout=True,
            stderr=True,
            stdin=stdin is not None,
            tty=False,
            user=user,
            workdir=workdir,
            environment=dict(env),
        )["Id"]
        sock = api.exec_start(exec_id, tty=False, socket=True)
    except NotFound as exc:
        raise SandboxError(
            "The sandbox container is gone (removed or crashed); start a new sandbox."
        ) from exc
    except APIError as exc:
        raise SandboxError(f"The sandbox could not start a command: {exc}") from exc
    raw_sock: socket.socket = getattr(sock, "_sock", sock)
    try:
        if stdin is not None:
            raw_sock.sendall(stdin)
            raw_sock.shutdown(socket.SHUT_WR)
        pump(api, exec_id, raw_sock, t0 + deadline_s, result, on_stdout, on_stderr)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    result.duration_s = time.monotonic() - t0
    result.exit_code = exit_code(api, exec_id)
    return result


def pump(
    api: Any,
    exec_id: str,
    sock: socket.socket,
    deadline: float,
    result: RawExec,
    on_stdout: Feed,
    on_stderr: Feed,
) -> None:
    """Demultiplex docker's framed stream (8-byte headers) until EOF or the deadline."""
    pending = bytearray()
    next_poll = time.monotonic() + _POLL_S
    drain_until: float | None = None  # set once docker says the command has ended
    while True:
        now = time.monotonic()
        if drain_until is not None and now >= drain_until:
            # ended, yet no end of stream: something still holds the output open
            result.supervisor_lost = True
            return
        if now >= deadline:
            result.host_deadline_hit = True
            return
        wait = min(deadline - now, max(0.0, next_poll - now))
        if drain_until is not None:
            wait = min(wait, drain_until - now)
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            if drain_until is None and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + _POLL_S
                try:
                    running = api.exec_inspect(exec_id).get("Running", True)
                except Exception:
                    running = True
                if not running:
                    # The last bytes may still be on their way (a loaded host): read
                    # on until the stream ends, for a short grace, before giving up.
                    drain_until = time.monotonic() + _DRAIN_S
            continue
        chunk = sock.recv(1 << 16)
        if not chunk:
            return
        pending += chunk
        while len(pending) >= 8:
            size = int.from_bytes(pending[4:8], "big")
            if len(pending) < 8 + size:
                break
            payload = bytes(pending[8 : 8 + size])
            (on_stderr if pending[0] == 2 else on_stdout)(payload)
            del pending[: 8 + size]


def exit_code(api: Any, exec_id: str) -> int | None:
    for _ in range(100):
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        time.sleep(0.01)
    return None
