"""The sandbox phase: run the tests and turn what happened into feedback for the roles."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from devteam.agents.common import Deps, node
from devteam.agents.replies import clip_output
from devteam.agents.state import RunState, TestReport
from devteam.events import SandboxRun
from devteam.roles import texts
from devteam.sandbox.base import ExecResult
from devteam.workspace.repo_map import command_for_tests

PYTEST = ["python3", "-m", "pytest", "-q", "-rfE", "--tb=short", "-p", "no:cacheprovider"]


@node("test", "sandbox")
def run_tests(state: RunState, deps: Deps) -> dict[str, Any]:
    report = test_workspace(state, deps)
    previous = state.get("report", {}).get("signature")
    same = state.get("same_failure", 0) + 1 if previous == report.signature else 0
    update: dict[str, Any] = {
        "report": report.model_dump(),
        "same_failure": 0 if report.passed else same,
    }
    if report.passed:
        head = deps.workspace.head()
        if head:
            update.update(passing_commit=head, passing_report=report.model_dump())
    return update


def test_workspace(state: RunState, deps: Deps) -> TestReport:
    """Run the project's tests on the workspace as it is, in the sandbox, and report it."""
    deps.sandbox.sync_dir(deps.workspace.root)
    command = command_for_tests(
        deps.workspace.root, state.get("test_command") or PYTEST, state.get("test_files", [])
    )
    result = deps.sandbox.exec(command, timeout_s=deps.settings.sandbox.timeout_s)
    report = to_report(result)
    deps.events.emit(sandbox_event(result, report.output))
    return report


def sandbox_event(result: ExecResult, output: str) -> SandboxRun:
    """The audit event of one sandbox command; ``output`` is what the roles were shown."""
    return SandboxRun(
        command=result.command,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        oom_killed=result.oom_killed,
        duration_s=result.duration_s,
        failing_tests=result.failing_tests,
        output_tail=output[-1000:],
    )


def to_report(result: ExecResult) -> TestReport:
    output = clip_output(result.stdout, result.stderr)
    if result.exit_code == 5:
        output += "\n" + texts.text("no_tests_collected")
    if result.timed_out:
        output += "\n" + texts.text("timed_out")
    if result.oom_killed:
        output += "\n" + texts.text("out_of_memory")
    if result.pids_limit_hit:
        output += "\n" + texts.text("process_limit")
    return TestReport(
        command=result.command,
        exit_code=result.exit_code,
        passed=result.ok,
        timed_out=result.timed_out,
        oom_killed=result.oom_killed,
        failing_tests=result.failing_tests,
        output=output,
        duration_s=result.duration_s,
        signature=failure_signature(result),
    )


def failure_signature(result: ExecResult) -> str:
    """Same failing tests + same error lines => same signature (timings stripped)."""
    errors = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.startswith("E ")]
    text = "|".join([str(result.exit_code), *sorted(result.failing_tests), *errors[:20]])
    text = re.sub(r"\d+\.\d+s", "", text)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
