"""Where generated code runs: Docker by default, a local backend only when asked for by name."""

from devteam.sandbox.base import EXIT_OOM, EXIT_TIMEOUT, WORKDIR, ExecResult, Sandbox

__all__ = ["EXIT_OOM", "EXIT_TIMEOUT", "WORKDIR", "ExecResult", "Sandbox"]
