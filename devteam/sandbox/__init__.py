"""Where generated code runs: Docker by default, a local backend only when asked for by name.

``open_sandbox(settings, workspace=...)`` returns an unstarted sandbox; use it as a context
manager. ``ensure_image(settings, progress=print)`` builds the Docker image when it is missing.
The layout (deployment apart from runtime) is in docs/SANDBOX.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from devteam.config import LocalSandboxSettings, SandboxSettings
from devteam.sandbox.base import (
    EXIT_OOM,
    EXIT_SANDBOX_ERROR,
    EXIT_TIMEOUT,
    WORKDIR,
    ExecResult,
    ManagedSandbox,
    Sandbox,
)
from devteam.sandbox.output import cap_output, parse_failing_tests

if TYPE_CHECKING:
    from devteam.sandbox.image import Progress


def open_sandbox(settings: SandboxSettings, *, workspace: Path | None = None) -> ManagedSandbox:
    """A sandbox of the configured backend (not started yet: use ``with``).

    ``workspace``, if given, is copied into the sandbox's /workspace when it starts.
    The local backend is used only when ``settings.backend == "local"``; it warns loudly.
    """
    if isinstance(settings, LocalSandboxSettings):
        from devteam.sandbox.local import LocalSandbox

        return LocalSandbox(settings, workspace=workspace)
    from devteam.sandbox.docker_backend import DockerSandbox

    return DockerSandbox(settings, workspace=workspace)


def ensure_image(
    settings: SandboxSettings, progress: Progress | None = None, **kwargs: Any
) -> bool:
    """Build the sandbox image if it is missing (no-op for the local backend)."""
    if isinstance(settings, LocalSandboxSettings):
        return False
    from devteam.sandbox.image import ensure_image as _ensure

    return _ensure(settings, progress, **kwargs)


__all__ = [
    "EXIT_OOM",
    "EXIT_SANDBOX_ERROR",
    "EXIT_TIMEOUT",
    "WORKDIR",
    "ExecResult",
    "ManagedSandbox",
    "Sandbox",
    "cap_output",
    "ensure_image",
    "open_sandbox",
    "parse_failing_tests",
]
