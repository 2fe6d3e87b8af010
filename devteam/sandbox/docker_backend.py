"""DockerSandbox: one warm, locked-down container per sandbox; each command is an exec in it.

The parts (see docs/SANDBOX.md for the whole threat model):

* deployment, ``container.py``: the container, its isolation defaults, restart and removal;
* runtime, ``docker_exec.py``: each command under a supervisor, its output demultiplexed and
  capped as it streams (nothing buffers the whole of it);
* limits hit, ``cgroups.py``: OOM kills and refused forks, from the kernel's counters;
* file transfer, ``transfer.py``: tar streams into the workspace.

This class ties them together. If a command's supervisor is itself killed (exit >= 128) or
the host-side deadline passes, a separate reaper exec kills every process of the command
user; if even that cannot start (pids exhausted), the container is restarted and the
workspace restored from the last sync.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Unpack

from devteam.config import DockerSandboxSettings, SandboxSettings
from devteam.errors import SandboxError, SandboxFileNotFoundError
from devteam.sandbox import container as deploy
from devteam.sandbox import docker_exec, engine
from devteam.sandbox.base import (
    EXIT_TIMEOUT,
    WORKDIR,
    Command,
    ExecOptions,
    ExecResult,
    Lifecycle,
    argv_of,
)
from devteam.sandbox.cgroups import COUNTERS_INSIDE, LimitCounters
from devteam.sandbox.container import BASE_ENV, INIT_USER
from devteam.sandbox.docker_exec import RawExec, discard
from devteam.sandbox.output import CappedBuffer, parse_failing_tests
from devteam.sandbox.transfer import as_bytes, check_dir, safe_relpath, tar_dir, tar_files

log = logging.getLogger(__name__)

#: The most bytes get_file returns.
MAX_FILE_BYTES = 64 * 1024 * 1024


class DockerSandbox(Lifecycle):
    """A sandbox backed by one long-lived container (warm reuse: every command is an exec)."""

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        workspace: Path | None = None,
        client: Any = None,
    ) -> None:
        self.settings = DockerSandboxSettings.of(settings)
        deploy.check_user(self.settings)
        self._workspace = workspace
        self._client = client
        self._container: Any = None
        self._lock = threading.RLock()
        self._limits: LimitCounters | None = None
        self._synced_src: Path | None = None
        self._pending: dict[str, bytes] = {}
        #: How many times the container had to be restarted to recover (workspace re-synced).
        self.restarts = 0

    # ----------------------------------------------------------------- deployment
    @property
    def container_id(self) -> str | None:
        return None if self._container is None else str(self._container.id)

    def start(self) -> None:
        if self._container is not None:
            return
        if self._client is None:
            self._client = engine.connect()
        self._container = deploy.create(self._client, self.settings)
        self._limits = LimitCounters(self._container.id, self._counters_inside)
        if self._workspace is not None:
            self.sync_dir(self._workspace)

    def container_kwargs(self) -> dict[str, Any]:
        """The docker SDK ``containers.run`` arguments (see ``container.container_kwargs``)."""
        return deploy.container_kwargs(self.settings)

    def stop(self) -> None:
        container, self._container = self._container, None
        self._pending.clear()
        if container is not None:
            deploy.remove(container)

    def is_alive(self) -> bool:
        return self._container is not None and deploy.is_running(self._container)

    def processes(self) -> list[tuple[int, int, str]]:
        """(host pid, uid, command line) of every process in the container, seen from outside."""
        if self._container is None:
            return []
        return deploy.processes(self._client, self._container.id)

    def _restart(self) -> None:
        deploy.restart(self._container)
        self.restarts += 1
        if self._synced_src is not None and self._synced_src.is_dir():
            self.sync_dir(self._synced_src)
            log.warning("sandbox workspace restored from %s after a restart", self._synced_src)
        else:
            log.warning("sandbox restarted: its workspace is empty again")

    # ----------------------------------------------------------------- files
    def put_files(self, files: Mapping[str, bytes | str]) -> None:
        """Queue files for the workspace; they are written before the next command runs.

        Batching the copy into the next exec saves a whole exec round trip. ``get_file``,
        ``flush()`` and a command all see the files; a write failure (workspace full) raises
        SandboxError from whichever of them flushes.
        """
        self._pending.update(as_bytes(files))

    def flush(self) -> None:
        """Write queued ``put_files`` now."""
        tar = self._take_pending()
        if tar is not None:
            self._extract(tar, clear=False)

    def _take_pending(self) -> bytes | None:
        if not self._pending:
            return None
        pending, self._pending = self._pending, {}
        return tar_files(pending)

    def sync_dir(self, src: Path) -> None:
        src = check_dir(src)
        self._pending.clear()  # the sync replaces the whole workspace anyway
        self._extract(tar_dir(src), clear=True)
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
        target = path if path.startswith("/") else f"{WORKDIR}/{safe_relpath(path)}"
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
    def exec(self, command: Command, **options: Unpack[ExecOptions]) -> ExecResult:
        timeout_s, workdir = options.get("timeout_s"), options.get("workdir")
        env = options.get("env")
        if self._container is None or self._limits is None:
            raise SandboxError("The sandbox is not started; call start() or use it in `with`.")
        argv = argv_of(command)
        if not argv:
            raise ValueError("empty command")
        limit_s = float(timeout_s if timeout_s is not None else self.settings.timeout_s)
        if limit_s <= 0:
            raise ValueError("timeout_s must be positive")
        cwd = workdir if workdir else WORKDIR
        if not cwd.startswith("/"):
            cwd = f"{WORKDIR}/{safe_relpath(cwd)}"
        limit = self.settings.output_limit
        out, err = CappedBuffer(limit), CappedBuffer(limit)
        with self._lock:
            tar = self._take_pending()
            if tar is None:
                script, pre, exec_cwd = docker_exec.SUPERVISOR, [], cwd
            else:  # the workdir may be created by the files: cd after writing them
                script, pre, exec_cwd = docker_exec.UNTAR_THEN_SUPERVISE, [cwd], WORKDIR
            raw = self._run_exec(
                ["sh", "-c", script, "devteam-exec", *pre, f"{limit_s:.3f}", *argv],
                stdin=tar,
                env=env,
                workdir=exec_cwd,
                deadline_s=limit_s + docker_exec.HOST_GRACE_S,
                on_stdout=out.feed,
                on_stderr=err.feed,
            )
            code = raw.exit_code if raw.exit_code is not None else -1
            if (
                tar is not None
                and code == docker_exec.UNTAR_FAILED
                and (docker_exec.UNTAR_MSG in err.text())
            ):
                raise SandboxError(
                    f"Copying files into the sandbox failed: {err.text().strip()} "
                    "(workspace full? raise sandbox.workspace_size)"
                )
            if raw.host_deadline_hit or raw.supervisor_lost or code >= 128 or code < 0:
                self._reap()
            oom_delta, pids_delta = self._limits.deltas(code)
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
        env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> RawExec:
        return docker_exec.run_exec(
            self._client.api,
            self._container.id,
            cmd,
            user=self.settings.user,
            env={**BASE_ENV, **self.settings.env, **(env or {})},
            **kwargs,
        )

    def _reap(self) -> None:
        """Kill every process of the command user, however it was left; restart if impossible."""
        for attempt in range(5):
            try:
                raw = self._run_exec(
                    ["sh", "-c", docker_exec.REAPER],
                    deadline_s=15.0,
                    on_stdout=discard,
                    on_stderr=discard,
                )
            except SandboxError as exc:
                log.debug("reaper attempt %d could not start: %s", attempt, exc)
                time.sleep(0.2)
                continue
            if raw.exit_code == 0:
                return
        log.warning("sandbox processes could not be killed in place; restarting its container")
        self._restart()

    def _counters_inside(self) -> str | None:
        """The cgroup counters as read from inside the container (one exec), or None."""
        out = CappedBuffer(4000)
        try:
            raw = self._run_exec(
                ["sh", "-c", COUNTERS_INSIDE],
                deadline_s=10.0,
                on_stdout=out.feed,
                on_stderr=discard,
            )
        except SandboxError:
            return None
        return out.text() if raw.exit_code == 0 else None


__all__ = ["BASE_ENV", "INIT_USER", "DockerSandbox"]
