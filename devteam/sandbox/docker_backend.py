"""DockerSandbox: one warm, locked-down container per sandbox; each command is an exec in it.

How a command runs (see docs/SANDBOX.md for the whole threat model):

* The container's PID 1 is a tiny reaper (``INIT_SCRIPT``) running as another user
  (``INIT_USER``) than the commands (``settings.user``), so a command can never signal it.
* Each command runs under a small ``sh`` supervisor (``_SUPERVISOR``) as the command user:
  ``timeout -s KILL`` bounds the wall clock, then the supervisor sends SIGKILL to every
  process of the command user (``kill -9 -1``) until none is left. So whatever a command
  leaves behind (background jobs, double-forked daemons, fork bombs) dies when it ends.
* The host watches too: if the supervisor itself is killed (exit >= 128) or the host-side
  deadline passes, a separate reaper exec does the same cleanup; if even that cannot start
  (pids exhausted), the container is restarted and the workspace restored from the last sync.
* Output is read as it streams and capped (head + tail); nothing buffers the whole of it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import select
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Self

from devteam.config import SandboxSettings
from devteam.errors import (
    SandboxError,
    SandboxFileNotFoundError,
    SandboxImageMissingError,
    SandboxUnavailableError,
)
from devteam.sandbox import engine
from devteam.sandbox.base import EXIT_TIMEOUT, WORKDIR, ExecResult
from devteam.sandbox.output import CappedBuffer, parse_failing_tests
from devteam.sandbox.selection import files_to_sync

log = logging.getLogger(__name__)

#: User of the container's init process; commands run as ``settings.user`` and cannot signal it.
INIT_USER = "65534:65534"

#: PID 1 of the container: reaps every orphan and does nothing else. Being PID 1, it is the one
#: process ``kill -9 -1`` never reaches, so "kill until none is left" terminates.
INIT_SCRIPT = (
    "import os, signal\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})\n"
    "while True:\n"
    "    signal.sigwait({signal.SIGCHLD})\n"
    "    try:\n"
    "        while os.waitpid(-1, os.WNOHANG)[0] > 0:\n"
    "            pass\n"
    "    except ChildProcessError:\n"
    "        pass\n"
)

#: Variables every command gets. Nothing from the host environment is ever passed.
BASE_ENV: dict[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}

#: $1 = timeout seconds, the rest = argv. Exit status = the command's (timeout: 137).
_KILL_ALL = 'i=0; while kill -9 -1 2>/dev/null; do i=$((i+1)); [ "$i" -ge 100000 ] && break; done'
_SUPERVISOR = f't="$1"; shift; timeout -s KILL "$t" "$@"; rc=$?; {_KILL_ALL}; exit "$rc"'
_REAPER = f"{_KILL_ALL}; exit 0"
#: The same, after writing queued files (a tar on stdin) into the workspace.
_UNTAR_FAILED = 125
_UNTAR_MSG = "devteam: copying files into the sandbox failed"
_UNTAR_THEN_SUPERVISE = (
    f"tar -x -m --no-same-owner -C {WORKDIR} -f - >/dev/null || "
    f'{{ echo "{_UNTAR_MSG}" >&2; exit {_UNTAR_FAILED}; }}; '
    f'cd -- "$1" || exit 126; shift; {_SUPERVISOR}'
)

#: Seconds the host waits beyond the command's own timeout before stepping in itself.
_HOST_GRACE_S = 5.0
#: How often the host checks, during a long command, that the supervisor is still alive.
_POLL_S = 0.5
#: After docker says a command ended, how long to read on for the rest of its output.
_DRAIN_S = 2.0
#: The most bytes get_file returns.
MAX_FILE_BYTES = 64 * 1024 * 1024

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
_COUNTERS_INSIDE = (
    "cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/pids/pids.events 2>/dev/null"
    " || cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/pids.events 2>/dev/null; exit 0"
)


class _Counters:
    """Kernel counters of the container's cgroups: OOM kills and forks refused at the pids cap."""

    __slots__ = ("oom_kill", "pids_max")

    def __init__(self, oom_kill: int = 0, pids_max: int = 0) -> None:
        self.oom_kill = oom_kill
        self.pids_max = pids_max

    @classmethod
    def parse(cls, text: str) -> _Counters:
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


def _uid_of(user: str) -> str:
    return user.split(":", 1)[0]


class _RawExec:
    """What one low-level exec produced."""

    __slots__ = ("duration_s", "exit_code", "host_deadline_hit", "supervisor_lost")

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.host_deadline_hit = False
        self.supervisor_lost = False
        self.duration_s = 0.0


class DockerSandbox:
    """A sandbox backed by one long-lived container (warm reuse: every command is an exec)."""

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        workspace: Path | None = None,
        client: Any = None,
    ) -> None:
        self.settings = settings or SandboxSettings()
        self._workspace = workspace
        self._client = client
        self._container: Any = None
        self._lock = threading.RLock()
        self._cgroup_files: tuple[str, str] | None = None
        self._counters = _Counters()
        self._synced_src: Path | None = None
        self._pending: dict[str, bytes] = {}
        #: How many times the container had to be restarted to recover (workspace re-synced).
        self.restarts = 0
        if _uid_of(self.settings.user) == _uid_of(INIT_USER):
            raise SandboxError(
                f"sandbox.user {self.settings.user!r} collides with the init user {INIT_USER}; "
                "choose another uid, e.g. 1000:1000."
            )

    # ----------------------------------------------------------------- deployment
    @property
    def container_id(self) -> str | None:
        return None if self._container is None else str(self._container.id)

    def start(self) -> None:
        if self._container is not None:
            return
        if self._client is None:
            self._client = engine.connect()
        client = self._client
        if self.settings.prune_on_start:
            try:
                engine.prune(client)
            except Exception as exc:  # pruning is housekeeping; never block a start on it
                log.debug("prune at start failed: %s", exc)
        self._check_image()
        self._container = self._create_container()
        self._cgroup_files = self._find_host_cgroup_files()
        self._counters = self._read_counters() or _Counters()
        if self._workspace is not None:
            self.sync_dir(self._workspace)

    def _check_image(self) -> None:
        from docker.errors import ImageNotFound

        try:
            self._client.images.get(self.settings.image)
        except ImageNotFound:
            raise SandboxImageMissingError(
                f"Sandbox image {self.settings.image} is missing; run `devteam sandbox build`."
            ) from None

    def container_kwargs(self) -> dict[str, Any]:
        """The docker SDK ``containers.run`` arguments: every isolation default lives here."""
        s = self.settings
        uid, _, gid = s.user.partition(":")
        gid = gid or uid
        env = {**BASE_ENV, **s.env}
        return {
            "image": s.image,
            "entrypoint": ["python3", "-S", "-c", INIT_SCRIPT],
            "command": [],
            "init": False,
            "detach": True,
            "user": INIT_USER,
            "working_dir": WORKDIR,
            "environment": env,
            "hostname": "sandbox",
            "labels": engine.owner_labels(),
            "network_mode": "bridge" if s.network else "none",
            "read_only": s.read_only_root,
            "tmpfs": {
                WORKDIR: f"rw,nosuid,nodev,size={s.workspace_size},uid={uid},gid={gid},mode=0755",
                "/tmp": f"rw,nosuid,nodev,size={s.tmpfs_size},mode=1777",
            },
            "shm_size": s.tmpfs_size,
            "mem_limit": s.memory,
            "memswap_limit": s.memory,
            "mem_swappiness": 0,
            "nano_cpus": int(s.cpus * 1e9),
            "pids_limit": s.pids,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 1024}],
            "stop_signal": "SIGKILL",
            "volumes": {},
            "privileged": False,
        }

    def _create_container(self) -> Any:
        from docker.errors import APIError

        kwargs = self.container_kwargs()
        try:
            return self._client.containers.run(**kwargs)
        except APIError as exc:
            if "swappiness" in str(exc).lower():  # cgroup v2 engines reject swappiness
                kwargs.pop("mem_swappiness")
                return self._client.containers.run(**kwargs)
            raise SandboxError(f"Could not start the sandbox container: {exc}") from exc

    def stop(self) -> None:
        from docker.errors import APIError, NotFound

        container, self._container = self._container, None
        self._pending.clear()
        if container is not None:
            try:
                container.remove(force=True, v=True)
            except NotFound:
                pass
            except APIError as exc:
                if "already in progress" not in str(exc):
                    log.warning("could not remove sandbox container %s: %s", container.id, exc)

    def is_alive(self) -> bool:
        if self._container is None:
            return False
        try:
            self._container.reload()
        except Exception:
            return False
        return bool(self._container.status == "running")

    def processes(self) -> list[tuple[int, int, str]]:
        """(host pid, uid, command line) of every process in the container, seen from outside."""
        if self._container is None:
            return []
        top = self._client.api.top(self._container.id, ps_args="-o pid,uid,args")
        return [(int(p[0]), int(p[1]), p[2]) for p in top.get("Processes") or []]

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- files
    def put_files(self, files: Mapping[str, bytes | str]) -> None:
        """Queue files for the workspace; they are written before the next command runs.

        Batching the copy into the next exec saves a whole exec round trip. ``get_file``,
        ``flush()`` and a command all see the files; a write failure (workspace full) raises
        SandboxError from whichever of them flushes.
        """
        for rel, content in files.items():
            name = _safe_relpath(rel)
            self._pending[name] = content.encode() if isinstance(content, str) else content

    def flush(self) -> None:
        """Write queued ``put_files`` now."""
        tar = self._take_pending()
        if tar is not None:
            self._extract(tar, clear=False)

    def _take_pending(self) -> bytes | None:
        if not self._pending:
            return None
        pending, self._pending = self._pending, {}
        buf = io.BytesIO()
        now = int(time.time())
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in pending.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                info.mtime = now
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    def sync_dir(self, src: Path) -> None:
        src = Path(src)
        if not src.is_dir():
            raise SandboxError(f"Cannot sync {src}: not a directory; pass an existing directory.")
        self._pending.clear()  # the sync replaces the whole workspace anyway
        self._extract(_tar_dir(src), clear=True)
        self._synced_src = src

    def _extract(self, tar_bytes: bytes, *, clear: bool) -> None:
        script = 'exec tar -x -m --no-same-owner -C "$0" -f -'
        if clear:
            script = f'find "$0" -mindepth 1 -delete && {script}'
        out = CappedBuffer(4000)
        with self._lock:
            raw = self._run_exec(
                ["sh", "-c", script, WORKDIR],
                stdin=tar_bytes,
                deadline_s=max(60.0, self.settings.timeout_s),
                on_stdout=out.feed,
                on_stderr=out.feed,
            )
        if raw.exit_code != 0:
            msg = out.text().strip()
            hint = " (workspace full: raise sandbox.workspace_size)" if "space" in msg else ""
            raise SandboxError(f"Copying files into the sandbox failed{hint}: {msg}")

    def get_file(self, path: str) -> bytes:
        self.flush()
        target = path if path.startswith("/") else f"{WORKDIR}/{_safe_relpath(path)}"
        data = bytearray()
        err = CappedBuffer(2000)

        def take(chunk: bytes) -> None:
            if len(data) + len(chunk) > MAX_FILE_BYTES:
                raise SandboxError(f"{path} is larger than {MAX_FILE_BYTES} bytes; not read.")
            data.extend(chunk)

        with self._lock:
            raw = self._run_exec(
                ["cat", "--", target], deadline_s=60.0, on_stdout=take, on_stderr=err.feed
            )
        if raw.exit_code != 0:
            raise SandboxFileNotFoundError(
                f"{path} could not be read in the sandbox: {err.text().strip()}"
            )
        return bytes(data)

    # ----------------------------------------------------------------- exec
    def exec(
        self,
        command: Sequence[str] | str,
        *,
        timeout_s: float | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        if self._container is None:
            raise SandboxError("The sandbox is not started; call start() or use it in `with`.")
        argv = ["sh", "-c", command] if isinstance(command, str) else [str(a) for a in command]
        if not argv:
            raise ValueError("empty command")
        limit_s = float(timeout_s if timeout_s is not None else self.settings.timeout_s)
        if limit_s <= 0:
            raise ValueError("timeout_s must be positive")
        cwd = workdir if workdir else WORKDIR
        if not cwd.startswith("/"):
            cwd = f"{WORKDIR}/{_safe_relpath(cwd)}"
        limit = self.settings.output_limit
        out, err = CappedBuffer(limit), CappedBuffer(limit)
        with self._lock:
            tar = self._take_pending()
            if tar is None:
                script, pre, exec_cwd = _SUPERVISOR, [], cwd
            else:  # the workdir may be created by the files: cd after writing them
                script, pre, exec_cwd = _UNTAR_THEN_SUPERVISE, [cwd], WORKDIR
            raw = self._run_exec(
                ["sh", "-c", script, "devteam-exec", *pre, f"{limit_s:.3f}", *argv],
                stdin=tar,
                env=env,
                workdir=exec_cwd,
                deadline_s=limit_s + _HOST_GRACE_S,
                on_stdout=out.feed,
                on_stderr=err.feed,
            )
            code = raw.exit_code if raw.exit_code is not None else -1
            if tar is not None and code == _UNTAR_FAILED and _UNTAR_MSG in err.text():
                raise SandboxError(
                    f"Copying files into the sandbox failed: {err.text().strip()} "
                    "(workspace full? raise sandbox.workspace_size)"
                )
            if raw.host_deadline_hit or raw.supervisor_lost or code >= 128 or code < 0:
                self._reap()
            oom_delta, pids_delta = self._counter_deltas(code)
        timed_out = raw.host_deadline_hit or (code == 137 and raw.duration_s >= limit_s - 0.05)
        stdout, stderr = out.text(), err.text()
        return ExecResult(
            command=argv,
            exit_code=EXIT_TIMEOUT if timed_out else code,
            timed_out=timed_out,
            oom_killed=oom_delta > 0,
            pids_limit_hit=pids_delta > 0,
            duration_s=round(raw.duration_s, 4),
            stdout=stdout,
            stderr=stderr,
            output_truncated=out.truncated or err.truncated,
            failing_tests=parse_failing_tests(stdout + "\n" + stderr),
        )

    # ----------------------------------------------------------------- internals
    def _run_exec(
        self,
        cmd: list[str],
        *,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
        deadline_s: float,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str = WORKDIR,
        user: str | None = None,
    ) -> _RawExec:
        """Run ``cmd`` via the exec API, streaming output to the callbacks until it ends."""
        from docker.errors import APIError, NotFound

        api = self._client.api
        result = _RawExec()
        full_env = {**BASE_ENV, **self.settings.env, **(env or {})}
        t0 = time.monotonic()
        try:
            exec_id = api.exec_create(
                self._container.id,
                cmd,
                stdout=True,
                stderr=True,
                stdin=stdin is not None,
                tty=False,
                user=user or self.settings.user,
                workdir=workdir,
                environment=full_env,
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
            self._pump(api, exec_id, raw_sock, t0 + deadline_s, result, on_stdout, on_stderr)
        finally:
            with contextlib.suppress(OSError):
                sock.close()
        result.duration_s = time.monotonic() - t0
        result.exit_code = self._exit_code(api, exec_id)
        return result

    def _pump(
        self,
        api: Any,
        exec_id: str,
        sock: socket.socket,
        deadline: float,
        result: _RawExec,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
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

    @staticmethod
    def _exit_code(api: Any, exec_id: str) -> int | None:
        for _ in range(100):
            info = api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            time.sleep(0.01)
        return None

    def _reap(self) -> None:
        """Kill every process of the command user, however it was left; restart if impossible."""
        for attempt in range(5):
            try:
                raw = self._run_exec(
                    ["sh", "-c", _REAPER],
                    deadline_s=15.0,
                    on_stdout=lambda _b: None,
                    on_stderr=lambda _b: None,
                )
            except SandboxError as exc:
                log.debug("reaper attempt %d could not start: %s", attempt, exc)
                time.sleep(0.2)
                continue
            if raw.exit_code == 0:
                return
        log.warning("sandbox processes could not be killed in place; restarting its container")
        self._restart()

    def _restart(self) -> None:
        from docker.errors import APIError

        try:
            self._container.restart(timeout=0)
        except APIError as exc:
            raise SandboxError(f"The sandbox container could not be restarted: {exc}") from exc
        self.restarts += 1
        if self._synced_src is not None and self._synced_src.is_dir():
            self.sync_dir(self._synced_src)
            log.warning("sandbox workspace restored from %s after a restart", self._synced_src)
        else:
            log.warning("sandbox restarted: its workspace is empty again")

    # Limits hit: the kernel counts OOM kills and refused forks in the container's cgroups.
    def _find_host_cgroup_files(self) -> tuple[str, str] | None:
        cid = self._container.id
        for mem_dir, pids_dir in _CGROUP_DIRS:
            mem = mem_dir.format(id=cid)
            pids = pids_dir.format(id=cid)
            for mem_file in (f"{mem}/memory.oom_control", f"{mem}/memory.events"):
                if os.access(mem_file, os.R_OK) and os.access(f"{pids}/pids.events", os.R_OK):
                    return mem_file, f"{pids}/pids.events"
        return None

    def _read_counters(self) -> _Counters | None:
        if self._cgroup_files is not None:
            try:
                text = "".join(Path(f).read_text() for f in self._cgroup_files)
            except OSError:
                return None
            return _Counters.parse(text)
        out = CappedBuffer(4000)
        try:
            raw = self._run_exec(
                ["sh", "-c", _COUNTERS_INSIDE],
                deadline_s=10.0,
                on_stdout=out.feed,
                on_stderr=lambda _b: None,
            )
        except SandboxError:
            return None
        return _Counters.parse(out.text()) if raw.exit_code == 0 else None

    def _counter_deltas(self, exit_code: int) -> tuple[int, int]:
        """(OOM kills, refused forks) since the last look."""
        # Without host access to the cgroup, look (one exec) only when the command failed.
        if self._cgroup_files is None and exit_code == 0:
            return 0, 0
        now = self._read_counters()
        if now is None:
            return 0, 0
        before, self._counters = self._counters, now
        return max(now.oom_kill - before.oom_kill, 0), max(now.pids_max - before.pids_max, 0)


def _safe_relpath(rel: str) -> str:
    p = PurePosixPath(rel.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise SandboxError(f"Path {rel!r} leaves the workspace; use a relative path inside it.")
    return str(p)


def _tar_dir(src: Path) -> bytes:
    """A tar of what ``files_to_sync(src)`` names, owned by nobody in particular."""
    buf = io.BytesIO()

    def scrub(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = PurePosixPath(info.name).parts
        if ".git" in parts:
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in files_to_sync(src):
            tar.add(src / name, arcname=name, recursive=True, filter=scrub)
    return buf.getvalue()


def check_engine() -> None:
    """Raise SandboxUnavailableError when no Docker engine answers."""
    client = engine.connect(timeout_s=10)
    client.close()


__all__ = ["BASE_ENV", "INIT_USER", "DockerSandbox", "SandboxUnavailableError", "check_engine"]
