"""LocalSandbox: runs commands as host subprocesses. Weaker isolation; only when asked by name.

What it still does: a private temporary workspace, an explicit minimal environment (never the
host's), a wall-clock timeout that kills the command's whole process group, rlimits on memory,
processes, file size and CPU time, and capped output. What it cannot do: hide the host's files,
block the network, or stop a process that leaves its process group (``setsid``) from outliving
the command. Use it only for code you would run on your machine anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Unpack

from devteam.config import LocalSandboxSettings, SandboxSettings
from devteam.errors import SandboxError, SandboxFileNotFoundError
from devteam.sandbox.base import EXIT_TIMEOUT, Command, ExecOptions, ExecResult, Lifecycle, argv_of
from devteam.sandbox.output import CappedBuffer, parse_failing_tests
from devteam.sandbox.selection import files_to_sync
from devteam.sandbox.transfer import as_bytes, check_dir, safe_relpath

log = logging.getLogger(__name__)

WARNING = (
    "WARNING: devteam is running generated code with the LOCAL sandbox backend: no container, "
    "no network isolation, host files readable. Use the docker backend for untrusted code."
)

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Docker-style size ('512m', '1g', '64k', '1024') in bytes."""
    m = _SIZE_RE.match(text)
    if not m:
        raise SandboxError(f"Cannot read size {text!r}; write it like 512m or 1g.")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


class LocalSandbox(Lifecycle):
    """Runs commands on the host in a temporary directory. Weaker isolation: see module doc."""

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        workspace: Path | None = None,
    ) -> None:
        self.settings = LocalSandboxSettings.of(settings)
        self._initial = workspace
        self._dir: Path | None = None

    @property
    def root(self) -> Path:
        if self._dir is None:
            raise SandboxError("The sandbox is not started; call start() or use it in `with`.")
        return self._dir

    def start(self) -> None:
        if self._dir is not None:
            return
        if logging.getLogger().handlers:
            log.warning(WARNING)
        else:  # nobody configured logging: say it on stderr ourselves, loudly
            print(WARNING, file=sys.stderr)
        self._dir = Path(tempfile.mkdtemp(prefix="devteam-local-sandbox-"))
        if self._initial is not None:
            self.sync_dir(self._initial)

    def stop(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def is_alive(self) -> bool:
        return self._dir is not None and self._dir.is_dir()

    def _path(self, rel: str) -> Path:
        return self.root.joinpath(*PurePosixPath(safe_relpath(rel)).parts)

    def put_files(self, files: Mapping[str, bytes | str]) -> None:
        for rel, content in as_bytes(files).items():
            target = self._path(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)

    def sync_dir(self, src: Path) -> None:
        src = check_dir(src)
        for child in self.root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for name in files_to_sync(src):
            source, target = src / name, self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir() and not source.is_symlink():  # a submodule's folder
                shutil.copytree(
                    source, target, symlinks=True, ignore=shutil.ignore_patterns(".git")
                )
            else:
                shutil.copy2(source, target, follow_symlinks=False)

    def get_file(self, path: str) -> bytes:
        target = self._path(path)
        if not target.is_file():
            raise SandboxFileNotFoundError(f"{path} does not exist in the sandbox workspace.")
        return target.read_bytes()

    def exec(self, command: Command, **options: Unpack[ExecOptions]) -> ExecResult:
        timeout_s, workdir = options.get("timeout_s"), options.get("workdir")
        env = options.get("env")
        argv = argv_of(command)
        limit_s = float(timeout_s if timeout_s is not None else self.settings.timeout_s)
        cwd = self.root if not workdir else self._path(workdir)
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            **self.settings.env,
            **(env or {}),
        }
        mem = parse_size(self.settings.memory)
        fsize = parse_size(self.settings.workspace_size)

        def limits() -> None:  # runs in the child before exec
            resource.setrlimit(resource.RLIMIT_AS, (mem * 4, mem * 4))  # virtual, generous
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            cpu = int(limit_s) + 2
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

        out, err = (
            CappedBuffer(self.settings.output_limit),
            CappedBuffer(self.settings.output_limit),
        )
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=limits,
            )
        except OSError as exc:
            return ExecResult(command=argv, exit_code=127, stderr=str(exc))
        timed_out = False
        sel = selectors.DefaultSelector()
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ, out)
        sel.register(proc.stderr, selectors.EVENT_READ, err)
        deadline = t0 + limit_s
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(timeout=min(remaining, 0.5)):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                else:
                    key.data.feed(chunk)
            if proc.poll() is not None and not sel.get_map():
                break
        sel.close()
        # policy: nothing the command started outlives it (within its process group)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        duration = time.monotonic() - t0
        if code < 0:
            code = 128 - code
        stdout, stderr = out.text(), err.text()
        return ExecResult(
            command=argv,
            exit_code=EXIT_TIMEOUT if timed_out else code,
            timed_out=timed_out,
            oom_killed=False,
            duration_s=round(duration, 4),
            stdout=stdout,
            stderr=stderr,
            output_truncated=out.truncated or err.truncated,
            failing_tests=parse_failing_tests(stdout + "\n" + stderr),
        )
