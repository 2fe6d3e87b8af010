"""Every exit status the ``devteam`` command can end with, in one table.

docs/CLI.md prints the same table; a test holds the two together.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a script can rely on after ``devteam ...`` returns."""

    OK = 0
    """The run passed (or the command did what it was asked)."""
    BAD_INPUT = 1
    """The request, a flag, the config or a team file is wrong; the message says how to fix it."""
    TESTS_FAILING = 2
    """The run finished, but its tests do not pass (or the team or the reviewer rejected it)."""
    WAITING = 3
    """The run waits at a human gate; answer with ``devteam resume RUN_ID --answer ...``."""
    BUDGET_EXHAUSTED = 4
    """A token, time or attempt budget ran out before the work was done."""
    INFRASTRUCTURE = 5
    """Something a run needs is missing: Docker, the sandbox image, the model, disk space."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C or SIGTERM; the state is checkpointed where a step was completed."""


def of_error(exc: BaseException) -> ExitCode:
    """The exit status an error ends a command with."""
    from devteam.errors import (
        BudgetExceededError,
        ModelError,
        ModelOutputError,
        SandboxError,
    )

    if isinstance(exc, BudgetExceededError):
        return ExitCode.BUDGET_EXHAUSTED
    if isinstance(exc, ModelOutputError):  # the model answered, but not usably
        return ExitCode.TESTS_FAILING
    if isinstance(exc, ModelError | SandboxError):  # no engine, no image, no model, server down
        return ExitCode.INFRASTRUCTURE
    return ExitCode.BAD_INPUT


def of_status(status: str) -> ExitCode:
    """The exit status of a run that ended with ``status`` (RunResult.status)."""
    return {
        "passed": ExitCode.OK,
        "waiting": ExitCode.WAITING,
        "budget_exhausted": ExitCode.BUDGET_EXHAUSTED,
    }.get(status, ExitCode.TESTS_FAILING)
