"""The sandbox contract: what the agents may ask of any backend, and what a backend adds.

``Sandbox`` is the runtime the agents see (exec, files in and out); ``ManagedSandbox`` adds the
deployment (start/stop/is_alive) that whoever opens the sandbox manages. Results are pydantic.
Paths given to ``put_files``/``get_file`` are relative to the sandbox's workspace directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypedDict, Unpack, runtime_checkable

from pydantic import BaseModel, Field

from devteam.lifecycle import Lifecycle as Lifecycle  # the backends import it from here

#: Exit codes ``devteam sandbox exec`` uses for outcomes that are not the program's own.
EXIT_TIMEOUT = 124
EXIT_OOM = 137
EXIT_SANDBOX_ERROR = 125

#: Where the workspace lives inside the sandbox.
WORKDIR = "/workspace"


class ExecResult(BaseModel):
    """The outcome of one command in the sandbox."""

    command: list[str]
    exit_code: int
    timed_out: bool = False
    oom_killed: bool = False
    pids_limit_hit: bool = Field(default=False, description="a fork was refused at the pids cap")
    duration_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = Field(default=False, description="head and tail kept, middle cut")
    failing_tests: list[str] = Field(default_factory=list, description="pytest node ids")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.oom_killed

    def verdict(self) -> str:
        if self.timed_out:
            return "timed out"
        if self.oom_killed:
            return "killed: out of memory"
        return "passed" if self.exit_code == 0 else f"failed (exit {self.exit_code})"


#: A command: an argv list, or a string run by ``sh -c``.
Command = Sequence[str] | str


class ExecOptions(TypedDict, total=False):
    """What ``exec`` takes besides the command, each defaulting to the settings."""

    timeout_s: float | None  # wall-clock limit (default: settings.timeout_s)
    workdir: str | None  # relative to the workspace, or absolute (default: the workspace)
    env: Mapping[str, str] | None  # added to the backend's environment and settings.env


def argv_of(command: Command) -> list[str]:
    """A command as argv: a list item by item as strings, a string run by ``sh -c``."""
    return ["sh", "-c", command] if isinstance(command, str) else [str(a) for a in command]


@runtime_checkable
class Sandbox(Protocol):
    """What the agents ask of a sandbox: files in and out, and commands run in the workspace."""

    def put_files(self, files: Mapping[str, bytes | str]) -> None:
        """Write files (relative paths) into the sandbox workspace."""
        ...

    def sync_dir(self, src: Path) -> None:
        """Make the sandbox workspace mirror ``src`` (``.git`` excluded)."""
        ...

    def get_file(self, path: str) -> bytes: ...

    def exec(self, command: Command, **options: Unpack[ExecOptions]) -> ExecResult:
        """Run a command (argv list, or a string run by ``sh -c``) in the workspace."""
        ...


@runtime_checkable
class ManagedSandbox(Sandbox, Protocol):
    """A sandbox with its deployment: what ``open_sandbox`` returns. ``with`` always stops it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def is_alive(self) -> bool: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
