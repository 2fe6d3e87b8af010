"""The benchmark's user-facing errors: one sentence each, like the rest of devteam."""

from __future__ import annotations

from devteam.errors import ConfigError


class BenchError(ConfigError):
    """Bad input to the benchmark: unknown suite, strategy or task, a missing team file, ..."""
