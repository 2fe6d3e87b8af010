"""Every exit status the ``devteam`` command can end with, in one table.

docs/CLI.md prints the same table; a test holds the two together.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a script can rely on after ``devteam ...`` returns (MEANING says each in words)."""

    OK = 0
    BAD_INPUT = 1
    TESTS_FAILING = 2
    WAITING = 3
    BUDGET_EXHAUSTED = 4
    INFRASTRUCTURE = 5
    INTERRUPTED = 130


#: Each exit status in a sentence; docs/CLI.md prints this table (``markdown_table``).
MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "The run passed (or the command did what it was asked).",
    ExitCode.BAD_INPUT: "The request, a flag, the config or a team file is wrong; the message "
    "says how to fix it.",
    ExitCode.TESTS_FAILING: "The run finished, but its tests do not pass (or the team or the "
    "reviewer rejected the result).",
    ExitCode.WAITING: "The run waits at a human gate; answer with "
    "`devteam resume RUN_ID --answer ...`.",
    ExitCode.BUDGET_EXHAUSTED: "A token, time or step budget ran out before the work was done.",
    ExitCode.INFRASTRUCTURE: "Something a run needs is missing: the Docker engine, the sandbox "
    "image, the model (file or server), or the model server stopped answering.",
    ExitCode.INTERRUPTED: "Stopped with Ctrl-C or SIGTERM; the state is checkpointed where a "
    "step was completed, and the resume command is printed.",
}


def markdown_table() -> str:
    """The exit statuses as the Markdown table docs/CLI.md holds."""
    rows = [f"| {int(code)} | `{code.name}` | {MEANING[code]} |" for code in ExitCode]
    return "\n".join(["| status | name | meaning |", "|---|---|---|", *rows]) + "\n"


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
