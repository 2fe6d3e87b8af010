"""One root for every error a user can meet; each also derives from the matching builtin.

Every message is one sentence that says what is wrong and how to fix it.
"""

from __future__ import annotations


class DevteamError(Exception):
    """Root of all devteam errors. ``str(err)`` is the user-facing sentence."""


class ConfigError(DevteamError, ValueError):
    """The configuration (env DEVTEAM_*, devteam.toml, a team file) is invalid."""


class CheckpointError(DevteamError, RuntimeError):
    """The checkpoint store cannot be read (a damaged file, a run held by another runner)."""


class ModelError(DevteamError, RuntimeError):
    """The model endpoint or the embedded model cannot be used."""


class ModelUnavailableError(ModelError, ConnectionError):
    """The model server is down or unreachable."""


class ModelOutputError(ModelError, ValueError):
    """The model's reply could not be parsed, even after one repair attempt."""


class ModelIntegrityError(ModelError):
    """A downloaded/joined model file does not have the expected sha256."""


class BudgetExceededError(DevteamError, RuntimeError):
    """A token, wall-clock or step budget ran out."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class SandboxError(DevteamError, RuntimeError):
    """The sandbox could not run a command."""


class SandboxUnavailableError(SandboxError, ConnectionError):
    """No Docker engine, or no sandbox image."""


class SandboxImageMissingError(SandboxUnavailableError):
    """The sandbox image is not present in the Docker engine."""


class SandboxBuildError(SandboxError):
    """The sandbox image could not be built."""


class SandboxFileNotFoundError(SandboxError, FileNotFoundError):
    """A file asked for does not exist in the sandbox workspace."""


class AuditLogError(DevteamError, OSError):
    """A run's audit log could not be written (disk full, no permission)."""


class WorkspaceError(DevteamError, OSError):
    """A workspace operation failed."""


class PathEscapeError(WorkspaceError, PermissionError):
    """A file path tried to leave the workspace."""
